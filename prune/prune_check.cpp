// check_pruned: accuracy of the pruned model against the reference, output shapes, latency.
#include "prune/prune_check.h"

#include <algorithm>
#include <chrono>

namespace ortool::prune {

namespace {

Result<double> median_ms(rt::Session& s, const rt::Feeds& feeds, int runs) {
  std::vector<double> ms;
  for (int i = 0; i <= runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = s.run(feeds);
    if (!r.is_ok()) return r.status();
    if (i > 0) ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  if (ms.empty()) return 0.0;
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

Result<CheckResult> check_pruned(const ir::Model& reference, const ir::Model& pruned, const rt::SampleSource& samples,
                                 const CheckOptions& o) {
  ASSIGN_OR_RETURN(auto ref, rt::Session::create(reference, o.session));
  auto got_session = rt::Session::create(pruned, o.session);
  if (!got_session.is_ok()) return got_session.status().with_context("the pruned model");
  auto& got = *got_session;
  if (ref->outputs().size() != got->outputs().size())
    return internal_error("the pruned model has {} outputs, the original {}", got->outputs().size(), ref->outputs().size());
  std::vector<std::string> names;
  for (const ir::Value* v : ref->outputs()) names.push_back(v->name());
  Gates gates = o.gates;
  gates.check_elements = false;
  CheckResult result;
  result.accuracy = std::make_unique<AccuracyReport>(names, gates);
  for (size_t i = 0; i < samples.size(); ++i) {
    if (o.progress) o.progress(i, samples.size());
    ASSIGN_OR_RETURN(rt::Sample s, samples.get(i));
    auto where = [&](const Status& st) { return st.with_context(fmt::format("sample {}", s.label)); };
    auto a = ref->run(s.feeds);
    if (!a.is_ok()) return where(a.status());
    auto b = got->run(s.feeds);
    if (!b.is_ok()) return where(b.status().with_context("the pruned model"));
    TRY(result.accuracy->add(*a, *b, s.label));
    for (const OutputAccuracy& out : result.accuracy->outputs())
      if (!out.mismatch.empty())
        return internal_error("output '{}' of the pruned model differs in shape or type from the original's: {} "
                              "(a pruning bug)",
                              out.name, out.mismatch);
  }
  if (o.progress) o.progress(samples.size(), samples.size());
  if (o.latency_runs > 0 && samples.size() > 0) {
    ASSIGN_OR_RETURN(rt::Sample s, samples.get(0));
    ASSIGN_OR_RETURN(result.reference_ms, median_ms(*ref, s.feeds, o.latency_runs));
    ASSIGN_OR_RETURN(result.pruned_ms, median_ms(*got, s.feeds, o.latency_runs));
  }
  return result;
}

}  // namespace ortool::prune
