// Unit tests of the recurrent kernels: RNN, GRU, LSTM (directions, layouts, sequence lengths, activations, clip).
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/half.h"
#include "runtime/session.h"

using namespace ortool;

namespace {

Tensor f32(std::vector<int64_t> dims, std::vector<float> v) {
  return Tensor::from_vector(DType::Float, std::move(dims), v);
}
std::vector<float> floats(const Tensor& t) {
  REQUIRE(t.dtype() == DType::Float);
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}
double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// Runs one recurrent node; `inputs` may hold None for omitted optional inputs.
Result<std::vector<RValue>> run_rnn(const std::string& op, std::vector<RValue> inputs, size_t outputs,
                                    std::vector<ir::Attribute> attrs, int64_t opset = 14) {
  static std::vector<std::unique_ptr<ir::Model>> keep;
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", opset);
  std::vector<ir::Value*> ins;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].is_none()) {
      ins.push_back(nullptr);
      continue;
    }
    ir::Value* v = m->graph->add_value("in" + std::to_string(i));
    m->graph->add_input(v);
    ins.push_back(v);
  }
  std::vector<std::string> outs;
  for (size_t i = 0; i < outputs; ++i) outs.push_back("out" + std::to_string(i));
  ir::Node* n = m->graph->add_node(op, "", ins, outs, "rnn");
  for (auto& a : attrs) n->set_attr(a);
  auto r = rt::run_node(*n, *m, std::move(inputs));
  keep.push_back(std::move(m));
  return r;
}

ir::Attribute strings_attr(std::string name, std::vector<std::string> v) {
  ir::Attribute a;
  a.name = std::move(name);
  a.type = ir::AttrType::Strings;
  a.strings = std::move(v);
  return a;
}
ir::Attribute str_attr(std::string name, std::string v) {
  return ir::Attribute::make_string(std::move(name), std::move(v));
}

void check_close(const std::vector<float>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-5));
}

