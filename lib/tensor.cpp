// Tensor storage: aligned heap buffers, views into mapped files, checked allocation.
#include "lib/tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>

#include <fmt/ranges.h>

#include "lib/float8.h"
#include "lib/half.h"
#include "lib/human_size.h"

namespace ortool {

namespace {

class HeapBuffer final : public Buffer {
 public:
  explicit HeapBuffer(size_t n) : size_(n) {
    // aligned_alloc needs a size that is a multiple of the alignment. 16 bytes of slack past the
    // end: XNNPACK's vector loads may read (never write) that far (XNN_EXTRA_BYTES).
    size_t padded = ((n + 16 + 63) / 64) * 64;
    data_ = static_cast<std::byte*>(std::aligned_alloc(64, padded));
    if (!data_) throw std::bad_alloc();
    std::memset(data_, 0, padded);
  }
  ~HeapBuffer() override { std::free(data_); }
  std::byte* data() override { return data_; }
  size_t size() const override { return size_; }

 private:
  std::byte* data_;
  size_t size_;
};

class ViewBuffer final : public Buffer {
 public:
  ViewBuffer(std::shared_ptr<void> owner, std::byte* data, size_t size)
      : owner_(std::move(owner)), data_(data), size_(size) {}
  std::byte* data() override { return data_; }
  size_t size() const override { return size_; }

