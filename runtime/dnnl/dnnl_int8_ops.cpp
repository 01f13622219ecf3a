// The dnnl provider's int8 steps between its conv/matmul groups, on the 8-bit data (NHWC inside int8 regions):
// DequantizeLinear -> float elementwise chain -> QuantizeLinear as a 256-entry table, and DQ -> op -> Q for
// Add/Mul, GlobalAveragePool, MaxPool, AveragePool, Resize (nearest) and Concat, so no float tensor is made
// between int8 groups.
//
// Exactness against the cpu reference (DQ, the float op, Q): the table is the reference kernels' own result
// for each of the 256 inputs (run_node at claim time), so a chain (SiLU's Sigmoid, Q, DQ, Mul included) is
// bit-equal; Add/Mul dequantize, add or multiply and quantize each element with the reference's float
// arithmetic (bit-equal); MaxPool and Concat move 8-bit values (max commutes with the monotone Q(DQ(.)),
// which a per-input table applies when the parameters differ: bit-equal); AveragePool sums the dequantized
// values in float in the reference's order and divides by its count (bit-equal); Resize in nearest mode
// picks the reference's input element for each output element and moves it as a byte (through a table when
// the parameters differ: bit-equal); GlobalAveragePool sums in int32 and rounds once, within one step of the
// reference's float sum; Softmax takes exp(x - max) from a table of the 256 differences the bytes can have
// (within a step of the reference's float exp: rarely off); a MatMul of two activations (dnnl_act_matmul.h)
// sums exact integer products and scales once, within one step of the reference's float products. Moves on
// 8-bit tensors left without Q/DQ by drop_qdq_around_moves (the channel shuffle, channel Slices) move the
// bytes: bit-equal.
//
// An input whose DequantizeLinear also feeds other steps is read as that DQ's output: 8-bit when claim_int8
// carries it, else float, which the kernel quantizes back (exact: round((q - z) * s / s) + z = q).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <unordered_set>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "runtime/cpu/byte_table.h"
#include "runtime/cpu/conv.h"
#include "runtime/cpu/pool_nhwc.h"
#include "runtime/cpu/transpose_tiled.h"
#include "runtime/cpu/vec_math.h"
#include "runtime/dnnl/dnnl_act_matmul.h"
#include "runtime/dnnl/dnnl_common.h"
#include "runtime/dnnl/dnnl_quant_loops.h"
#include "runtime/partition.h"
#include "runtime/cpu/qlinear_gap.h"
#include "runtime/cpu/resize.h"
#include "runtime/qdq_add_group.h"
#include "runtime/qdq_group.h"
#include "runtime/session.h"

namespace ortool::rt::dnnl_ep {

namespace {

namespace cf = cpu::conv_family;
namespace rz = cpu::resize;
using qdq::ActQuant;

// Calls f with a value of the C++ type of 8-bit `t`.
template <typename F>
void with_q8(DType t, F&& f) {
  if (t == DType::Int8) f(int8_t{});
  else f(uint8_t{});
}

enum class Kind { Table, Binary, GlobalAvg, MaxPool, AvgPool, Resize, Concat, Shuffle, Slice, MatMul, Softmax, LayerNorm };

// One 8-bit activation input of a step.
struct In8 {
  ActQuant q;         // its DequantizeLinear's parameters
  size_t input = 0;   // the step input holding it (the DQ's 8-bit input, or a shared DQ's output)
  bool shared = false;
};

struct OpSpec {
  Kind kind = Kind::Table;
  std::string what;
  const ir::Node* core = nullptr;  // the op (Table: the first DequantizeLinear)
  std::vector<In8> ins;
  ActQuant y;
  std::shared_ptr<Layouts> layouts = std::make_shared<Layouts>();
  std::vector<uint8_t> table;                // Table: output byte per input byte
  std::vector<std::vector<uint8_t>> requant;  // MaxPool, Concat: per input, Q(DQ(byte)) (empty: identity)
  bool mul = false;                          // Binary
  cf::WindowAttrs attrs;                     // MaxPool, AvgPool
  bool count_include_pad = false;            // AvgPool
  std::vector<float> deq;                    // AvgPool: DQ(byte) per byte, as DequantizeLinear computes it
  std::vector<float> exp_of_gap;             // Softmax: exp(-scale * d) for byte gaps d = max - x in 0..255
  std::vector<float> ln_scale, ln_beta;      // LayerNorm over the last axis: gamma, and beta / y_scale (one or n)
  float ln_eps = 1e-5f;
  rz::Attrs resize;                          // Resize
  std::vector<TensorPtr> resize_in;          // Resize: its roi, scales, sizes inputs (constants; null: absent)
  uint8_t extrapolated = 0;                  // Resize: Q(extrapolation_value) (tf_crop_and_resize)
  int64_t groups = 1;                        // Shuffle: channel c = i * (C / groups) + j goes to j * groups + i
  std::vector<int64_t> x_dims;               // Shuffle: the input dims the graph's Reshape shapes were resolved for
  int64_t start = 0, end = 0;                // Slice: the channel range (ONNX Slice's starts/ends, unclamped)
};

// Q_y(DQ_x(b)) per byte b, or empty when that is the identity.
std::vector<uint8_t> requant_table(const ActQuant& x, const ActQuant& y) {
  if (x.type == y.type && x.scale == y.scale && x.zero_point == y.zero_point) return {};
  std::vector<uint8_t> t(256);
  for (int b = 0; b < 256; ++b) {
    float f = 0;
    with_q8(x.type, [&](auto xv) { f = dequantize_one(static_cast<decltype(xv)>(b), x.scale, x.zero_point); });
    with_q8(y.type, [&](auto yv) { t[static_cast<size_t>(b)] = static_cast<uint8_t>(quantize_one<decltype(yv)>(f, y.scale, y.zero_point)); });
  }
  return t;
}

// --- kernels ---------------------------------------------------------------------------------------------

// Offset of (n, c, h, w) in a [N, C, H, W] tensor stored NCHW or NHWC.
struct Geo {
  int64_t n = 1, c = 1, h = 1, w = 1;
  bool nhwc = false;
  int64_t hw() const { return h * w; }
  int64_t at(int64_t in, int64_t ic, int64_t ih, int64_t iw) const {
    return nhwc ? ((in * h + ih) * w + iw) * c + ic : ((in * c + ic) * h + ih) * w + iw;
  }
};
Geo geo_of(const std::vector<int64_t>& d, bool nhwc) { return {d[0], d[1], d[2], d[3], nhwc}; }

// dst[2j] = a[j], dst[2j + 1] = b[j] for j < n.
void interleave_bytes(const uint8_t* __restrict a, const uint8_t* __restrict b, uint8_t* __restrict dst, int64_t n) {
  int64_t j = 0;
#ifdef __SSE2__
  for (; j + 16 <= n; j += 16) {
    const __m128i va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + j));
    const __m128i vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + j));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 2 * j), _mm_unpacklo_epi8(va, vb));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 2 * j + 16), _mm_unpackhi_epi8(va, vb));
  }
#endif
  for (; j < n; ++j) {
    dst[2 * j] = a[j];
    dst[2 * j + 1] = b[j];
  }
}

