// Cast and CastLike: every pair of numeric, bool, float16, bfloat16 and string element types, and the
// float8 (opset 19, with `saturate`) and int4/uint4 (opset 21) types to and from the numeric ones.
#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <strings.h>

#include "lib/float8.h"
#include "runtime/cpu/elementwise.h"

namespace ortool::rt::cpu::elementwise {
namespace {

// Opset 1 names the target type with a string.
DType dtype_from_onnx_name(const std::string& s) {
  static const std::pair<const char*, DType> kNames[] = {
      {"FLOAT", DType::Float},   {"UINT8", DType::UInt8},     {"INT8", DType::Int8},       {"UINT16", DType::UInt16},
      {"INT16", DType::Int16},   {"INT32", DType::Int32},     {"INT64", DType::Int64},     {"STRING", DType::String},
      {"BOOL", DType::Bool},     {"FLOAT16", DType::Float16}, {"DOUBLE", DType::Double},   {"UINT32", DType::UInt32},
      {"UINT64", DType::UInt64}, {"BFLOAT16", DType::BFloat16}};
  for (const auto& [name, t] : kNames)
    if (strcasecmp(s.c_str(), name) == 0) return t;
  return DType::Undefined;
}

template <typename T>
std::string to_string_value(T v) {
  if constexpr (std::is_same_v<T, bool>) return v ? "True" : "False";
  else if constexpr (is_half_v<T>) return fmt::format("{}", static_cast<float>(v));
  else if constexpr (std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t>) return fmt::format("{}", static_cast<int>(v));
  else return fmt::format("{}", v);  // shortest text that reads back the same value
}

// Parses a number as ONNX's Cast does (strtod syntax: "1.5", "-INF", "NaN", "1e3"). False when the
// text is not a number.
template <typename T>
bool from_string_value(const std::string& s, T& out) {
  const char* b = s.c_str();
  char* end = nullptr;
  if constexpr (std::is_same_v<T, bool>) {
    if (strcasecmp(b, "true") == 0) { out = true; return true; }
    if (strcasecmp(b, "false") == 0) { out = false; return true; }
  }
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    errno = 0;
    if constexpr (std::is_signed_v<T>) {
      long long v = std::strtoll(b, &end, 10);
      if (end != b && *end == '\0' && errno == 0) { out = static_cast<T>(v); return true; }
    } else {
      if (*b != '-') {
        unsigned long long v = std::strtoull(b, &end, 10);
        if (end != b && *end == '\0' && errno == 0) { out = static_cast<T>(v); return true; }
      }
    }
  }
  double d = std::strtod(b, &end);
  if (end == b || *end != '\0') return false;
  out = convert<T>(d);
  return true;
}

bool is_small_type(DType t) { return dtype_is_float8(t) || dtype_is_4bit(t); }

// Element i of a float8 or 4-bit tensor as a double (float8 codes decoded, 4-bit values as they are).
double small_value(const Tensor& x, int64_t i) {
  if (dtype_is_float8(x.dtype())) return float8_to_float(x.data<uint8_t>()[i], x.dtype());
  return x.dtype() == DType::Int4 ? x.data<int8_t>()[i] : x.data<uint8_t>()[i];
}

// A value as a 4-bit integer: rounded half to even, then clamped to the type's range (-8..7, 0..15);
// NaN gives 0.
uint8_t to_4bit(double v, DType t) {
  const double lo = t == DType::Int4 ? -8 : 0, hi = t == DType::Int4 ? 7 : 15;
  if (std::isnan(v)) return 0;
  return static_cast<uint8_t>(static_cast<int8_t>(std::clamp(std::nearbyint(v), lo, hi)));
}

// Casts where either side is a float8 or 4-bit type: through double, which holds every value of
// both sides exactly (int64 and uint64 beyond 2^53 are not representable in either small type).
Status cast_small(KernelContext& ctx, const Tensor& x, DType to, bool saturate, Tensor* out) {
  const ir::Node& node = ctx.node();
  const int64_t n = x.numel();
  std::vector<double> vals(static_cast<size_t>(n));
  if (is_small_type(x.dtype())) {
    for (int64_t i = 0; i < n; ++i) vals[static_cast<size_t>(i)] = small_value(x, i);
  } else {
    bool ok = dispatch_numeric(x.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pi = x.data<T>();
      for (int64_t i = 0; i < n; ++i) vals[static_cast<size_t>(i)] = convert<double>(pi[i]);
    });
    if (!ok) return unsupported("{}: cast from {} to {} is not supported", node.describe(), dtype_name(x.dtype()),
                                dtype_name(to));
  }
  if (dtype_is_float8(to)) {
    auto* po = out->mutable_data<uint8_t>();
    for (int64_t i = 0; i < n; ++i) po[i] = float_to_float8(static_cast<float>(vals[static_cast<size_t>(i)]), to, saturate);
    return Status::ok();
  }
  if (dtype_is_4bit(to)) {
    // Integers keep their value where it fits; out of range they are clamped like floats.
    auto* po = out->mutable_data<uint8_t>();
    for (int64_t i = 0; i < n; ++i) po[i] = to_4bit(vals[static_cast<size_t>(i)], to);
    return Status::ok();
  }
  bool ok = dispatch_numeric(to, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* po = out->mutable_data<T>();
    for (int64_t i = 0; i < n; ++i) po[i] = convert<T>(vals[static_cast<size_t>(i)]);
  });
  if (!ok) return unsupported("{}: cast from {} to {} is not supported", node.describe(), dtype_name(x.dtype()),
                              dtype_name(to));
  return Status::ok();
}

