// Op rules, part three: ops that select, move or reduce axes. Concat and Split on the channel axis
// concatenate and cut channel lists; Slice keeps a contiguous range; Transpose, Squeeze, Unsqueeze
// and reductions over other axes move the channel axis; Resize and Pad pass channels through when
// they leave the channel axis alone.
#include <algorithm>
#include <limits>

#include "lib/op_id.h"
#include "passes/pass_util.h"
#include "prune/graph_builder.h"

namespace ortool::prune {

namespace {

// Axes from an attribute (older opsets) or a constant input (newer ones); nullopt when they are
// computed, `absent` (empty) when neither is given.
std::optional<std::vector<int64_t>> axes_of(const ir::Node& n, int input, bool from_input) {
  if (from_input) {
    if (!n.input(static_cast<size_t>(input))) return std::vector<int64_t>{};
    return constant_input_ints(n, input);
  }
  return n.attr_ints("axes");
}

// Normalizes every axis against `rank`; nullopt when one is out of range.
std::optional<std::vector<int64_t>> norm_axes(const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<int64_t> out;
  for (int64_t a : axes) {
    auto n = norm_axis(a, rank);
    if (!n) return std::nullopt;
    out.push_back(*n);
  }
  return out;
}

std::vector<AtomId> sub(const std::vector<AtomId>& v, int64_t from, int64_t to) {
  return {v.begin() + from, v.begin() + to};
}

}  // namespace

void concat_rule(GraphBuilder& b, ir::Node& n) {
  const ChannelMap* first = nullptr;
  for (const ir::Value* v : n.inputs())
    if ((first = b.map(v))) break;
  if (!first) return;
  auto axis = norm_axis(n.attr_int("axis", 0), first->rank);
  if (!axis) return b.pin_inputs(n, "its axis is out of range");
  if (*axis == first->axis) {
    // Channels of the output: each input's in order; inputs that are not tracked bring channels
    // nobody may remove.
    std::vector<AtomId> atoms;
    for (const ir::Value* v : n.inputs()) {
      const ChannelMap* m = b.map(v);
      if (m && (m->axis != *axis || m->block != 1 || m->rank != first->rank))
        return b.pin_inputs(n, "its inputs carry channels on different axes");
      if (m) {
        atoms.insert(atoms.end(), m->atoms.begin(), m->atoms.end());
        continue;
      }
      std::optional<int64_t> d = b.dim(v, *axis);
      if (!d) return b.pin_inputs(n, "the channel count of input '" + (v ? v->name() : std::string("?")) + "' is unknown");
      std::vector<AtomId> fixed = b.pinned_atoms(*d, where(n) + ": concatenated with '" + v->name() + "'");
      atoms.insert(atoms.end(), fixed.begin(), fixed.end());
    }
    b.set_map(n.output(0), {first->rank, *axis, std::move(atoms), 1});
    return;
  }
  // Concatenated along another axis: every input must carry the same channels.
  for (const ir::Value* v : n.inputs()) {
    const ChannelMap* m = b.map(v);
    if (!m || m->axis != first->axis || m->length() != first->length() || m->block != first->block)
      return b.pin_inputs(n, "it concatenates values whose channels do not line up");
  }
  for (const ir::Value* v : n.inputs()) b.join_entries(*first, *b.map(v));
  b.set_map(n.output(0), *first);
}

void split_rule(GraphBuilder& b, ir::Node& n) {
  const ChannelMap* m = b.map(n.input(0));
  if (n.input(1) && b.map(n.input(1))) return b.pin_inputs(n, "its sizes are tracked");
  if (!m) return;
  auto axis = norm_axis(n.attr_int("axis", 0), m->rank);
  if (!axis) return b.pin_inputs(n, "its axis is out of range");
  if (*axis != m->axis) {
    for (ir::Value* o : n.outputs()) b.set_map(o, *m);
    return;
  }
  if (m->block != 1) return b.pin_inputs(n, "it splits flattened channels");
  const int64_t len = m->length(), parts = static_cast<int64_t>(n.num_outputs());
  const bool sizes_input = b.opset() >= 13;
  std::vector<int64_t> sizes;
  if (sizes_input && n.input(1)) {
    auto s = constant_input_ints(n, 1);
    if (!s) return b.pin_inputs(n, "its sizes are computed");
    sizes = *s;
  } else if (!sizes_input && n.has_attr("split")) {
    sizes = n.attr_ints("split");
  } else {
    int64_t num = n.attr_int("num_outputs", parts);
    int64_t chunk = num > 0 ? (len + num - 1) / num : 0;
    if (!n.has_attr("num_outputs") && len % parts != 0) return b.pin_inputs(n, "its channels do not split evenly");
    for (int64_t i = 0; i < num; ++i) sizes.push_back(std::min(chunk, len - chunk * i));
  }
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0) return b.pin_inputs(n, "a split size is negative");
    total += s;
  }
  if (total != len || static_cast<int64_t>(sizes.size()) != parts) return b.pin_inputs(n, "its sizes do not add up to its channels");
  std::vector<std::vector<AtomId>> pieces;
  int64_t at = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    pieces.push_back(sub(m->atoms, at, at + sizes[i]));
    at += sizes[i];
    b.require_nonempty(pieces.back());
    b.set_map(n.output(i), {m->rank, m->axis, pieces.back(), 1});
  }
  // The new sizes are written out explicitly (an even split may not be even any more).
  b.fixup([node = &n, pieces, sizes_input](ir::Graph& g, const Removal& r) {
    std::vector<int64_t> kept;
    for (const auto& p : pieces) kept.push_back(r.kept(p));
    if (sizes_input) {
      node->remove_attr("num_outputs");
      set_constant_input(g, node, 1, Tensor::from_vector(DType::Int64, {static_cast<int64_t>(kept.size())}, kept));
    } else {
      node->set_attr(ir::Attribute::make_ints("split", kept));
    }
    return Status::ok();
  });
}