// e[i] = table[mx - x[i]] for a row of n 8-bit values; returns their sum (eight partial sums). Scalar loads:
// AVX2's vgatherdps took three times as long on Zen 3.
template <typename X>
float exp_row(const X* x, int64_t n, X mx, const float* table, float* e) {
  float part[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) part[j] += e[i + j] = table[static_cast<int32_t>(mx) - static_cast<int32_t>(x[i + j])];
  for (; i < n; ++i) part[0] += e[i] = table[static_cast<int32_t>(mx) - static_cast<int32_t>(x[i])];
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

class Int8OpKernel final : public Kernel {
 public:
  explicit Int8OpKernel(std::shared_ptr<const OpSpec> spec) : spec_(std::move(spec)) {}

  // Loops split through ctx.threads(); the MatMul is a oneDNN primitive with its own split.
  TeamUse team_use(KernelContext&) override { return spec_->kind == Kind::MatMul ? TeamUse::None : TeamUse::Pool; }

  Status run(KernelContext& ctx) override {
    const OpSpec& s = *spec_;
    std::vector<const Tensor*> xs;
    requantized_.resize(s.ins.size());
    for (size_t k = 0; k < s.ins.size(); ++k) {
      ASSIGN_OR_RETURN(const Tensor* t, input8(ctx, k));
      xs.push_back(t);
    }
    switch (s.kind) {
      case Kind::Table: return table(ctx, *xs[0]);
      case Kind::Binary: return binary(ctx, *xs[0], *xs[1]);
      case Kind::GlobalAvg: return global_avg(ctx, *xs[0]);
      case Kind::MaxPool: return max_pool(ctx, *xs[0]);
      case Kind::AvgPool: return avg_pool(ctx, *xs[0]);
      case Kind::Resize: return resize(ctx, *xs[0]);
      case Kind::Concat: return concat(ctx, xs);
      case Kind::Shuffle: return shuffle(ctx, *xs[0]);
      case Kind::Slice: return slice(ctx, *xs[0]);
      case Kind::MatMul: return matmul_.run(ctx, *xs[0], *xs[1], s.ins[0].q, s.ins[1].q, s.y, s.what);
      case Kind::Softmax: return softmax(ctx, *xs[0]);
      case Kind::LayerNorm: return layer_norm(ctx, *xs[0]);
    }
    return Status::ok();
  }

 private:
  // The 8-bit data of input k: as given, or quantized back from the float output of a shared
  // DequantizeLinear that ran on its own.
  Result<const Tensor*> input8(KernelContext& ctx, size_t k) {
    const In8& in = spec_->ins[k];
    const Tensor* x = ctx.input_tensor(in.input);
    if (x && x->dtype() == in.q.type) return x;
    if (!x || !in.shared || x->dtype() != DType::Float)
      return invalid("{}: input {} is {}; its zero point says {}", spec_->what, k, x ? dtype_name(x->dtype()) : "absent",
                     dtype_name(in.q.type));
    Tensor& r = requantized_[k];
    if (r.dims() != x->dims() || r.dtype() != in.q.type) r = Tensor(in.q.type, x->dims());
    const float* f = x->data<float>();
    with_q8(in.q.type, [&](auto v) {
      using Q = decltype(v);
      Q* o = r.mutable_data<Q>();
      split_loop(ctx, x->numel(), [&](int64_t b, int64_t e) { quantize_loop(f, o, b, e, in.q.scale, in.q.zero_point); });
    });
    return &r;
  }

  Result<Tensor*> output(KernelContext& ctx, std::vector<int64_t> dims) {
    return ctx.allocate_output(0, spec_->y.type, std::move(dims), KernelContext::Fill::Uninitialized);
  }

  Status need_4d(const Tensor& x, const char* name) const {
    if (x.rank() != 4) return invalid("{}: input {} has rank {}; want [N, C, H, W]", spec_->what, name, x.rank());
    return Status::ok();
  }

  Status table(KernelContext& ctx, const Tensor& x) {
    ASSIGN_OR_RETURN(Tensor * y, output(ctx, x.dims()));
    const auto* in = static_cast<const uint8_t*>(x.raw());
    auto* out = static_cast<uint8_t*>(y->raw_mutable());
    const uint8_t* t = spec_->table.data();
    // A VBMI lookup moves ~30 bytes per ns: splitting pays off from about a megabyte (efficientnet_b0's
    // int8 file at two threads: 4.20 ms with 1 M chunks, 4.46 with 64 K or 256 K, best of 6 alternating runs).
    split_loop(ctx, x.numel(), [in, out, t](int64_t b, int64_t e) { cpu::lookup_bytes(in + b, out + b, e - b, t); },
               int64_t{1} << 20);
    return Status::ok();
  }

  // y = Q(f(x) op g) over a row, g one float per element (a dequantized per-channel operand) or one
  // float for the row: the reference's float arithmetic, written for the vectorizer.
  template <bool Mul, bool GVec, typename X, typename Y>
  static void row_xg(const X* __restrict x, const float* __restrict g, Y* __restrict y, int64_t n, const ActQuant& qx,
                     const ActQuant& qy) {
    const float sx = qx.scale, sy = qy.scale, g0 = g[0];
    const int32_t zx = qx.zero_point, zy = qy.zero_point;
    for (int64_t i = 0; i < n; ++i) {
      const float f = dequantize_one(x[i], sx, zx), h = GVec ? g[i] : g0;
      y[i] = quantize_one<Y>(Mul ? f * h : f + h, sy, zy);
    }
  }
  template <bool Mul, typename A, typename B, typename Y>
  static void row_ab(const A* __restrict a, const B* __restrict b, Y* __restrict y, int64_t n, const ActQuant& qa,
                     const ActQuant& qb, const ActQuant& qy) {
    const float sa = qa.scale, sb = qb.scale, sy = qy.scale;
    const int32_t za = qa.zero_point, zb = qb.zero_point, zy = qy.zero_point;
    for (int64_t i = 0; i < n; ++i) {
      const float f = dequantize_one(a[i], sa, za), h = dequantize_one(b[i], sb, zb);
      y[i] = quantize_one<Y>(Mul ? f * h : f + h, sy, zy);
    }
  }

  // Where an operand's element for output element i is: the same index, its channel's, the one value,
  // or the same element in the other order.
  enum class Pick { Same, Channel, Scalar, Other };

  Status binary(KernelContext& ctx, const Tensor& a, const Tensor& b) {
    const OpSpec& s = *spec_;
    const Tensor& big = a.numel() >= b.numel() ? a : b;
    ASSIGN_OR_RETURN(Tensor * y, output(ctx, big.dims()));
    const bool four = big.rank() == 4;
    const Geo g = four ? geo_of(big.dims(), s.layouts->out_nhwc) : Geo{};
    auto pick_of = [&](const Tensor& t, size_t k) -> Result<Pick> {
      if (t.dims() == big.dims())
        return four && s.layouts->input_nhwc(s.ins[k].input) != s.layouts->out_nhwc ? Pick::Other : Pick::Same;
      if (t.numel() == 1 && t.rank() <= big.rank()) return Pick::Scalar;
      // [C, 1, 1], [1, C, 1, 1] or [N, C, 1, 1] against a 4-D tensor: one value per channel (and image).
      if (four && t.numel() == (t.rank() == 4 ? t.dims()[0] : 1) * g.c && t.rank() >= 3 &&
          t.dims()[t.rank() - 3] == g.c && t.dims()[t.rank() - 1] == 1 && t.dims()[t.rank() - 2] == 1 &&
          (t.rank() == 3 || t.dims()[0] == 1 || t.dims()[0] == g.n))
        return Pick::Channel;
      return invalid("{}: inputs of shapes {} and {} do not broadcast as planned", s.what, cf::dims_string(a.dims()),
                     cf::dims_string(b.dims()));
    };
    ASSIGN_OR_RETURN(Pick pa, pick_of(a, 0));
    ASSIGN_OR_RETURN(Pick pb, pick_of(b, 1));
    // A whole operand in the other layout is copied into the output's first (tiled byte transposes), so that
    // the row loops run rather than the per-element indexing: ConvNeXt's layer scale, Mul(NCHW x, gamma[C, 1, 1])
    // into NHWC, took 4.7 ns per value there.
    Tensor relaid[2];
    const Tensor* in[2] = {&a, &b};
    Pick* pick[2] = {&pa, &pb};
    for (int k = 0; k < 2; ++k) {
      if (*pick[k] != Pick::Other) continue;
      relaid[k] = Tensor(in[k]->dtype(), in[k]->dims());
      const auto* src = static_cast<const uint8_t*>(in[k]->raw());
      auto* dst = static_cast<uint8_t*>(relaid[k].raw_mutable());
      if (g.nhwc) cpu::nchw_to_nhwc_bytes(src, dst, g.n, g.c, g.hw());
      else cpu::nhwc_to_nchw_bytes(src, dst, g.n, g.c, g.hw());
      in[k] = &relaid[k];
      *pick[k] = Pick::Same;
    }
    if (s.mul) binary_as<true>(ctx, *in[0], *in[1], *y, pa, pb, g);
    else binary_as<false>(ctx, *in[0], *in[1], *y, pa, pb, g);
    return Status::ok();
  }

  template <bool Mul>
  void binary_as(KernelContext& ctx, const Tensor& a, const Tensor& b, Tensor& y, Pick pa, Pick pb, const Geo& g) {
    const OpSpec& s = *spec_;
    const ActQuant &qa = s.ins[0].q, &qb = s.ins[1].q, &qy = s.y;
    const int64_t total = y.numel();
    with_q8(qa.type, [&](auto av) {
      with_q8(qb.type, [&](auto bv) {
        with_q8(qy.type, [&](auto yv) {
          using A = decltype(av);
          using B = decltype(bv);
          using Y = decltype(yv);
          const A* xa = a.data<A>();
          const B* xb = b.data<B>();
          Y* py = y.mutable_data<Y>();
          if (pa == Pick::Same && pb == Pick::Same) {
            split_loop(ctx, total, [&](int64_t lo, int64_t hi) { row_ab<Mul>(xa + lo, xb + lo, py + lo, hi - lo, qa, qb, qy); });
            return;
          }
          // One full operand in the output's order and one per channel or scalar: dequantize the small one
          // once, then rows.
          if ((pa == Pick::Same && (pb == Pick::Channel || pb == Pick::Scalar)) ||
              (pb == Pick::Same && (pa == Pick::Channel || pa == Pick::Scalar))) {
            const bool a_full = pa == Pick::Same;
            const Tensor& small = a_full ? b : a;
            const ActQuant& qs = a_full ? qb : qa;
            std::vector<float> fs(static_cast<size_t>(small.numel()));
            with_q8(qs.type, [&](auto sv) {
              using S = decltype(sv);
              dequantize_loop(small.data<S>(), fs.data(), 0, small.numel(), qs.scale, qs.zero_point);
            });
            auto rows = [&](const auto* full, const ActQuant& qf) {
              if ((a_full ? pb : pa) == Pick::Scalar) {
                split_loop(ctx, total, [&](int64_t lo, int64_t hi) { row_xg<Mul, false>(full + lo, fs.data(), py + lo, hi - lo, qf, qy); });
                return;
              }
              const bool per_image = small.rank() == 4 && small.dims()[0] == g.n && g.n > 1;
              if (g.nhwc) {  // rows of C values
                const int64_t nrows = total / std::max<int64_t>(g.c, 1);
                split_loop(ctx, total, [&](int64_t lo, int64_t hi) {
                  for (int64_t r = lo / g.c; r < (hi + g.c - 1) / g.c && r < nrows; ++r) {
                    if (r * g.c < lo) continue;
                    const float* f = fs.data() + (per_image ? r / g.hw() * g.c : 0);
                    row_xg<Mul, true>(full + r * g.c, f, py + r * g.c, g.c, qf, qy);
                  }
                });
              } else {  // planes of H x W values of one channel
                const int64_t planes = total / std::max<int64_t>(g.hw(), 1);
                for (int64_t p = 0; p < planes; ++p) {
                  const int64_t n = p / g.c, c = p % g.c;
                  const float* f = fs.data() + (per_image ? n * g.c : 0) + c;
                  row_xg<Mul, false>(full + p * g.hw(), f, py + p * g.hw(), g.hw(), qf, qy);
                }
              }
            };
            if (a_full) rows(xa, qa);
            else rows(xb, qb);
            return;
          }
          // Anything else (an operand in the other order): element by element.
          auto index = [&](Pick p, const Tensor& t, int64_t i) -> int64_t {
            const int64_t n = i / std::max<int64_t>(g.c * g.hw(), 1), r = i - n * g.c * g.hw();
            const int64_t c = g.nhwc ? r % g.c : r / g.hw(), hw = g.nhwc ? r / g.c : r % g.hw();
            switch (p) {
              case Pick::Same: return i;
              case Pick::Scalar: return 0;
              case Pick::Channel: return (t.rank() == 4 && t.dims()[0] == g.n && g.n > 1 ? n * g.c : 0) + c;
              case Pick::Other: return g.nhwc ? (n * g.c + c) * g.hw() + hw : (n * g.hw() + hw) * g.c + c;
            }
            return 0;
          };
          for (int64_t i = 0; i < total; ++i) {
            const float f = dequantize_one(xa[index(pa, a, i)], qa.scale, qa.zero_point);
            const float h = dequantize_one(xb[index(pb, b, i)], qb.scale, qb.zero_point);
            py[i] = quantize_one<Y>(Mul ? f * h : f + h, qy.scale, qy.zero_point);
          }
        });
      });
    });
  }

  Status global_avg(KernelContext& ctx, const Tensor& x) {
    TRY(need_4d(x, "X"));
    const OpSpec& s = *spec_;
    const Geo g = geo_of(x.dims(), s.layouts->input_nhwc(s.ins[0].input));
    ASSIGN_OR_RETURN(Tensor * y, output(ctx, {g.n, g.c, 1, 1}));
    if (g.hw() == 0) return invalid("{}: empty window", s.what);
    sums_.assign(static_cast<size_t>(g.n * g.c), 0);
    const ActQuant &qx = s.ins[0].q, &qy = s.y;
    with_q8(qx.type, [&](auto xv) {
      using X = decltype(xv);
      const X* px = x.data<X>();
      for (int64_t n = 0; n < g.n; ++n) {
        int32_t* acc = sums_.data() + n * g.c;
        if (g.nhwc) {
          for (int64_t p = 0; p < g.hw(); ++p) {
            const X* row = px + (n * g.hw() + p) * g.c;
            for (int64_t c = 0; c < g.c; ++c) acc[c] += row[c];
          }
        } else {
          for (int64_t c = 0; c < g.c; ++c) {
            const X* plane = px + (n * g.c + c) * g.hw();
            int32_t t = 0;
            for (int64_t p = 0; p < g.hw(); ++p) t += plane[p];
            acc[c] = t;
          }
        }
      }
    });
    // Requantized as ONNX Runtime's QLinearGlobalAveragePool does (runtime/cpu/qlinear_gap.h), as the cpu
    // provider runs this group too.
    const cpu::qlinear::GapForm f = cpu::qlinear::gap_form(qx.scale, qx.zero_point, qy.scale, qy.zero_point, g.hw(),
                                                           qy.type == DType::UInt8);
    with_q8(qy.type, [&](auto yv) {
      using Y = decltype(yv);
      Y* py = y->mutable_data<Y>();
      for (int64_t i = 0; i < g.n * g.c; ++i) py[i] = static_cast<Y>(cpu::qlinear::gap_value(f, sums_[i]));
    });
    return Status::ok();
  }

  // A 2-D pool's window over x, the input's and output's geometry, and the output.
  struct Pooled {
    cf::Window w;
    Geo gi, go;
    Tensor* y = nullptr;
  };
  Result<Pooled> pool_output(KernelContext& ctx, const Tensor& x) {
    TRY(need_4d(x, "X"));
    const OpSpec& s = *spec_;
    Pooled p;
    std::span<const int64_t> in(x.dims().data() + 2, 2);
    ASSIGN_OR_RETURN(p.w, cf::resolve_window(*s.core, s.attrs, in, s.attrs.kernel_shape, cf::WindowKind::Pool));
    p.gi = geo_of(x.dims(), s.layouts->input_nhwc(s.ins[0].input));
    p.go = Geo{p.gi.n, p.gi.c, p.w.out[0], p.w.out[1], s.layouts->out_nhwc};
    ASSIGN_OR_RETURN(p.y, output(ctx, {p.go.n, p.go.c, p.go.h, p.go.w}));
    return p;
  }

  // Window maxima over NHWC rows, a vector of channels at a time (cpu::max_pool2d_nhwc_bytes). An input or output in the plain layout (a
  // region's edge: a graph input or output, a float reader) goes through an NHWC copy: a per-element loop over
  // the plain layout took 20 ns an output (4.1 ms for resnet18's max pool when its output left the region).
  Status max_pool(KernelContext& ctx, const Tensor& x) {
    const OpSpec& s = *spec_;
    ASSIGN_OR_RETURN(Pooled pl, pool_output(ctx, x));
    const cf::Window& w = pl.w;
    Geo gi = pl.gi, go = pl.go;
    Tensor* y = pl.y;
    const uint8_t* src = static_cast<const uint8_t*>(x.raw());
    auto* py = static_cast<uint8_t*>(y->raw_mutable());
    uint8_t* dst = py;
    if (!gi.nhwc) {
      relaid_in_.resize(static_cast<size_t>(x.numel()));
      cpu::nchw_to_nhwc_bytes(src, relaid_in_.data(), gi.n, gi.c, gi.hw());
      src = relaid_in_.data();
      gi.nhwc = true;
    }
    if (!go.nhwc) {
      relaid_out_.resize(static_cast<size_t>(y->numel()));
      dst = relaid_out_.data();
    }
    const std::vector<uint8_t>& rq = s.requant[0];
    cpu::max_pool2d_nhwc_bytes(s.ins[0].q.type == DType::Int8, w, src, dst, go.n, go.c, rq.empty() ? nullptr : rq.data(),
                               ctx.threads());
    if (!go.nhwc) cpu::nhwc_to_nchw_bytes(dst, py, go.n, go.c, go.hw());
    return Status::ok();
  }

  // f(lo, hi) over `rows` output rows of `per_row` elements, split over the session's threads when the output is large.
  template <typename F>
  static void split_rows(KernelContext& ctx, int64_t rows, int64_t per_row, F&& f) {
    ThreadPool* pool = ctx.threads();
    if (pool && pool->size() > 1 && rows > 1 && rows * per_row >= (1 << 17))
      pool->parallel_for(static_cast<size_t>(rows), [&](size_t b, size_t e) { f(static_cast<int64_t>(b), static_cast<int64_t>(e)); }, 1);
    else
      f(int64_t{0}, rows);
  }

  // DQ -> AveragePool -> Q as the reference runs it (runtime/cpu/pool.cpp): per window, the dequantized values
  // (from a table: no multiply the compiler could fuse into the add) summed in float in the reference's order,
  // rows then columns, divided by its count (count_include_pad: the taps inside the padded input), quantized.
  Status avg_pool(KernelContext& ctx, const Tensor& x) {
    const OpSpec& s = *spec_;
    ASSIGN_OR_RETURN(Pooled pl, pool_output(ctx, x));
    const cf::Window& w = pl.w;
    const Geo &gi = pl.gi, &go = pl.go;
    Tensor* y = pl.y;
    // Per axis and output coordinate: the input coordinates inside the window, and the taps inside the padded input.
    std::vector<int64_t> taps[2], first[2], padded[2];
    for (int d = 0; d < 2; ++d) {
      for (int64_t o = 0; o < w.out[d]; ++o) {
        first[d].push_back(static_cast<int64_t>(taps[d].size()));
        const int64_t start = o * w.stride[d] - w.pad_begin[d];
        int64_t pc = 0;
        for (int64_t k = 0; k < w.kernel[d]; ++k) {
          const int64_t i = start + k * w.dilation[d];
          if (i >= 0 && i < w.in[d]) taps[d].push_back(i);
          pc += i < w.in[d] + w.pad_end[d];
        }
        padded[d].push_back(pc);
      }
      first[d].push_back(static_cast<int64_t>(taps[d].size()));
    }
    const float* deq = s.deq.data();
    const ActQuant& qy = s.y;
    with_q8(s.ins[0].q.type, [&](auto xv) {
      with_q8(qy.type, [&](auto yv) {
        using X = decltype(xv);
        using Y = decltype(yv);
        const auto* px = reinterpret_cast<const uint8_t*>(x.data<X>());
        Y* py = y->mutable_data<Y>();
        auto divisor = [&](int64_t oh, int64_t ow) {
          return s.count_include_pad ? padded[0][oh] * padded[1][ow]
                                     : (first[0][oh + 1] - first[0][oh]) * (first[1][ow + 1] - first[1][ow]);
        };
        auto rows = [&](int64_t lo, int64_t hi) {
          std::vector<float> acc(static_cast<size_t>(gi.c));
          for (int64_t r = lo; r < hi; ++r) {
            const int64_t n = r / go.h, oh = r % go.h;
            for (int64_t ow = 0; ow < go.w; ++ow) {
              std::fill(acc.begin(), acc.end(), 0.0f);
              for (int64_t th = first[0][oh]; th < first[0][oh + 1]; ++th)
                for (int64_t tw = first[1][ow]; tw < first[1][ow + 1]; ++tw) {
                  const uint8_t* src = px + gi.at(n, 0, taps[0][th], taps[1][tw]);
                  if (gi.nhwc) {
                    for (int64_t c = 0; c < gi.c; ++c) acc[c] += deq[src[c]];
                  } else {
                    for (int64_t c = 0; c < gi.c; ++c) acc[c] += deq[src[c * gi.hw()]];
                  }
                }
              const int64_t div = divisor(oh, ow);
              for (int64_t c = 0; c < go.c; ++c)
                py[go.at(n, c, oh, ow)] = quantize_one<Y>(div > 0 ? acc[c] / static_cast<float>(div) : 0.0f, qy.scale, qy.zero_point);
            }
          }
        };
        split_rows(ctx, go.n * go.h, go.w * go.c * w.kernel_size(), rows);
      });
    });
    return Status::ok();
  }

  // DQ -> Resize (nearest) -> Q: the reference's taps (runtime/cpu/resize.h) pick each output element's input
  // element, which moves as a byte (through the requantization table when the parameters differ); an
  // extrapolated element (tf_crop_and_resize outside the input) is Q(extrapolation_value). Bit-equal.
  Status resize(KernelContext& ctx, const Tensor& x) {
    TRY(need_4d(x, "X"));
    const OpSpec& s = *spec_;
    const Tensor* ins[4] = {&x, s.resize_in[0].get(), s.resize_in[1].get(), s.resize_in[2].get()};
    ASSIGN_OR_RETURN(rz::Geometry g, rz::geometry(s.resize, *s.core, ins));
    ASSIGN_OR_RETURN(Tensor * y, output(ctx, g.out));
    if (y->numel() == 0) return Status::ok();
    rz::build_taps(s.resize, g);
    // Per axis and output coordinate: the input coordinate, or -1 when extrapolated.
    std::vector<int64_t> at[4];
    for (size_t d = 0; d < 4; ++d)
      for (const rz::AxisTaps& t : g.taps[d]) {
        if (!t.extrapolate && (t.index.size() != 1 || t.weight[0] != 1.0))
          return internal_error("{}: a nearest tap is not one input element", s.what);
        at[d].push_back(t.extrapolate ? -1 : t.index[0]);
      }
    const Geo gi = geo_of(x.dims(), s.layouts->input_nhwc(s.ins[0].input));
    const Geo go = geo_of(g.out, s.layouts->out_nhwc);
    const auto* px = static_cast<const uint8_t*>(x.raw());
    auto* py = static_cast<uint8_t*>(y->raw_mutable());
    const uint8_t* rq = s.requant[0].empty() ? nullptr : s.requant[0].data();
    const uint8_t ext = s.extrapolated;
    bool channels_kept = gi.c == go.c;
    for (int64_t c = 0; c < go.c && channels_kept; ++c) channels_kept = at[1][c] == c;
    auto rows = [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        const int64_t n = r / go.h, oh = r % go.h, in = at[0][n], ih = at[2][oh];
        if (gi.nhwc && go.nhwc && channels_kept) {
          uint8_t* dst = py + go.at(n, 0, oh, 0);
          // A row that repeats the previous one (upsampling along H) is a copy of it.
          if (oh > 0 && ih == at[2][oh - 1] && r > lo) {
            std::memcpy(dst, dst - go.w * go.c, static_cast<size_t>(go.w * go.c));
            continue;
          }
          for (int64_t ow = 0; ow < go.w; ++ow, dst += go.c) {
            const int64_t iw = at[3][ow];
            if (in < 0 || ih < 0 || iw < 0) std::memset(dst, ext, static_cast<size_t>(go.c));
            else if (rq) cpu::lookup_bytes(px + gi.at(in, 0, ih, iw), dst, go.c, rq);
            else std::memcpy(dst, px + gi.at(in, 0, ih, iw), static_cast<size_t>(go.c));
          }
          continue;
        }
        // Any layouts: one channel's row at a time, walking W with each tensor's stride.
        const int64_t xs = gi.nhwc ? gi.c : 1, ys = go.nhwc ? go.c : 1;
        for (int64_t c = 0; c < go.c; ++c) {
          const int64_t ic = at[1][c];
          uint8_t* dst = py + go.at(n, c, oh, 0);
          if (in < 0 || ic < 0 || ih < 0) {
            for (int64_t ow = 0; ow < go.w; ++ow) dst[ow * ys] = ext;
            continue;
          }
          const uint8_t* src = px + gi.at(in, ic, ih, 0);
          for (int64_t ow = 0; ow < go.w; ++ow) {
            const int64_t iw = at[3][ow];
            dst[ow * ys] = iw < 0 ? ext : rq ? rq[src[iw * xs]] : src[iw * xs];
          }
        }
      }
    };
    split_rows(ctx, go.n * go.h, go.w * go.c, rows);
    return Status::ok();
  }

  Status concat(KernelContext& ctx, const std::vector<const Tensor*>& xs) {
    const OpSpec& s = *spec_;
    int64_t channels = 0;
    for (const Tensor* t : xs) {
      TRY(need_4d(*t, "inputs"));
      const auto& d0 = xs[0]->dims();
      if (t->dims()[0] != d0[0] || t->dims()[2] != d0[2] || t->dims()[3] != d0[3])
        return invalid("{}: inputs of shapes {} and {} do not concatenate along channels", s.what,
                       cf::dims_string(d0), cf::dims_string(t->dims()));
      channels += t->dims()[1];
    }
    const auto& d0 = xs[0]->dims();
    const Geo go{d0[0], channels, d0[2], d0[3], s.layouts->out_nhwc};
    ASSIGN_OR_RETURN(Tensor * y, output(ctx, {go.n, go.c, go.h, go.w}));
    auto* py = static_cast<uint8_t*>(y->raw_mutable());
    int64_t off = 0;
    for (size_t k = 0; k < xs.size(); ++k) {
      Geo gi = geo_of(xs[k]->dims(), s.layouts->input_nhwc(s.ins[k].input));
      const auto* px = static_cast<const uint8_t*>(xs[k]->raw());
      const std::vector<uint8_t>& rq = s.requant[k];
      if (gi.nhwc != go.nhwc) {  // an input from outside the region: a copy in the output's layout first
        relaid_in_.resize(static_cast<size_t>(xs[k]->numel()));
        if (go.nhwc) cpu::nchw_to_nhwc_bytes(px, relaid_in_.data(), gi.n, gi.c, gi.hw());
        else cpu::nhwc_to_nchw_bytes(px, relaid_in_.data(), gi.n, gi.c, gi.hw());
        px = relaid_in_.data();
        gi.nhwc = go.nhwc;
      }
      auto copy = [&](uint8_t* dst, const uint8_t* src, int64_t len) {
        if (rq.empty()) std::memcpy(dst, src, static_cast<size_t>(len));
        else cpu::lookup_bytes(src, dst, len, rq.data());
      };
      if (gi.nhwc && go.nhwc) {
        split_loop(ctx, go.n * go.hw(), [&](int64_t lo, int64_t hi) {
          if (rq.empty()) {
            for (int64_t p = lo; p < hi; ++p) std::memcpy(py + p * go.c + off, px + p * gi.c, static_cast<size_t>(gi.c));
            return;
          }
          // Pixels' bytes requantized a few KiB at a time into a buffer, then copied to their rows: one lookup call
          // per pixel (ShuffleNet's 58 channels) spent more on the table's setup and a scalar tail than on the bytes.
          thread_local std::vector<uint8_t> chunk;
          const int64_t step = std::max<int64_t>(1, 4096 / std::max<int64_t>(gi.c, 1));
          chunk.resize(static_cast<size_t>(step * gi.c));
          for (int64_t p0 = lo; p0 < hi; p0 += step) {
            const int64_t p1 = std::min(hi, p0 + step);
            cpu::lookup_bytes(px + p0 * gi.c, chunk.data(), (p1 - p0) * gi.c, rq.data());
            for (int64_t p = p0; p < p1; ++p)
              std::memcpy(py + p * go.c + off, chunk.data() + (p - p0) * gi.c, static_cast<size_t>(gi.c));
          }
        }, std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(gi.c, 1)));
      } else {
        for (int64_t n = 0; n < go.n; ++n) copy(py + (n * go.c + off) * go.hw(), px + n * gi.c * gi.hw(), gi.c * gi.hw());
      }
      off += gi.c;
    }
    return Status::ok();
  }

  // Copies channel ranges between two 4-D 8-bit tensors of the same N, H, W in any orders: `count`
  // channels from channel `from` of x to channel `to` of y.
  static void copy_channels(const uint8_t* px, const Geo& gx, uint8_t* py, const Geo& gy, int64_t from, int64_t to,
                            int64_t count) {
    if (gx.nhwc && gy.nhwc) {
      for (int64_t p = 0; p < gx.n * gx.hw(); ++p) std::memcpy(py + p * gy.c + to, px + p * gx.c + from, static_cast<size_t>(count));
    } else if (!gx.nhwc && !gy.nhwc) {
      for (int64_t n = 0; n < gx.n; ++n)
        std::memcpy(py + (n * gy.c + to) * gy.hw(), px + (n * gx.c + from) * gx.hw(), static_cast<size_t>(count * gx.hw()));
    } else {
      for (int64_t n = 0; n < gx.n; ++n)
        for (int64_t c = 0; c < count; ++c)
          for (int64_t h = 0; h < gx.h; ++h)
            for (int64_t w = 0; w < gx.w; ++w) py[gy.at(n, to + c, h, w)] = px[gx.at(n, from + c, h, w)];
    }
  }

  Status shuffle(KernelContext& ctx, const Tensor& x) {
    const OpSpec& s = *spec_;
    if (x.dims() != s.x_dims)
      return invalid("{}: input has shape {}; the shuffle was planned for {}", s.what, cf::dims_string(x.dims()),
                     cf::dims_string(s.x_dims));
    const Geo gx = geo_of(x.dims(), s.layouts->input_nhwc(s.ins[0].input));
    const Geo gy = geo_of(x.dims(), s.layouts->out_nhwc);
    ASSIGN_OR_RETURN(Tensor * y, output(ctx, x.dims()));
    const auto* px = static_cast<const uint8_t*>(x.raw());
    auto* py = static_cast<uint8_t*>(y->raw_mutable());
    const int64_t g = s.groups, cg = gx.c / g;
    if (gx.nhwc && gy.nhwc) {
      // Pixels in parallel; ShuffleNet's two groups as a byte interleave of the pixel's two halves (a strided
      // byte loop took a tenth of shufflenet_v2's int8 time).
      split_loop(ctx, gx.n * gx.hw(), [&](int64_t lo, int64_t hi) {
        for (int64_t p = lo; p < hi; ++p) {
          const uint8_t* __restrict src = px + p * gx.c;
          uint8_t* __restrict dst = py + p * gx.c;
          if (g == 2) {
            interleave_bytes(src, src + cg, dst, cg);
            continue;
          }
          for (int64_t i = 0; i < g; ++i)
            for (int64_t j = 0; j < cg; ++j) dst[j * g + i] = src[i * cg + j];
        }
      }, std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(gx.c, 1)));
      return Status::ok();
    }
    for (int64_t i = 0; i < g; ++i)
      for (int64_t j = 0; j < cg; ++j) copy_channels(px, gx, py, gy, i * cg + j, j * g + i, 1);
    return Status::ok();
  }

  // Softmax over the last axis, a row at a time: exp(DQ(x) - DQ(max)) = exp(-scale * (max - x)) read from a
  // table of the 256 byte gaps, summed (eight partial sums), scaled by 1 / sum and quantized: a third less time
  // than dequantizing and running the float kernel's exp (0.058 against 0.09 ms on the transformer's 512 rows
  // of 128), whose result the table's exp is within an ulp of.
  Status softmax(KernelContext& ctx, const Tensor& x) {
    const OpSpec& s = *spec_;
    if (x.rank() == 0) return invalid("{}: input is a scalar; want the reduced axis last", s.what);
    ASSIGN_OR_RETURN(Tensor * y, output(ctx, x.dims()));
    const int64_t n = x.dims().back(), rows = n == 0 ? 0 : x.numel() / n;
    const ActQuant yq = s.y;
    const float* table = s.exp_of_gap.data();
    const auto* in = static_cast<const uint8_t*>(x.raw());
    auto* out = static_cast<uint8_t*>(y->raw_mutable());
    with_q8(s.ins[0].q.type, [&](auto xv) {
      using X = decltype(xv);
      split_loop(ctx, rows, [&](int64_t r0, int64_t r1) {
        thread_local std::vector<float> row;
        row.resize(static_cast<size_t>(n));
        float* e = row.data();
        for (int64_t r = r0; r < r1; ++r) {
          const X* xr = reinterpret_cast<const X*>(in + r * n);
          X mx = xr[0];
          for (int64_t i = 1; i < n; ++i) mx = std::max(mx, xr[i]);
          const float sum = exp_row(xr, n, mx, table, e);
          // Q(e / sum) with one multiply per element (a division each in QuantizeLinear's arithmetic).
          const float mul = 1.0f / (sum * yq.scale);
          with_q8(yq.type, [&](auto yv) {
            using Y = decltype(yv);
            cpu::vec::scale_f32(e, n, mul);
            quantize_loop(e, reinterpret_cast<Y*>(out + r * n), 0, n, 1.0f, yq.zero_point);
          });
        }
      }, std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(n, 1)));
    });
    return Status::ok();
  }

  // LayerNormalization over the last axis, a row at a time, from the bytes: the mean and variance from exact integer
  // sums of q - z (in double), then y = gamma * (q * k1 - k2) + beta / y_scale, rounded, as one multiply-add per
  // value: one pass over the bytes where a DQ step, the float kernel and a Q step made three over floats. Within a
  // step of the cpu kernels (double statistics of the dequantized values, a division by y_scale).
  Status layer_norm(KernelContext& ctx, const Tensor& x) {
    const OpSpec& s = *spec_;
    if (x.rank() == 0) return invalid("{}: input is a scalar; want the normalized axis last", s.what);
    const int64_t n = x.dims().back(), rows = n == 0 ? 0 : x.numel() / n;
    const auto params = static_cast<int64_t>(s.ln_scale.size());
    if (params != 1 && params != n) return invalid("{}: Scale of {} values for a normalized axis of {}", s.what, params, n);
    ASSIGN_OR_RETURN(Tensor * y, output(ctx, x.dims()));
    const ActQuant xq = s.ins[0].q, yq = s.y;
    const auto* in = static_cast<const uint8_t*>(x.raw());
    auto* out = static_cast<uint8_t*>(y->raw_mutable());
    const float* gamma = s.ln_scale.data();
    const float* beta = s.ln_beta.data();
    if (params == 1 && n > 1) {  // a one-value Scale broadcasts: spread once per row length
      if (spread_.size() != static_cast<size_t>(2 * n)) {
        spread_.assign(static_cast<size_t>(n), s.ln_scale[0]);
        spread_.resize(static_cast<size_t>(2 * n), s.ln_beta[0]);
      }
      gamma = spread_.data();
      beta = spread_.data() + n;
    }
    with_q8(xq.type, [&](auto xv) {
      with_q8(yq.type, [&](auto yv) {
        using X = decltype(xv);
        using Y = decltype(yv);
        split_loop(ctx, rows, [&](int64_t r0, int64_t r1) {
          for (int64_t r = r0; r < r1; ++r)
            norm_row(reinterpret_cast<const X*>(in) + r * n, reinterpret_cast<Y*>(out) + r * n, n, gamma, beta, xq, yq,
                     s.ln_eps);
        }, std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(n, 1)));
      });
    });
    return Status::ok();
  }

  template <typename X, typename Y>
  static void norm_row(const X* __restrict x, Y* __restrict y, int64_t n, const float* __restrict gamma,
                       const float* __restrict beta, const ActQuant& xq, const ActQuant& yq, float eps) {
    const int32_t zx = xq.zero_point;
    int64_t sum = 0, squares = 0;  // exact: |q - z| <= 255
    // In 32 bits (which vectorize) while 255^2 * n fits: rows up to 33025 values.
    for (int64_t i0 = 0; i0 < n; i0 += 33025) {
      int32_t s32 = 0, q32 = 0;
      for (int64_t i = i0, e = std::min(n, i0 + 33025); i < e; ++i) {
        const int32_t v = static_cast<int32_t>(x[i]) - zx;
        s32 += v;
        q32 += v * v;
      }
      sum += s32;
      squares += q32;
    }
    const double mean_q = static_cast<double>(sum) / static_cast<double>(n);
    const double var_q = std::max(0.0, static_cast<double>(squares) / static_cast<double>(n) - mean_q * mean_q);
    const double sx = xq.scale, inv = 1.0 / std::sqrt(var_q * sx * sx + static_cast<double>(eps));
    // ((q - z) sx - mean) inv gamma / y_scale = gamma ((q - z) k1 - k2).
    const auto k1 = static_cast<float>(sx * inv / yq.scale), k2 = static_cast<float>(mean_q * sx * inv / yq.scale);
    const auto zy = static_cast<float>(yq.zero_point);
    for (int64_t i = 0; i < n; ++i) {
      const auto v = static_cast<float>(static_cast<int32_t>(x[i]) - zx);
      y[i] = quantize_steps<Y>(gamma[i] * (v * k1 - k2) + beta[i], zy);
    }
  }

  Status slice(KernelContext& ctx, const Tensor& x) {
    TRY(need_4d(x, "data"));
    const OpSpec& s = *spec_;
    const int64_t c = x.dims()[1];
    auto clamp = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + c : v, 0, c); };
    const int64_t b = clamp(s.start), e = std::max(b, clamp(s.end));
    const Geo gx = geo_of(x.dims(), s.layouts->input_nhwc(s.ins[0].input));
    const Geo gy{gx.n, e - b, gx.h, gx.w, s.layouts->out_nhwc};
    ASSIGN_OR_RETURN(Tensor * y, output(ctx, {gy.n, gy.c, gy.h, gy.w}));
    copy_channels(static_cast<const uint8_t*>(x.raw()), gx, static_cast<uint8_t*>(y->raw_mutable()), gy, b, 0, e - b);
    return Status::ok();
  }

  std::shared_ptr<const OpSpec> spec_;
  std::vector<Tensor> requantized_;
  ActMatMul matmul_;
  std::vector<uint8_t> relaid_in_, relaid_out_;  // MaxPool, Concat: an input or output copied into the other layout
  std::vector<int32_t> sums_;
  std::vector<float> spread_;  // LayerNorm: a one-value gamma and beta spread over a row
};

