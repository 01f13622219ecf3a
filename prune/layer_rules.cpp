// Op rules, part two: the layers that make channels (Conv, ConvTranspose, Gemm, MatMul with a constant
// weight). A layer's output channels are new atoms; the channels it reads are sliced out of its weight
// along the input axis. Grouped convolutions tie channels across groups so every group keeps the same
// size; depthwise ones pass their input's channels through.
#include "lib/op_id.h"
#include "passes/pass_util.h"
#include "prune/graph_builder.h"

namespace ortool::prune {

namespace {

// A float constant weight of at least `min_rank` with no empty dim; null (and the node's inputs
// pinned with the reason) otherwise.
const Tensor* weight(GraphBuilder& b, const ir::Node& n, size_t input, int64_t min_rank) {
  const Tensor* w = passes::constant_tensor(n.input(input));
  if (!w || !dtype_is_float(w->dtype()) || static_cast<int64_t>(w->rank()) < min_rank) {
    b.pin_inputs(n, "its weight is not a constant float tensor");
    return nullptr;
  }
  for (int64_t d : w->dims())
    if (d <= 0) {
      b.pin_inputs(n, "its weight is empty");
      return nullptr;
    }
  return w;
}

// A constant bias of `channels` values (absent is fine); false when present but not that.
bool bias_ok(const ir::Node& n, size_t input, int64_t channels) {
  if (!n.input(input)) return true;
  const Tensor* t = passes::constant_tensor(n.input(input));
  return t && t->rank() == 1 && t->dims()[0] == channels;
}

// The input's channels when they are where a convolution reads them (axis 1 of a value of the
// weight's rank, one entry per channel); pins them and returns null otherwise.
const ChannelMap* conv_input(GraphBuilder& b, const ir::Node& n, int64_t rank, int64_t channels) {
  const ChannelMap* m = b.map(n.input(0));
  if (!m) return nullptr;
  if (m->axis != 1 || m->block != 1 || m->rank != rank || m->length() != channels) {
    b.pin(*m, where(n) + ": reads the channels in a layout it does not convolve over");
    return nullptr;
  }
  return m;
}

// Sets the group attribute of a depthwise layer to the number of its input channels kept.
void fix_group(GraphBuilder& b, ir::Node* n, std::vector<AtomId> in) {
  b.fixup([n, in = std::move(in)](ir::Graph&, const Removal& r) {
    n->set_attr(ir::Attribute::make_int("group", r.kept(in)));
    return Status::ok();
  });
}

}  // namespace

void conv_rule(GraphBuilder& b, ir::Node& n) {
  const Tensor* w = weight(b, n, 1, 3);
  if (!w) return;
  const int64_t groups = n.attr_int("group", 1), m_out = w->dims()[0], c_group = w->dims()[1];
  if (groups < 1 || m_out % groups != 0) return b.pin_inputs(n, "its group attribute does not divide its channels");
  if (!bias_ok(n, 2, m_out)) return b.pin_inputs(n, "its bias is not a constant of one value per channel");
  const ChannelMap* x = conv_input(b, n, static_cast<int64_t>(w->rank()), c_group * groups);
  const int64_t rank = static_cast<int64_t>(w->rank()), m_group = m_out / groups;
  std::vector<AtomId> out;
  if (groups == 1) {
    if (x) b.slice(&n, 1, 1, *x, SliceRole::kInWeight);
    out = b.layer_atoms(&n, m_out);
  } else if (c_group == 1) {
    // Depthwise: group g reads input channel g alone and makes m_group channels from it; they go
    // together, and the group count follows the input's channels.
    if (!x) return;  // the input's channels are fixed, so are these
    if (m_group == 1) {
      out = x->atoms;
      b.add_layer(&n, out);
    } else {
      out = b.layer_atoms(&n, m_out);
      for (int64_t g = 0; g < groups; ++g)
        for (int64_t j = 0; j < m_group; ++j) b.join(out[static_cast<size_t>(g * m_group + j)], x->atoms[static_cast<size_t>(g)]);
    }
    fix_group(b, &n, x->atoms);
  } else {
    // Grouped: every group must keep the same number of input and of output channels, so channel j
    // of each group goes with channel j of the others.
    if (x) {
      for (int64_t g = 1; g < groups; ++g)
        for (int64_t j = 0; j < c_group; ++j) b.join(x->atoms[static_cast<size_t>(g * c_group + j)], x->atoms[static_cast<size_t>(j)]);
      b.slice(&n, 1, 1, std::vector<AtomId>(x->atoms.begin(), x->atoms.begin() + c_group), 1, SliceRole::kInWeight);
    }
    out = b.layer_atoms(&n, m_out);
    for (int64_t g = 1; g < groups; ++g)
      for (int64_t j = 0; j < m_group; ++j) b.join(out[static_cast<size_t>(g * m_group + j)], out[static_cast<size_t>(j)]);
  }
  b.slice(&n, 1, 0, out, 1, SliceRole::kOutWeight);
  if (n.input(2)) b.slice(&n, 2, 0, out, 1, SliceRole::kParam);
  b.set_map(n.output(0), {rank, 1, out, 1});
}

void conv_transpose_rule(GraphBuilder& b, ir::Node& n) {
  // Weight [C_in, M / group, k...]: input channels on axis 0, output channels on axis 1.
  const Tensor* w = weight(b, n, 1, 3);
  if (!w) return;
  const int64_t groups = n.attr_int("group", 1), c_in = w->dims()[0], m_group = w->dims()[1];
  const int64_t rank = static_cast<int64_t>(w->rank()), m_out = m_group * groups;
  if (!bias_ok(n, 2, m_out)) return b.pin_inputs(n, "its bias is not a constant of one value per channel");
  const ChannelMap* x = conv_input(b, n, rank, c_in);
  std::vector<AtomId> out;
  if (groups == 1) {
    if (x) b.slice(&n, 1, 0, *x, SliceRole::kInWeight);
    out = b.layer_atoms(&n, m_out);
    b.slice(&n, 1, 1, out, 1, SliceRole::kOutWeight);
  } else if (groups == c_in && m_group == 1) {
    if (!x) return;
    out = x->atoms;  // depthwise: channel g makes channel g
    b.add_layer(&n, out);
    b.slice(&n, 1, 0, out, 1, SliceRole::kOutWeight);
    fix_group(b, &n, x->atoms);
  } else {
    return b.pin_inputs(n, "grouped transposed convolution");
  }
  if (n.input(2)) b.slice(&n, 2, 0, out, 1, SliceRole::kParam);
  b.set_map(n.output(0), {rank, 1, out, 1});
}

void gemm_rule(GraphBuilder& b, ir::Node& n) {
  const Tensor* w = weight(b, n, 1, 2);
  if (!w) return;
  if (w->rank() != 2) return b.pin_inputs(n, "its B operand is not a matrix");
  const bool trans_a = n.attr_int("transA", 0) != 0, trans_b = n.attr_int("transB", 0) != 0;
  const int64_t k = w->dims()[trans_b ? 1 : 0], m_out = w->dims()[trans_b ? 0 : 1];
  // C broadcasts against [M, N]: slice its N axis when it has one entry per output feature.
  int c_axis = -1;
  if (n.input(2)) {
    const Tensor* c = passes::constant_tensor(n.input(2));
    if (!c || c->rank() > 2) return b.pin_inputs(n, "its C operand is not a constant");
    if (c->rank() >= 1 && c->dims().back() == m_out && m_out != 1) c_axis = static_cast<int>(c->rank()) - 1;
    else if (c->rank() >= 1 && c->dims().back() != 1) return b.pin_inputs(n, "its C operand is not per feature");
  }
  if (const ChannelMap* a = b.map(n.input(0))) {
    if (trans_a || a->rank != 2 || a->axis != 1 || a->length() != k) b.pin(*a, where(n) + ": reads features in a layout it does not multiply over");
    else b.slice(&n, 1, trans_b ? 1 : 0, *a, SliceRole::kInWeight);
  }
  std::vector<AtomId> out = b.layer_atoms(&n, m_out);
  b.slice(&n, 1, trans_b ? 0 : 1, out, 1, SliceRole::kOutWeight);
  if (c_axis >= 0) b.slice(&n, 2, c_axis, out, 1, SliceRole::kParam);
  b.set_map(n.output(0), {2, 1, out, 1});
}

void matmul_rule(GraphBuilder& b, ir::Node& n) {
  // Only x @ W with a constant 2-D W is a layer (the feed-forward pair of a transformer is two).
  if (!passes::constant_tensor(n.input(1))) return b.pin_inputs(n, "it multiplies two computed operands");
  const Tensor* w = weight(b, n, 1, 2);
  if (!w) return;
  if (w->rank() != 2) return b.pin_inputs(n, "its weight is not a matrix");
  const int64_t k = w->dims()[0], m_out = w->dims()[1];
  const int64_t rank = b.rank(n.input(0));
  if (rank < 2) return b.pin_inputs(n, "its first operand's rank is unknown or below 2");
  if (const ChannelMap* a = b.map(n.input(0))) {
    if (a->axis != rank - 1 || a->length() != k) b.pin(*a, where(n) + ": reads features on an axis it does not multiply over");
    else b.slice(&n, 1, 0, *a, SliceRole::kInWeight);
  }
  std::vector<AtomId> out = b.layer_atoms(&n, m_out);
  b.slice(&n, 1, 1, out, 1, SliceRole::kOutWeight);
  b.set_map(n.output(0), {rank, rank - 1, out, 1});
}

}  // namespace ortool::prune
