// Shared helpers of the elementwise kernel family: compute types (float16/bfloat16 through float),
// defined float-to-integer conversion, parallel loops, and the family's registration functions.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <type_traits>
#include <vector>

#include "lib/half.h"
#include "runtime/cpu/broadcast.h"
#include "runtime/cpu/dispatch.h"
#include "runtime/kernel.h"
#include "runtime/registry.h"
#include "runtime/thread_pool.h"

// Everything here lives in cpu::elementwise so that inline helpers (load, store, convert) never
// meet same-named helpers of other kernel families (an ODR clash would be silent).
namespace ortool::rt::cpu::elementwise {

// The type arithmetic on T is done in: float for the 16-bit float types, T otherwise.
template <typename T>
struct ComputeOf {
  using type = T;
};
template <>
struct ComputeOf<Float16> {
  using type = float;
};
template <>
struct ComputeOf<BFloat16> {
  using type = float;
};
template <typename T>
using Compute = typename ComputeOf<T>::type;

template <typename T>
inline constexpr bool is_half_v = std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>;
template <typename T>
inline constexpr bool is_floating_v = std::is_floating_point_v<T> || is_half_v<T>;

template <typename T>
inline Compute<T> load(T v) {
  if constexpr (is_half_v<T>) return static_cast<float>(v);
  else return v;
}
template <typename T, typename C>
inline T store(C v) {
  if constexpr (is_half_v<T>) return T(static_cast<float>(v));
  else return static_cast<T>(v);
}

// Floating-point value to integer type I with defined results: NaN gives 0; values beyond int64
// saturate; narrower types wrap modulo 2^bits as numpy's astype does on x86 (300.0 -> uint8 44).
template <typename I>
inline I float_to_int(double v) {
  if constexpr (std::is_same_v<I, bool>) {
    return v != 0;
  } else {
    if (std::isnan(v)) return 0;
    if constexpr (std::is_same_v<I, uint64_t>) {
      if (v >= 18446744073709551616.0) return std::numeric_limits<uint64_t>::max();
      if (v >= 9223372036854775808.0) return static_cast<uint64_t>(v);
    }
    int64_t i;
    if (v >= 9223372036854775808.0) i = std::numeric_limits<int64_t>::max();
    else if (v < -9223372036854775808.0) i = std::numeric_limits<int64_t>::min();
    else i = static_cast<int64_t>(v);
    return static_cast<I>(i);
  }
}

// double to float rounded to odd (truncate, then set the last bit when inexact): rounding that
// float again to a 16-bit float gives the correctly rounded result, with no double rounding.
inline float double_to_float_round_odd(double d) {
  float f = static_cast<float>(d);
  if (!std::isfinite(f) || static_cast<double>(f) == d) return f;
  if (std::fabs(static_cast<double>(f)) > std::fabs(d)) f = std::nextafter(f, 0.0f);
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  bits |= 1u;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Any numeric (or bool, float16, bfloat16) value to any numeric type, with defined results.
template <typename To, typename From>
inline To convert(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (is_half_v<To>) {
    if constexpr (std::is_same_v<From, double>) return To(double_to_float_round_odd(v));
    else return To(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, bool>) {
    if constexpr (is_half_v<From>) return static_cast<float>(v) != 0.0f;
    else return v != From(0);
  } else if constexpr (std::is_floating_point_v<To>) {
    if constexpr (is_half_v<From>) return static_cast<To>(static_cast<float>(v));
    else return static_cast<To>(v);
  } else {  // integer target
    if constexpr (is_half_v<From>) return float_to_int<To>(static_cast<float>(v));
    else if constexpr (std::is_floating_point_v<From>) return float_to_int<To>(static_cast<double>(v));
    else return static_cast<To>(v);  // integer or bool source: modular, defined since C++20
  }
}

// Runs fn(begin, end) over [0, n) on the context's pool when the work is large, inline otherwise.
void parallel_elements(KernelContext& ctx, int64_t n, const std::function<void(int64_t, int64_t)>& fn);

// Loops f(a, b) over a broadcast pair of operands (same-shape and scalar operands take the plain inner loops).
template <typename TA, typename TB, typename TO, typename F>
void binary_loop(KernelContext& ctx, const BroadcastRows& rows, const TA* a, const TB* b, TO* o, F f) {
  const int64_t sa = rows.step(0), sb = rows.step(1);
  parallel_elements(ctx, rows.numel(), [&](int64_t begin, int64_t end) {
    rows.for_each_in(begin, end, [&](int64_t oo, const int64_t* in, int64_t n) {
      const TA* pa = a + in[0];
      const TB* pb = b + in[1];
      TO* po = o + oo;
      if (sa && sb) {
        for (int64_t j = 0; j < n; ++j) po[j] = f(pa[j], pb[j]);
      } else if (sa) {
        const TB y = pb[0];
        for (int64_t j = 0; j < n; ++j) po[j] = f(pa[j], y);
      } else if (sb) {
        const TA x = pa[0];
        for (int64_t j = 0; j < n; ++j) po[j] = f(x, pb[j]);
      } else {
        const TO v = f(pa[0], pb[0]);
        for (int64_t j = 0; j < n; ++j) po[j] = v;
      }
    });
  });
}

// The tensor input i, or an error naming the node when it is absent or not a tensor.
Result<const Tensor*> required_tensor(KernelContext& ctx, size_t i);

// Element-type sets of unary ops.
enum class TypeSet { Float, SignedNumeric, Numeric, Integer, Bool };
template <TypeSet S, typename T>
constexpr bool in_typeset() {
  constexpr bool is_bool = std::is_same_v<T, bool>;
  if constexpr (S == TypeSet::Float) return is_floating_v<T>;
  else if constexpr (S == TypeSet::SignedNumeric) return is_floating_v<T> || (std::is_signed_v<T> && !is_bool);
  else if constexpr (S == TypeSet::Numeric) return !is_bool;
  else if constexpr (S == TypeSet::Integer) return std::is_integral_v<T> && !is_bool;
  else return is_bool;
}

// A unary elementwise kernel: out[i] = F(in[i]), computed in Compute<T>, output of the input's type
// and dims. F is built from the node (attributes) and has a templated call operator.
template <typename F, TypeSet S>
class UnaryKernel final : public Kernel {
 public:
  explicit UnaryKernel(const KernelInit& init) : f_(init.node) {}
  Status run(KernelContext& ctx) override {
    ASSIGN_OR_RETURN(const Tensor* x, required_tensor(ctx, 0));
    Status st = Status::ok();
    bool ok_type = false;
    dispatch_numeric(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (in_typeset<S, T>()) {
        ok_type = true;
        // out[i] depends on in[i] alone: the output may take a dying input's buffer.
        auto r = ctx.reuse_input_or_allocate(0, 0, x->dtype(), x->dims());
        if (!r) {
          st = r.status();
          return;
        }
        const T* in = x->data<T>();
        T* out = (*r)->template mutable_data<T>();
        parallel_elements(ctx, x->numel(), [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) out[i] = store<T>(f_(load(in[i])));
        });
      }
    });
    if (!ok_type)
      return unsupported("{}: element type {} is not supported", ctx.node().describe(), dtype_name(x->dtype()));
    return st;
  }

 private:
  F f_;
};

template <typename F, TypeSet S>
void add_unary(KernelRegistry& r, const char* name, int since, std::vector<DType> types) {
  r.add(KernelDef{"", name, since, INT32_MAX, std::move(types), 0, factory_of<UnaryKernel<F, S>>()});
}

// Element-type lists for registrations.
std::vector<DType> float_types();                // float16, bfloat16, float, double
std::vector<DType> signed_numeric_types();       // floats and signed integers
std::vector<DType> numeric_types();              // floats and all integers
std::vector<DType> integer_types();              // all integers
std::vector<DType> unsigned_types();             // uint8..uint64
std::vector<DType> all_tensor_types();           // numeric, bool, string

// Float32 through an array function of vec_math.h (Exp, Sqrt, Sigmoid, Tanh); the other element
// types through the generic unary kernel of F. The array functions work in place.
template <typename F, void (*ArrayFn)(const float*, float*, int64_t)>
class F32ArrayKernel final : public Kernel {
 public:
  explicit F32ArrayKernel(const KernelInit& init) : generic_(init) {}
  Status run(KernelContext& ctx) override {
    ASSIGN_OR_RETURN(const Tensor* x, required_tensor(ctx, 0));
    if (x->dtype() != DType::Float) return generic_.run(ctx);
    ASSIGN_OR_RETURN(Tensor * y, ctx.reuse_input_or_allocate(0, 0, DType::Float, x->dims()));
    const float* in = x->data<float>();
    float* out = y->mutable_data<float>();
    parallel_elements(ctx, x->numel(), [&](int64_t b, int64_t e) { ArrayFn(in + b, out + b, e - b); });
    return Status::ok();
  }

 private:
  UnaryKernel<F, TypeSet::Float> generic_;
};

template <typename F, void (*ArrayFn)(const float*, float*, int64_t)>
void add_f32_array(KernelRegistry& r, const char* name, int since) {
  r.add(KernelDef{"", name, since, INT32_MAX, float_types(), 0, factory_of<F32ArrayKernel<F, ArrayFn>>()});
}

// Registration, one function per file of the family.
void register_binary_kernels(KernelRegistry& r);      // elementwise_binary.cpp
void register_unary_kernels(KernelRegistry& r);       // elementwise_unary.cpp
void register_activation_kernels(KernelRegistry& r);  // activation.cpp
void register_variadic_kernels(KernelRegistry& r);    // elementwise_variadic.cpp
void register_passthrough_kernels(KernelRegistry& r); // elementwise_passthrough.cpp
void register_cast_kernels(KernelRegistry& r);        // cast.cpp
void register_softmax_kernels(KernelRegistry& r);     // softmax.cpp

}  // namespace ortool::rt::cpu::elementwise