// --- matching --------------------------------------------------------------------------------------------

// A matched step: its spec and nodes, and the inputs read from shared DequantizeLinears.
struct Match {
  std::shared_ptr<OpSpec> spec = std::make_shared<OpSpec>();
  std::vector<const ir::Node*> nodes;
  std::vector<std::pair<const ir::Node*, const ir::Node*>> shared;  // (shared DQ, the node reading it)
};

// The free DequantizeLinear writing `v`, per tensor with constant parameters, of an 8-bit tensor.
const ir::Node* dq8_of(const GraphView& view, const ir::Value* v, ActQuant* q) {
  const ir::Node* p = v ? v->producer() : nullptr;
  if (!p || !ir::is_op(*p, "DequantizeLinear") || view.is_taken(p)) return nullptr;
  auto pq = qdq::node_quant(view, *p);
  if (!pq) return nullptr;
  *q = *pq;
  return p;
}

// The free QuantizeLinear reading `v` alone (its only reader), per tensor with constant parameters.
const ir::Node* q8_after(const GraphView& view, const ir::Value* v, ActQuant* q) {
  if (!v || v->uses().size() != 1) return nullptr;
  const ir::Node* n = v->uses()[0].node;
  if (view.is_taken(n) || !ir::is_op(*n, "QuantizeLinear") || n->input(0) != v) return nullptr;
  auto nq = qdq::node_quant(view, *n);
  if (!nq) return nullptr;
  *q = *nq;
  return n;
}

