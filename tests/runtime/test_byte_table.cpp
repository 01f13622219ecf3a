// Unit tests of runtime/cpu/byte_table.h: each vector lookup against a plain loop on every length up to a few
// vectors (the masked tail included), unaligned offsets, all 256 indices, and in place.
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "runtime/cpu/byte_table.h"

using ortool::rt::cpu::lookup_bytes;

TEST_CASE("lookup_bytes matches a plain loop on every length and offset, on every path this CPU has") {
  const auto paths = ortool::rt::cpu::lookup_bytes_paths();
  std::string names;
  for (const auto& p : paths) names += std::string(names.empty() ? "" : ", ") + p.name;
  MESSAGE("paths on this CPU: " << names);
  std::mt19937 rng(7);
  std::vector<uint8_t> table(256);
  for (auto& t : table) t = static_cast<uint8_t>(rng());
  std::vector<uint8_t> in(300 + 64);
  for (auto& v : in) v = static_cast<uint8_t>(rng());
  for (int i = 0; i < 256; ++i) in[static_cast<size_t>(i)] = static_cast<uint8_t>(i);  // every index once
  for (const auto& path : paths) {
    INFO("path " << path.name);
    for (int64_t off : {0, 1, 7, 63}) {
      for (int64_t n = 0; n <= 300; ++n) {
        std::vector<uint8_t> out(static_cast<size_t>(n) + 2, 0xA5);  // guard bytes after the last element
        path.run(in.data() + off, out.data(), n, table.data());
        for (int64_t i = 0; i < n; ++i) REQUIRE(out[static_cast<size_t>(i)] == table[in[static_cast<size_t>(off + i)]]);
        REQUIRE(out[static_cast<size_t>(n)] == 0xA5);
        REQUIRE(out[static_cast<size_t>(n) + 1] == 0xA5);
      }
    }
  }
}

TEST_CASE("lookup_bytes works in place") {
  std::vector<uint8_t> table(256);
  for (int i = 0; i < 256; ++i) table[static_cast<size_t>(i)] = static_cast<uint8_t>(255 - i);
  std::vector<uint8_t> buf(1000);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(i * 7);
  const std::vector<uint8_t> before = buf;
  lookup_bytes(buf.data(), buf.data(), static_cast<int64_t>(buf.size()), table.data());
  for (size_t i = 0; i < buf.size(); ++i) REQUIRE(buf[i] == static_cast<uint8_t>(255 - before[i]));
}
