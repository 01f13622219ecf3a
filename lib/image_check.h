// Checks of PNG and JPEG files before stb_image decodes them, for what Debian's stb gets wrong.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "lib/status.h"

namespace ortool {

// stb_image as Debian 12 ships it (git 2022-09-08) does not check that a Huffman table (a DHT segment)
// holds at most 256 codes, and writes the codes past the end of its fixed-size tables: a heap overflow from
// a 200-byte file (found by fuzz/fuzz_samples). This walks the markers the way stb reads them (segments by
// their length, entropy-coded data up to the next marker, junk skipped) and refuses such a table, and a
// scan that decodes with a table no DHT defined before it (stb's tables are uninitialized heap memory until
// then: garbage codes index past their arrays, found by fuzz/fuzz_samples too). Bytes that are not a JPEG
// pass unchecked. `what` names the file in the error.
Status check_jpeg_huffman_tables(std::span<const std::byte> bytes, std::string_view what);

// stb_image grows its buffer to a PNG IDAT chunk's declared length before reading it: a 455-byte file
// declaring a 1.5 GB chunk had it allocate (and, under ASan, clear) 2 GB (found by fuzz/fuzz_samples).
// This walks the chunks up to IEND and refuses one that claims more bytes than the file has left (stb
// fails on such a file anyway, after the allocation). Bytes that are not a PNG pass unchecked.
Status check_png_chunks(std::span<const std::byte> bytes, std::string_view what);

}  // namespace ortool