// The 8-bit type `v` is declared with (a tensor drop_qdq_around_moves left moving on 8 bits), or nullopt.
std::optional<DType> eight_bit(const ir::Value* v) {
  if (!v || !v->type.is_tensor() || (v->type.elem != DType::UInt8 && v->type.elem != DType::Int8)) return std::nullopt;
  return v->type.elem;
}

// The free node reading `v` alone, as its first input (`v` not a graph output).
const ir::Node* sole_first_reader(const GraphView& view, const ir::Value* v) {
  if (!v || v->uses().size() != 1 || v->is_graph_output()) return nullptr;
  const ir::Node* n = v->uses()[0].node;
  if (view.is_taken(n) || n->input(0) != v || n->num_outputs() != 1 || !n->output(0)) return nullptr;
  return n;
}

// The value a DequantizeLinear output has the shape of: its 8-bit input, when the output has no
// declared shape (quantizers often write none).
const ir::Value* shaped(const ir::Value* v) {
  if (v && !(v->type.is_tensor() && v->type.shape) && v->producer() && ir::is_op(*v->producer(), "DequantizeLinear"))
    return v->producer()->input(0);
  return v;
}

int64_t declared_rank(const ir::Value* v) {
  v = shaped(v);
  return v && v->type.is_tensor() && v->type.shape ? static_cast<int64_t>(v->type.shape->size()) : -1;
}