void slice_rule(GraphBuilder& b, ir::Node& n) {
  const ChannelMap* m = b.map(n.input(0));
  for (size_t i = 1; i < n.num_inputs(); ++i)
    if (b.map(n.input(i))) return b.pin_inputs(n, "its bounds are tracked");
  if (!m) return;
  const bool inputs = b.opset() >= 10;
  std::optional<std::vector<int64_t>> starts, ends, axes, steps;
  if (inputs) {
    starts = constant_input_ints(n, 1);
    ends = constant_input_ints(n, 2);
    axes = n.input(3) ? constant_input_ints(n, 3) : std::nullopt;
    steps = n.input(4) ? constant_input_ints(n, 4) : std::nullopt;
    if ((n.input(3) && !axes) || (n.input(4) && !steps)) return b.pin_inputs(n, "its bounds are computed");
  } else {
    starts = n.attr_ints("starts");
    ends = n.attr_ints("ends");
    if (n.has_attr("axes")) axes = n.attr_ints("axes");
  }
  if (!starts || !ends || starts->size() != ends->size()) return b.pin_inputs(n, "its bounds are computed");
  std::vector<int64_t> ax;
  if (axes) {
    auto na = norm_axes(*axes, m->rank);
    if (!na) return b.pin_inputs(n, "an axis is out of range");
    ax = *na;
  } else {
    for (size_t i = 0; i < starts->size(); ++i) ax.push_back(static_cast<int64_t>(i));
  }
  if (ax.size() != starts->size()) return b.pin_inputs(n, "its bounds do not match its axes");
  auto it = std::find(ax.begin(), ax.end(), m->axis);
  if (it == ax.end()) {
    b.set_map(n.output(0), *m);
    return;
  }
  const size_t k = static_cast<size_t>(it - ax.begin());
  if (steps && (*steps)[k] != 1) return b.pin_inputs(n, "it slices the channels with a step");
  if (m->block != 1) return b.pin_inputs(n, "it slices flattened channels");
  const int64_t len = m->length();
  auto clamp = [len](int64_t v) {
    if (v < 0) v += len;
    return std::clamp<int64_t>(v, 0, len);
  };
  const int64_t s = clamp((*starts)[k]), e = std::max(s, clamp((*ends)[k]));
  std::vector<AtomId> kept_atoms = sub(m->atoms, s, e);
  b.require_nonempty(kept_atoms);
  b.set_map(n.output(0), {m->rank, m->axis, kept_atoms, 1});
  // New bounds: the channels kept before the range, and those kept inside it.
  b.fixup([node = &n, atoms = m->atoms, s, e, k, inputs](ir::Graph& g, const Removal& r) {
    const int64_t ns = r.kept(sub(atoms, 0, s)), ne = ns + r.kept(sub(atoms, s, e));
    if (inputs) {
      for (int input : {1, 2}) {
        std::vector<int64_t> v = *constant_input_ints(*node, input);
        v[k] = input == 1 ? ns : ne;
        set_constant_input(g, node, input, Tensor::from_vector(DType::Int64, {static_cast<int64_t>(v.size())}, v));
      }
    } else {
      std::vector<int64_t> st = node->attr_ints("starts"), en = node->attr_ints("ends");
      st[k] = ns;
      en[k] = ne;
      node->set_attr(ir::Attribute::make_ints("starts", st));
      node->set_attr(ir::Attribute::make_ints("ends", en));
    }
    return Status::ok();
  });
}

