// Tests of Team (runtime/team.h): parts on their threads, errors, nesting, the thread pool inside a team; int8
// conv chains run as row bands on a team giving the bytes of the same session without a team, and float ones
// its values.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/dnnl/dnnl_common.h"
#include "runtime/dnnl/dnnl_row_bands.h"
#include "runtime/session.h"
#include "runtime/team.h"
#include "runtime/thread_pool.h"
#include "tests/runtime/int8_test_util.h"

#ifdef ORTOOL_HAVE_DNNL
#include <omp.h>

using namespace ortool;
using namespace ortool::provider_test;
using namespace ortool::int8_test;
using rt::Team;

TEST_CASE("team: each part runs once, part k on team thread k % size, and current() is the team inside run") {
  CHECK(Team::current() == nullptr);
  const int procs = omp_get_num_procs();
  for (int threads : {1, 2, 3, procs, procs + 1}) {
    CAPTURE(threads);
    int size = 0;
    const Status st = Team::run(threads, [&]() -> Status {
      Team* team = Team::current();
      if (threads < 2 || threads > procs) {
        CHECK(team == nullptr);  // one thread, or more threads than cores: no team
        return Status::ok();
      }
      REQUIRE(team != nullptr);
      size = team->size();
      CHECK(size == threads);
      for (int round = 0; round < 200; ++round) {
        const int parts = 1 + round % 7;
        std::vector<std::atomic<int>> runs(static_cast<size_t>(parts));
        std::vector<int> on(static_cast<size_t>(parts), -1);
        const uint64_t before = Team::jobs_handed();
        team->for_each(parts, [&](int k) {
          runs[static_cast<size_t>(k)].fetch_add(1);
          on[static_cast<size_t>(k)] = omp_get_thread_num();
        });
        CHECK(Team::jobs_handed() == before + (parts > 1 ? 1 : 0));
        for (int k = 0; k < parts; ++k) {
          CHECK(runs[static_cast<size_t>(k)].load() == 1);
          CHECK(on[static_cast<size_t>(k)] == k % size);
        }
      }
      return Status::ok();
    });
    CHECK(st.is_ok());
    CHECK(Team::current() == nullptr);
  }
}

TEST_CASE("team: an exception of a part on another thread reaches the caller, and the team goes on") {
  const Status st = Team::run(2, [&]() -> Status {
    Team& team = *Team::current();
    CHECK_THROWS_WITH_AS(team.for_each(2, [](int k) { if (k == 1) throw std::runtime_error("part 1 failed"); }),
                         "part 1 failed", std::runtime_error);
    CHECK_THROWS_WITH_AS(team.for_each(3, [](int k) { if (k == 0) throw std::runtime_error("part 0 failed"); }),
                         "part 0 failed", std::runtime_error);
    std::atomic<int> sum{0};
    team.for_each(2, [&](int k) { sum += k + 1; });
    CHECK(sum.load() == 3);
    return Status::ok();
  });
  CHECK(st.is_ok());
}

TEST_CASE("team: for_each inside a part runs its parts in order on the calling thread") {
  const Status st = Team::run(2, [&]() -> Status {
    Team& team = *Team::current();
    std::vector<std::vector<int>> seen(2);
    team.for_each(2, [&](int k) {
      if (k == 0) team.for_each(3, [&](int j) { seen[0].push_back(j * 10 + omp_get_thread_num()); });
    });
    CHECK(seen[0] == std::vector<int>{0, 10, 20});  // all on thread 0, in order
    std::atomic<int> sum{0};
    team.for_each(2, [&](int k) { sum += k + 1; });  // and the team still hands out parts
    CHECK(sum.load() == 3);
    return Status::ok();
  });
  CHECK(st.is_ok());
}

TEST_CASE("team: the body's error is run's result; a team inside a team runs its body on the outer one") {
  const Status st = Team::run(2, []() -> Status { return invalid("stop here"); });
  CHECK(st.message() == "stop here");
  const Status nested = Team::run(2, []() -> Status {
    Team* outer = Team::current();
    return Team::run(2, [outer]() -> Status {
      CHECK(Team::current() == outer);
      return Status::ok();
    });
  });
  CHECK(nested.is_ok());
}

