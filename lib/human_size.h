// Numbers for people: "1.5 MiB" for sizes (in messages and tables), "1.23 M" for counts.
#pragma once

#include <cstdint>
#include <string>

namespace ortool {

// "1.23 M", "45.6 G", "512" (powers of 1000); for counts such as parameters and MACs.
std::string human_count(uint64_t n);
// "1.50 MiB", "12.0 KiB", "300 B" (powers of 1024).
std::string human_bytes(uint64_t n);

}  // namespace ortool
