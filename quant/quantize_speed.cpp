// measure_speed: alternating timed runs of the float and the int8 model (see quantize_speed.h).
#include "quant/quantize_speed.h"

#include <chrono>
#include <memory>
#include <vector>

namespace ortool::quant {

namespace {

Result<double> timed_run(rt::Session& s, const rt::Feeds& feeds, const char* which) {
  const auto start = std::chrono::steady_clock::now();
  auto r = s.run(feeds);
  if (!r.is_ok()) return r.status().with_context(which);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Result<SpeedResult> measure_speed(const ir::Model& float_model, const ir::Model& quantized, const rt::Feeds& feeds,
                                  const SpeedOptions& o) {
  auto fs = rt::Session::create(float_model, o.session);
  if (!fs.is_ok()) return fs.status().with_context("the float model");
  auto qs = rt::Session::create(quantized, o.session);
  if (!qs.is_ok()) return qs.status().with_context("the quantized model");
  rt::Session& f = **fs;
  rt::Session& q = **qs;
  for (int i = 0; i < o.warmup; ++i) {
    TRY(timed_run(f, feeds, "the float model").status());
    TRY(timed_run(q, feeds, "the quantized model").status());
  }
  std::vector<double> fm, qm;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < o.max_runs; ++i) {
    if (i >= o.min_runs &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > o.max_seconds)
      break;
    ASSIGN_OR_RETURN(double a, timed_run(f, feeds, "the float model"));
    ASSIGN_OR_RETURN(double b, timed_run(q, feeds, "the quantized model"));
    fm.push_back(a);
    qm.push_back(b);
  }
  SpeedResult r;
  r.float_ms = latency_stats(std::move(fm));
  r.int8_ms = latency_stats(std::move(qm));
  r.threads = q.threads_used();
  return r;
}

}  // namespace ortool::quant