TEST_CASE("team: a thread pool inside a team splits on the team's threads and covers the range once") {
  rt::ThreadPool pool(2);
  const Status st = Team::run(2, [&]() -> Status {
    for (size_t n : {size_t{1}, size_t{2}, size_t{7}, size_t{1000}}) {
      CAPTURE(n);
      std::vector<int> hits(n, 0);
      std::mutex mu;
      std::vector<int> threads;
      const uint64_t before = Team::jobs_handed();
      pool.parallel_for(n, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) ++hits[i];
        std::lock_guard lk(mu);
        threads.push_back(omp_get_thread_num());
      });
      for (int h : hits) CHECK(h == 1);
      const bool split = n > 1;
      CHECK(Team::jobs_handed() == before + (split ? 1 : 0));
      if (split) {
        std::sort(threads.begin(), threads.end());
        CHECK(threads == std::vector<int>{0, 1});
      }
    }
    return Status::ok();
  });
  CHECK(st.is_ok());
}

TEST_CASE("row bands: cover the output rows once, each output reading the input rows it reads in the whole conv") {
  std::mt19937 rng(44);
  for (int iter = 0; iter < 2000; ++iter) {
    rt::cpu::conv_family::Window win;
    const int64_t k = pick(rng, 1, 7), stride = pick(rng, 1, 3), dil = pick(rng, 1, 2), h = pick(rng, 1, 40);
    const int64_t top = pick(rng, 0, k - 1), bottom = pick(rng, 0, k - 1), span = (k - 1) * dil + 1;
    if (h + top + bottom < span) continue;
    win.in = {h, 5};
    win.kernel = {k, 1};
    win.stride = {stride, 1};
    win.dilation = {dil, 1};
    win.pad_begin = {top, 0};
    win.pad_end = {bottom, 0};
    win.out = {(h + top + bottom - span) / stride + 1, 5};
    const int count = rt::dnnl_ep::row_band_count(static_cast<int>(pick(rng, 1, 4)), 1e6, 1e4, win.out[0]);
    if (count == 0) continue;
    CAPTURE(iter);
    int64_t next = 0;
    const auto bands = rt::dnnl_ep::row_bands(win, count);
    REQUIRE(static_cast<int>(bands.size()) == count);
    for (const auto& b : bands) {
      CHECK(b.out_row == next);
      CHECK(b.win.out[0] >= 1);
      next += b.win.out[0];
      // The band's own geometry gives its row count, and row r of the band reads input rows from the
      // same place as output row out_row + r of the whole conv.
      CHECK((b.win.in[0] + b.win.pad_begin[0] + b.win.pad_end[0] - span) / stride + 1 == b.win.out[0]);
      CHECK(b.in_row - b.win.pad_begin[0] == b.out_row * stride - top);
      CHECK(b.in_row >= 0);
      CHECK(b.in_row + b.win.in[0] <= h);
      CHECK(b.win.pad_begin[0] >= 0);
      CHECK(b.win.pad_end[0] >= 0);
    }
    CHECK(next == win.out[0]);
    CHECK(bands.front().win.pad_begin[0] == top);
  }
  CHECK(rt::dnnl_ep::row_band_count(2, 1e9, 1e4, 100) == 0);  // large convs: oneDNN's own split
  CHECK(rt::dnnl_ep::row_band_count(2, 1e6, 4e6, 100) == 0);  // large weights too
  CHECK(rt::dnnl_ep::row_band_count(2, 1e6, 1e4, 1) == 0);
  CHECK(rt::dnnl_ep::row_band_count(1, 1e6, 1e4, 100) == 0);
  CHECK(rt::dnnl_ep::row_band_count(3, 1e6, 1e4, 2) == 2);
  CHECK(rt::dnnl_ep::row_band_count(2, 1e6, 1e4, 100) == 2);
}