void sort_nodes(const GraphView& view, std::vector<const ir::Node*>& nodes) {
  std::sort(nodes.begin(), nodes.end(), [&](const ir::Node* a, const ir::Node* b) { return view.index_of(a) < view.index_of(b); });
}

// Ops a table can stand for: elementwise on one tensor (other operands constant scalars).
bool table_op(const ir::Node& n) {
  static const std::unordered_set<std::string> ops{
      "Sigmoid", "Tanh", "Relu", "LeakyRelu", "Clip", "HardSigmoid", "HardSwish", "Elu", "Selu", "Celu", "Softplus",
      "Softsign", "Neg", "Abs", "Exp", "Erf", "Identity", "Add", "Sub", "Mul", "Div", "Max", "Min", "Gelu", "Mish",
      "QuantizeLinear", "DequantizeLinear"};
  return ir::is_default_domain(n.domain()) && ops.count(n.op_type()) > 0 && n.num_outputs() == 1 && n.output(0);
}

// The reference kernels' outputs of `group` (in order) for the 256 values of 8-bit type `t` fed as `x`,
// read at `out`; an empty tensor when a node does not run.
Tensor run_on_all_bytes(const GraphView& view, const std::vector<const ir::Node*>& group, const ir::Value* x, DType t,
                        const ir::Value* out) {
  Tensor all(t, {256});
  for (int b = 0; b < 256; ++b) static_cast<uint8_t*>(all.raw_mutable())[b] = static_cast<uint8_t>(b);
  std::unordered_map<const ir::Value*, RValue> vals{{x, RValue(all)}};
  for (const ir::Node* n : group) {
    std::vector<RValue> ins;
    for (const ir::Value* v : n->inputs()) {
      if (!v) ins.emplace_back();
      else if (auto f = vals.find(v); f != vals.end()) ins.push_back(f->second);
      else if (TensorPtr c = fixed_tensor(view, v)) ins.emplace_back(*c);
      else return Tensor();
    }
    auto res = run_node(*n, view.model(), std::move(ins));
    if (!res.is_ok() || res->empty() || !(*res)[0].is_tensor()) return Tensor();
    vals[n->output(0)] = (*res)[0];
  }
  auto f = vals.find(out);
  return f == vals.end() || !f->second.is_tensor() ? Tensor() : f->second.tensor;
}

