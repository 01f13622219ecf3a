// out[i] = table[in[i]] over 8-bit data: the step every 256-entry int8 table (activation chains,
// requantization) runs, with AVX-512 VBMI byte permutes or AVX2 byte shuffles where the CPU has them.
#pragma once

#include <cstdint>
#include <vector>

namespace ortool::rt::cpu {

// out[i] = table[in[i]] for i in [0, n). `table` has 256 entries; in and out may be the same buffer.
void lookup_bytes(const uint8_t* in, uint8_t* out, int64_t n, const uint8_t* table);

// Every implementation this CPU can run, best last ("scalar", then "avx2", "vbmi"): the tests check each.
struct ByteLookupPath {
  const char* name;
  void (*run)(const uint8_t* in, uint8_t* out, int64_t n, const uint8_t* table);
};
std::vector<ByteLookupPath> lookup_bytes_paths();

}  // namespace ortool::rt::cpu
