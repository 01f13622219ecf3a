// The cpu BatchNormalization kernel's float inference path (folded a, b; threaded rows) against the
// spec's formula evaluated in double, on random shapes, spatial modes and thread counts.
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

TEST_CASE("cpu BatchNormalization float inference matches the double formula on random shapes and threads") {
  std::mt19937 rng(31);
  const std::vector<std::vector<int64_t>> shapes{{3, 5},         {2, 4, 7},       {1, 3, 9, 11},
                                                 {2, 8, 64, 64}, {1, 2, 3, 4, 5}, {1, 512, 4, 4}};
  for (const auto& dims : shapes)
    for (int spatial : {1, 0})
      for (int threads : {1, 2}) {
        const int64_t opset = spatial ? 15 : 7;  // spatial = 0 (parameters per channel and position) before 9
        INFO(fmt::format("dims {} spatial {} threads {}", fmt::join(dims, "x"), spatial, threads));
        int64_t inner = 1;
        for (size_t i = 2; i < dims.size(); ++i) inner *= dims[i];
        const int64_t C = dims[1], per = spatial ? C : C * inner;
        ir::Model m;
        m.set_opset("", opset);
        ir::Graph& g = *m.graph;
        std::vector<ir::Value*> ins;
        for (const char* name : {"x", "scale", "b", "mean", "var"}) {
          ir::Value* v = g.add_value(name);
          g.add_input(v);
          ins.push_back(v);
        }
        ir::Node* n = g.add_node("BatchNormalization", "", ins, {"y"}, "bn");
        n->set_attr(ir::Attribute::make_float("epsilon", 1e-3f));
        if (!spatial) n->set_attr(ir::Attribute::make_int("spatial", 0));
        g.add_output(n->output(0));
        const Tensor x = random_tensor(dims, rng, -3, 3);
        const Tensor scale = random_tensor({per}, rng, -2, 2), b = random_tensor({per}, rng);
        const Tensor mean = random_tensor({per}, rng), var = random_tensor({per}, rng, 0, 2);
        const std::map<std::string, RValue> feeds{
            {"x", RValue(x)}, {"scale", RValue(scale)}, {"b", RValue(b)}, {"mean", RValue(mean)}, {"var", RValue(var)}};
        auto out = run(m, {"cpu"}, feeds, threads);
        Tensor want(DType::Float, dims);
        for (int64_t i = 0; i < x.numel(); ++i) {
          const int64_t c = (i / inner) % C;
          const int64_t p = spatial ? c : c * inner + i % inner;
          const double sd = std::sqrt(double(var.data<float>()[p]) + 1e-3);
          const double v = (double(x.data<float>()[i]) - mean.data<float>()[p]) / sd;
          want.mutable_data<float>()[i] = static_cast<float>(v * scale.data<float>()[p] + b.data<float>()[p]);
        }
        check_close(out.outputs[0], RValue(want));
      }
}
