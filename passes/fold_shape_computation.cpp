// Pass fold_shape_computation: Shape, Size, and Gather/Slice of a Shape (or of a Shape cast to int32
// or int64, as converters from TensorFlow write it) become constants once the dims they read are known,
// even when other dims (a symbolic batch) are not; constant_folding does the rest. A Reshape whose
// target copies dims of its own input (x.view(x.size(0), -1) with a symbolic batch) gets a constant
// target with 0 ("copy this dim") there, so its rank and the shapes after it become known.
#include <algorithm>
#include <climits>

#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"

namespace ortool::passes {

namespace {

// The positions [start, end) of a Shape node (opset 15 attributes), clamped as onnx does.
std::vector<int64_t> shape_positions(const ir::Node& n, int64_t rank, bool use_attrs) {
  std::vector<int64_t> out;
  if (!use_attrs) {
    for (int64_t i = 0; i < rank; ++i) out.push_back(i);
    return out;
  }
  auto clamp = [&](int64_t v) {
    if (v < 0) v += rank;
    return std::clamp<int64_t>(v, 0, rank);
  };
  int64_t start = clamp(n.attr_int("start", 0));
  int64_t end = n.has_attr("end") ? clamp(n.attr_int("end", rank)) : rank;
  for (int64_t i = start; i < end; ++i) out.push_back(i);
  return out;
}

// onnx Slice over a 1-D list of `len` elements; the selected positions, or nullopt.
std::optional<std::vector<int64_t>> slice_positions(int64_t len, int64_t start, int64_t end, int64_t step) {
  if (step == 0 || step == INT64_MIN) return std::nullopt;
  if (start < 0) start += len;
  if (end < 0) end += len;
  std::vector<int64_t> out;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, len);
    end = std::clamp<int64_t>(end, 0, len);
    for (int64_t i = start; i < end; i += step) {
      out.push_back(i);
      if (step >= end - i) break;
    }
  } else {
    start = std::clamp<int64_t>(start, 0, len - 1);
    end = std::clamp<int64_t>(end, -1, len - 1);
    for (int64_t i = start; i > end; i += step) {
      out.push_back(i);
      if (-step >= i - end) break;
    }
  }
  return out;
}

class FoldShapeComputation final : public Pass {
 public:
  std::string_view name() const override { return "fold_shape_computation"; }
  std::string_view description() const override {
    return "Replace Shape/Size (and Gather or Slice of a Shape) by constants when the dims they read are known";
  }
  std::vector<std::string_view> op_types() const override { return {"Shape", "Size"}; }

  Result<bool> run(ir::Model& model, ir::Graph& g, const PassContext& ctx) override {
    bool changed = false;
    bool shape_attrs = onnx_opset(model) >= 15;
    // Each rewrite is anchored at the node it replaces, so only the current node is ever removed.
    for (ir::Node* n : g.nodes()) {
      ir::Value* out = n->output(0);
      if (!out || out->is_graph_output() || n->num_outputs() != 1 || !out->has_uses()) continue;
      std::optional<Tensor> folded;
      if (is_op(n, "Shape") || is_op(n, "Size")) {
        folded = fold_shape_or_size(*n, shape_attrs);
      } else if (is_op(n, "Gather") || is_op(n, "Slice")) {
        DType dtype = DType::Int64;
        const ir::Node* shape = shape_through_casts(n->input(0), dtype);
        auto dims = shape ? value_shape(shape->input(0)) : std::nullopt;
        if (dims)
          folded = fold_consumer(*n, *dims, shape_positions(*shape, static_cast<int64_t>(dims->size()), shape_attrs),
                                 dtype);
      }
      if (!folded && is_op(n, "Reshape")) {
        std::optional<Tensor> target = copying_target(model, *n);
        if (!target) continue;
        if (!ctx.allow_rewrite()) return changed;
        g.set_input(n, 1, add_constant(g, n->input(1)->name(), std::move(*target)));
        changed = true;
        continue;
      }
      if (!folded) continue;
      if (!ctx.allow_rewrite()) return changed;
      std::string name = out->name();
      ir::Value* c = add_constant(g, name, std::move(*folded));
      g.replace_all_uses(out, c);
      g.remove_node(n);
      g.rename_value(c, name);
      changed = true;
    }
    return changed;
  }

