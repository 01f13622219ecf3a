// NumPy .npy tensor files (format versions 1, 2 and 3): little-endian, C-order numeric and bool arrays.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lib/status.h"
#include "lib/tensor.h"

namespace ortool {

// Reads a .npy file. Big-endian, Fortran-order, structured, object and unicode arrays are refused
// with an error naming the file; the header and the data length are checked before allocating.
Result<Tensor> read_npy(const std::filesystem::path& path);

// What a .npy header says: the element type, the dims, and where the C-order data starts.
struct NpyHeader {
  DType dtype = DType::Undefined;
  std::vector<int64_t> dims;
  size_t data_offset = 0;
};

// Parses the header at the start of `bytes` (the whole header must be there; the data need not) of
// a file of `file_size` bytes, and checks that the data length fits the dims. For reading parts of
// large files (rt::open_samples splits a batch .npy one sample at a time).
Result<NpyHeader> parse_npy_header(std::span<const std::byte> bytes, uint64_t file_size, std::string_view what);

// Parses the bytes of a .npy file; `what` names the source in error messages (usually the path).
Result<Tensor> parse_npy(std::span<const std::byte> bytes, std::string_view what);

// The bytes of a .npy file holding `t`, with the header numpy itself writes (version 1.0, or 2.0
// when the header does not fit). String and bfloat16 tensors have no .npy form: an error.
Result<std::string> encode_npy(const Tensor& t);

// Writes `t` to `path` atomically (see file_util.h).
Status write_npy(const Tensor& t, const std::filesystem::path& path);

// The numpy dtype string for `t` ("<f4", "|b1", ...), or empty when numpy has none.
std::string_view npy_descr(DType t);

}  // namespace ortool
