// Tensor data stored outside the model file: safe reading (path checks, mmap) and the write plan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/file_util.h"
#include "lib/status.h"
#include "lib/tensor.h"

namespace ortool {

// TensorProto.external_data, parsed: the keys ONNX defines, checked.
struct ExternalDataRef {
  std::string location;
  int64_t offset = 0;
  int64_t length = -1;  // -1 when the key is absent
  std::string checksum;
};

// Parses the key/value pairs; unknown or repeated keys, bad numbers and negative values are errors
// naming `tensor_name` and the key.
Result<ExternalDataRef> parse_external_data(const std::vector<std::pair<std::string, std::string>>& entries,
                                            std::string_view tensor_name);

// Checks a location string alone: relative, non-empty, no NUL, no "..", not "." (DESIGN.md
// "Reading untrusted files"). Used both when reading and when choosing where to write; callers
// add the tensor or file as context.
Status check_external_location(std::string_view location);

// Reads external data for one model: all paths must stay inside `model_dir`. Each data file is
// memory-mapped once and shared by the tensors that live in it.
class ExternalDataContext {
 public:
  explicit ExternalDataContext(std::filesystem::path model_dir);

  // The bytes of tensor `tensor_name` (expected `nbytes`, elements of `elem_size` bytes). The buffer is a
  // view of the mapped file when suitably aligned, a copy otherwise.
  Result<std::shared_ptr<Buffer>> load(const ExternalDataRef& ref, std::string_view tensor_name, size_t nbytes,
                                       size_t elem_size) const;

  const std::filesystem::path& model_dir() const { return model_dir_; }
  // Data files read so far (canonical paths), sorted.
  std::vector<std::filesystem::path> files() const;

 private:
  Result<std::shared_ptr<MappedFile>> open_data_file(const ExternalDataRef& ref, std::string_view tensor_name) const;

  std::filesystem::path model_dir_;
  mutable std::mutex mu_;  // guards the two members below
  mutable std::filesystem::path canonical_dir_;
  mutable std::map<std::string, std::shared_ptr<MappedFile>> cache_;
};

// Offsets chosen for tensors written to one external data file.
struct ExternalDataLayout {
  struct Entry {
    const Tensor* tensor = nullptr;
    uint64_t offset = 0;
    uint64_t length = 0;
  };
  std::vector<Entry> entries;
  uint64_t total_bytes = 0;

  // Appends a tensor: 4096-byte alignment for tensors of 64 KiB or more (so runtimes can map them
  // page-aligned), 64 bytes otherwise. Returns the entry's index.
  size_t add(const Tensor* t);
  // Writes all tensors with zero padding between them.
  Status write(FileWriter& w) const;
};

}  // namespace ortool
