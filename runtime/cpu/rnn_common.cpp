// Shared parts of RNN, GRU and LSTM: activation functions, attribute parsing, input checks and the time loop.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/rnn.h"

namespace ortool::rt::cpu {

double RnnActivation::operator()(double x) const {
  switch (kind) {
    case Kind::Relu: return x > 0 ? x : 0;
    case Kind::Tanh: return std::tanh(x);
    case Kind::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case Kind::Affine: return alpha * x + beta;
    case Kind::LeakyRelu: return x >= 0 ? x : alpha * x;
    case Kind::ThresholdedRelu: return x > alpha ? x : 0;
    case Kind::ScaledTanh: return alpha * std::tanh(beta * x);
    case Kind::HardSigmoid: return std::min(std::max(alpha * x + beta, 0.0), 1.0);
    case Kind::Elu: return x >= 0 ? x : alpha * (std::exp(x) - 1);
    case Kind::Softsign: return x / (1 + std::abs(x));
    case Kind::Softplus: return x > 30 ? x : std::log1p(std::exp(x));
  }
  return x;
}

namespace {

struct ActivationSpec {
  const char* name;
  RnnActivation::Kind kind;
  bool uses_alpha, uses_beta;
  double alpha, beta;  // defaults: those of the ONNX operator of the same name
};

constexpr ActivationSpec kActivations[] = {
    {"relu", RnnActivation::Kind::Relu, false, false, 0, 0},
    {"tanh", RnnActivation::Kind::Tanh, false, false, 0, 0},
    {"sigmoid", RnnActivation::Kind::Sigmoid, false, false, 0, 0},
    {"affine", RnnActivation::Kind::Affine, true, true, 1.0, 0.0},
    {"leakyrelu", RnnActivation::Kind::LeakyRelu, true, false, 0.01, 0},
    {"thresholdedrelu", RnnActivation::Kind::ThresholdedRelu, true, false, 1.0, 0},
    {"scaledtanh", RnnActivation::Kind::ScaledTanh, true, true, 1.0, 1.0},
    {"hardsigmoid", RnnActivation::Kind::HardSigmoid, true, true, 0.2, 0.5},
    {"elu", RnnActivation::Kind::Elu, true, false, 1.0, 0},
    {"softsign", RnnActivation::Kind::Softsign, false, false, 0, 0},
    {"softplus", RnnActivation::Kind::Softplus, false, false, 0, 0},
};

// Tensor values as doubles (float types only).
std::vector<double> to_doubles(const Tensor& t) {
  std::vector<double> out(static_cast<size_t>(t.numel()));
  dispatch_float(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = t.data<T>();
    for (size_t i = 0; i < out.size(); ++i) {
      if constexpr (std::is_same_v<T, double> || std::is_same_v<T, float>) out[i] = p[i];
      else out[i] = static_cast<float>(p[i]);
    }
  });
  return out;
}

// Writes n doubles into a float tensor at element offset `at`.
void store_row(const double* v, int64_t n, Tensor& t, int64_t at) {
  dispatch_float(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.mutable_data<T>() + at;
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_same_v<T, double> || std::is_same_v<T, float>) p[i] = static_cast<T>(v[i]);
      else p[i] = T(static_cast<float>(v[i]));
    }
  });
}

std::string dims_str(const Tensor& t) { return shape_to_string(shape_from_dims(t.dims())); }

}  // namespace

