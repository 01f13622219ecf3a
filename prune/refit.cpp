// refit_layers: least-squares refit of the layers after pruned channels (see refit.h).
#include "prune/refit.h"

#include <Eigen/Dense>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <span>

#include "passes/conv_params.h"
#include "prune/graph_builder.h"
#include "passes/pass_util.h"
#include "passes/weight_math.h"
#include "prune/dependency_graph.h"
#include "prune/refit_solve.h"

namespace ortool::prune {

namespace {

// A layer as a linear map from rows of its input to rows of its output: y = [a 1] W. A grouped Conv
// is `groups` such maps side by side: output channel m reads only the inputs of group m / (out/groups),
// so each group is its own least-squares problem (a depthwise Conv: one tiny one per channel).
struct Linear {
  enum class Kind { kConv, kGemm, kMatMul } kind = Kind::kConv;
  int64_t in = 0, out = 0;    // input channels per group (Gemm/MatMul: features), output channels
  int64_t groups = 1;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, pt = 0, pl = 0;  // Conv 2-D geometry
  bool trans_b = false;       // Gemm
  bool bias = true;           // an intercept is fit (not MatMul)
  Mat w;                      // current weights: (inputs) x out, the bias last when `bias`
  int64_t inputs() const { return (kind == Kind::kConv ? in * kh * kw : in) + (bias ? 1 : 0); }
};

Result<Linear> read_conv(const ir::Node& n) {
  auto p = passes::conv_params(n);
  if (!p || p->rank != 4) return invalid("not a 2-D Conv with a constant float weight");
  std::string pad = n.attr_string("auto_pad", "NOTSET");
  if (pad != "NOTSET" && pad != "VALID") return invalid("auto_pad {}", pad);
  Linear l;
  l.kind = Linear::Kind::kConv;
  const auto& wd = p->weight->dims();
  l.out = wd[0], l.in = wd[1], l.kh = wd[2], l.kw = wd[3];
  l.groups = n.attr_int("group", 1);
  if (l.groups < 1 || l.out % l.groups != 0) return invalid("group {} does not divide {} output channels", l.groups, l.out);
  auto strides = n.attr_ints("strides", {1, 1}), dil = n.attr_ints("dilations", {1, 1}), pads = n.attr_ints("pads", {0, 0, 0, 0});
  if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4) return invalid("unexpected Conv attributes");
  l.sh = strides[0], l.sw = strides[1], l.dh = dil[0], l.dw = dil[1];
  l.pt = pad == "VALID" ? 0 : pads[0], l.pl = pad == "VALID" ? 0 : pads[1];
  l.w = Mat::Zero(l.inputs(), l.out);
  const float* w = p->weight->data<float>();
  const int64_t per_out = l.in * l.kh * l.kw;
  for (int64_t m = 0; m < l.out; ++m) {
    for (int64_t k = 0; k < per_out; ++k) l.w(k, m) = w[m * per_out + k];
    l.w(per_out, m) = p->bias[static_cast<size_t>(m)];
  }
  return l;
}

Result<Linear> read_dense(const ir::Node& n) {
  const Tensor* b = passes::constant_tensor(n.input(1));
  if (!b || b->dtype() != DType::Float || b->rank() != 2) return invalid("weight is not a constant 2-D float tensor");
  Linear l;
  const bool gemm = n.op_type() == "Gemm";
  l.kind = gemm ? Linear::Kind::kGemm : Linear::Kind::kMatMul;
  l.bias = gemm;
  l.trans_b = gemm && n.attr_int("transB", 0) != 0;
  if (gemm && n.attr_int("transA", 0) != 0) return invalid("Gemm with transA");
  l.in = b->dims()[l.trans_b ? 1 : 0];
  l.out = b->dims()[l.trans_b ? 0 : 1];
  const double alpha = gemm ? n.attr_float("alpha", 1.0f) : 1.0, beta = gemm ? n.attr_float("beta", 1.0f) : 1.0;
  l.w = Mat::Zero(l.inputs(), l.out);
  const float* p = b->data<float>();
  for (int64_t k = 0; k < l.in; ++k)
    for (int64_t m = 0; m < l.out; ++m) l.w(k, m) = alpha * p[l.trans_b ? m * l.in + k : k * l.out + m];
  if (gemm && n.input(2)) {
    const Tensor* c = passes::constant_tensor(n.input(2));
    if (!c || c->dtype() != DType::Float) return invalid("Gemm bias is not a constant float tensor");
    if (c->numel() == 1)
      for (int64_t m = 0; m < l.out; ++m) l.w(l.in, m) = beta * c->get_double(0);
    else if (c->numel() == l.out && c->dims().back() == l.out)
      for (int64_t m = 0; m < l.out; ++m) l.w(l.in, m) = beta * c->get_double(m);
    else
      return invalid("Gemm bias of shape other than [N]");
  }
  return l;
}

Result<Linear> read_linear(const ir::Node& n) {
  if (!n.domain().empty()) return invalid("not an ONNX layer");
  if (n.op_type() == "Conv") return read_conv(n);
  if (n.op_type() == "Gemm" || n.op_type() == "MatMul") return read_dense(n);
  return invalid("{} layers are not refit", n.op_type());
}

void write_linear(ir::Graph& g, ir::Node* n, const Linear& l, const Mat& s) {
  if (l.kind == Linear::Kind::kConv) {
    const int64_t per_out = l.in * l.kh * l.kw;
    Tensor w(DType::Float, {l.out, l.in, l.kh, l.kw});
    float* p = w.mutable_data<float>();
    std::vector<double> bias(static_cast<size_t>(l.out));
    for (int64_t m = 0; m < l.out; ++m) {
      for (int64_t k = 0; k < per_out; ++k) p[m * per_out + k] = static_cast<float>(s(k, m));
      bias[static_cast<size_t>(m)] = s(per_out, m);
    }
    set_constant_input(g, n, 1, std::move(w));
    set_constant_input(g, n, 2, passes::float_tensor({l.out}, bias));
    g.note_edit();
    return;
  }
  Tensor w(DType::Float, l.trans_b ? std::vector<int64_t>{l.out, l.in} : std::vector<int64_t>{l.in, l.out});
  float* p = w.mutable_data<float>();
  for (int64_t k = 0; k < l.in; ++k)
    for (int64_t m = 0; m < l.out; ++m) p[l.trans_b ? m * l.in + k : k * l.out + m] = static_cast<float>(s(k, m));
  set_constant_input(g, n, 1, std::move(w));
  if (l.kind == Linear::Kind::kGemm) {
    std::vector<double> bias(static_cast<size_t>(l.out));
    for (int64_t m = 0; m < l.out; ++m) bias[static_cast<size_t>(m)] = s(l.in, m);
    set_constant_input(g, n, 2, passes::float_tensor({l.out}, bias));
    n->set_attr(ir::Attribute::make_float("alpha", 1.0f));
    n->set_attr(ir::Attribute::make_float("beta", 1.0f));
  }
  g.note_edit();
}

// Output positions of one sample and the row of inputs for each.
struct Rows {
  const Linear& l;
  const Tensor& x;  // the layer's input in the pruned model
  const Tensor& y;  // the layer's output in the reference
  int64_t positions() const {
    if (l.kind == Linear::Kind::kConv) return y.dims()[0] * y.dims()[2] * y.dims()[3];
    return y.numel() / y.dims().back();
  }
  void input_row(int64_t p, double* row, int64_t group = 0) const {
    const float* xp = x.data<float>();
    if (l.kind != Linear::Kind::kConv) {
      for (int64_t k = 0; k < l.in; ++k) row[k] = xp[p * l.in + k];
      if (l.bias) row[l.in] = 1.0;
      return;
    }
    const int64_t oh_n = y.dims()[2], ow_n = y.dims()[3], h = x.dims()[2], w = x.dims()[3];
    const int64_t n = p / (oh_n * ow_n), oh = (p / ow_n) % oh_n, ow = p % ow_n, channels = l.in * l.groups;
    int64_t k = 0;
    for (int64_t c = group * l.in; c < (group + 1) * l.in; ++c)
      for (int64_t i = 0; i < l.kh; ++i)
        for (int64_t j = 0; j < l.kw; ++j, ++k) {
          const int64_t ih = oh * l.sh - l.pt + i * l.dh, iw = ow * l.sw - l.pl + j * l.dw;
          row[k] = ih >= 0 && ih < h && iw >= 0 && iw < w ? xp[((n * channels + c) * h + ih) * w + iw] : 0.0;
        }
    row[k] = 1.0;
  }
  // Output row of the kept channels `kept` (those of one group for a grouped Conv).
  void output_row(int64_t p, std::span<const int64_t> kept, double* row) const {
    const float* yp = y.data<float>();
    if (l.kind != Linear::Kind::kConv) {
      const int64_t m_ref = y.dims().back();
      for (size_t m = 0; m < kept.size(); ++m) row[m] = yp[p * m_ref + kept[m]];
      return;
    }
    const int64_t m_ref = y.dims()[1], hw = y.dims()[2] * y.dims()[3];
    const int64_t n = p / hw, pos = p % hw;
    for (size_t m = 0; m < kept.size(); ++m) row[m] = yp[(n * m_ref + kept[m]) * hw + pos];
  }
};

// Why the values seen at run time do not fit the layer's weights and the plan ("" when they do).
std::string shape_mismatch(const Linear& l, const Tensor& x, const Tensor& y, const std::vector<int64_t>& kept) {
  const bool conv = l.kind == Linear::Kind::kConv;
  bool ok = x.dtype() == DType::Float && y.dtype() == DType::Float && y.rank() >= 2 && x.numel() > 0 && y.numel() > 0 &&
            l.in > 0 && static_cast<int64_t>(kept.size()) == l.out;
  if (ok && conv) ok = x.rank() == 4 && y.rank() == 4 && x.dims()[1] == l.in * l.groups && x.dims()[0] == y.dims()[0];
  if (ok && !conv) ok = x.rank() == y.rank() && x.dims().back() == l.in && x.numel() / l.in == y.numel() / y.dims().back();
  const int64_t channels = ok ? y.dims()[conv ? 1 : y.rank() - 1] : 0;
  if (ok) ok = kept.empty() || kept.back() < channels;
  return ok ? "" : "its input or the original's output has another shape than its weights and the plan expect";
}

// What a layer's samples give each group of output channels: the normal equations of the fit rows and
// of the held-out ones (many rows), or the rows themselves (up to kMaxLooRows: judged one by one).
struct Collected {
  bool few_rows = false;
  std::vector<NormalEquations> fit, held;          // per group (many rows)
  std::vector<std::vector<RowMat>> inputs, targets;  // per group, per sample (few rows)
  int64_t rows = 0;
};

// Rows beyond which the leave-one-out path's r x r eigen-decomposition costs more than it is worth.
constexpr int64_t kMaxLooRows = 1024;

RowMat stacked(const std::vector<RowMat>& blocks, int64_t cols) {
  int64_t n = 0;
  for (const RowMat& b : blocks) n += b.rows();
  RowMat out(n, cols);
  int64_t at = 0;
  for (const RowMat& b : blocks) out.middleRows(at, b.rows()) = b, at += b.rows();
  return out;
}

Result<Collected> accumulate(ir::Model& pruned, const ir::Model& reference, const ir::Node& node,
                             const ir::Node& ref_node, const Linear& l, const std::vector<int64_t>& kept,
                             const rt::SampleSource& samples, const RefitOptions& o, uint64_t seed,
                             const std::function<void(size_t)>& step, std::string* mismatch) {
  const std::string layer = layer_name(node);
  RValue x, y;
  rt::SessionOptions so = o.session;
  so.observe = {};
  so.observe.values = {ref_node.output(0)->name()};
  so.observe.callback = [&y](const ir::Value&, const RValue& v) { y = v; return Status::ok(); };
  ASSIGN_OR_RETURN(auto ref_session, rt::Session::create(reference, so));
  so.observe.values = {node.input(0)->name()};
  so.observe.callback = [&x](const ir::Value&, const RValue& v) { x = v; return Status::ok(); };
  ASSIGN_OR_RETURN(auto session, rt::Session::create(pruned, so));

  const int64_t k_in = l.inputs(), per_group = l.out / l.groups;
  const int64_t budget = std::min(o.max_rows, std::max(o.min_rows, o.rows_per_input * k_in));
  const int64_t per_sample = std::max<int64_t>(1, budget / std::max<int64_t>(1, static_cast<int64_t>(samples.size())));
  Collected c;
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < samples.size(); ++i) {
    step(i);
    ASSIGN_OR_RETURN(rt::Sample sample, samples.get(i));
    auto where = [&](const Status& st) { return st.with_context(fmt::format("refitting '{}', sample {}", layer, sample.label)); };
    x = {}, y = {};
    if (auto r = ref_session->run(sample.feeds); !r.is_ok()) return where(r.status());
    if (auto r = session->run(sample.feeds); !r.is_ok()) return where(r.status().with_context("the pruned model"));
    if (!x.is_tensor() || !y.is_tensor()) return where(internal_error("the layer's values were not observed"));
    if (std::string why = shape_mismatch(l, x.tensor, y.tensor, kept); !why.empty()) {
      *mismatch = why;  // the layer is left alone
      return c;
    }
    Rows rows{l, x.tensor, y.tensor};
    std::vector<int64_t> pick(static_cast<size_t>(rows.positions()));
    std::iota(pick.begin(), pick.end(), 0);
    if (static_cast<int64_t>(pick.size()) > per_sample) {
      for (int64_t j = 0; j < per_sample; ++j)
        std::swap(pick[static_cast<size_t>(j)],
                  pick[static_cast<size_t>(j) + rng() % (pick.size() - static_cast<size_t>(j))]);
      pick.resize(static_cast<size_t>(per_sample));
    }
    if (i == 0) {  // the first sample tells how many rows the layer will have
      const int64_t expected = static_cast<int64_t>(pick.size() * samples.size());
      // Leave-one-out judges every row (a held-out fifth of few rows is a noisy judge); its cost is an
      // eigen-decomposition of rows x rows per group: for one group, or where it is below the k x k
      // factorizations of the normal equations.
      c.few_rows = expected <= kMaxLooRows && (expected < k_in || l.groups == 1);
      const size_t groups = static_cast<size_t>(l.groups);
      if (c.few_rows) {
        c.inputs.resize(groups), c.targets.resize(groups);
      } else {
        for (size_t g = 0; g < groups; ++g) c.fit.emplace_back(k_in, per_group), c.held.emplace_back(k_in, per_group);
      }
    }
    if (c.few_rows && c.rows + static_cast<int64_t>(pick.size()) > kMaxLooRows)  // a later sample larger than the first
      pick.resize(static_cast<size_t>(kMaxLooRows - c.rows));
    c.rows += static_cast<int64_t>(pick.size());
    std::vector<Eigen::Index> fit, held;
    for (Eigen::Index r = 0; r < static_cast<Eigen::Index>(pick.size()); ++r) (rng() % 5 == 0 ? held : fit).push_back(r);
    // Row-major blocks, so each row is written contiguously; one group at a time, so memory is one
    // group's rows (a depthwise layer has as many groups as channels).
    RowMat a(static_cast<Eigen::Index>(pick.size()), k_in), t(static_cast<Eigen::Index>(pick.size()), per_group);
    for (int64_t g = 0; g < l.groups; ++g) {
      const size_t gi = static_cast<size_t>(g);
      const std::span<const int64_t> kept_g(kept.data() + g * per_group, static_cast<size_t>(per_group));
      for (size_t r = 0; r < pick.size(); ++r) {
        rows.input_row(pick[r], a.row(static_cast<Eigen::Index>(r)).data(), g);
        rows.output_row(pick[r], kept_g, t.row(static_cast<Eigen::Index>(r)).data());
      }
      if (c.few_rows) {
        c.inputs[gi].push_back(a), c.targets[gi].push_back(t);
      } else {
        c.fit[gi].add(a(fit, Eigen::all), t(fit, Eigen::all));  // copied: dense products
        c.held[gi].add(a(held, Eigen::all), t(held, Eigen::all));
      }
    }
  }
  for (NormalEquations& e : c.fit) e.finish();
  for (NormalEquations& e : c.held) e.finish();
  return c;
}