 private:
  // The Shape node whose output reaches `v` through zero or more Casts to int32/int64; `dtype` becomes
  // the type `v` has (the last Cast's).
  static const ir::Node* shape_through_casts(const ir::Value* v, DType& dtype) {
    bool first = true;
    for (int hops = 0; v && hops < 8; ++hops) {
      const ir::Node* p = v->producer();
      if (is_op(p, "Shape")) return p;
      if (!is_op(p, "Cast") || p->num_inputs() != 1) return nullptr;
      const ir::Attribute* to = p->attr("to");
      if (!to || to->type != ir::AttrType::Int) return nullptr;
      const auto t = static_cast<DType>(to->i);
      if (t != DType::Int32 && t != DType::Int64) return nullptr;
      if (first) dtype = t;
      first = false;
      v = p->input(0);
    }
    return nullptr;
  }

  // The positions of `data`'s dims that `part` (a 1-D int piece of a Reshape target) reads: Slice or
  // Gather of Shape(data) (through Casts, and an Unsqueeze of a scalar Gather), or of the Shape of a
  // value whose dims at those positions are the same symbols. Nullopt when it reads anything else.
  static std::optional<std::vector<int64_t>> dims_read(const ir::Value* part, const ir::Value* data,
                                                       bool shape_attrs) {
    for (int hops = 0; part && hops < 8; ++hops) {
      const ir::Node* p = part->producer();
      if (is_op(p, "Cast") && p->num_inputs() == 1) {
        part = p->input(0);
        continue;
      }
      if (!is_op(p, "Unsqueeze")) break;
      auto axes = p->num_inputs() > 1 ? constant_ints(p->input(1)) : std::optional(p->attr_ints("axes"));
      if (!axes || *axes != std::vector<int64_t>{0} || value_rank(p->input(0)) != 0) return std::nullopt;
      part = p->input(0);
    }
    const ir::Node* c = part ? part->producer() : nullptr;
    if (!is_op(c, "Gather") && !is_op(c, "Slice")) return std::nullopt;
    DType dtype = DType::Int64;
    const ir::Node* shape = shape_through_casts(c->input(0), dtype);
    if (!shape) return std::nullopt;
    auto src = value_shape(shape->input(0));
    auto own = value_shape(data);
    if (!src || !own) return std::nullopt;
    // Read through a stand-in Shape whose every dim is a distinct known number: the number read is
    // the position read.
    Shape positions;
    for (size_t i = 0; i < src->size(); ++i) positions.push_back(Dim::known(static_cast<int64_t>(i)));
    auto read = fold_consumer(*c, positions, shape_positions(*shape, static_cast<int64_t>(src->size()), shape_attrs),
                              DType::Int64);
    if (!read || read->rank() > 1) return std::nullopt;
    std::vector<int64_t> out = read->to_int64_vector();
    for (int64_t i : out) {
      const auto k = static_cast<size_t>(i);
      if (shape->input(0) == data) continue;
      if (k >= own->size()) return std::nullopt;
      const Dim& a = (*src)[k];
      const Dim& b = (*own)[k];
      if (a.kind != Dim::Kind::Param || b.kind != Dim::Kind::Param || a.param != b.param) return std::nullopt;
    }
    return out;
  }

  // A constant target for Reshape `n` whose target is a Concat of constants and reads of its input's
  // own dims at the same positions; those become 0, which Reshape copies from the input (allowzero 0).
  static std::optional<Tensor> copying_target(const ir::Model& model, const ir::Node& n) {
    if (n.num_inputs() != 2 || constant_tensor(n.input(1)) || n.attr_int("allowzero", 0) != 0) return std::nullopt;
    const ir::Node* cat = n.input(1)->producer();
    if (!is_op(cat, "Concat") || cat->attr_int("axis", 0) != 0) return std::nullopt;
    const bool shape_attrs = onnx_opset(model) >= 15;
    std::vector<int64_t> target;
    bool copies = false;
    for (const ir::Value* part : cat->inputs()) {
      if (!part) return std::nullopt;
      if (auto v = constant_ints(part); v && constant_tensor(part) && constant_tensor(part)->rank() == 1) {
        // A literal 0 would copy a dim too; it already does, so keep it as written.
        target.insert(target.end(), v->begin(), v->end());
        continue;
      }
      auto read = dims_read(part, n.input(0), shape_attrs);
      if (!read || read->empty()) return std::nullopt;
      for (int64_t pos : *read) {
        if (pos != static_cast<int64_t>(target.size())) return std::nullopt;  // a dim moved: not a copy
        target.push_back(0);
      }
      copies = true;
    }
    if (!copies) return std::nullopt;
    return Tensor::from_vector(DType::Int64, {static_cast<int64_t>(target.size())}, target);
  }