Status cast_tensor(KernelContext& ctx, const Tensor& x, DType to, bool saturate) {
  const ir::Node& node = ctx.node();
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, to, x.dims()));
  const int64_t n = x.numel();
  if (x.dtype() == to && is_small_type(to)) {
    if (n) std::memcpy(out->raw_mutable(), x.raw(), x.nbytes());
    return Status::ok();
  }
  if (is_small_type(x.dtype()) || is_small_type(to)) return cast_small(ctx, x, to, saturate, out);
  if (x.is_string() && to == DType::String) {
    out->mutable_strings() = x.strings();
    return Status::ok();
  }
  Status st = Status::ok();
  if (x.is_string()) {
    bool ok = dispatch_numeric(to, [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* po = out->mutable_data<T>();
      const auto& s = x.strings();
      for (int64_t i = 0; i < n; ++i) {
        if (!from_string_value<T>(s[static_cast<size_t>(i)], po[i])) {
          st = invalid("{}: cannot cast string \"{}\" (element {}) to {}", node.describe(), s[static_cast<size_t>(i)], i,
                       dtype_name(to));
          return;
        }
      }
    });
    if (!ok) return unsupported("{}: cast to {} is not supported", node.describe(), dtype_name(to));
    return st;
  }
  if (to == DType::String) {
    bool ok = dispatch_numeric(x.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pi = x.data<T>();
      auto& s = out->mutable_strings();
      for (int64_t i = 0; i < n; ++i) s[static_cast<size_t>(i)] = to_string_value(pi[i]);
    });
    if (!ok) return unsupported("{}: cast from {} is not supported", node.describe(), dtype_name(x.dtype()));
    return Status::ok();
  }
  bool ok_to = true;
  bool ok_from = dispatch_numeric(x.dtype(), [&](auto from_tag) {
    using F = typename decltype(from_tag)::type;
    ok_to = dispatch_numeric(to, [&](auto to_tag) {
      using T = typename decltype(to_tag)::type;
      const F* pi = x.data<F>();
      T* po = out->mutable_data<T>();
      if constexpr (std::is_same_v<F, T>) {
        if (n) std::memcpy(po, pi, x.nbytes());
      } else {
        parallel_elements(ctx, n, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) po[i] = convert<T>(pi[i]);
        });
      }
    });
  });
  if (!ok_from) return unsupported("{}: cast from {} is not supported", node.describe(), dtype_name(x.dtype()));
  if (!ok_to) return unsupported("{}: cast to {} is not supported", node.describe(), dtype_name(to));
  return Status::ok();
}

class CastKernel final : public Kernel {
 public:
  explicit CastKernel(const KernelInit& init) {
    const ir::Attribute* a = init.node.attr("to");
    if (!a) {
      bad_ = invalid("{}: attribute 'to' is missing", init.node.describe());
    } else if (a->type == ir::AttrType::String) {
      to_ = dtype_from_onnx_name(a->s);
      if (to_ == DType::Undefined) bad_ = invalid("{}: unknown target type \"{}\"", init.node.describe(), a->s);
    } else {
      if (!dtype_is_known(static_cast<int32_t>(a->i)) || a->i == static_cast<int64_t>(DType::Complex64) ||
          a->i == static_cast<int64_t>(DType::Complex128))
        bad_ = unsupported("{}: cast to data type {} is not supported", init.node.describe(), a->i);
      else
        to_ = static_cast<DType>(a->i);
    }
    saturate_ = init.node.attr_int("saturate", 1) != 0;
  }
  Status run(KernelContext& ctx) override {
    TRY(bad_);
    ASSIGN_OR_RETURN(const Tensor* x, required_tensor(ctx, 0));
    return cast_tensor(ctx, *x, to_, saturate_);
  }

 private:
  DType to_ = DType::Undefined;
  bool saturate_ = true;  // opset 19: out-of-range values to float8 clamp to the largest finite value
  Status bad_;
};

Status cast_like(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, required_tensor(ctx, 0));
  ASSIGN_OR_RETURN(const Tensor* like, required_tensor(ctx, 1));
  return cast_tensor(ctx, *x, like->dtype(), ctx.node().attr_int("saturate", 1) != 0);
}

}  // namespace

void register_cast_kernels(KernelRegistry& r) {
  std::vector<DType> types = all_tensor_types();
  for (DType t : {DType::Float8E4M3FN, DType::Float8E4M3FNUZ, DType::Float8E5M2, DType::Float8E5M2FNUZ, DType::UInt4,
                  DType::Int4})
    types.push_back(t);
  r.add(KernelDef{"", "Cast", 1, INT32_MAX, types, 0, factory_of<CastKernel>()});
  r.add(KernelDef{"", "CastLike", 15, INT32_MAX, types, 0, function_kernel(cast_like)});
}

}  // namespace ortool::rt::cpu::elementwise
