// SplitToSequence (tensor -> sequence of chunks along an axis) and ConcatFromSequence (sequence -> concat or stack).
#include "runtime/cpu/control.h"
#include "runtime/cpu/shape_ops_util.h"

namespace ortool::rt::cpu {
namespace {

// The most tensors SplitToSequence makes: an empty input ([2^40, 0]) could otherwise ask for 2^40 of
// them; a non-empty one of this length holds at least as many elements.
constexpr int64_t kMaxSequenceItems = int64_t{1} << 24;

// Copies chunk [start, start + size) along `axis` of `x` into a new tensor.
Tensor chunk(const Tensor& x, size_t axis, int64_t start, int64_t size) {
  std::vector<int64_t> dims = x.dims();
  const int64_t len = dims[axis];
  dims[axis] = size;
  Tensor out(x.dtype(), dims);
  if (out.numel() == 0) return out;  // other dims of an empty chunk may multiply past int64
  const int64_t outer = tensor_util::product(dims, 0, axis), inner = tensor_util::product(dims, axis + 1);
  for (int64_t o = 0; o < outer; ++o) copy_elements(x, (o * len + start) * inner, out, o * size * inner, size * inner);
  return out;
}

Status check_item_count(const ir::Node& node, int64_t count) {
  if (count > kMaxSequenceItems)
    return resource_limit("{}: splitting into {} tensors, more than the {} a sequence may hold", node.describe(), count,
                          kMaxSequenceItems);
  return Status::ok();
}

class SplitToSequenceKernel final : public Kernel {
 public:
  explicit SplitToSequenceKernel(const KernelInit& init)
      : axis_(init.node.attr_int("axis", 0)), keepdims_(init.node.attr_int("keepdims", 1) != 0) {}

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    if (!x) return invalid("{}: input 0 must be a tensor", node.describe());
    const int64_t r = static_cast<int64_t>(x->rank());
    if (axis_ < -r || axis_ >= r)
      return invalid("{}: axis {} is out of range for input 0 of rank {}", node.describe(), axis_, r);
    const size_t axis = static_cast<size_t>(axis_ < 0 ? axis_ + r : axis_);
    const int64_t len = x->dims()[axis];
    std::vector<int64_t> sizes;
    bool squeeze = false;
    if (const Tensor* split = ctx.input_tensor(1)) {
      if (split->dtype() != DType::Int32 && split->dtype() != DType::Int64)
        return invalid("{}: input 1 (split) must be int32 or int64, got {}", node.describe(),
                       dtype_name(split->dtype()));
      if (split->rank() == 0) {
        const int64_t size = split->get_int64(0);
        if (size <= 0) return invalid("{}: split size must be positive, got {}", node.describe(), size);
        TRY(check_item_count(node, len / size + (len % size != 0)));
        for (int64_t s = 0; s < len; s += sizes.back()) sizes.push_back(std::min(size, len - s));  // no s + size overflow
      } else if (split->rank() == 1) {
        int64_t total = 0;
        for (int64_t i = 0; i < split->numel(); ++i) {
          const int64_t s = split->get_int64(i);
          if (s < 0) return invalid("{}: split[{}] = {} is negative", node.describe(), i, s);
          if (s > len - total)
            return invalid("{}: split sizes up to split[{}] add up to more than axis {}'s length {}", node.describe(), i,
                           axis, len);
          total += s;
          sizes.push_back(s);
        }
        if (total != len)
          return invalid("{}: split sizes sum to {}, but axis {} has length {}", node.describe(), total, axis, len);
      } else {
        return invalid("{}: input 1 (split) must be a scalar or 1-D, got rank {}", node.describe(), split->rank());
      }
    } else {
      TRY(check_item_count(node, len));
      sizes.assign(static_cast<size_t>(len), 1);
      squeeze = !keepdims_;
    }
    std::vector<Tensor> items;
    int64_t start = 0;
    for (int64_t s : sizes) {
      Tensor c = chunk(*x, axis, start, s);
      if (squeeze) {
        std::vector<int64_t> dims = c.dims();
        dims.erase(dims.begin() + static_cast<std::ptrdiff_t>(axis));
        c = c.reshaped(dims);
      }
      items.push_back(std::move(c));
      start += s;
    }
    return ctx.set_output(0, RValue::seq(std::move(items), x->dtype()));
  }