  // Gather(shape, const indices) or Slice(shape, const starts/ends/axes/steps) of known dims, as `dtype`.
  static std::optional<Tensor> fold_consumer(const ir::Node& c, const Shape& dims, const std::vector<int64_t>& pos,
                                             DType dtype) {
    int64_t len = static_cast<int64_t>(pos.size());
    std::vector<int64_t> picked;
    std::vector<int64_t> out_dims;
    if (is_op(&c, "Gather") && c.num_inputs() == 2) {
      if (c.attr_int("axis", 0) != 0) return std::nullopt;
      const Tensor* idx = constant_tensor(c.input(1));
      if (!idx || !dtype_is_integer(idx->dtype()) || idx->rank() > 1) return std::nullopt;
      for (int64_t i : idx->to_int64_vector()) {
        if (i < -len || i >= len) return std::nullopt;
        picked.push_back(i < 0 ? i + len : i);
      }
      out_dims = idx->dims();
    } else if (is_op(&c, "Slice")) {
      // Inputs since opset 10, attributes before.
      bool attrs = c.num_inputs() == 1;
      auto starts = attrs ? std::optional(c.attr_ints("starts")) : constant_ints(c.input(1));
      auto ends = attrs ? std::optional(c.attr_ints("ends")) : constant_ints(c.input(2));
      if (!starts || !ends || starts->size() != 1 || ends->size() != 1) return std::nullopt;
      auto axes = attrs ? std::optional(c.attr_ints("axes", {0})) : c.input(3) ? constant_ints(c.input(3))
                                                                                : std::optional(std::vector<int64_t>{0});
      if (!axes || axes->size() != 1 || ((*axes)[0] != 0 && (*axes)[0] != -1)) return std::nullopt;
      int64_t step = 1;
      if (!attrs && c.input(4)) {
        auto steps = constant_ints(c.input(4));
        if (!steps || steps->size() != 1) return std::nullopt;
        step = (*steps)[0];
      }
      auto sel = slice_positions(len, (*starts)[0], (*ends)[0], step);
      if (!sel) return std::nullopt;
      picked = *sel;
      out_dims = {static_cast<int64_t>(picked.size())};
    } else {
      return std::nullopt;
    }
    std::vector<int64_t> values;
    for (int64_t i : picked) {
      const Dim& d = dims[static_cast<size_t>(pos[static_cast<size_t>(i)])];
      if (!d.is_known()) return std::nullopt;
      values.push_back(d.value);
    }
    if (dtype == DType::Int32) {
      std::vector<int32_t> v32;
      for (int64_t v : values) {
        if (v > INT32_MAX) return std::nullopt;  // the Cast would wrap; leave it to run
        v32.push_back(static_cast<int32_t>(v));
      }
      return Tensor::from_vector(DType::Int32, out_dims, v32);
    }
    return Tensor::from_vector(DType::Int64, out_dims, values);
  }

  static std::optional<Tensor> fold_shape_or_size(const ir::Node& n, bool shape_attrs) {
    auto dims = value_shape(n.input(0));
    if (!dims) return std::nullopt;
    if (is_op(&n, "Size")) {
      auto all = static_dims(*dims);
      if (!all) return std::nullopt;
      // Declared dims come from the file: a product past int64 (UB, and a wrong constant) is left alone.
      auto numel = checked_numel(*all);
      if (!numel.is_ok()) return std::nullopt;
      return Tensor::scalar_i64(*numel);
    }
    std::vector<int64_t> values;
    for (int64_t p : shape_positions(n, static_cast<int64_t>(dims->size()), shape_attrs)) {
      const Dim& d = (*dims)[static_cast<size_t>(p)];
      if (!d.is_known()) return std::nullopt;
      values.push_back(d.value);
    }
    return Tensor::from_vector(DType::Int64, {static_cast<int64_t>(values.size())}, values);
  }
};

}  // namespace

std::unique_ptr<Pass> make_fold_shape_computation() { return std::make_unique<FoldShapeComputation>(); }

}  // namespace ortool::passes