// The table chain starting at DequantizeLinear `dq`: the largest set of elementwise nodes computing a
// QuantizeLinear's output from dq's 8-bit input alone, every intermediate read only inside.
std::optional<Match> match_table(const GraphView& view, const ir::Node& dq) {
  ActQuant xq;
  if (dq8_of(view, dq.output(0), &xq) != &dq) return std::nullopt;
  const int64_t xrank = declared_rank(dq.input(0));
  if (xrank < 0) return std::nullopt;
  std::vector<const ir::Node*> set{&dq};
  std::unordered_set<const ir::Value*> inside{dq.output(0)};
  auto operand_ok = [&](const ir::Value* v) {
    if (!v || inside.count(v)) return true;
    const TensorPtr t = fixed_tensor(view, v);
    return t && t->numel() == 1 && static_cast<int64_t>(t->rank()) <= xrank;
  };
  for (size_t k = 0; k < set.size() && set.size() < 24; ++k) {
    for (const ir::Use& u : set[k]->output(0)->uses()) {
      const ir::Node* n = u.node;
      if (std::find(set.begin(), set.end(), n) != set.end() || view.is_taken(n) || !table_op(*n)) continue;
      bool ok = true;
      for (const ir::Value* v : n->inputs()) ok = ok && operand_ok(v);
      if ((ir::is_op(*n, "QuantizeLinear") || ir::is_op(*n, "DequantizeLinear")) && !qdq::node_quant(view, *n)) ok = false;
      if (!ok) continue;
      set.push_back(n);
      inside.insert(n->output(0));
    }
  }
  sort_nodes(view, set);
  // The latest QuantizeLinear whose ancestors in the set form a closed group.
  for (auto it = set.rbegin(); it != set.rend(); ++it) {
    const ir::Node* qn = *it;
    if (!ir::is_op(*qn, "QuantizeLinear")) continue;
    std::vector<const ir::Node*> group{qn};
    for (size_t k = 0; k < group.size(); ++k)
      for (const ir::Value* v : group[k]->inputs()) {
        const ir::Node* p = v ? v->producer() : nullptr;
        if (p && inside.count(v) && std::find(group.begin(), group.end(), p) == group.end()) group.push_back(p);
      }
    if (std::find(group.begin(), group.end(), &dq) == group.end()) continue;
    sort_nodes(view, group);
    bool closed = true;
    for (const ir::Node* n : group)
      if (n != qn && !view.read_only_by(*n->output(0), group)) closed = false;
    if (!closed) continue;
    auto yq = qdq::node_quant(view, *qn);
    const Tensor t = run_on_all_bytes(view, group, dq.input(0), xq.type, qn->output(0));
    if (!yq || t.dtype() != yq->type || t.numel() != 256) return std::nullopt;
    Match m;
    OpSpec& s = *m.spec;
    s.kind = Kind::Table;
    s.core = &dq;
    s.ins = {In8{xq, 0, false}};
    s.y = *yq;
    s.table.assign(static_cast<const uint8_t*>(t.raw()), static_cast<const uint8_t*>(t.raw()) + 256);
    m.nodes = std::move(group);
    return m;
  }
  return std::nullopt;
}

// DQ(inputs) -> `core` -> Q with the op's own checks (`op_ok`, given the inputs' parameters).
std::optional<Match> match_op(const GraphView& view, const ir::Node& core, Kind kind, size_t acts = SIZE_MAX) {
  acts = std::min(acts, core.num_inputs());
  if (view.is_taken(&core) || core.num_outputs() != 1 || !core.output(0) || core.num_inputs() == 0) return std::nullopt;
  Match m;
  OpSpec& s = *m.spec;
  s.kind = kind;
  s.core = &core;
  const ir::Node* q = q8_after(view, core.output(0), &s.y);
  if (!q) return std::nullopt;
  std::vector<const ir::Node*> own;  // DequantizeLinears read by the core alone
  std::vector<ActQuant> qs;
  for (size_t k = 0; k < acts; ++k) {
    const ir::Value* v = core.input(k);
    ActQuant xq;
    const ir::Node* dq = dq8_of(view, v, &xq);
    if (!dq) return std::nullopt;
    qs.push_back(xq);
    const std::vector<const ir::Node*> just{&core};
    if (view.read_only_by(*v, just)) {
      if (std::find(own.begin(), own.end(), dq) == own.end()) own.push_back(dq);
    } else {
      m.shared.emplace_back(dq, &core);
    }
  }
  m.nodes = own;
  m.nodes.push_back(&core);
  m.nodes.push_back(q);
  sort_nodes(view, m.nodes);
  const std::vector<const ir::Value*> ins = group_inputs(m.nodes);
  for (size_t k = 0; k < acts; ++k) {
    const ir::Value* v = core.input(k);
    const ir::Node* dq = v->producer();
    const bool shared = std::find(own.begin(), own.end(), dq) == own.end();
    const ir::Value* x8 = shared ? v : dq->input(0);
    const auto at = std::find(ins.begin(), ins.end(), x8);
    if (at == ins.end()) return std::nullopt;
    s.ins.push_back(In8{qs[k], static_cast<size_t>(at - ins.begin()), shared});
  }
  s.what = describe_nodes(m.nodes);
  return m;
}