// Fits every group of `l` (see refit_solve.h); their weights side by side as the layer's columns.
struct LayerFit {
  Mat w;
  double before = 0, after = 0;
  int64_t judged = 0;
};

LayerFit fit_layer(const Linear& l, Collected& c) {
  const int64_t per_group = l.out / l.groups, n_w = l.inputs() - (l.bias ? 1 : 0);
  LayerFit out;
  out.w = l.w;
  if (c.rows == 0) return out;  // no samples: nothing judged, the layer keeps its weights
  for (int64_t g = 0; g < l.groups; ++g) {
    const size_t gi = static_cast<size_t>(g);
    const Mat w0 = l.w.middleCols(g * per_group, per_group);
    GroupFit f;
    if (c.few_rows) {
      f = fit_rows(stacked(c.inputs[gi], l.inputs()), stacked(c.targets[gi], per_group), w0, l.bias);
      c.inputs[gi].clear(), c.targets[gi].clear();
    } else {
      f = fit_normal_equations(c.fit[gi], c.held[gi], w0, n_w);
      c.fit[gi] = NormalEquations(0, 0), c.held[gi] = NormalEquations(0, 0);  // memory back
    }
    out.w.middleCols(g * per_group, per_group) = f.w;
    out.before += f.before, out.after += f.after;
    out.judged = f.judged;
  }
  return out;
}

}  // namespace

