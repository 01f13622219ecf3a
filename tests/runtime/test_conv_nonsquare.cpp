// Conv on non-square inputs with stride 2 and padding 1 (as in real detectors) against a naive loop.
// Found by scripts/bisect_vs_ort.py on ppocr_cls and ultraface_rfb640: the node tests are all square.
#include <doctest/doctest.h>

#include <random>

#include "lib/graph.h"
#include "runtime/session.h"

using namespace ortool;
using namespace ortool::ir;

TEST_CASE("Conv stride 2 pad 1 on a non-square input matches a naive convolution") {
  const int64_t N = 1, C = 3, H = 6, W = 10, M = 4, K = 3, S = 2, P = 1;
  const int64_t OH = (H + 2 * P - K) / S + 1, OW = (W + 2 * P - K) / S + 1;
  Model m;
  m.set_opset("", 11);
  Graph& g = *m.graph;
  Value* x = g.add_value("x");
  x->type = Type::tensor(DType::Float, shape_from_dims({N, C, H, W}));
  g.add_input(x);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1, 1);
  Tensor wt(DType::Float, {M, C, K, K});
  for (int64_t i = 0; i < wt.numel(); ++i) wt.mutable_data<float>()[i] = u(rng);
  Value* w = g.add_initializer("w", std::make_shared<Tensor>(wt));
  Node* conv = g.add_node("Conv", "", {x, w}, {"y"}, "conv");
  conv->set_attr(Attribute::make_ints("kernel_shape", {K, K}));
  conv->set_attr(Attribute::make_ints("strides", {S, S}));
  conv->set_attr(Attribute::make_ints("pads", {P, P, P, P}));
  g.add_output(conv->output(0));
  Tensor xt(DType::Float, {N, C, H, W});
  for (int64_t i = 0; i < xt.numel(); ++i) xt.mutable_data<float>()[i] = u(rng);
  auto s = rt::Session::create(m);
  REQUIRE(s.is_ok());
  auto out = (*s)->run({{"x", RValue(xt)}});
  REQUIRE(out.is_ok());
  const Tensor& y = (*out)[0].tensor;
  REQUIRE(y.dims() == std::vector<int64_t>{N, M, OH, OW});
  const float* xp = xt.data<float>();
  const float* wp = wt.data<float>();
  for (int64_t mo = 0; mo < M; ++mo)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double acc = 0;
        for (int64_t c = 0; c < C; ++c)
          for (int64_t kh = 0; kh < K; ++kh)
            for (int64_t kw = 0; kw < K; ++kw) {
              int64_t ih = oh * S - P + kh, iw = ow * S - P + kw;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              acc += static_cast<double>(xp[(c * H + ih) * W + iw]) * wp[((mo * C + c) * K + kh) * K + kw];
            }
        CHECK(y.data<float>()[(mo * OH + oh) * OW + ow] == doctest::Approx(acc).epsilon(1e-4));
      }
}
