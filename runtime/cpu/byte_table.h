// out[i] = table[in[i]] over 8-bit data: the step every 256-entry int8 table (activation chains,
// requantization) runs, with AVX-512 VBMI byte permutes where the CPU has them.
#pragma once

#include <cstdint>

namespace ortool::rt::cpu {

// out[i] = table[in[i]] for i in [0, n). `table` has 256 entries; in and out may be the same buffer.
void lookup_bytes(const uint8_t* in, uint8_t* out, int64_t n, const uint8_t* table);

// Whether lookup_bytes runs the vector path on this CPU (reported by tests and benchmarks).
bool lookup_bytes_vectorized();

}  // namespace ortool::rt::cpu
