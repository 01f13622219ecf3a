// The float path of RNN, GRU and LSTM against the double-precision reference (the same node fed double
// tensors), on random shapes and every attribute: directions, layouts, biases, sequence lengths,
// initial states, peepholes, clip, input_forget, linear_before_reset, activations, threads.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/session.h"
#include "tests/runtime/provider_test_util.h"

using namespace ortool;
using namespace ortool::provider_test;

namespace {

const char* const kActivations[] = {"Relu",     "Tanh",     "Sigmoid",     "Affine", "LeakyRelu", "ThresholdedRelu",
                                    "ScaledTanh", "HardSigmoid", "Elu",    "Softsign",  "Softplus"};

Tensor to_double(const Tensor& t) {
  Tensor d(DType::Double, t.dims());
  for (int64_t i = 0; i < t.numel(); ++i) d.mutable_data<double>()[i] = t.data<float>()[i];
  return d;
}

Tensor to_float(const Tensor& t) {
  Tensor f(DType::Float, t.dims());
  for (int64_t i = 0; i < t.numel(); ++i) f.mutable_data<float>()[i] = static_cast<float>(t.data<double>()[i]);
  return f;
}

}  // namespace

TEST_CASE("recurrent float path matches the double reference on random shapes and attributes") {
  std::mt19937 rng(51);
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  for (const char* op : {"RNN", "GRU", "LSTM"}) {
    const bool lstm = std::string(op) == "LSTM", gru = std::string(op) == "GRU";
    const int64_t G = lstm ? 4 : gru ? 3 : 1;
    const int per_dir = lstm ? 3 : gru ? 2 : 1;
    for (int trial = 0; trial < 40; ++trial) {
      const std::string direction = std::vector<std::string>{"forward", "reverse", "bidirectional"}[pick(3)];
      const int64_t D = direction == "bidirectional" ? 2 : 1;
      const int64_t seq = pick(7) + (trial == 0 ? 0 : 1), batch = 1 + pick(4), I = 1 + pick(6), H = 1 + pick(9);
      const bool batch_first = pick(2), bias = pick(3) != 0, lens = pick(3) == 0, init_h = pick(2),
                 init_c = lstm && pick(2), peep = lstm && pick(2), clip = pick(4) == 0,
                 input_forget = lstm && pick(4) == 0, lbr = gru && pick(2);
      const bool default_acts = pick(2);
      const int threads = 1 + pick(2);
      ir::Model m;
      m.set_opset("", 14);
      ir::Graph& g = *m.graph;
      std::map<std::string, RValue> feeds;
      std::vector<ir::Value*> ins;
      auto input = [&](const std::string& name, const Tensor* t) {
        if (!t) {
          ins.push_back(nullptr);
          return;
        }
        ir::Value* v = g.add_value(name);
        g.add_input(v);
        ins.push_back(v);
        feeds.emplace(name, RValue(*t));
      };
      using Dims = std::vector<int64_t>;
      const Dims xd = batch_first ? Dims{batch, seq, I} : Dims{seq, batch, I};
      const Dims sd = batch_first ? Dims{batch, D, H} : Dims{D, batch, H};
      const Tensor x = random_tensor(xd, rng, -2, 2), w = random_tensor({D, G * H, I}, rng),
                   r = random_tensor({D, G * H, H}, rng), b = random_tensor({D, 2 * G * H}, rng);
      Tensor sl(DType::Int32, {batch});
      for (int64_t i = 0; i < batch; ++i) sl.mutable_data<int32_t>()[i] = pick(static_cast<int>(seq) + 1);
      const Tensor h0 = random_tensor(sd, rng), c0 = random_tensor(sd, rng), p = random_tensor({D, 3 * H}, rng);
      input("X", &x);
      input("W", &w);
      input("R", &r);
      input("B", bias ? &b : nullptr);
      input("sequence_lens", lens ? &sl : nullptr);
      input("initial_h", init_h ? &h0 : nullptr);
      if (lstm) {
        input("initial_c", init_c ? &c0 : nullptr);
        input("P", peep ? &p : nullptr);
      }
      while (!ins.empty() && !ins.back()) ins.pop_back();
      std::vector<std::string> outs{"Y", "Y_h"};
      if (lstm) outs.push_back("Y_c");
      ir::Node* n = g.add_node(op, "", ins, outs, "rnn");
      n->set_attr(ir::Attribute::make_string("direction", direction));
      n->set_attr(ir::Attribute::make_int("hidden_size", H));
      if (batch_first) n->set_attr(ir::Attribute::make_int("layout", 1));
      if (clip) n->set_attr(ir::Attribute::make_float("clip", 0.8f));
      if (input_forget) n->set_attr(ir::Attribute::make_int("input_forget", 1));
      if (lbr) n->set_attr(ir::Attribute::make_int("linear_before_reset", 1));
      std::vector<std::string> acts;
      if (!default_acts) {
        ir::Attribute a;
        a.name = "activations";
        a.type = ir::AttrType::Strings;
        for (int64_t i = 0; i < per_dir * D; ++i) a.strings.push_back(kActivations[pick(11)]);
        acts = a.strings;
        n->set_attr(a);
        n->set_attr(ir::Attribute::make_floats("activation_alpha", {0.3f, 0.6f, 0.9f, 1.2f, 0.4f, 0.7f}));
        n->set_attr(ir::Attribute::make_floats("activation_beta", {0.5f, 0.2f, 0.8f, 1.1f, 0.3f, 0.6f}));
      }
      for (size_t i = 0; i < outs.size(); ++i)
        if (i == 0 || pick(3) != 0) g.add_output(n->output(i));
      INFO(fmt::format("{} trial {}: {} seq {} batch {} I {} H {} layout {} bias {} lens {} h0 {} c0 {} P {} clip {} "
                       "input_forget {} lbr {} activations [{}] threads {}",
                       op, trial, direction, seq, batch, I, H, batch_first, bias, lens, init_h, init_c, peep, clip,
                       input_forget, lbr, fmt::join(acts, ","), threads));
      std::map<std::string, RValue> dfeeds;
      for (const auto& [name, v] : feeds)
        dfeeds.emplace(name, v.tensor.dtype() == DType::Float ? RValue(to_double(v.tensor)) : v);
      Ran ref = run(m, {"cpu"}, dfeeds, 1);
      // The cpu provider's float path (Eigen), and the dnnl provider's (oneDNN's sgemm) where built.
      std::vector<std::vector<std::string>> lists{{"cpu"}};
#ifdef ORTOOL_HAVE_DNNL
      lists.push_back({"dnnl", "cpu"});
#endif
      for (const auto& providers : lists) {
        INFO(fmt::format("providers {}", fmt::join(providers, ",")));
        Ran fast = run(m, providers, feeds, threads);
        CHECK(fast.timings.at(0).provider == providers.front());
        REQUIRE(fast.outputs.size() == ref.outputs.size());
        for (size_t i = 0; i < fast.outputs.size(); ++i)
          check_close(fast.outputs[i], RValue(to_float(ref.outputs[i].tensor)));
      }
#ifdef ORTOOL_HAVE_DNNL
      // Double X on the dnnl provider's node: the cpu kernel, the same numbers as the reference.
      Ran dbl = run(m, {"dnnl", "cpu"}, dfeeds, threads);
      for (size_t i = 0; i < dbl.outputs.size(); ++i)
        check_close(RValue(to_float(dbl.outputs[i].tensor)), RValue(to_float(ref.outputs[i].tensor)));
#endif
    }
  }
}