// Deterministic pseudo-random values in [-1, 1).
std::vector<float> pattern(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  uint32_t s = seed;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    x = static_cast<float>((s >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  return v;
}

}  // namespace

TEST_CASE("RNN, one hidden unit, computed by hand") {
  // X: seq 2, batch 1, input 1. Ht = tanh(x * 0.5 + h * 0.25 + 0.1 + 0.2).
  auto r = run_rnn(
      "RNN",
      {f32({2, 1, 1}, {0.5f, -1.0f}), f32({1, 1, 1}, {0.5f}), f32({1, 1, 1}, {0.25f}), f32({1, 2}, {0.1f, 0.2f})}, 2,
      {ir::Attribute::make_int("hidden_size", 1)});
  REQUIRE(r.is_ok());
  const double h1 = std::tanh(0.25 + 0.3), h2 = std::tanh(-0.5 + 0.25 * h1 + 0.3);
  CHECK((*r)[0].tensor.dims() == std::vector<int64_t>{2, 1, 1, 1});
  check_close(floats((*r)[0].tensor), {h1, h2});
  check_close(floats((*r)[1].tensor), {h2});
}

TEST_CASE("RNN activations take alpha/beta in order, with ONNX defaults") {
  // LeakyRelu with alpha 0.1 from the list; pre-activation -1 * 2 = -2 -> -0.2.
  auto r =
      run_rnn("RNN", {f32({1, 1, 1}, {-1.0f}), f32({1, 1, 1}, {2.0f}), f32({1, 1, 1}, {0.0f})}, 2,
              {strings_attr("activations", {"LeakyRelu"}), ir::Attribute::make_floats("activation_alpha", {0.1f})});
  REQUIRE(r.is_ok());
  check_close(floats((*r)[1].tensor), {-0.2});
  // HardSigmoid with its defaults alpha 0.2, beta 0.5: 0.2 * -2 + 0.5 = 0.1.
  auto h = run_rnn("RNN", {f32({1, 1, 1}, {-1.0f}), f32({1, 1, 1}, {2.0f}), f32({1, 1, 1}, {0.0f})}, 2,
                   {strings_attr("activations", {"HardSigmoid"})});
  REQUIRE(h.is_ok());
  check_close(floats((*h)[1].tensor), {0.1});
  // Affine with alpha 3, beta 1: 3 * -2 + 1 = -5.
  auto a = run_rnn("RNN", {f32({1, 1, 1}, {-1.0f}), f32({1, 1, 1}, {2.0f}), f32({1, 1, 1}, {0.0f})}, 2,
                   {strings_attr("activations", {"Affine"}), ir::Attribute::make_floats("activation_alpha", {3.0f}),
                    ir::Attribute::make_floats("activation_beta", {1.0f})});
  REQUIRE(a.is_ok());
  check_close(floats((*a)[1].tensor), {-5.0});
  CHECK_FALSE(run_rnn("RNN", {f32({1, 1, 1}, {-1.0f}), f32({1, 1, 1}, {2.0f}), f32({1, 1, 1}, {0.0f})}, 2,
                      {strings_attr("activations", {"Swish"})})
                  .is_ok());
}

TEST_CASE("RNN clip bounds the pre-activation") {
  auto r = run_rnn("RNN", {f32({1, 1, 1}, {5.0f}), f32({1, 1, 1}, {1.0f}), f32({1, 1, 1}, {0.0f})}, 2,
                   {strings_attr("activations", {"Relu"}), ir::Attribute::make_float("clip", 2.0f)});
  REQUIRE(r.is_ok());
  check_close(floats((*r)[1].tensor), {2.0});
}

TEST_CASE("GRU with and without linear_before_reset, computed by hand") {
  // Gates z, r, h with one hidden unit; W = [0.5, -0.3, 0.8], R = [0.2, 0.4, -0.6], B = Wb then Rb.
  const std::vector<float> w = {0.5f, -0.3f, 0.8f}, rr = {0.2f, 0.4f, -0.6f};
  const std::vector<float> b = {0.1f, 0.2f, 0.3f, -0.1f, 0.05f, 0.15f};
  const std::vector<float> xs = {1.0f, -0.5f};
  const double h0 = 0.3;
  for (int lbr = 0; lbr < 2; ++lbr) {
    double h = h0;
    std::vector<double> ys;
    for (float xv : xs) {
      const double x = xv;
      const double z = sigmoid(x * w[0] + h * rr[0] + b[0] + b[3]);
      const double r = sigmoid(x * w[1] + h * rr[1] + b[1] + b[4]);
      const double hh = lbr ? std::tanh(x * w[2] + r * (h * rr[2] + b[5]) + b[2])
                            : std::tanh(x * w[2] + (r * h) * rr[2] + b[5] + b[2]);
      h = (1 - z) * hh + z * h;
      ys.push_back(h);
    }
    auto out = run_rnn("GRU",
                       {f32({2, 1, 1}, xs), f32({1, 3, 1}, w), f32({1, 3, 1}, rr), f32({1, 6}, b), RValue(),
                        f32({1, 1, 1}, {static_cast<float>(h0)})},
                       2, {ir::Attribute::make_int("linear_before_reset", lbr)});
    REQUIRE(out.is_ok());
    check_close(floats((*out)[0].tensor), ys);
    check_close(floats((*out)[1].tensor), {ys.back()});
  }
}

TEST_CASE("LSTM with peepholes, computed by hand") {
  // Gates i, o, f, c with one hidden unit; peepholes i, o, f.
  const std::vector<float> w = {0.5f, -0.3f, 0.8f, 0.4f}, rr = {0.2f, 0.4f, -0.6f, 0.1f};
  const std::vector<float> b = {0.1f, 0.2f, 0.3f, -0.1f, 0.05f, 0.15f, 0.0f, 0.2f};
  const std::vector<float> p = {0.3f, -0.2f, 0.5f};
  const std::vector<float> xs = {1.0f, -0.5f, 2.0f};
  for (int input_forget = 0; input_forget < 2; ++input_forget) {
    double h = 0.1, c = -0.2;
    std::vector<double> ys;
    for (float xv : xs) {
      const double x = xv;
      const double i = sigmoid(x * w[0] + h * rr[0] + b[0] + b[4] + p[0] * c);
      const double f = input_forget ? 1 - i : sigmoid(x * w[2] + h * rr[2] + b[2] + b[6] + p[2] * c);
      const double g = std::tanh(x * w[3] + h * rr[3] + b[3] + b[7]);
      c = f * c + i * g;
      const double o = sigmoid(x * w[1] + h * rr[1] + b[1] + b[5] + p[1] * c);
      h = o * std::tanh(c);
      ys.push_back(h);
    }
    auto out = run_rnn("LSTM",
                       {f32({3, 1, 1}, xs), f32({1, 4, 1}, w), f32({1, 4, 1}, rr), f32({1, 8}, b), RValue(),
                        f32({1, 1, 1}, {0.1f}), f32({1, 1, 1}, {-0.2f}), f32({1, 3}, p)},
                       3, {ir::Attribute::make_int("input_forget", input_forget)});
    REQUIRE(out.is_ok());
    check_close(floats((*out)[0].tensor), ys);
    check_close(floats((*out)[1].tensor), {ys.back()});
    check_close(floats((*out)[2].tensor), {c});
  }
}

TEST_CASE("LSTM bidirectional: the reverse direction equals a forward run on reversed input") {
  const int64_t seq = 4, batch = 2, I = 3, H = 2;
  Tensor x = f32({seq, batch, I}, pattern(seq * batch * I, 1));
  Tensor w = f32({2, 4 * H, I}, pattern(2 * 4 * H * I, 2));
  Tensor r = f32({2, 4 * H, H}, pattern(2 * 4 * H * H, 3));
  Tensor b = f32({2, 8 * H}, pattern(2 * 8 * H, 4));
  auto bi = run_rnn("LSTM", {x, w, r, b}, 3, {str_attr("direction", "bidirectional")});
  REQUIRE(bi.is_ok());
  const Tensor& y = (*bi)[0].tensor;
  CHECK(y.dims() == std::vector<int64_t>{seq, 2, batch, H});

  // Direction 1's weights, run forward over the time-reversed input.
  auto second = [&](const Tensor& t, int64_t per) {
    std::vector<float> v(t.data<float>() + per, t.data<float>() + 2 * per);
    std::vector<int64_t> dims = t.dims();
    dims[0] = 1;
    return f32(dims, v);
  };
  std::vector<float> xr;
  for (int64_t t = seq - 1; t >= 0; --t)
    for (int64_t k = 0; k < batch * I; ++k) xr.push_back(x.data<float>()[t * batch * I + k]);
  auto fw =
      run_rnn("LSTM", {f32({seq, batch, I}, xr), second(w, 4 * H * I), second(r, 4 * H * H), second(b, 8 * H)}, 3, {});
  REQUIRE(fw.is_ok());
  const Tensor& yf = (*fw)[0].tensor;
  for (int64_t t = 0; t < seq; ++t)
    for (int64_t k = 0; k < batch * H; ++k)
      CHECK(y.data<float>()[(t * 2 + 1) * batch * H + k] ==
            doctest::Approx(yf.data<float>()[(seq - 1 - t) * batch * H + k]).epsilon(1e-6));
  // Y_h of direction 1 is its state once it has reached time step 0.
  for (int64_t k = 0; k < batch * H; ++k)
    CHECK((*bi)[1].tensor.data<float>()[batch * H + k] ==
          doctest::Approx((*fw)[1].tensor.data<float>()[k]).epsilon(1e-6));
}

TEST_CASE("GRU layout 1 (batch first) equals layout 0 on transposed tensors") {
  const int64_t seq = 3, batch = 2, I = 2, H = 3;
  Tensor x = f32({seq, batch, I}, pattern(seq * batch * I, 5));
  Tensor w = f32({2, 3 * H, I}, pattern(2 * 3 * H * I, 6));
  Tensor r = f32({2, 3 * H, H}, pattern(2 * 3 * H * H, 7));
  Tensor h0 = f32({2, batch, H}, pattern(2 * batch * H, 8));
  auto base = run_rnn("GRU", {x, w, r, RValue(), RValue(), h0}, 2, {str_attr("direction", "bidirectional")});
  REQUIRE(base.is_ok());
  // Transpose X [seq, batch, I] -> [batch, seq, I] and h0 [D, batch, H] -> [batch, D, H].
  std::vector<float> xt, ht;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < seq; ++t)
      for (int64_t i = 0; i < I; ++i) xt.push_back(x.data<float>()[(t * batch + b) * I + i]);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t d = 0; d < 2; ++d)
      for (int64_t k = 0; k < H; ++k) ht.push_back(h0.data<float>()[(d * batch + b) * H + k]);
  auto bf = run_rnn("GRU", {f32({batch, seq, I}, xt), w, r, RValue(), RValue(), f32({batch, 2, H}, ht)}, 2,
                    {str_attr("direction", "bidirectional"), ir::Attribute::make_int("layout", 1)});
  REQUIRE(bf.is_ok());
  const Tensor& y0 = (*base)[0].tensor;  // [seq, D, batch, H]
  const Tensor& y1 = (*bf)[0].tensor;    // [batch, seq, D, H]
  CHECK(y1.dims() == std::vector<int64_t>{batch, seq, 2, H});
  for (int64_t t = 0; t < seq; ++t)
    for (int64_t d = 0; d < 2; ++d)
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t k = 0; k < H; ++k)
          CHECK(y1.data<float>()[((b * seq + t) * 2 + d) * H + k] ==
                doctest::Approx(y0.data<float>()[((t * 2 + d) * batch + b) * H + k]).epsilon(1e-6));
  CHECK((*bf)[1].tensor.dims() == std::vector<int64_t>{batch, 2, H});
}

