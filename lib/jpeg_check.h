// A check of JPEG Huffman tables before stb_image decodes a file (Debian's stb writes past its tables).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "lib/status.h"

namespace ortool {

// stb_image as Debian 12 ships it (git 2022-09-08) does not check that a Huffman table (a DHT segment)
// holds at most 256 codes, and writes the codes past the end of its fixed-size tables: a heap overflow from
// a 200-byte file (found by fuzz/fuzz_samples). This walks the markers the way stb reads them (segments by
// their length, entropy-coded data up to the next marker, junk skipped) and refuses such a table. Bytes
// that are not a JPEG pass unchecked. `what` names the file in the error.
Status check_jpeg_huffman_tables(std::span<const std::byte> bytes, std::string_view what);

}  // namespace ortool
