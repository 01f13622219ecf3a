// The fast float Resize: nearest or linear over the last two axes, NCHW or NHWC, threaded over output rows.
//
// Linear is separable: an NCHW output row blends two input rows, each first interpolated along W
// (kept for the next output row when it needs the same one); NHWC blends four pixels' channel
// vectors. Nearest copies: gathers along W, and whole rows when an output row repeats the last one.
// The inner loops run over contiguous floats the compiler vectorizes. Results equal the reference
// (double) up to float rounding: weights are the same taps, kept in float.
#include <algorithm>
#include <cstring>

#include "runtime/cpu/resize.h"
#include "runtime/thread_pool.h"

namespace ortool::rt::cpu::resize {

namespace {

// The two taps of each output coordinate of one axis, or false when some coordinate has more or extrapolates.
bool axis_pairs(const std::vector<AxisTaps>& taps, std::vector<int64_t>& i0, std::vector<int64_t>& i1,
                std::vector<float>& w0, std::vector<float>& w1, bool& nearest) {
  const size_t n = taps.size();
  i0.resize(n);
  i1.resize(n);
  w0.resize(n);
  w1.resize(n);
  for (size_t o = 0; o < n; ++o) {
    const AxisTaps& t = taps[o];
    if (t.extrapolate || t.index.empty() || t.index.size() > 2) return false;
    i0[o] = t.index[0];
    w0[o] = static_cast<float>(t.weight[0]);
    if (t.index.size() == 2) {
      i1[o] = t.index[1];
      w1[o] = static_cast<float>(t.weight[1]);
      nearest = false;
    } else {
      i1[o] = t.index[0];
      w1[o] = 0;
      nearest = nearest && t.weight[0] == 1.0;
    }
  }
  return true;
}

// True when the taps of an axis copy it unchanged.
bool identity(const std::vector<AxisTaps>& taps, int64_t in) {
  if (static_cast<int64_t>(taps.size()) != in) return false;
  for (size_t o = 0; o < taps.size(); ++o) {
    const AxisTaps& t = taps[o];
    if (t.extrapolate || t.index.size() != 1 || t.index[0] != static_cast<int64_t>(o) || t.weight[0] != 1.0)
      return false;
  }
  return true;
}

// One input row interpolated along W (NCHW).
void row_w(const Plan2D& p, const float* __restrict in, float* __restrict out) {
  if (p.nearest) {
    for (int64_t x = 0; x < p.out_w; ++x) out[x] = in[p.w0[static_cast<size_t>(x)]];
    return;
  }
  const int64_t* w0 = p.w0.data();
  const int64_t* w1 = p.w1.data();
  const float* a = p.wa.data();
  const float* b = p.wb.data();
  for (int64_t x = 0; x < p.out_w; ++x) out[x] = a[x] * in[w0[x]] + b[x] * in[w1[x]];
}

// Output row y (> 0) reads the same input rows with the same weights as row y - 1.
bool same_h_taps_as_previous(const Plan2D& p, size_t y) {
  return y > 0 && p.h0[y] == p.h0[y - 1] && p.h1[y] == p.h1[y - 1] && p.ha[y] == p.ha[y - 1] && p.hb[y] == p.hb[y - 1];
}

void rows_nchw(const Plan2D& p, const float* src, float* dst, size_t r0, size_t r1) {
  const int64_t in_plane = p.in_h * p.in_w, out_w = p.out_w;
  // The last two W-interpolated input rows this chunk made (linear), keyed by plane * in_h + row.
  std::vector<float> buf[2];
  int64_t key[2] = {-1, -1};
  auto find = [&](int64_t k) { return key[0] == k ? 0 : key[1] == k ? 1 : -1; };
  auto make = [&](int slot, int64_t k) {
    buf[slot].resize(static_cast<size_t>(out_w));
    row_w(p, src + (k / p.in_h) * in_plane + (k % p.in_h) * p.in_w, buf[slot].data());
    key[slot] = k;
  };
  for (size_t r = r0; r < r1; ++r) {
    const int64_t plane = static_cast<int64_t>(r) / p.out_h, y = static_cast<int64_t>(r) % p.out_h;
    const size_t ys = static_cast<size_t>(y);
    float* __restrict out = dst + static_cast<int64_t>(r) * out_w;
    // An output row equal to the one just written (same taps along H) is a copy of it.
    if (r > r0 && same_h_taps_as_previous(p, ys)) {
      std::memcpy(out, out - out_w, sizeof(float) * static_cast<size_t>(out_w));
      continue;
    }
    if (p.nearest) {
      row_w(p, src + plane * in_plane + p.h0[ys] * p.in_w, out);
      continue;
    }
    const float a = p.ha[ys], b = p.hb[ys];
    const int64_t k0 = plane * p.in_h + p.h0[ys], k1 = plane * p.in_h + p.h1[ys];
    int s0 = find(k0);
    if (s0 < 0) {
      s0 = find(k1) == 0 ? 1 : 0;
      make(s0, k0);
    }
    const float* __restrict t0 = buf[s0].data();
    if (b == 0) {
      for (int64_t x = 0; x < out_w; ++x) out[x] = a * t0[x];
      continue;
    }
    int s1 = find(k1);
    if (s1 < 0) {
      s1 = 1 - s0;
      make(s1, k1);
    }
    const float* __restrict t1 = buf[s1].data();
    for (int64_t x = 0; x < out_w; ++x) out[x] = a * t0[x] + b * t1[x];
  }
}

void rows_nhwc(const Plan2D& p, const float* src, float* dst, size_t r0, size_t r1) {
  const int64_t c = p.channels, row_in = p.in_w * c, row_out = p.out_w * c;
  for (size_t r = r0; r < r1; ++r) {
    const int64_t n = static_cast<int64_t>(r) / p.out_h, y = static_cast<int64_t>(r) % p.out_h;
    const size_t ys = static_cast<size_t>(y);
    float* __restrict out = dst + static_cast<int64_t>(r) * row_out;
    if (r > r0 && same_h_taps_as_previous(p, ys)) {
      std::memcpy(out, out - row_out, sizeof(float) * static_cast<size_t>(row_out));
      continue;
    }
    const float* top = src + (n * p.in_h + p.h0[ys]) * row_in;
    const float* bottom = src + (n * p.in_h + p.h1[ys]) * row_in;
    const float a = p.ha[ys], b = p.hb[ys];
    for (int64_t x = 0; x < p.out_w; ++x, out += c) {
      const size_t xs = static_cast<size_t>(x);
      const float* __restrict p00 = top + p.w0[xs] * c;
      if (p.nearest) {
        std::memcpy(out, p00, sizeof(float) * static_cast<size_t>(c));
        continue;
      }
      const float* __restrict p01 = top + p.w1[xs] * c;
      const float* __restrict p10 = bottom + p.w0[xs] * c;
      const float* __restrict p11 = bottom + p.w1[xs] * c;
      const float wa = p.wa[xs], wb = p.wb[xs];
      for (int64_t k = 0; k < c; ++k) out[k] = a * (wa * p00[k] + wb * p01[k]) + b * (wa * p10[k] + wb * p11[k]);
    }
  }
}

}  // namespace

std::optional<Plan2D> plan_2d(const Geometry& g, const std::vector<int64_t>& in, bool nhwc) {
  const size_t r = in.size();
  if (r < 2 || g.taps.size() != r || (nhwc && r != 4)) return std::nullopt;
  Plan2D p;
  for (size_t d = 0; d + 2 < r; ++d) {
    if (!identity(g.taps[d], in[d])) return std::nullopt;
    if (nhwc && d == 1) p.channels = in[d];
    else p.outer *= in[d];
  }
  p.in_h = in[r - 2];
  p.in_w = in[r - 1];
  p.out_h = g.out[r - 2];
  p.out_w = g.out[r - 1];
  if (!axis_pairs(g.taps[r - 2], p.h0, p.h1, p.ha, p.hb, p.nearest) ||
      !axis_pairs(g.taps[r - 1], p.w0, p.w1, p.wa, p.wb, p.nearest))
    return std::nullopt;
  return p;
}

void run_2d(const Plan2D& p, const float* src, float* dst, ThreadPool* pool) {
  const size_t rows = static_cast<size_t>(p.outer * p.out_h);
  if (rows == 0 || p.out_w == 0 || p.channels == 0) return;
  auto work = [&](size_t r0, size_t r1) {
    // NHWC with one channel is laid out as NCHW.
    if (p.channels > 1) rows_nhwc(p, src, dst, r0, r1);
    else rows_nchw(p, src, dst, r0, r1);
  };
  // Chunks of at least ~32k output elements: smaller jobs cost more to hand out than they save.
  const int64_t per_row = std::max<int64_t>(1, p.out_w * p.channels);
  const size_t min_rows = static_cast<size_t>(std::max<int64_t>(1, (int64_t{1} << 15) / per_row));
  if (pool && pool->size() > 1 && rows > min_rows) pool->parallel_for(rows, work, min_rows);
  else work(0, rows);
}

}  // namespace ortool::rt::cpu::resize