Result<std::vector<LayerRefit>> refit_layers(ir::Model& pruned, const ir::Model& reference,
                                             const std::vector<RefitTarget>& targets, const rt::SampleSource& samples,
                                             const RefitOptions& o) {
  ir::Graph& g = *pruned.graph;
  std::map<std::string, const ir::Node*> ref_nodes;
  for (const ir::Node* n : reference.graph->nodes()) ref_nodes.emplace(layer_name(*n), n);
  // Targets in graph order, so each refit sees the ones before it.
  ASSIGN_OR_RETURN(std::vector<ir::Node*> order, g.topological_order());
  std::map<std::string, const RefitTarget*> by_name;
  for (const RefitTarget& t : targets) by_name.emplace(t.layer, &t);
  std::vector<std::pair<ir::Node*, const RefitTarget*>> todo;
  for (ir::Node* n : order)
    if (auto it = by_name.find(layer_name(*n)); it != by_name.end()) todo.push_back({n, it->second});

  std::vector<LayerRefit> out;
  const size_t total = todo.size() * samples.size();
  for (size_t k = 0; k < todo.size(); ++k) {
    auto [node, target] = todo[k];
    LayerRefit r;
    r.layer = target->layer;
    r.op_type = node->op_type();
    auto ref_it = ref_nodes.find(target->layer);
    auto lin = read_linear(*node);
    if (ref_it == ref_nodes.end() || ref_it->second->op_type() != node->op_type()) {
      r.skipped = "no layer of that name and kind in the original";
    } else if (!lin.is_ok()) {
      r.skipped = lin.status().message();
    } else if (lin->inputs() > o.max_inputs) {
      r.inputs = lin->inputs();
      r.skipped = fmt::format("{} inputs per output channel (refit up to {})", lin->inputs(), o.max_inputs);
    } else if (static_cast<int64_t>(target->kept_out.size()) != lin->out) {
      r.skipped = "its output channels do not match the plan";
    }
    if (!r.skipped.empty()) {
      out.push_back(std::move(r));
      continue;
    }
    r.inputs = lin->inputs();
    auto step = [&](size_t i) {
      if (o.progress) o.progress(k * samples.size() + i, total);
    };
    std::string mismatch;
    ASSIGN_OR_RETURN(Collected c, accumulate(pruned, reference, *node, *ref_it->second, *lin, target->kept_out, samples,
                                             o, o.seed + k, step, &mismatch));
    if (!mismatch.empty()) {
      r.skipped = mismatch;
      out.push_back(std::move(r));
      continue;
    }
    r.rows = c.rows;
    LayerFit f = fit_layer(*lin, c);
    r.judged = f.judged;
    const double cells = static_cast<double>(std::max<int64_t>(1, f.judged * lin->out));
    r.mse_before = f.before / cells;
    r.mse_after = r.mse_before;
    if (f.judged < o.min_held_out) {
      r.skipped = fmt::format("{} rows, too few to judge a fit (more --calib samples)", r.rows);
    } else if (!(f.after < f.before)) {
      r.skipped = "the fit did not lower the error on the held-out rows";
    } else {
      write_linear(g, node, *lin, f.w);
      r.mse_after = f.after / cells;
    }
    out.push_back(std::move(r));
  }
  if (o.progress) o.progress(total, total);
  TRY(g.verify().with_context("the refit graph is invalid (a pruning bug)"));
  return out;
}

}  // namespace ortool::prune
