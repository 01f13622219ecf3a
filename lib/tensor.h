// Tensor: element type, dims and a shared byte buffer (heap or memory-mapped); strings held apart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lib/dtype.h"
#include "lib/status.h"

namespace ortool {

// Bytes owned by a tensor. Subclasses: heap allocation, a view into a memory-mapped file.
class Buffer {
 public:
  virtual ~Buffer() = default;
  virtual std::byte* data() = 0;
  virtual size_t size() const = 0;
  const std::byte* data() const { return const_cast<Buffer*>(this)->data(); }

  // Zero-filled, 64-byte aligned heap buffer.
  static std::shared_ptr<Buffer> allocate(size_t bytes);
  // A view of `size` bytes at `data` that keeps `owner` alive (e.g. a mapped file).
  static std::shared_ptr<Buffer> view(std::shared_ptr<void> owner, std::byte* data, size_t size);
};

// Product of dims with overflow and negativity checks; the error names nothing, callers add context.
Result<int64_t> checked_numel(std::span<const int64_t> dims);

class Tensor {
 public:
  Tensor() = default;
  // Allocates a zero-filled tensor. Dims must be valid (use checked_numel first on untrusted dims).
  Tensor(DType dtype, std::vector<int64_t> dims);
  // Wraps an existing buffer; its size must be numel * element size.
  Tensor(DType dtype, std::vector<int64_t> dims, std::shared_ptr<Buffer> buffer);

  // Checked allocation for untrusted dims: refuses negative dims, overflow, and more than `max_bytes`.
  static Result<Tensor> make(DType dtype, std::vector<int64_t> dims, size_t max_bytes = SIZE_MAX);
  template <typename T>
  static Tensor from_vector(DType dtype, std::vector<int64_t> dims, const std::vector<T>& values);
  static Tensor scalar_i64(int64_t v);
  static Tensor scalar_f32(float v);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& dims() const { return dims_; }
  size_t rank() const { return dims_.size(); }
  int64_t numel() const { return numel_; }
  size_t element_size() const { return dtype_size(dtype_); }
  size_t nbytes() const { return static_cast<size_t>(numel_) * element_size(); }
  bool empty() const { return numel_ == 0; }
  bool is_string() const { return dtype_ == DType::String; }

  const void* raw() const { return buffer_ ? buffer_->data() : nullptr; }
  void* raw_mutable() { return buffer_ ? buffer_->data() : nullptr; }
  template <typename T>
  const T* data() const { return static_cast<const T*>(raw()); }
  template <typename T>
  T* mutable_data() { return static_cast<T*>(raw_mutable()); }
  std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(raw()), nbytes()}; }

  // String tensors: one entry per element (bytes, not necessarily UTF-8).
  const std::vector<std::string>& strings() const;
  std::vector<std::string>& mutable_strings();

  const std::shared_ptr<Buffer>& buffer() const { return buffer_; }
  // A deep copy that shares nothing with this tensor.
  Tensor clone() const;
  // Same data, new dims with the same element count.
  Tensor reshaped(std::vector<int64_t> dims) const;
  // Element i converted to double / int64 (numeric types and bool only).
  double get_double(int64_t i) const;
  int64_t get_int64(int64_t i) const;
  // Values as int64 (integer types); used for shape-like inputs.
  std::vector<int64_t> to_int64_vector() const;
  // Byte-wise equality of dtype, dims and payload (strings compared element-wise).
  bool equals(const Tensor& other) const;

  // Carried through import/export untouched: TensorProto's name and doc_string.
  std::string name;
  std::string doc_string;
  bool name_written = false;  // proto2 presence of an empty name, kept for lossless export

 private:
  DType dtype_ = DType::Undefined;
  std::vector<int64_t> dims_;
  int64_t numel_ = 0;
  std::shared_ptr<Buffer> buffer_;
  std::shared_ptr<std::vector<std::string>> strings_;
};

using TensorPtr = std::shared_ptr<const Tensor>;

template <typename T>
Tensor Tensor::from_vector(DType dtype, std::vector<int64_t> dims, const std::vector<T>& values) {
  Tensor t(dtype, std::move(dims));
  if (sizeof(T) == t.element_size() && static_cast<int64_t>(values.size()) == t.numel() && !values.empty())
    std::memcpy(t.raw_mutable(), values.data(), t.nbytes());
  return t;
}

}  // namespace ortool
