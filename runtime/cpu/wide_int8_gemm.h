// Exact 8-bit GEMM with requantization, for x86 CPUs without VNNI: both operands widened to 16 bits (value
// minus zero point, within [-255, 255]) and multiplied in pairs into 32-bit sums by vpmaddwd, as ONNX
// Runtime's U8U8 AVX2 kernels do. oneDNN 2.6's AVX2 u8s8 kernels sum u8 x s8 pairs into saturating 16 bits
// (vpmaddubsw) and are exact there only for 7-bit weights; this is exact for any 8-bit operands.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace ortool::rt {
class ThreadPool;
}

namespace ortool::rt::wide8 {

// Output columns per weight panel (two AVX2 registers of 32-bit sums).
inline constexpr int64_t kPanel = 16;

// The longest reduction whose 32-bit sums cannot overflow: |a - za| and |w - zw| are at most 255 each
// (oneDNN's s32 accumulators have the same bound). Longer ones are left to the float reference kernels.
inline constexpr int64_t kMaxReduction = 2147483647 / (255 * 255);

// A [k x n] weight as 16-bit panels: per block of kPanel output columns, for each pair of reduction
// indices j, the kPanel columns' (w[2j], w[2j+1]); columns and indices past the end are 0.
struct PackedWeights {
  int64_t n = 0, k = 0;
  int64_t pairs = 0;  // (k + 1) / 2
  std::vector<int16_t> data;
  int64_t panels() const { return (n + kPanel - 1) / kPanel; }
  const int16_t* panel(int64_t p) const { return data.data() + p * pairs * 2 * kPanel; }
};

// `w(col, i)`: the weight of output column `col` at reduction index `i`, minus its zero point (|w| <= 255).
PackedWeights pack_weights(int64_t n, int64_t k, const std::function<int32_t(int64_t col, int64_t i)>& w);

// `b`, a [k x n] matrix of 8-bit values (int8 when `is_signed`; row r at b + r * ld), minus `zp`, packed into
// `out` as pack_weights does: the B operand of a MatMul of two activations, packed on every run (a vector
// interleave of row pairs: ~0.1 ns per value, against a function call per value in pack_weights).
void pack_bytes(const uint8_t* b, int64_t ld, bool is_signed, int32_t zp, int64_t k, int64_t n, PackedWeights& out);

// The 32-bit sums to 8-bit outputs: y = saturate(round_half_even(clip((acc + bias[c]) * scale[c], lo, hi)) + zp),
// the dnnl provider's int8 semantics (oneDNN's output scales, fused Relu/Clip in output units).
struct Requant {
  std::vector<float> scale, bias;  // per output column, padded with zeros to whole panels
  float lo = -1e9f, hi = 1e9f;     // output units, before the zero point
  int32_t zero_point = 0;
  bool out_signed = false;         // int8 output, else uint8
  // What a row's outputs are: requantized bytes; the int32 sums themselves (MatMulInteger); or floats, float(sum) *
  // scale[c], then + bias[c] when float_bias: a MatMulInteger -> Cast -> Mul (-> Add) with the same roundings.
  enum class Output { Bytes, Sums, Floats } output = Output::Bytes;
  bool float_bias = false;
  int64_t out_bytes() const { return output == Output::Bytes ? 1 : 4; }
};

// One output byte with Requant's arithmetic (Output::Bytes), the vector kernels' too: saturate(round_half_even(
// clip((acc + bias) * scale, lo, hi)) + zp). The clip as vmaxps then vminps: a NaN (absurd scales) becomes `lo`,
// so every path gives the same bytes and the conversion to int32 is defined.
inline uint8_t requant_one(float acc, float bias, float scale, const Requant& q) {
  float v = (acc + bias) * scale;
  v = v > q.lo ? v : q.lo;
  v = v < q.hi ? v : q.hi;
  const int32_t y = static_cast<int32_t>(std::nearbyint(v)) + q.zero_point;
  if (q.out_signed) return static_cast<uint8_t>(static_cast<int8_t>(std::clamp(y, -128, 127)));
  return static_cast<uint8_t>(std::clamp(y, 0, 255));
}

// Widens `k` 8-bit values (int8 when `is_signed`) minus `zp` into `dst`, then zeros up to `padded` values.
void widen(const uint8_t* src, bool is_signed, int32_t zp, int64_t k, int64_t padded, int16_t* dst);

// Values of slack after the rows `fill` writes and after a buffer copy_short reads (its 16-value steps).
inline constexpr int64_t kSlack = 16;

// Copies n values for im2col's short runs (a few taps of a few channels, where memmove's call costs more than
// the copy): may write up to kSlack - 1 values past dst + n (to be overwritten later, or slack) and read as
// many past src + n (slack).
inline void copy_short(const int16_t* src, int64_t n, int16_t* dst) {
  // Fixed-size copies, which the compiler inlines as one or two vector moves.
  for (int64_t i = 0; i < n; i += kSlack) __builtin_memcpy(dst + i, src + i, kSlack * sizeof(int16_t));
}

// One GEMM: `rows` output rows; fill(r0, r1, a, stride) writes the widened activation rows r0..r1 (2 * w.pairs
// values each, stride `stride` int16, then kSlack values of slack) at `a`; row r's outputs (w.n of them, of
// Requant::output's kind) go to `out` + r * out_stride outputs.
struct WideJob {
  int64_t rows = 0;
  const PackedWeights* w = nullptr;
  const Requant* q = nullptr;
  std::function<void(int64_t r0, int64_t r1, int16_t* a, int64_t stride)> fill;
  uint8_t* out = nullptr;
  int64_t out_stride = 0;
};

// Float sums of products of 8-bit values requantized to bytes with Requant's arithmetic (q.output Bytes): each
// sum an exact integer (what the GEMM's int32 sum would be: below 2^24 in magnitude, so float(acc) is the sum), the
// bytes those of run_jobs. Channel c of pixel p is read at sums[p * pixel_stride + (c / 8) * block_stride + c % 8]
// (NHWC: pixel_stride = channels, block_stride = 8; oneDNN's 8-channel blocks: 8 and pixels * 8), whole blocks of 8
// (a partial last block reads up to 7 floats past its channels: slack; q.scale and q.bias cover whole blocks, as
// the panels pad them); written to out[p * out_stride + c].
void requant_float_sums(const float* sums, int64_t pixels, int64_t channels, int64_t pixel_stride, int64_t block_stride,
                        const Requant& q, uint8_t* out, int64_t out_stride);

// Runs the jobs, split into tiles of rows and panels over `pool` (null or one thread: on the caller).
void run_jobs(std::span<const WideJob> jobs, ThreadPool* pool);

// Whether the vectorized kernels run on this CPU (AVX2); else a portable loop gives the same results.
bool vectorized();
// Forces the portable loop (tests compare the two paths).
void force_portable(bool on);

}  // namespace ortool::rt::wide8
