// Numpy-style broadcasting: the output shape of several operands, and a row walker that maps each
// output element to the element it reads in every operand (used by elementwise ops, Where, Expand).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "lib/status.h"

namespace ortool::rt::cpu {

// "[2,3,4]" for messages.
std::string format_dims(std::span<const int64_t> dims);

// Output dims of broadcasting `a` and `b` (numpy rules: align on the right, a dim of 1 stretches).
// The error names both shapes: "shapes [2,3] and [4] do not broadcast (dim -1: 3 vs 4)".
Result<std::vector<int64_t>> broadcast_shape(std::span<const int64_t> a, std::span<const int64_t> b);
// Output dims of broadcasting every shape in `shapes` together (at least one shape).
Result<std::vector<int64_t>> broadcast_shapes(const std::vector<std::vector<int64_t>>& shapes);
// True when `from` broadcasts to exactly `to` (unidirectional, as Expand's input or PRelu's slope).
bool broadcasts_to(std::span<const int64_t> from, std::span<const int64_t> to);
// For each element of `to` (row-major), the index of the element of `from` it reads when `from` is
// broadcast to `to` (numpy rules, one direction); false when it does not broadcast. For the
// per-element parameters of the normalizations (LayerNormalization's Scale and B, RMSNormalization's scale).
bool broadcast_index_map(const std::vector<int64_t>& from, const std::vector<int64_t>& to, std::vector<int64_t>& map);

// Walks an output shape as contiguous segments and gives, for each operand, the offset of the
// element it reads at the segment start and its step along the segment (0 when the operand is
// broadcast along the innermost dim, 1 otherwise). Adjacent dims that every operand broadcasts the
// same way are merged first, so same-shape operands walk one segment of the whole tensor and
// [N,C,H,W] + [1,C,1,1] walks N*C segments of H*W.
//
//   BroadcastRows rows(out_dims, {a.dims(), b.dims()});
//   rows.for_each([&](int64_t o, const int64_t* in, int64_t n) {
//     for (int64_t j = 0; j < n; ++j) out[o + j] = a[in[0] + j * rows.step(0)] + b[in[1] + j * rows.step(1)];
//   });
class BroadcastRows {
 public:
  // Every operand's dims must broadcast to `out_dims` (check with broadcast_shape(s) first).
  BroadcastRows(std::span<const int64_t> out_dims, const std::vector<std::span<const int64_t>>& in_dims);

  size_t num_inputs() const { return steps_.size(); }
  int64_t numel() const { return numel_; }
  int64_t row_size() const { return row_size_; }  // elements per row (innermost merged dim)
  int64_t step(size_t k) const { return steps_[k]; }

  // fn(out_offset, const int64_t* in_offsets, count) for consecutive segments covering output
  // elements [begin, end); segments never cross a row. Thread-safe (no shared mutable state), so
  // disjoint ranges may run in parallel.
  template <typename Fn>
  void for_each_in(int64_t begin, int64_t end, Fn&& fn) const;
  template <typename Fn>
  void for_each(Fn&& fn) const { for_each_in(0, numel_, fn); }

 private:
  // Outer (merged) dims and each operand's strides along them, innermost last.
  std::vector<int64_t> outer_dims_;
  std::vector<std::vector<int64_t>> outer_strides_;  // [operand][dim]
  std::vector<int64_t> steps_;
  int64_t row_size_ = 1;
  int64_t numel_ = 0;
};

template <typename Fn>
void BroadcastRows::for_each_in(int64_t begin, int64_t end, Fn&& fn) const {
  if (begin >= end || numel_ == 0) return;
  const size_t k_in = steps_.size();
  const size_t nd = outer_dims_.size();
  // Position of `begin`: outer index (odometer) and column within the row.
  int64_t row = begin / row_size_;
  int64_t col = begin % row_size_;
  std::vector<int64_t> idx(nd, 0);
  std::vector<int64_t> off(k_in, 0);
  {
    int64_t r = row;
    for (size_t d = nd; d-- > 0;) {
      idx[d] = r % outer_dims_[d];
      r /= outer_dims_[d];
    }
    for (size_t k = 0; k < k_in; ++k) {
      int64_t o = 0;
      for (size_t d = 0; d < nd; ++d) o += idx[d] * outer_strides_[k][d];
      off[k] = o;
    }
  }
  std::vector<int64_t> cur(k_in);
  int64_t pos = begin;
  while (pos < end) {
    int64_t n = std::min(row_size_ - col, end - pos);
    for (size_t k = 0; k < k_in; ++k) cur[k] = off[k] + col * steps_[k];
    fn(pos, static_cast<const int64_t*>(cur.data()), n);
    pos += n;
    col = 0;
    if (pos >= end) break;
    // Advance the odometer by one row.
    for (size_t d = nd; d-- > 0;) {
      if (++idx[d] < outer_dims_[d]) {
        for (size_t k = 0; k < k_in; ++k) off[k] += outer_strides_[k][d];
        break;
      }
      idx[d] = 0;
      for (size_t k = 0; k < k_in; ++k) off[k] -= outer_strides_[k][d] * (outer_dims_[d] - 1);
    }
  }
}

}  // namespace ortool::rt::cpu
