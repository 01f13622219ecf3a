// The session's team under load: every requested thread on free cores, what other processes leave otherwise.
#include <doctest/doctest.h>

#include <algorithm>

#include "lib/graph.h"
#include "runtime/core_load.h"
#include "runtime/session.h"

using namespace ortool;

TEST_CASE("team_for_load: all threads on free cores, the free ones under load, at least one") {
  CHECK(rt::team_for_load(2, 2, 0) == 2);
  CHECK(rt::team_for_load(2, 2, 1) == 1);
  CHECK(rt::team_for_load(2, 2, 12) == 1);
  CHECK(rt::team_for_load(4, 8, 3) == 4);
  CHECK(rt::team_for_load(8, 8, 3) == 5);
  CHECK(rt::team_for_load(1, 2, 0) == 1);
  CHECK(rt::team_for_load(2, 2, -1) == 2);  // load unknown: as asked
  CHECK(rt::team_for_load(3, 1, 0) == 1);   // never more than the cores
}

TEST_CASE("machine load readings are sane, and sessions keep their exact team unless asked to spare busy cores") {
  CHECK(rt::usable_cores() >= 1);
  CHECK(rt::other_runnable_tasks() >= -1);
  ir::Model m;
  m.set_opset("", 13);
  ir::Value* x = m.graph->add_value("x");
  x->type = Type::tensor(DType::Float, Shape{Dim::known(2)});
  m.graph->add_input(x);
  m.graph->add_output(m.graph->add_node("Relu", "", {x}, {"y"}, "relu")->output(0));
  rt::SessionOptions o;
  o.threads = 3;
  auto exact = rt::Session::create(m, o);
  REQUIRE(exact.is_ok());
  CHECK((*exact)->threads_used() == 3);
  o.spare_busy_cores = true;
  auto spared = rt::Session::create(m, o);
  REQUIRE(spared.is_ok());
  CHECK((*spared)->threads_used() >= 1);
  CHECK((*spared)->threads_used() <= 3);
  CHECK((*spared)->threads_used() <= std::max(1, rt::usable_cores()));
}