namespace {

// A QDQ conv group on `in` (8-bit, scale `xs`, zero point `xz`, dims `xd`): per-channel int8 weights, an int32
// bias, an optional Relu; returns the QuantizeLinear's output with its dims declared in `yd`.
ir::Value* qconv(ir::Graph& g, ir::Value* in, float xs, int32_t xz, const std::vector<int64_t>& xd, int64_t cout,
                 int64_t k, int64_t stride, std::vector<int64_t> pads, int64_t group, bool relu, const std::string& name,
                 std::mt19937& rng, std::vector<int64_t>& yd) {
  const int64_t cin = xd[1], per = cin / group;
  ir::Value* xf = g.add_node("DequantizeLinear", "", {in, initializer(g, name + "_xs", scalar_f(xs)),
                                                       initializer(g, name + "_xz", scalar_q(DType::UInt8, xz))},
                             {name + "_xf"}, name + "_dqx")->output(0);
  std::vector<float> ws(static_cast<size_t>(cout));
  for (float& v : ws) v = pickf(rng, 0.004f, 0.02f);
  ir::Node* dw = g.add_node("DequantizeLinear", "",
                            {initializer(g, name + "_wq", random_w({cout, per, k, k}, rng)),
                             initializer(g, name + "_ws", vec_f(ws)),
                             initializer(g, name + "_wz", Tensor(DType::Int8, {cout}))},
                            {name + "_wf"}, name + "_dqw");
  dw->set_attr(ir::Attribute::make_int("axis", 0));
  Tensor bias(DType::Int32, {cout});
  std::vector<float> bs(static_cast<size_t>(cout));
  for (int64_t i = 0; i < cout; ++i) {
    bias.mutable_data<int32_t>()[i] = static_cast<int32_t>(pick(rng, -2000, 2000));
    bs[static_cast<size_t>(i)] = xs * ws[static_cast<size_t>(i)];
  }
  ir::Node* db = g.add_node("DequantizeLinear", "",
                            {initializer(g, name + "_bq", std::move(bias)), initializer(g, name + "_bs", vec_f(bs)),
                             initializer(g, name + "_bz", Tensor(DType::Int32, {cout}))},
                            {name + "_bf"}, name + "_dqb");
  db->set_attr(ir::Attribute::make_int("axis", 0));
  ir::Node* conv = g.add_node("Conv", "", {xf, dw->output(0), db->output(0)}, {name + "_c"}, name);
  conv->set_attr(ir::Attribute::make_ints("kernel_shape", {k, k}));
  conv->set_attr(ir::Attribute::make_ints("strides", {stride, stride}));
  conv->set_attr(ir::Attribute::make_ints("pads", pads));
  conv->set_attr(ir::Attribute::make_int("group", group));
  ir::Value* c = conv->output(0);
  if (relu) c = g.add_node("Relu", "", {c}, {name + "_r"}, name + "_relu")->output(0);
  // Outputs spanning a few hundred steps: the sum of per*k*k products of about 1.9 * 0.6.
  const float ys = 0.35f * std::sqrt(static_cast<float>(per * k * k)) / 8.0f;
  ir::Value* q = g.add_node("QuantizeLinear", "", {c, initializer(g, name + "_ys", scalar_f(ys)),
                                                   initializer(g, name + "_yz", scalar_q(DType::UInt8, relu ? 0 : 128))},
                            {name + "_q"}, name + "_q")->output(0);
  yd = {1, cout, (xd[2] + pads[0] + pads[2] - k) / stride + 1, (xd[3] + pads[1] + pads[3] - k) / stride + 1};
  Shape s;
  for (int64_t d : yd) s.push_back(Dim::known(d));
  q->type = Type::tensor(DType::UInt8, s);
  return q;
}

float scale_of(const ir::Graph& g, const std::string& name) {
  return g.find_value(name)->constant()->data<float>()[0];
}

// A MobileNet-like chain on x [1, c, h, w]: a strided 3x3 conv, an inverted residual block (1x1 expand, 3x3
// depthwise, 1x1 project, residual Add as QDQ), a strided depthwise conv with a bottom-right pad, a 1x1 conv;
// with `cpu_op`, a float Sin between (a step no team runs) before the last conv.
std::unique_ptr<ir::Model> chain(std::mt19937& rng, int64_t c, int64_t h, int64_t w, bool cpu_op) {
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", 13);
  ir::Graph& g = *m->graph;
  ir::Value* x = q8_value(g, "x", DType::UInt8, {1, c, h, w});
  g.add_input(x);
  std::vector<int64_t> d0, d1, d2, d3, d4, d5;
  ir::Value* a = qconv(g, x, 0.03f, 120, {1, c, h, w}, 2 * c, 3, 2, {1, 1, 1, 1}, 1, true, "stem", rng, d0);
  const float as = scale_of(g, "stem_ys");
  ir::Value* e = qconv(g, a, as, 0, d0, 4 * c, 1, 1, {0, 0, 0, 0}, 1, true, "expand", rng, d1);
  ir::Value* dw = qconv(g, e, scale_of(g, "expand_ys"), 0, d1, 4 * c, 3, 1, {1, 1, 1, 1}, 4 * c, true, "dw", rng, d2);
  ir::Value* p = qconv(g, dw, scale_of(g, "dw_ys"), 0, d2, 2 * c, 1, 1, {0, 0, 0, 0}, 1, false, "project", rng, d3);
  ir::Value* pf = g.add_node("DequantizeLinear", "", {p, initializer(g, "pf_s", scalar_f(scale_of(g, "project_ys"))),
                                                      initializer(g, "pf_z", scalar_q(DType::UInt8, 128))},
                             {"pf"}, "pf")->output(0);
  ir::Value* af = g.add_node("DequantizeLinear", "", {a, initializer(g, "af_s", scalar_f(as)),
                                                      initializer(g, "af_z", scalar_q(DType::UInt8, 0))},
                             {"af"}, "af")->output(0);
  ir::Value* sum = g.add_node("Add", "", {pf, af}, {"sum"}, "add")->output(0);
  ir::Value* sq = g.add_node("QuantizeLinear", "", {sum, initializer(g, "sum_s", scalar_f(2 * as)),
                                                    initializer(g, "sum_z", scalar_q(DType::UInt8, 100))},
                             {"sum_q"}, "sum_q")->output(0);
  Shape s3;
  for (int64_t d : d3) s3.push_back(Dim::known(d));
  sq->type = Type::tensor(DType::UInt8, s3);
  ir::Value* down = qconv(g, sq, 2 * as, 100, d3, 2 * c, 3, 2, {0, 0, 1, 1}, 2 * c, false, "down", rng, d4);
  float ds = scale_of(g, "down_ys");
  int32_t dz = 128;
  if (cpu_op) {
    ir::Value* f = g.add_node("DequantizeLinear", "", {down, initializer(g, "sin_xs", scalar_f(ds)),
                                                       initializer(g, "sin_xz", scalar_q(DType::UInt8, 128))},
                              {"sin_x"}, "sin_dq")->output(0);
    ir::Value* sn = g.add_node("Sin", "", {f}, {"sin"}, "sin")->output(0);
    down = g.add_node("QuantizeLinear", "", {sn, initializer(g, "sin_ys", scalar_f(1.0f / 127)),
                                             initializer(g, "sin_yz", scalar_q(DType::UInt8, 128))},
                      {"sin_q"}, "sin_q")->output(0);
    Shape s4;
    for (int64_t d : d4) s4.push_back(Dim::known(d));
    down->type = Type::tensor(DType::UInt8, s4);
    ds = 1.0f / 127;
  }
  ir::Value* out = qconv(g, down, ds, dz, d4, 3 * c, 1, 1, {0, 0, 0, 0}, 1, false, "head", rng, d5);
  g.add_output(out);
  g.add_output(sq);
  return m;
}

// A float MobileNet/EfficientNet-like chain on x [1, 3, h, w]: a strided 3x3 conv with Relu, a 1x1 conv, a 1x1 expand with
// Clip, a 3x3 depthwise conv with SiLU, a 1x1 project, a residual Add, a strided depthwise conv with Relu, a 1x1
// head with SiLU; with `stem_out`, a Relu of the Add's addend after them (and a conv of the sum) as outputs too.
std::unique_ptr<ir::Model> float_chain(std::mt19937& rng, int64_t c, int64_t h, int64_t w, bool stem_out) {
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", 13);
  ir::Graph& g = *m->graph;
  ir::Value* x = g.add_value("x");
  x->type = Type::tensor(DType::Float, Shape{Dim::known(1), Dim::known(3), Dim::known(h), Dim::known(w)});
  g.add_input(x);
  auto random = [&](std::vector<int64_t> dims, float scale) {
    Tensor t(DType::Float, std::move(dims));
    for (int64_t i = 0; i < t.numel(); ++i) t.mutable_data<float>()[i] = pickf(rng, -scale, scale);
    return t;
  };
  auto conv = [&](ir::Value* in, const std::string& name, int64_t cin, int64_t cout, int64_t k, int64_t stride,
                  int64_t group) {
    ir::Node* n = g.add_node("Conv", "",
                             {in, initializer(g, name + "_w", random({cout, cin / group, k, k}, 1.0f / static_cast<float>(k))),
                              initializer(g, name + "_b", random({cout}, 0.2f))},
                             {name + "_out"}, name);
    n->set_attr(ir::Attribute::make_int("group", group));
    n->set_attr(ir::Attribute::make_ints("strides", {stride, stride}));
    n->set_attr(ir::Attribute::make_ints("pads", {k / 2, k / 2, k / 2, k / 2}));
    return n->output(0);
  };
  auto node = [&](const std::string& op, std::vector<ir::Value*> ins, const std::string& name) {
    return g.add_node(op, "", std::move(ins), {name + "_out"}, name)->output(0);
  };
  auto silu = [&](ir::Value* v, const std::string& name) { return node("Mul", {v, node("Sigmoid", {v}, name + "_sig")}, name); };
  ir::Value* stem = conv(node("Relu", {conv(x, "stem", 3, c, 3, 2, 1)}, "stem_relu"), "pre", c, c, 1, 1, 1);
  ir::Value* e = node("Clip", {conv(stem, "expand", c, 4 * c, 1, 1, 1), initializer(g, "lo", scalar_f(0.0f)),
                               initializer(g, "hi", scalar_f(6.0f))},
                      "expand_clip");
  ir::Value* dw = silu(conv(e, "dw", 4 * c, 4 * c, 3, 1, 4 * c), "dw_silu");
  ir::Value* proj = conv(dw, "project", 4 * c, c, 1, 1, 1);
  ir::Value* sum = node("Add", {proj, stem}, "add");
  // Declared as shape inference would: the Add is fused into the project conv only between equal declared shapes.
  const Type half = Type::tensor(DType::Float, Shape{Dim::known(1), Dim::known(c), Dim::known((h - 1) / 2 + 1),
                                                     Dim::known((w - 1) / 2 + 1)});
  for (ir::Value* v : {stem, proj, sum}) v->type = half;
  ir::Value* down = node("Relu", {conv(sum, "down", c, c, 3, 2, c)}, "down_relu");
  g.add_output(silu(conv(down, "head", c, 2 * c, 1, 1, 1), "head_silu"));
  // A later reader of the Add's addend: the addend is copied into the project conv's output, not summed in place.
  if (stem_out) g.add_output(conv(node("Relu", {sum}, "side_relu"), "side", c, c, 1, 1, 1));
  if (stem_out) g.add_output(node("Relu", {stem}, "stem_relu2"));
  return m;
}

std::vector<RValue> run_chain(const ir::Model& m, const std::map<std::string, RValue>& feeds, int threads, bool team) {
  rt::SessionOptions o;
  o.providers = {"dnnl", "cpu"};
  o.threads = threads;
  o.team = team;
  auto s = rt::Session::create(m, o);
  INFO(s.status().message());
  REQUIRE(s.is_ok());
  std::vector<RValue> last;
  for (int i = 0; i < 2; ++i) {  // the second run on the primitives the first one prepared
    auto out = (*s)->run(feeds);
    INFO(out.status().message());
    REQUIRE(out.is_ok());
    last = std::move(out).value();
  }
  return last;
}

void check_bytes_equal(const std::vector<RValue>& a, const std::vector<RValue>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].tensor.dims() == b[i].tensor.dims());
    const auto* x = static_cast<const uint8_t*>(a[i].tensor.raw());
    const auto* y = static_cast<const uint8_t*>(b[i].tensor.raw());
    int64_t off = 0;
    for (size_t k = 0; k < a[i].tensor.nbytes(); ++k) off += x[k] != y[k];
    CHECK_MESSAGE(off == 0, fmt::format("output {}: {} of {} bytes differ", i, off, a[i].tensor.nbytes()));
  }
}

}  // namespace