 private:
  std::shared_ptr<void> owner_;
  std::byte* data_;
  size_t size_;
};

// Callers have checked the dims with checked_numel, which accepts any dims with a zero among them
// (an empty tensor): then the product of the others may overflow, so a zero ends the count first.
int64_t numel_of(const std::vector<int64_t>& dims) {
  for (int64_t d : dims)
    if (d == 0) return 0;
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

}  // namespace

std::shared_ptr<Buffer> Buffer::allocate(size_t bytes) { return std::make_shared<HeapBuffer>(bytes); }

std::shared_ptr<Buffer> Buffer::view(std::shared_ptr<void> owner, std::byte* data, size_t size) {
  return std::make_shared<ViewBuffer>(std::move(owner), data, size);
}

Result<int64_t> checked_numel(std::span<const int64_t> dims) {
  int64_t n = 1;
  bool zero = false;
  for (int64_t d : dims) {
    if (d < 0) return invalid("negative dimension {}", d);
    if (d == 0) zero = true;
  }
  if (zero) return int64_t{0};
  for (int64_t d : dims) {
    if (n > std::numeric_limits<int64_t>::max() / d) return invalid("element count overflows int64");
    n *= d;
  }
  return n;
}

Tensor::Tensor(DType dtype, std::vector<int64_t> dims) : dtype_(dtype), dims_(std::move(dims)) {
  numel_ = numel_of(dims_);
  if (dtype_ == DType::String) {
    strings_ = std::make_shared<std::vector<std::string>>(static_cast<size_t>(numel_));
  } else {
    buffer_ = Buffer::allocate(nbytes());
  }
}

Tensor::Tensor(DType dtype, std::vector<int64_t> dims, std::shared_ptr<Buffer> buffer)
    : dtype_(dtype), dims_(std::move(dims)), buffer_(std::move(buffer)) {
  numel_ = numel_of(dims_);
}

Result<Tensor> Tensor::make(DType dtype, std::vector<int64_t> dims, size_t max_bytes) {
  ASSIGN_OR_RETURN(int64_t n, checked_numel(dims));
  size_t es = dtype == DType::String ? sizeof(std::string) : dtype_size(dtype);
  if (dtype != DType::String && es == 0) return invalid("cannot allocate a tensor of type {}", dtype_name(dtype));
  if (static_cast<uint64_t>(n) > max_bytes / es) {
    // The size as a person reads it; n * es may overflow, so it is computed in floating point.
    double bytes = static_cast<double>(n) * static_cast<double>(es);
    std::string size = bytes < 1.8e19 ? human_bytes(static_cast<uint64_t>(bytes)) : fmt::format("{:.3g} bytes", bytes);
    return resource_limit("a {}[{}] tensor needs {}, over the {} limit for one tensor", dtype_name(dtype),
                          fmt::join(dims, ","), size, human_bytes(max_bytes));
  }
  return Tensor(dtype, std::move(dims));
}

Tensor Tensor::scalar_i64(int64_t v) {
  Tensor t(DType::Int64, {});
  *t.mutable_data<int64_t>() = v;
  return t;
}

Tensor Tensor::scalar_f32(float v) {
  Tensor t(DType::Float, {});
  *t.mutable_data<float>() = v;
  return t;
}

const std::vector<std::string>& Tensor::strings() const {
  static const std::vector<std::string> kEmpty;
  return strings_ ? *strings_ : kEmpty;
}

std::vector<std::string>& Tensor::mutable_strings() {
  if (!strings_) strings_ = std::make_shared<std::vector<std::string>>();
  return *strings_;
}

Tensor Tensor::clone() const {
  Tensor t;
  t.dtype_ = dtype_;
  t.dims_ = dims_;
  t.numel_ = numel_;
  t.name = name;
  t.doc_string = doc_string;
  if (strings_) t.strings_ = std::make_shared<std::vector<std::string>>(*strings_);
  if (buffer_) {
    t.buffer_ = Buffer::allocate(nbytes());
    if (nbytes()) std::memcpy(t.buffer_->data(), buffer_->data(), nbytes());
  }
  return t;
}

Tensor Tensor::reshaped(std::vector<int64_t> dims) const {
  Tensor t = *this;
  t.dims_ = std::move(dims);
  return t;
}

double Tensor::get_double(int64_t i) const {
  switch (dtype_) {
    case DType::Float: return data<float>()[i];
    case DType::Double: return data<double>()[i];
    case DType::Float16: return half_to_float(data<uint16_t>()[i]);
    case DType::BFloat16: return bfloat16_to_float(data<uint16_t>()[i]);
    case DType::Int8: return data<int8_t>()[i];
    case DType::UInt8: return data<uint8_t>()[i];
    case DType::Int16: return data<int16_t>()[i];
    case DType::UInt16: return data<uint16_t>()[i];
    case DType::Int32: return data<int32_t>()[i];
    case DType::UInt32: return data<uint32_t>()[i];
    case DType::Int64: return static_cast<double>(data<int64_t>()[i]);
    case DType::UInt64: return static_cast<double>(data<uint64_t>()[i]);
    case DType::Bool: return data<uint8_t>()[i] ? 1.0 : 0.0;
    case DType::Int4: return data<int8_t>()[i];
    case DType::UInt4: return data<uint8_t>()[i];
    case DType::Float8E4M3FN: case DType::Float8E4M3FNUZ: case DType::Float8E5M2: case DType::Float8E5M2FNUZ:
      return float8_to_float(data<uint8_t>()[i], dtype_);
    default: return 0.0;
  }
}

int64_t Tensor::get_int64(int64_t i) const {
  switch (dtype_) {
    case DType::Int8: return data<int8_t>()[i];
    case DType::UInt8: return data<uint8_t>()[i];
    case DType::Int16: return data<int16_t>()[i];
    case DType::UInt16: return data<uint16_t>()[i];
    case DType::Int32: return data<int32_t>()[i];
    case DType::UInt32: return data<uint32_t>()[i];
    case DType::Int64: return data<int64_t>()[i];
    case DType::UInt64: return static_cast<int64_t>(data<uint64_t>()[i]);
    case DType::Bool: return data<uint8_t>()[i] ? 1 : 0;
    case DType::Int4: return data<int8_t>()[i];
    case DType::UInt4: return data<uint8_t>()[i];
    default: return static_cast<int64_t>(get_double(i));
  }
}

std::vector<int64_t> Tensor::to_int64_vector() const {
  std::vector<int64_t> out(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i) out[static_cast<size_t>(i)] = get_int64(i);
  return out;
}

bool Tensor::equals(const Tensor& o) const {
  if (dtype_ != o.dtype_ || dims_ != o.dims_) return false;
  if (dtype_ == DType::String) return strings() == o.strings();
  if (nbytes() == 0) return true;
  return std::memcmp(raw(), o.raw(), nbytes()) == 0;
}

}  // namespace ortool