// The dims of `v` when known: a constant's, or declared (all known); empty otherwise.
std::vector<int64_t> known_dims(const GraphView& view, const ir::Value* v) {
  if (const TensorPtr t = fixed_tensor(view, v)) return t->dims();
  if (v && v->producer() && ir::is_op(*v->producer(), "DequantizeLinear"))
    if (const TensorPtr t = fixed_tensor(view, v->producer()->input(0))) return t->dims();
  v = shaped(v);
  return v ? static_dims(*v) : std::vector<int64_t>{};
}

// The rank of `v` when known (see known_dims), or -1.
int64_t known_rank(const GraphView& view, const ir::Value* v) {
  if (const TensorPtr t = fixed_tensor(view, v)) return static_cast<int64_t>(t->rank());
  if (v && v->producer() && ir::is_op(*v->producer(), "DequantizeLinear"))
    if (const TensorPtr t = fixed_tensor(view, v->producer()->input(0))) return static_cast<int64_t>(t->rank());
  return declared_rank(v);
}

bool same_quant(const ActQuant& a, const ActQuant& b) {
  return a.type == b.type && a.scale == b.scale && a.zero_point == b.zero_point;
}

// ShuffleNet's channel shuffle as quantizers write it: DQ -> Reshape [N, g, C/g, H, W] -> Q -> DQ ->
// Transpose (0, 2, 1, 3, 4) -> Q -> DQ -> Reshape [N, C, H, W] -> Q, all with one scale and zero point
// (then the 8-bit values only move: exact), starting at the first Reshape; or the three moves on the 8-bit
// tensor itself, as drop_qdq_around_moves leaves them.
std::optional<Match> match_shuffle(const GraphView& view, const ir::Node& r1) {
  if (r1.num_inputs() != 2 || r1.attr_int("allowzero", 0) != 0 || view.is_taken(&r1)) return std::nullopt;
  ActQuant xq;
  const ir::Node* dq0 = dq8_of(view, r1.input(0), &xq);
  const std::optional<DType> t8 = dq0 ? std::nullopt : eight_bit(r1.input(0));
  if (t8) xq = ActQuant{1.0f, 0, *t8};
  const std::vector<int64_t> x = known_dims(view, r1.input(0));
  if ((!dq0 && !t8) || x.size() != 4) return std::nullopt;
  Match m;
  m.nodes = {&r1};
  if (dq0) m.nodes.push_back(dq0);
  // The op after `op`: directly on 8 bits, or through Q -> DQ (both with x's parameters, each read only by the next).
  auto next = [&](const ir::Node* op) -> const ir::Node* {
    if (t8) return sole_first_reader(view, op->output(0));
    ActQuant q;
    const ir::Node* qn = q8_after(view, op->output(0), &q);
    if (!qn || !same_quant(q, xq) || qn->output(0)->uses().size() != 1) return nullptr;
    const ir::Node* dq = qn->output(0)->uses()[0].node;
    auto pq = qdq::node_quant(view, *dq);
    if (!ir::is_op(*dq, "DequantizeLinear") || view.is_taken(dq) || !pq || !same_quant(*pq, xq) ||
        dq->output(0)->uses().size() != 1)
      return nullptr;
    const ir::Node* n2 = dq->output(0)->uses()[0].node;
    if (view.is_taken(n2) || n2->num_outputs() != 1 || !n2->output(0)) return nullptr;
    m.nodes.push_back(qn);
    m.nodes.push_back(dq);
    return n2;
  };
  const auto shape5 = fixed_ints(view, r1.input(1));
  const auto d5 = shape5 ? resolve_reshape(x, *shape5) : std::nullopt;
  if (!d5 || d5->size() != 5 || (*d5)[0] != x[0] || (*d5)[1] * (*d5)[2] != x[1] || (*d5)[3] != x[2] || (*d5)[4] != x[3])
    return std::nullopt;
  const ir::Node* tr = next(&r1);
  if (!tr || !ir::is_op(*tr, "Transpose") || tr->attr_ints("perm") != std::vector<int64_t>{0, 2, 1, 3, 4}) return std::nullopt;
  m.nodes.push_back(tr);
  const ir::Node* r2 = next(tr);
  if (!r2 || !ir::is_op(*r2, "Reshape") || r2->num_inputs() != 2 || r2->attr_int("allowzero", 0) != 0) return std::nullopt;
  const auto shape4 = fixed_ints(view, r2->input(1));
  const std::vector<int64_t> t5{x[0], (*d5)[2], (*d5)[1], x[2], x[3]};
  const auto d4 = shape4 ? resolve_reshape(t5, *shape4) : std::nullopt;
  if (!d4 || *d4 != x) return std::nullopt;
  m.nodes.push_back(r2);
  ActQuant yq = xq;
  const ir::Node* last = r2;
  if (!t8) {
    last = q8_after(view, r2->output(0), &yq);
    if (!last || !same_quant(yq, xq)) return std::nullopt;
    m.nodes.push_back(last);
  }
  sort_nodes(view, m.nodes);
  for (const ir::Node* n : m.nodes)
    if (n != last && !view.read_only_by(*n->output(0), m.nodes)) return std::nullopt;
  OpSpec& s = *m.spec;
  s.kind = Kind::Shuffle;
  s.core = &r1;
  s.y = yq;
  s.groups = (*d5)[1];
  s.x_dims = x;
  const std::vector<const ir::Value*> ins = group_inputs(m.nodes);
  const auto at = std::find(ins.begin(), ins.end(), dq0 ? dq0->input(0) : r1.input(0));
  if (at == ins.end()) return std::nullopt;
  s.ins = {In8{xq, static_cast<size_t>(at - ins.begin()), false}};
  s.what = describe_nodes(m.nodes);
  return m;
}

// A move on an 8-bit tensor (no DequantizeLinear or QuantizeLinear around it: drop_qdq_around_moves took
// them), as a step of `kind` whose input and output have the same type.
std::optional<Match> match_move8(const GraphView& view, const ir::Node& n, Kind kind) {
  const std::optional<DType> t8 = eight_bit(n.input(0));
  if (!t8 || view.is_taken(&n) || n.num_outputs() != 1 || !n.output(0)) return std::nullopt;
  Match m;
  m.nodes = {&n};
  OpSpec& s = *m.spec;
  s.kind = kind;
  s.core = &n;
  s.y = ActQuant{1.0f, 0, *t8};
  s.ins = {In8{s.y, 0, false}};  // input 0 is the step's first input
  s.what = describe_nodes(m.nodes);
  return m;
}

// LayerNormalization (opset 17, or the runtime's domain where fuse_layer_norm wrote it below 17) over the last
// axis with constant Scale and B of one value or one per element of that axis, float statistics, Y only.
std::optional<Match> match_layer_norm(const GraphView& view, const ir::Node& n) {
  if (n.num_inputs() < 2 || n.num_inputs() > 3 || n.num_outputs() != 1 || n.attr_int("stash_type", 1) != 1)
    return std::nullopt;
  const int64_t r = known_rank(view, n.input(0)), axis = n.attr_int("axis", -1);
  if (r < 1 || (axis != -1 && axis != r - 1)) return std::nullopt;
  const TensorPtr scale = fixed_tensor(view, n.input(1));
  const TensorPtr bias = n.num_inputs() > 2 && n.input(2) ? fixed_tensor(view, n.input(2)) : nullptr;
  auto row = [](const TensorPtr& t) {  // one value, or a row: [k] with leading 1s
    return t && t->dtype() == DType::Float && (t->numel() == 1 || t->numel() == t->dims().back());
  };
  if (!row(scale) || (n.num_inputs() > 2 && n.input(2) && (!row(bias) || bias->numel() != scale->numel())))
    return std::nullopt;
  auto m = match_op(view, n, Kind::LayerNorm, 1);
  if (!m) return std::nullopt;
  OpSpec& s = *m->spec;
  s.ln_scale.assign(scale->data<float>(), scale->data<float>() + scale->numel());
  s.ln_beta.assign(s.ln_scale.size(), 0.0f);
  for (size_t i = 0; bias && i < s.ln_beta.size(); ++i) s.ln_beta[i] = bias->data<float>()[i] / s.y.scale;
  s.ln_eps = n.attr_float("epsilon", 1e-5f);
  return m;
}