void transpose_rule(GraphBuilder& b, ir::Node& n) {
  const ChannelMap* m = b.map(n.input(0));
  if (!m) return;
  std::vector<int64_t> perm = n.attr_ints("perm");
  if (perm.empty())
    for (int64_t i = m->rank - 1; i >= 0; --i) perm.push_back(i);
  if (static_cast<int64_t>(perm.size()) != m->rank) return b.pin_inputs(n, "its perm does not match the rank");
  auto it = std::find(perm.begin(), perm.end(), m->axis);
  if (it == perm.end()) return b.pin_inputs(n, "its perm is malformed");
  ChannelMap out = *m;
  out.axis = it - perm.begin();
  b.set_map(n.output(0), std::move(out));
}

void squeeze_rule(GraphBuilder& b, ir::Node& n) {
  const ChannelMap* m = b.map(n.input(0));
  if (n.input(1) && b.map(n.input(1))) return b.pin_inputs(n, "its axes are tracked");
  if (!m) return;
  auto axes = axes_of(n, 1, b.opset() >= 13);
  if (!axes) return b.pin_inputs(n, "its axes are computed");
  std::vector<int64_t> ax;
  if (axes->empty()) {
    // Every dim of size 1 goes: the dims must be known.
    auto d = b.dims(n.input(0));
    if (!d) return b.pin_inputs(n, "it squeezes dims of unknown size");
    for (size_t i = 0; i < d->size(); ++i)
      if ((*d)[i] == 1) ax.push_back(static_cast<int64_t>(i));
  } else {
    auto na = norm_axes(*axes, m->rank);
    if (!na) return b.pin_inputs(n, "an axis is out of range");
    ax = *na;
  }
  if (std::find(ax.begin(), ax.end(), m->axis) != ax.end()) return b.pin_inputs(n, "it squeezes the channel axis");
  ChannelMap out = *m;
  out.rank -= static_cast<int64_t>(ax.size());
  out.axis -= std::count_if(ax.begin(), ax.end(), [&](int64_t a) { return a < m->axis; });
  b.set_map(n.output(0), std::move(out));
}

void unsqueeze_rule(GraphBuilder& b, ir::Node& n) {
  const ChannelMap* m = b.map(n.input(0));
  if (n.input(1) && b.map(n.input(1))) return b.pin_inputs(n, "its axes are tracked");
  if (!m) return;
  auto axes = axes_of(n, 1, b.opset() >= 13);
  if (!axes || axes->empty()) return b.pin_inputs(n, "its axes are computed");
  const int64_t out_rank = m->rank + static_cast<int64_t>(axes->size());
  auto na = norm_axes(*axes, out_rank);
  if (!na) return b.pin_inputs(n, "an axis is out of range");
  // The input's axes fill the output positions not inserted, in order.
  int64_t axis = -1, seen = 0;
  for (int64_t i = 0; i < out_rank && axis < 0; ++i) {
    if (std::find(na->begin(), na->end(), i) != na->end()) continue;
    if (seen++ == m->axis) axis = i;
  }
  ChannelMap out = *m;
  out.rank = out_rank;
  out.axis = axis;
  b.set_map(n.output(0), std::move(out));
}

void reduce_rule(GraphBuilder& b, ir::Node& n) {
  const ChannelMap* m = b.map(n.input(0));
  if (n.input(1) && b.map(n.input(1))) return b.pin_inputs(n, "its axes are tracked");
  if (!m) return;
  const bool arg = ir::is_op(n, "ArgMax") || ir::is_op(n, "ArgMin");
  const bool keepdims = n.attr_int("keepdims", 1) != 0;
  std::vector<int64_t> ax;
  if (arg) {
    auto a = norm_axis(n.attr_int("axis", 0), m->rank);
    if (!a) return b.pin_inputs(n, "its axis is out of range");
    ax = {*a};
  } else {
    // Axes moved from an attribute to an input at opset 13 for ReduceSum and 18 for the others.
    const bool from_input = b.opset() >= (ir::is_op(n, "ReduceSum") ? 13 : 18);
    auto axes = axes_of(n, 1, from_input);
    if (!axes) return b.pin_inputs(n, "its axes are computed");
    if (axes->empty()) return b.pin_inputs(n, "it reduces over every axis");
    auto na = norm_axes(*axes, m->rank);
    if (!na) return b.pin_inputs(n, "an axis is out of range");
    ax = *na;
  }
  if (std::find(ax.begin(), ax.end(), m->axis) != ax.end()) return b.pin_inputs(n, "it reduces over the channel axis");
  ChannelMap out = *m;
  if (!keepdims) {
    out.rank -= static_cast<int64_t>(ax.size());
    out.axis -= std::count_if(ax.begin(), ax.end(), [&](int64_t a) { return a < m->axis; });
  }
  b.set_map(n.output(0), std::move(out));
}