 private:
  int64_t axis_;
  bool keepdims_;
};

class ConcatFromSequenceKernel final : public Kernel {
 public:
  explicit ConcatFromSequenceKernel(const KernelInit& init)
      : has_axis_(init.node.has_attr("axis")),
        axis_(init.node.attr_int("axis", 0)),
        new_axis_(init.node.attr_int("new_axis", 0) != 0) {}

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    if (!has_axis_) return invalid("{}: attribute 'axis' is required", node.describe());
    const RValue* s = ctx.input(0);
    if (!s || !s->is_sequence()) return invalid("{}: input 0 must be a sequence", node.describe());
    const std::vector<Tensor>& items = s->sequence;
    if (items.empty()) return invalid("{}: cannot concatenate an empty sequence", node.describe());
    const Tensor& first = items[0];
    const int64_t r = static_cast<int64_t>(first.rank());
    const int64_t out_rank = new_axis_ ? r + 1 : r;
    if (axis_ < -out_rank || axis_ >= out_rank)
      return invalid("{}: axis {} is out of range for {} tensors of rank {}", node.describe(), axis_,
                     new_axis_ ? "stacking" : "concatenating", r);
    const size_t axis = static_cast<size_t>(axis_ < 0 ? axis_ + out_rank : axis_);
    for (size_t i = 1; i < items.size(); ++i) {
      const Tensor& t = items[i];
      if (t.dtype() != first.dtype() || t.rank() != first.rank())
        return invalid("{}: element {} is {} of rank {}, element 0 is {} of rank {}", node.describe(), i,
                       dtype_name(t.dtype()), t.rank(), dtype_name(first.dtype()), first.rank());
      for (size_t d = 0; d < first.rank(); ++d)
        if (t.dims()[d] != first.dims()[d] && (new_axis_ || d != axis))
          return invalid("{}: element {} has shape {}, incompatible with element 0's {}", node.describe(), i,
                         shape_to_string(shape_from_dims(t.dims())), shape_to_string(shape_from_dims(first.dims())));
    }
    // Stacking is concatenation of the elements reshaped with a 1 inserted at `axis`.
    std::vector<Tensor> parts;
    for (const Tensor& t : items) {
      if (new_axis_) {
        std::vector<int64_t> dims = t.dims();
        dims.insert(dims.begin() + static_cast<std::ptrdiff_t>(axis), 1);
        parts.push_back(t.reshaped(dims));
      } else {
        parts.push_back(t);
      }
    }
    std::vector<int64_t> dims = parts[0].dims();
    int64_t total = 0;
    for (const Tensor& p : parts)
      if (__builtin_add_overflow(total, p.dims()[axis], &total))
        return invalid("{}: the elements' lengths along axis {} add up to more than int64 holds", node.describe(),
                       axis);
    dims[axis] = total;
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, first.dtype(), dims));
    if (y->numel() == 0) return Status::ok();  // other dims of an empty output may multiply past int64
    const int64_t outer = tensor_util::product(dims, 0, axis), inner = tensor_util::product(dims, axis + 1);
    int64_t offset = 0;
    for (const Tensor& p : parts) {
      const int64_t n = p.dims()[axis];
      for (int64_t o = 0; o < outer; ++o) copy_elements(p, o * n * inner, *y, (o * total + offset) * inner, n * inner);
      offset += n;
    }
    return Status::ok();
  }

 private:
  bool has_axis_;
  int64_t axis_;
  bool new_axis_;
};

}  // namespace

void register_sequence_split_ops(KernelRegistry& r) {
  r.add("", "SplitToSequence", 11, INT32_MAX, factory_of<SplitToSequenceKernel>());
  r.add("", "ConcatFromSequence", 11, INT32_MAX, factory_of<ConcatFromSequenceKernel>());
}

}  // namespace ortool::rt::cpu
