// Numpy-style broadcasting: output shapes and the merged-dims row walker declared in broadcast.h.
#include "runtime/cpu/broadcast.h"

#include <fmt/format.h>

namespace ortool::rt::cpu {

std::string format_dims(std::span<const int64_t> dims) {
  return fmt::format("[{}]", fmt::join(dims, ","));
}

Result<std::vector<int64_t>> broadcast_shape(std::span<const int64_t> a, std::span<const int64_t> b) {
  const size_t r = std::max(a.size(), b.size());
  std::vector<int64_t> out(r, 1);
  for (size_t i = 0; i < r; ++i) {
    // i counts from the right.
    int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    int64_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    int64_t d;
    if (da == db || db == 1) d = da;
    else if (da == 1) d = db;
    else
      return invalid("shapes {} and {} do not broadcast (dim {}: {} vs {})", format_dims(a), format_dims(b),
                     -static_cast<int64_t>(i) - 1, da, db);
    out[r - 1 - i] = d;
  }
  return out;
}

Result<std::vector<int64_t>> broadcast_shapes(const std::vector<std::vector<int64_t>>& shapes) {
  if (shapes.empty()) return std::vector<int64_t>{};
  std::vector<int64_t> out = shapes[0];
  for (size_t i = 1; i < shapes.size(); ++i) {
    auto r = broadcast_shape(out, shapes[i]);
    if (!r) {
      // Name every operand so the user sees which one disagrees.
      std::vector<std::string> all;
      for (const auto& s : shapes) all.push_back(format_dims(s));
      return invalid("shapes {} do not broadcast (operand {} is {})", fmt::join(all, ", "), i,
                     format_dims(shapes[i]));
    }
    out = std::move(r).value();
  }
  return out;
}

bool broadcasts_to(std::span<const int64_t> from, std::span<const int64_t> to) {
  if (from.size() > to.size()) return false;
  for (size_t i = 0; i < from.size(); ++i) {
    int64_t f = from[from.size() - 1 - i];
    int64_t t = to[to.size() - 1 - i];
    if (f != t && f != 1) return false;
  }
  return true;
}

bool broadcast_index_map(const std::vector<int64_t>& from, const std::vector<int64_t>& to, std::vector<int64_t>& map) {
  if (from.size() > to.size()) return false;
  const size_t off = to.size() - from.size();
  std::vector<int64_t> stride(to.size(), 0);
  int64_t s = 1;
  for (size_t i = from.size(); i-- > 0;) {
    const int64_t f = from[i], t = to[off + i];
    if (f != t && f != 1) return false;
    stride[off + i] = f == 1 ? 0 : s;
    s *= f;
  }
  int64_t n = 1;
  for (int64_t d : to) n *= d;
  map.assign(static_cast<size_t>(n), 0);
  std::vector<int64_t> idx(to.size(), 0);
  int64_t cur = 0;
  for (int64_t k = 0; k < n; ++k) {
    map[static_cast<size_t>(k)] = cur;
    for (size_t d = to.size(); d-- > 0;) {
      if (++idx[d] < to[d]) {
        cur += stride[d];
        break;
      }
      cur -= stride[d] * (to[d] - 1);
      idx[d] = 0;
    }
  }
  return true;
}

BroadcastRows::BroadcastRows(std::span<const int64_t> out_dims, const std::vector<std::span<const int64_t>>& in_dims) {
  const size_t r = out_dims.size();
  const size_t k_in = in_dims.size();
  numel_ = 1;
  for (int64_t d : out_dims) numel_ *= d;

  // Per dim of the output: each operand's stride (0 where it is broadcast). Dims of 1 are dropped.
  std::vector<int64_t> dims;
  std::vector<std::vector<int64_t>> strides(k_in);
  std::vector<std::vector<int64_t>> full(k_in, std::vector<int64_t>(r, 0));
  for (size_t k = 0; k < k_in; ++k) {
    const auto& in = in_dims[k];
    const size_t pad = r - std::min(r, in.size());
    int64_t s = 1;
    for (size_t d = r; d-- > pad;) {
      int64_t dim = in[d - pad];
      full[k][d] = dim == 1 ? 0 : s;
      s *= dim;
    }
  }
  for (size_t d = 0; d < r; ++d) {
    if (out_dims[d] == 1) continue;
    dims.push_back(out_dims[d]);
    for (size_t k = 0; k < k_in; ++k) strides[k].push_back(full[k][d]);
  }
  // Merge dim i into dim i+1 when every operand steps through both as one (stride[i] = stride[i+1] * dim[i+1]).
  std::vector<int64_t> mdims;
  std::vector<std::vector<int64_t>> mstrides(k_in);
  for (size_t d = 0; d < dims.size(); ++d) {
    bool merge = !mdims.empty();
    if (merge) {
      for (size_t k = 0; k < k_in; ++k) {
        if (mstrides[k].back() != strides[k][d] * dims[d]) {
          merge = false;
          break;
        }
      }
    }
    if (merge) {
      mdims.back() *= dims[d];
      for (size_t k = 0; k < k_in; ++k) mstrides[k].back() = strides[k][d];
    } else {
      mdims.push_back(dims[d]);
      for (size_t k = 0; k < k_in; ++k) mstrides[k].push_back(strides[k][d]);
    }
  }
  steps_.assign(k_in, 0);
  row_size_ = 1;
  if (!mdims.empty()) {
    row_size_ = mdims.back();
    mdims.pop_back();
    for (size_t k = 0; k < k_in; ++k) {
      steps_[k] = mstrides[k].back();
      mstrides[k].pop_back();
    }
  }
  if (row_size_ == 0) row_size_ = 1;  // empty output: for_each_in returns before dividing
  outer_dims_ = std::move(mdims);
  outer_strides_ = std::move(mstrides);
}

}  // namespace ortool::rt::cpu