TEST_CASE("sequence_lens: a short batch entry matches a run on its truncated sequence, Y padded with zeros") {
  const int64_t seq = 4, batch = 2, I = 2, H = 2;
  Tensor x = f32({seq, batch, I}, pattern(seq * batch * I, 9));
  Tensor w = f32({2, H, I}, pattern(2 * H * I, 10));
  Tensor r = f32({2, H, H}, pattern(2 * H * H, 11));
  Tensor lens = Tensor::from_vector(DType::Int32, {batch}, std::vector<int32_t>{4, 2});
  auto full = run_rnn("RNN", {x, w, r, RValue(), lens}, 2, {str_attr("direction", "bidirectional")});
  REQUIRE(full.is_ok());
  // Batch entry 1 alone, first two steps only.
  std::vector<float> x1;
  for (int64_t t = 0; t < 2; ++t)
    for (int64_t i = 0; i < I; ++i) x1.push_back(x.data<float>()[(t * batch + 1) * I + i]);
  auto part = run_rnn("RNN", {f32({2, 1, I}, x1), w, r}, 2, {str_attr("direction", "bidirectional")});
  REQUIRE(part.is_ok());
  const Tensor& y = (*full)[0].tensor;
  const Tensor& yp = (*part)[0].tensor;  // [2, 2, 1, H]
  for (int64_t t = 0; t < seq; ++t)
    for (int64_t d = 0; d < 2; ++d)
      for (int64_t k = 0; k < H; ++k) {
        const float got = y.data<float>()[((t * 2 + d) * batch + 1) * H + k];
        if (t < 2) CHECK(got == doctest::Approx(yp.data<float>()[(t * 2 + d) * H + k]).epsilon(1e-6));
        else CHECK(got == 0.0f);
      }
  for (int64_t d = 0; d < 2; ++d)
    for (int64_t k = 0; k < H; ++k)
      CHECK((*full)[1].tensor.data<float>()[(d * batch + 1) * H + k] ==
            doctest::Approx((*part)[1].tensor.data<float>()[d * H + k]).epsilon(1e-6));
}

