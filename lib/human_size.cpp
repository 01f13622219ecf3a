// Human-readable counts (powers of 1000) and byte sizes (powers of 1024).
#include "lib/human_size.h"

#include <fmt/format.h>

#include <iterator>

namespace ortool {

namespace {

// Three significant digits in the largest unit that keeps the value at least 1.
std::string scaled(uint64_t n, double base, const char* const* units, size_t n_units) {
  double v = static_cast<double>(n);
  size_t u = 0;
  while (v >= base && u + 1 < n_units) {
    v /= base;
    ++u;
  }
  return fmt::format("{:.{}f}{}", v, v < 10 ? 2 : v < 100 ? 1 : 0, units[u]);
}

}  // namespace

std::string human_count(uint64_t n) {
  static constexpr const char* kUnits[] = {"", " K", " M", " G", " T", " P", " E"};
  if (n < 1000) return std::to_string(n);
  return scaled(n, 1000, kUnits, std::size(kUnits));
}

std::string human_bytes(uint64_t n) {
  static constexpr const char* kUnits[] = {" B", " KiB", " MiB", " GiB", " TiB", " PiB", " EiB"};
  if (n < 1024) return fmt::format("{} B", n);
  return scaled(n, 1024, kUnits, std::size(kUnits));
}

}  // namespace ortool