Result<RnnConfig> parse_rnn_config(const ir::Node& node, RnnCellKind cell) {
  RnnConfig cfg;
  cfg.cell = cell;
  cfg.gates = cell == RnnCellKind::Simple ? 1 : cell == RnnCellKind::Gru ? 3 : 4;
  cfg.per_direction = cell == RnnCellKind::Simple ? 1 : cell == RnnCellKind::Gru ? 2 : 3;
  if (node.has_attr("hidden_size")) {
    cfg.hidden_size = node.attr_int("hidden_size", -1);
    if (cfg.hidden_size <= 0)
      return invalid("{}: hidden_size must be positive, got {}", node.describe(), cfg.hidden_size);
  }
  const std::string direction = node.attr_string("direction", "forward");
  if (direction == "bidirectional") {
    cfg.directions = 2;
  } else if (direction == "reverse") {
    cfg.reverse_only = true;
  } else if (direction != "forward") {
    return invalid("{}: direction must be forward, reverse or bidirectional, got '{}'", node.describe(), direction);
  }
  const int64_t layout = node.attr_int("layout", 0);
  if (layout != 0 && layout != 1) return invalid("{}: layout must be 0 or 1, got {}", node.describe(), layout);
  cfg.batch_first = layout == 1;
  if (node.has_attr("clip")) {
    cfg.clip = node.attr_float("clip", 0);
    if (!(cfg.clip > 0)) return invalid("{}: clip must be positive, got {}", node.describe(), cfg.clip);
  }
  cfg.linear_before_reset = node.attr_int("linear_before_reset", 0) != 0;
  cfg.input_forget = node.attr_int("input_forget", 0) != 0;

  std::vector<std::string> names;
  if (const ir::Attribute* a = node.attr("activations"); a && !a->strings.empty()) names = a->strings;
  if (names.empty()) {
    if (cell == RnnCellKind::Simple) names = {"Tanh"};
    else if (cell == RnnCellKind::Gru) names = {"Sigmoid", "Tanh"};
    else names = {"Sigmoid", "Tanh", "Tanh"};
  }
  const size_t want = static_cast<size_t>(cfg.per_direction * cfg.directions);
  if (names.size() != want && names.size() != static_cast<size_t>(cfg.per_direction))
    return invalid("{}: activations has {} entries, expected {} ({} per direction)", node.describe(), names.size(),
                   want, cfg.per_direction);
  const std::vector<float> alphas = node.attr_floats("activation_alpha");
  const std::vector<float> betas = node.attr_floats("activation_beta");
  size_t next_alpha = 0, next_beta = 0;
  for (const std::string& name : names) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
    const ActivationSpec* spec = nullptr;
    for (const ActivationSpec& s : kActivations)
      if (lower == s.name) spec = &s;
    if (!spec) return unsupported("{}: unknown activation function '{}'", node.describe(), name);
    RnnActivation act;
    act.kind = spec->kind;
    act.alpha = spec->alpha;
    act.beta = spec->beta;
    // alpha/beta values are consumed in order by the functions that take them.
    if (spec->uses_alpha && next_alpha < alphas.size()) act.alpha = alphas[next_alpha++];
    if (spec->uses_beta && next_beta < betas.size()) act.beta = betas[next_beta++];
    cfg.activations.push_back(act);
  }
  if (cfg.activations.size() != want) {  // one set given for both directions
    std::vector<RnnActivation> one = cfg.activations;
    cfg.activations.insert(cfg.activations.end(), one.begin(), one.end());
  }
  return cfg;
}