TEST_CASE("recurrent kernels run in double and float16") {
  auto d = run_rnn("RNN",
                   {Tensor::from_vector(DType::Double, {1, 1, 1}, std::vector<double>{0.5}),
                    Tensor::from_vector(DType::Double, {1, 1, 1}, std::vector<double>{0.5}),
                    Tensor::from_vector(DType::Double, {1, 1, 1}, std::vector<double>{0.25})},
                   2, {});
  REQUIRE(d.is_ok());
  CHECK((*d)[1].tensor.dtype() == DType::Double);
  CHECK((*d)[1].tensor.data<double>()[0] == doctest::Approx(std::tanh(0.25)).epsilon(1e-12));
  auto h = run_rnn("GRU",
                   {Tensor::from_vector(DType::Float16, {1, 1, 1}, std::vector<Float16>{Float16(0.5f)}),
                    Tensor::from_vector(DType::Float16, {1, 3, 1}, std::vector<Float16>(3, Float16(0.5f))),
                    Tensor::from_vector(DType::Float16, {1, 3, 1}, std::vector<Float16>(3, Float16(0.25f)))},
                   2, {});
  REQUIRE(h.is_ok());
  CHECK((*h)[1].tensor.dtype() == DType::Float16);
  const double z = sigmoid(0.25), hh = std::tanh(0.25);
  CHECK(static_cast<float>((*h)[1].tensor.data<Float16>()[0]) == doctest::Approx((1 - z) * hh).epsilon(1e-3));
}