void resize_rule(GraphBuilder& b, ir::Node& n) {
  const ChannelMap* m = b.map(n.input(0));
  for (size_t i = 1; i < n.num_inputs(); ++i)
    if (b.map(n.input(i))) return b.pin_inputs(n, "its sizes are tracked");
  if (!m) return;
  // Upsample and opset-10 Resize: X, scales. Later Resize: X, roi, scales, sizes (and opset 18 axes).
  const bool old = ir::is_op(n, "Upsample") || b.opset() < 11;
  const ir::Value* scales_v = n.input(old ? 1 : 2);
  const ir::Value* sizes_v = old ? nullptr : n.input(3);
  std::vector<int64_t> axes;
  if (n.has_attr("axes")) {
    auto na = norm_axes(n.attr_ints("axes"), m->rank);
    if (!na) return b.pin_inputs(n, "an axis is out of range");
    axes = *na;
  } else {
    for (int64_t i = 0; i < m->rank; ++i) axes.push_back(i);
  }
  auto it = std::find(axes.begin(), axes.end(), m->axis);
  if (it == axes.end()) {
    b.set_map(n.output(0), *m);
    return;
  }
  const size_t k = static_cast<size_t>(it - axes.begin());
  if (sizes_v) {
    auto sizes = passes::constant_ints(sizes_v);
    if (!sizes || sizes->size() != axes.size() || (*sizes)[k] != m->length())
      return b.pin_inputs(n, "its sizes are computed or change the channel count");
    b.set_map(n.output(0), *m);
    b.fixup([node = &n, atoms = m->atoms, block = m->block, k](ir::Graph& g, const Removal& r) {
      std::vector<int64_t> v = *constant_input_ints(*node, 3);
      v[k] = r.kept(atoms, block);
      set_constant_input(g, node, 3, Tensor::from_vector(DType::Int64, {static_cast<int64_t>(v.size())}, v));
      return Status::ok();
    });
    return;
  }
  std::optional<std::vector<float>> scales;
  if (scales_v) scales = passes::constant_floats(scales_v);
  else if (n.has_attr("scales")) scales = n.attr_floats("scales");
  if (!scales || scales->size() != axes.size() || (*scales)[k] != 1.0f)
    return b.pin_inputs(n, "its scales are computed or scale the channel axis");
  b.set_map(n.output(0), *m);
}

void pad_rule(GraphBuilder& b, ir::Node& n) {
  const ChannelMap* m = b.map(n.input(0));
  for (size_t i = 1; i < n.num_inputs(); ++i)
    if (b.map(n.input(i))) return b.pin_inputs(n, "its pads are tracked");
  if (!m) return;
  std::optional<std::vector<int64_t>> pads =
      b.opset() >= 11 ? constant_input_ints(n, 1) : std::optional<std::vector<int64_t>>(n.attr_ints("pads"));
  std::vector<int64_t> axes;
  if (n.input(3)) {
    auto a = constant_input_ints(n, 3);
    auto na = a ? norm_axes(*a, m->rank) : std::nullopt;
    if (!na) return b.pin_inputs(n, "its axes are computed");
    axes = *na;
  } else {
    for (int64_t i = 0; i < m->rank; ++i) axes.push_back(i);
  }
  if (!pads || pads->size() != 2 * axes.size()) return b.pin_inputs(n, "its pads are computed");
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] == m->axis && ((*pads)[i] != 0 || (*pads)[i + axes.size()] != 0))
      return b.pin_inputs(n, "it pads the channel axis");
  b.set_map(n.output(0), *m);
}

void shape_rule(GraphBuilder& b, ir::Node& n) {
  const ChannelMap* m = b.map(n.input(0));
  if (!m) return;
  // Shape reads the channel count unless every reader picks other dims (Gather of constant
  // indices, as in a batch size taken for a Reshape), or start/end leave the channel axis out.
  int64_t start = n.attr_int("start", 0), end = n.attr_int("end", m->rank);
  if (start < 0) start += m->rank;
  if (end < 0) end += m->rank;
  start = std::clamp<int64_t>(start, 0, m->rank);
  end = std::clamp<int64_t>(end, start, m->rank);
  if (m->axis < start || m->axis >= end) return;
  const ir::Value* out = n.output(0);
  if (out->is_graph_output()) return b.pin_inputs(n, "its channel count is a graph output");
  for (const ir::Use& u : out->uses()) {
    auto idx = constant_input_ints(*u.node, 1);
    bool other = ir::is_op(*u.node, "Gather") && u.index == 0 && u.node->attr_int("axis", 0) == 0 && idx;
    for (int64_t i : idx.value_or(std::vector<int64_t>{}))
      other = other && (i < 0 ? i + (end - start) : i) != m->axis - start;
    if (!other) return b.pin_inputs(n, "the channel count it reads is used");
  }
}

}  // namespace ortool::prune
