// PNG chunk and JPEG Huffman table checks ahead of stb_image (see image_check.h).
#include "lib/image_check.h"

#include <cctype>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>

namespace ortool {

Status check_jpeg_huffman_tables(std::span<const std::byte> bytes, std::string_view what) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t size = bytes.size();
  // stb reads zeros past the end of the data.
  auto at = [&](size_t k) -> unsigned { return k < size ? p[k] : 0; };
  // A marker is 0xFF, any number of 0xFF fill bytes, then the code (stb's stbi__get_marker).
  size_t i = 0;
  bool progressive = false;
  bool defined[2][4] = {};  // [DC, AC][table id]
  if (at(0) != 0xFF) return Status::ok();
  while (i < size && p[i] == 0xFF) ++i;
  if (at(i) != 0xD8) return Status::ok();  // no SOI: stb does not take it for a JPEG
  ++i;
  while (i < size) {
    if (p[i] != 0xFF) {  // junk (or entropy-coded data): stb skips it looking for a marker
      ++i;
      continue;
    }
    while (i < size && p[i] == 0xFF) ++i;
    if (i >= size) break;
    const unsigned m = p[i++];
    // Checking more positions than stb looks at is fine; fewer would not be. So a stuffed byte (0xFF 0x00
    // in entropy-coded data) or a restart marker keeps the walk going, and markers without a length are
    // stepped over.
    if (m == 0x00 || (m >= 0xD0 && m <= 0xD8) || m == 0x01) continue;
    if (m == 0xD9) break;  // EOI: stb reads no further
    const size_t len = at(i) << 8 | at(i + 1);
    if (m == 0xC4) {
      // DHT: tables (class/id byte, 16 code counts, the codes) until the length is used up; stb reads
      // them the same way, past the segment's end when the length lies.
      int64_t left = static_cast<int64_t>(len) - 2;
      size_t k = i + 2;
      while (left > 0 && k < size) {
        if (at(k) >> 4 <= 1 && (at(k) & 15) <= 3) defined[at(k) >> 4][at(k) & 15] = true;
        unsigned codes = 0;
        for (size_t b = 0; b < 16; ++b) codes += at(k + 1 + b);
        if (codes > 256)
          return invalid("{}: corrupt JPEG: a Huffman table (DHT) lists {} codes, more than the 256 allowed", what,
                         codes);
        k += 17 + codes;
        left -= 17 + static_cast<int64_t>(codes);
      }
    }
    if (m == 0xC0 || m == 0xC1 || m == 0xC2) progressive = m == 0xC2;  // the frames stb decodes
    if (m == 0xDA) {
      // SOS: per component its DC and AC table ids, then Ss, Se, Ah/Al. stb decodes with the tables a scan
      // names whether or not a DHT defined them, and its tables are uninitialized heap memory until one
      // does: garbage codes index past their arrays (found by fuzz/fuzz_samples). A baseline scan reads
      // both tables; a progressive one its DC tables in a first DC scan, its AC tables in AC scans.
      const unsigned ns = at(i + 2);
      const size_t params = i + 3 + 2 * size_t{ns};
      const unsigned ss = at(params), ah = at(params + 2) >> 4;
      const bool dc = !progressive || (ss == 0 && ah == 0), ac = !progressive || ss != 0;
      for (unsigned c = 0; c < ns; ++c) {
        const unsigned td = at(i + 4 + 2 * size_t{c}) >> 4, ta = at(i + 4 + 2 * size_t{c}) & 15;
        for (auto [use, cls, id] : {std::tuple{dc, 0, td}, std::tuple{ac, 1, ta}})
          if (use && id <= 3 && !defined[cls][id])
            return invalid("{}: corrupt JPEG: a scan decodes with Huffman table {} {}, which no DHT segment before it "
                           "defines", what, cls ? "AC" : "DC", id);
      }
    }
    i += len < 2 ? 2 : len;
  }
  return Status::ok();
}

Status check_png_chunks(std::span<const std::byte> bytes, std::string_view what) {
  static constexpr uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t size = bytes.size();
  if (size < 8 || std::memcmp(p, kSignature, 8) != 0) return Status::ok();
  size_t i = 8;
  while (size - i >= 8) {
    const uint64_t length = uint64_t{p[i]} << 24 | uint64_t{p[i + 1]} << 16 | uint64_t{p[i + 2]} << 8 | p[i + 3];
    std::string type(reinterpret_cast<const char*>(p + i + 4), 4);
    for (char& c : type)
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '?';  // a hostile type must not break the line
    // The chunk is its length and type (8 bytes), the data, then a 4-byte CRC.
    if (length + 12 > size - i)
      return invalid("{}: corrupt PNG: chunk '{}' claims {} bytes, more than the {} left in the file", what, type,
                     length, size - i - 8);
    if (type == "IEND") break;
    i += 12 + static_cast<size_t>(length);
  }
  return Status::ok();
}

}  // namespace ortool