TEST_CASE("team: int8 conv chains as row bands give the bytes of one thread and of two without a team") {
  std::mt19937 rng(41);
  for (int iter = 0; iter < 12; ++iter) {
    const int64_t c = 4 * pick(rng, 1, 4), h = pick(rng, 6, 30), w = pick(rng, 5, 21);
    const bool cpu_op = iter % 3 == 2;
    CAPTURE(iter);
    CAPTURE(c);
    CAPTURE(h);
    CAPTURE(w);
    CAPTURE(cpu_op);
    auto m = chain(rng, c, h, w, cpu_op);
    const std::map<std::string, RValue> feeds{{"x", RValue(random_q8(DType::UInt8, {1, c, h, w}, rng))}};
    const std::vector<RValue> one = run_chain(*m, feeds, 1, true);
    const std::vector<RValue> plain = run_chain(*m, feeds, 2, false);
    const uint64_t before = Team::jobs_handed();
    const std::vector<RValue> banded = run_chain(*m, feeds, 2, true);
    CHECK(Team::jobs_handed() > before);  // the team ran parts
    check_bytes_equal(plain, one);
    check_bytes_equal(banded, one);
  }
}

TEST_CASE("team: float conv chains as row bands (fused Relu, Clip, SiLU, residual Add) match the runs without") {
  struct ModeReset {
    ~ModeReset() { rt::dnnl_ep::set_silu_mode(rt::dnnl_ep::KernelChoice::Default); }
  } reset;
  std::mt19937 rng(43);
  for (int iter = 0; iter < 8; ++iter) {
    // The SiLU as ortool's pass over each band and as oneDNN's post-op in the band's primitive.
    rt::dnnl_ep::set_silu_mode(iter % 2 ? rt::dnnl_ep::KernelChoice::Own : rt::dnnl_ep::KernelChoice::Dnnl);
    const int64_t c = 8 * pick(rng, 1, 3), h = pick(rng, 8, 40), w = pick(rng, 6, 30);
    CAPTURE(iter);
    CAPTURE(c);
    CAPTURE(h);
    CAPTURE(w);
    auto m = float_chain(rng, c, h, w, iter % 4 < 2);
    Tensor x(DType::Float, {1, 3, h, w});
    for (int64_t i = 0; i < x.numel(); ++i) x.mutable_data<float>()[i] = pickf(rng, -1.0f, 1.0f);
    const std::map<std::string, RValue> feeds{{"x", RValue(std::move(x))}};
    const std::vector<RValue> one = run_chain(*m, feeds, 1, true);
    const std::vector<RValue> plain = run_chain(*m, feeds, 2, false);
    const uint64_t before = Team::jobs_handed();
    const std::vector<RValue> banded = run_chain(*m, feeds, 2, true);
    CHECK(Team::jobs_handed() > before);
    for (size_t i = 0; i < one.size(); ++i) {
      check_close(plain[i], one[i]);
      check_close(banded[i], one[i]);
    }
  }
}

#endif  // ORTOOL_HAVE_DNNL