TEST_CASE("recurrent kernels refuse inconsistent inputs and attributes") {
  Tensor x = f32({2, 1, 3}, pattern(6, 12));
  Tensor w = f32({1, 8, 3}, pattern(24, 13));
  Tensor r = f32({1, 8, 2}, pattern(16, 14));
  CHECK(run_rnn("LSTM", {x, w, r}, 3, {}).is_ok());
  CHECK_FALSE(run_rnn("LSTM", {x, w, r}, 3, {ir::Attribute::make_int("hidden_size", 3)}).is_ok());
  CHECK_FALSE(run_rnn("LSTM", {x, f32({1, 8, 2}, pattern(16, 1)), r}, 3, {}).is_ok());  // W input size
  CHECK_FALSE(run_rnn("LSTM", {x, w, f32({1, 8, 3}, pattern(24, 1))}, 3, {}).is_ok());  // R shape
  CHECK_FALSE(run_rnn("LSTM", {x, w, r}, 3, {str_attr("direction", "sideways")}).is_ok());
  CHECK_FALSE(run_rnn("LSTM", {x, w, r}, 3, {str_attr("direction", "bidirectional")}).is_ok());  // W has 1 direction
  CHECK_FALSE(run_rnn("LSTM", {f32({2, 3}, pattern(6, 1)), w, r}, 3, {}).is_ok());               // X rank
  Tensor bad_lens = Tensor::from_vector(DType::Int32, {1}, std::vector<int32_t>{3});
  auto lens_err = run_rnn("LSTM", {x, w, r, RValue(), bad_lens}, 3, {});
  REQUIRE_FALSE(lens_err.is_ok());
  CHECK(lens_err.status().message() == "node 'rnn' (LSTM): sequence_lens[0] = 3 is outside [0, 2]");
  CHECK_FALSE(run_rnn("LSTM", {x, w, r, f32({1, 8}, pattern(8, 1))}, 3, {}).is_ok());  // B needs 16
  CHECK_FALSE(run_rnn("LSTM", {x, w, r}, 3, {ir::Attribute::make_float("clip", -1.0f)}).is_ok());
  CHECK_FALSE(run_rnn("LSTM", {x, w, r}, 3, {strings_attr("activations", {"Sigmoid", "Tanh"})}).is_ok());
}