Result<RnnInputs> check_recurrent_inputs(const KernelContext& ctx, const RnnConfig& cfg) {
  const ir::Node& node = ctx.node();
  const bool lstm = cfg.cell == RnnCellKind::Lstm;
  RnnInputs in;
  const int64_t D = in.D = cfg.directions, G = in.G = cfg.gates;
  const Tensor* X = in.X = ctx.input_tensor(0);
  const Tensor* W = in.W = ctx.input_tensor(1);
  in.R = ctx.input_tensor(2);
  if (!X || !W || !in.R) return invalid("{}: inputs X, W and R are required tensors", node.describe());
  if (!dtype_is_float(X->dtype()))
    return invalid("{}: input X must be a float tensor, got {}", node.describe(), dtype_name(X->dtype()));
  if (X->rank() != 3) return invalid("{}: input X must have rank 3, got shape {}", node.describe(), dims_str(*X));
  const int64_t seq = in.seq = cfg.batch_first ? X->dims()[1] : X->dims()[0];
  const int64_t batch = in.batch = cfg.batch_first ? X->dims()[0] : X->dims()[1];
  const int64_t I = in.I = X->dims()[2];
  if (W->rank() != 3 || W->dims()[0] != D || W->dims()[2] != I || W->dims()[1] % G != 0 || W->dims()[1] == 0)
    return invalid("{}: input W has shape {}, expected [{}, {} * hidden_size, {}]", node.describe(), dims_str(*W), D, G,
                   I);
  const int64_t H = in.H = W->dims()[1] / G;
  if (cfg.hidden_size >= 0 && cfg.hidden_size != H)
    return invalid("{}: hidden_size is {} but W has shape {} ({} gates)", node.describe(), cfg.hidden_size,
                   dims_str(*W), G);
  auto check = [&](const Tensor* t, size_t idx, const char* name, std::vector<int64_t> want) -> Status {
    if (t->dtype() != X->dtype())
      return invalid("{}: input {} ({}) is {}, X is {}", node.describe(), idx, name, dtype_name(t->dtype()),
                     dtype_name(X->dtype()));
    if (t->dims() != want)
      return invalid("{}: input {} ({}) has shape {}, expected {}", node.describe(), idx, name, dims_str(*t),
                     shape_to_string(shape_from_dims(want)));
    return Status::ok();
  };
  TRY(check(W, 1, "W", W->dims()));
  TRY(check(in.R, 2, "R", {D, G * H, H}));
  in.B = ctx.input_tensor(3);
  if (in.B) TRY(check(in.B, 3, "B", {D, 2 * G * H}));
  in.lens.assign(static_cast<size_t>(batch), seq);
  if (const Tensor* sl = ctx.input_tensor(4)) {
    if ((sl->dtype() != DType::Int32 && sl->dtype() != DType::Int64) || sl->dims() != std::vector<int64_t>{batch})
      return invalid("{}: input 4 (sequence_lens) must be int32 of shape [{}], got {} {}", node.describe(), batch,
                     dtype_name(sl->dtype()), dims_str(*sl));
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t l = sl->get_int64(b);
      if (l < 0 || l > seq) return invalid("{}: sequence_lens[{}] = {} is outside [0, {}]", node.describe(), b, l, seq);
      in.lens[static_cast<size_t>(b)] = l;
    }
  }
  in.state_dims = cfg.batch_first ? std::vector<int64_t>{batch, D, H} : std::vector<int64_t>{D, batch, H};
  in.h0 = ctx.input_tensor(5);
  if (in.h0) TRY(check(in.h0, 5, "initial_h", in.state_dims));
  in.c0 = lstm ? ctx.input_tensor(6) : nullptr;
  if (in.c0) TRY(check(in.c0, 6, "initial_c", in.state_dims));
  in.P = lstm ? ctx.input_tensor(7) : nullptr;
  if (in.P) TRY(check(in.P, 7, "P", {D, 3 * H}));
  in.y_dims = cfg.batch_first ? std::vector<int64_t>{batch, seq, D, H} : std::vector<int64_t>{seq, D, batch, H};
  return in;
}

Result<RnnOutputs> allocate_recurrent_outputs(KernelContext& ctx, const RnnConfig& cfg, const RnnInputs& in) {
  const DType t = in.X->dtype();
  bool padded = false;
  for (int64_t l : in.lens) padded = padded || l < in.seq;
  RnnOutputs out;
  if (ctx.num_outputs() > 0 && ctx.output_wanted(0)) {
    const auto fill = padded ? KernelContext::Fill::Zero : KernelContext::Fill::Uninitialized;
    ASSIGN_OR_RETURN(out.y, ctx.allocate_output(0, t, in.y_dims, fill));
  }
  // A sequence of length 0 leaves its final states zero (as ONNX Runtime does).
  if (ctx.num_outputs() > 1 && ctx.output_wanted(1)) {
    ASSIGN_OR_RETURN(out.yh, ctx.allocate_output(1, t, in.state_dims));
  }
  if (cfg.cell == RnnCellKind::Lstm && ctx.num_outputs() > 2 && ctx.output_wanted(2)) {
    ASSIGN_OR_RETURN(out.yc, ctx.allocate_output(2, t, in.state_dims));
  }
  return out;
}