std::optional<Match> match_core(const GraphView& view, const ir::Node& n) {
  if (n.op_type() == "LayerNormalization" &&
      (n.domain() == kRuntimeDomain || (ir::is_default_domain(n.domain()) && view.opset(n) >= 17)))
    return match_layer_norm(view, n);
  if (!ir::is_default_domain(n.domain())) return std::nullopt;
  const std::string& op = n.op_type();
  if (op == "Add" || op == "Mul") {
    if (n.num_inputs() != 2) return std::nullopt;
    // An Add that is a QDQ Add group (one 8-bit type throughout) is left to claim_add_group
    // (dnnl_add_group.cpp): it computes it in QLinearAdd's arithmetic, as ONNX Runtime and the cpu provider
    // do. Mul's float arithmetic already is QLinearMul's; a mixed-type Add ONNX Runtime does not fuse.
    if (op == "Add" && qdq::match_add_group(view, n)) return std::nullopt;
    // Shapes known: the same, a scalar, or one value per channel of a 4-D tensor.
    const std::vector<int64_t> a = known_dims(view, n.input(0)), b = known_dims(view, n.input(1));
    if (a.empty() && known_rank(view, n.input(0)) != 0) return std::nullopt;
    if (b.empty() && known_rank(view, n.input(1)) != 0) return std::nullopt;
    const auto& big = numel_of(a) >= numel_of(b) ? a : b;
    const auto& small = numel_of(a) >= numel_of(b) ? b : a;
    const bool channel = big.size() == 4 && small.size() >= 3 && small.size() <= 4 && small[small.size() - 3] == big[1] &&
                         small[small.size() - 1] == 1 && small[small.size() - 2] == 1 &&
                         (small.size() == 3 || small[0] == 1 || small[0] == big[0]);
    if (!(a == b || (numel_of(small) == 1 && small.size() <= big.size()) || channel)) return std::nullopt;
    auto m = match_op(view, n, Kind::Binary);
    if (m) m->spec->mul = op == "Mul";
    return m;
  }
  if (op == "GlobalAveragePool") {
    if (n.num_inputs() != 1 || declared_rank(n.input(0)) != 4) return std::nullopt;
    return match_op(view, n, Kind::GlobalAvg);
  }
  if (op == "MaxPool" || op == "AveragePool") {  // 2-D windows of a 4-D tensor
    if (n.num_inputs() != 1 || n.num_outputs() != 1 || declared_rank(n.input(0)) != 4 ||
        n.attr_int("storage_order", 0) != 0)
      return std::nullopt;
    cf::WindowAttrs attrs;
    if (!cf::parse_window_attrs(n, attrs).is_ok() || attrs.kernel_shape.size() != 2 ||
        !cf::check_window_ranks(n, attrs, 2).is_ok())
      return std::nullopt;
    for (int64_t k : attrs.kernel_shape)
      if (k <= 0) return std::nullopt;
    const bool max = op == "MaxPool";
    auto m = match_op(view, n, max ? Kind::MaxPool : Kind::AvgPool);
    if (!m) return std::nullopt;
    OpSpec& s = *m->spec;
    s.attrs = attrs;
    if (max) {
      s.requant = {requant_table(s.ins[0].q, s.y)};
      return m;
    }
    s.count_include_pad = n.attr_int("count_include_pad", 0) != 0;
    const ActQuant& q = s.ins[0].q;
    for (int b = 0; b < 256; ++b)
      with_q8(q.type, [&](auto xv) { s.deq.push_back(dequantize_one(static_cast<decltype(xv)>(b), q.scale, q.zero_point)); });
    return m;
  }
  // Resize in nearest mode of a 4-D tensor, with constant roi/scales/sizes. (Upsample predates DequantizeLinear.)
  if (op == "Resize") {
    const int64_t opset = view.opset(n);
    if (n.num_inputs() == 0 || n.num_inputs() > 4 || n.num_outputs() != 1 || declared_rank(n.input(0)) != 4)
      return std::nullopt;
    auto attrs = rz::parse_attrs(n, opset, false);
    if (!attrs.is_ok() || attrs->mode != rz::Mode::Nearest) return std::nullopt;
    std::vector<TensorPtr> consts;
    for (size_t i = 1; i < 4; ++i) {
      const ir::Value* v = i < n.num_inputs() ? n.input(i) : nullptr;
      TensorPtr t = v ? fixed_tensor(view, v) : nullptr;
      if (v && !t) return std::nullopt;
      consts.push_back(std::move(t));
    }
    auto m = match_op(view, n, Kind::Resize, 1);
    if (!m) return std::nullopt;
    OpSpec& s = *m->spec;
    s.resize = *attrs;
    s.resize_in = std::move(consts);
    s.requant = {requant_table(s.ins[0].q, s.y)};
    with_q8(s.y.type, [&](auto yv) {
      s.extrapolated = static_cast<uint8_t>(
          quantize_one<decltype(yv)>(static_cast<float>(s.resize.extrapolation), s.y.scale, s.y.zero_point));
    });
    return m;
  }
  if (op == "Slice") {  // a channel range of a 4-D tensor, constant starts/ends, step 1
    if (view.opset(n) < 10 || n.num_inputs() < 4 || n.num_inputs() > 5 || known_rank(view, n.input(0)) != 4)
      return std::nullopt;
    const auto starts = fixed_ints(view, n.input(1)), ends = fixed_ints(view, n.input(2)), axes = fixed_ints(view, n.input(3));
    if (!starts || !ends || !axes || starts->size() != 1 || ends->size() != 1 || axes->size() != 1 ||
        ((*axes)[0] != 1 && (*axes)[0] != -3))
      return std::nullopt;
    if (n.num_inputs() == 5 && n.input(4)) {
      const auto steps = fixed_ints(view, n.input(4));
      if (!steps || steps->size() != 1 || (*steps)[0] != 1) return std::nullopt;
    }
    auto m = eight_bit(n.input(0)) ? match_move8(view, n, Kind::Slice) : match_op(view, n, Kind::Slice, 1);
    if (!m || !same_quant(m->spec->ins[0].q, m->spec->y)) return std::nullopt;
    m->spec->start = (*starts)[0];
    m->spec->end = (*ends)[0];
    return m;
  }
  if (op == "Reshape") return match_shuffle(view, n);
  if (op == "Softmax") {  // over the last axis (as opset 13 does; before it, coerced to 2-D there: the same)
    if (n.num_inputs() != 1) return std::nullopt;
    const int64_t r = known_rank(view, n.input(0));
    const int64_t axis = n.attr_int("axis", view.opset(n) >= 13 ? -1 : 1);
    if (r < 1 || (axis != -1 && axis != r - 1)) return std::nullopt;
    auto m = match_op(view, n, Kind::Softmax);
    if (!m) return std::nullopt;
    const double scale = m->spec->ins[0].q.scale;
    for (int d = 0; d < 256; ++d) m->spec->exp_of_gap.push_back(static_cast<float>(std::exp(-scale * d)));
    return m;
  }
  if (op == "MatMul") {  // two activations (a constant weight's MatMul is an int8 group of dnnl_int8.cpp)
    if (n.num_inputs() != 2 || known_rank(view, n.input(0)) < 2 || known_rank(view, n.input(1)) < 2) return std::nullopt;
    // The reduction's length must be known to fit the widened GEMM's 32-bit sums.
    const ir::Value* b = shaped(n.input(1));
    if (!b->type.shape || b->type.shape->size() < 2) return std::nullopt;
    const Dim& k = (*b->type.shape)[b->type.shape->size() - 2];
    if (!k.is_known() || k.value > wide8::kMaxReduction) return std::nullopt;
    return match_op(view, n, Kind::MatMul);
  }
  if (op == "Concat") {
    const int64_t axis = n.attr_int("axis", 0);
    if (axis != 1 && axis != -3) return std::nullopt;
    for (const ir::Value* v : n.inputs())
      if (declared_rank(v) != 4) return std::nullopt;
    auto m = match_op(view, n, Kind::Concat);
    if (!m) return std::nullopt;
    for (const In8& in : m->spec->ins) m->spec->requant.push_back(requant_table(in.q, m->spec->y));
    return m;
  }
  return std::nullopt;
}

DnnlClaim make_claim(const Match& m) {
  DnnlClaim dc;
  dc.claim.nodes = m.nodes;
  const size_t n_in = group_inputs(m.nodes).size();
  dc.nhwc_ok.assign(n_in, false);
  dc.nhwc_8bit_ok.assign(n_in, false);
  dc.out_8bit = true;
  dc.layouts = m.spec->layouts;
  const OpSpec& s = *m.spec;
  // A MatMul's operands are matrices and a Softmax's axis is the last: neither reads images in NHWC.
  const bool nhwc = s.kind != Kind::MatMul && s.kind != Kind::Softmax && s.kind != Kind::LayerNorm;
  for (const In8& in : s.ins) {
    dc.nhwc_8bit_ok[in.input] = nhwc;
    dc.nhwc_ok[in.input] = nhwc && in.shared;  // a float DequantizeLinear output, quantized back
  }
  // Table and Add/Mul outputs are 4-D when their inputs are (the provider checks those); pools, Resize and
  // Concat are claimed on 4-D inputs only.
  dc.out_nhwc_ok = nhwc;
  dc.same_layout = s.kind == Kind::Table;
  dc.out_float4_always = nhwc && s.kind != Kind::Table && s.kind != Kind::Binary;
  std::shared_ptr<const OpSpec> spec = m.spec;
  dc.claim.factory = [spec](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<Int8OpKernel>(spec));
  };
  return dc;
}

}  // namespace

std::vector<Int8OpClaim> claim_int8_ops(GraphView& view) {
  std::vector<Int8OpClaim> out;
  auto keep = [&](const Match& m) {
    for (const ir::Node* n : m.nodes) view.take(static_cast<size_t>(view.index_of(n)));
    Int8OpClaim c;
    c.claim = make_claim(m);
    c.shared = m.shared;
    out.push_back(std::move(c));
  };
  // Tables first: a chain's Mul (SiLU) would otherwise be taken as a two-input Mul.
  for (size_t i = 0; i < view.order().size(); ++i) {
    const ir::Node* n = view.order()[i];
    if (view.taken()[i] || !ir::is_op(*n, "DequantizeLinear")) continue;
    if (auto m = match_table(view, *n)) keep(*m);
  }
  for (size_t i = 0; i < view.order().size(); ++i) {
    if (view.taken()[i]) continue;
    if (auto m = match_core(view, *view.order()[i])) keep(*m);
  }
  return out;
}

}  // namespace ortool::rt::dnnl_ep