Status run_recurrent(KernelContext& ctx, const RnnConfig& cfg, const RnnCellFn& cell) {
  ASSIGN_OR_RETURN(const RnnInputs in, check_recurrent_inputs(ctx, cfg));
  const int64_t D = in.D, G = in.G, seq = in.seq, batch = in.batch, I = in.I, H = in.H;
  const std::vector<int64_t>& lens = in.lens;
  const Tensor *X = in.X, *W = in.W, *R = in.R, *B = in.B, *h0 = in.h0, *c0 = in.c0, *P = in.P;
  // Outputs first, so their size is checked against the memory limit before any work; Y stays zero
  // past each sequence's length. Y is written a row at a time as the steps run.
  ASSIGN_OR_RETURN(const RnnOutputs outs, allocate_recurrent_outputs(ctx, cfg, in));
  Tensor *y = outs.y, *yh = outs.yh, *yc = outs.yc;

  // Inputs in double precision.
  const std::vector<double> x = to_doubles(*X), w = to_doubles(*W), r = to_doubles(*R);
  const std::vector<double> bias = B ? to_doubles(*B) : std::vector<double>(static_cast<size_t>(D * 2 * G * H), 0.0);
  const std::vector<double> peep = P ? to_doubles(*P) : std::vector<double>();
  const std::vector<double> h_init =
      h0 ? to_doubles(*h0) : std::vector<double>(static_cast<size_t>(D * batch * H), 0.0);
  const std::vector<double> c_init =
      c0 ? to_doubles(*c0) : std::vector<double>(static_cast<size_t>(D * batch * H), 0.0);
  auto x_index = [&](int64_t t, int64_t b) { return cfg.batch_first ? (b * seq + t) * I : (t * batch + b) * I; };
  auto state_index = [&](int64_t d, int64_t b) { return cfg.batch_first ? (b * D + d) * H : (d * batch + b) * H; };
  auto y_index = [&](int64_t t, int64_t d, int64_t b) {
    return cfg.batch_first ? ((b * seq + t) * D + d) * H : ((t * D + d) * batch + b) * H;
  };

  const int64_t GH = G * H;
  std::vector<double> xw(static_cast<size_t>(GH)), h(static_cast<size_t>(H)), c(static_cast<size_t>(H));
  for (int64_t d = 0; d < D; ++d) {
    const bool reverse = cfg.reverse_only || d == 1;
    const double* wd = w.data() + d * GH * I;
    const double* wb = bias.data() + d * 2 * GH;
    RnnDirection dir;
    dir.R = r.data() + d * GH * H;
    dir.Rb = bias.data() + d * 2 * GH + GH;
    dir.P = P ? peep.data() + d * 3 * H : nullptr;
    dir.act = cfg.activations.data() + d * cfg.per_direction;
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t len = lens[static_cast<size_t>(b)];
      std::copy_n(h_init.begin() + state_index(d, b), H, h.begin());
      std::copy_n(c_init.begin() + state_index(d, b), H, c.begin());
      for (int64_t s = 0; s < len; ++s) {
        const int64_t t = reverse ? len - 1 - s : s;
        // xw = X_t * W^T + Wb
        const double* xr = x.data() + x_index(t, b);
        for (int64_t j = 0; j < GH; ++j) {
          const double* wr = wd + j * I;
          double acc = wb[j];
          for (int64_t k = 0; k < I; ++k) acc += xr[k] * wr[k];
          xw[static_cast<size_t>(j)] = acc;
        }
        cell(cfg, dir, H, xw.data(), h.data(), c.data());
        if (y) store_row(h.data(), H, *y, y_index(t, d, b));
      }
      // A sequence of length 0 leaves its final states zero (as ONNX Runtime does).
      if (len > 0) {
        if (yh) store_row(h.data(), H, *yh, state_index(d, b));
        if (yc) store_row(c.data(), H, *yc, state_index(d, b));
      }
    }
  }
  return Status::ok();
}

Status run_recurrent_node(KernelContext& ctx, const RnnConfig& cfg, const RnnCellFn& cell) {
  const Tensor* x = ctx.input_tensor(0);
  if (x && x->dtype() == DType::Float) return run_recurrent_f32(ctx, cfg);
  return run_recurrent(ctx, cfg, cell);
}

}  // namespace ortool::rt::cpu
