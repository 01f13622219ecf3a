// ReferenceOutputs: reference outputs kept once, pruned models measured against them.
#include "prune/output_figures.h"

#include <algorithm>
#include <cmath>

#include "lib/accuracy.h"

namespace ortool::prune {

namespace {

void take_min(std::optional<double>& acc, const std::optional<double>& v) {
  if (v) acc = acc ? std::min(*acc, *v) : *v;
}

}  // namespace

Result<ReferenceOutputs> ReferenceOutputs::compute(const ir::Model& reference, const rt::SampleSource& samples,
                                                   const rt::SessionOptions& session) {
  ReferenceOutputs r;
  r.samples_ = &samples;
  r.session_ = session;
  r.session_.observe = {};
  ASSIGN_OR_RETURN(auto s, rt::Session::create(reference, r.session_));
  for (const ir::Value* v : s->outputs()) r.names_.push_back(v->name());
  for (size_t i = 0; i < samples.size(); ++i) {
    ASSIGN_OR_RETURN(rt::Sample sample, samples.get(i));
    auto out = s->run(sample.feeds);
    if (!out.is_ok()) return out.status().with_context(fmt::format("sample {}", sample.label));
    r.outputs_.push_back(std::move(out).value());
  }
  return r;
}

Result<OutputFigures> ReferenceOutputs::measure(const ir::Model& model) const {
  auto created = rt::Session::create(model, session_);
  if (!created.is_ok()) return created.status().with_context("the pruned model");
  auto& s = *created;
  if (s->outputs().size() != names_.size())
    return internal_error("the pruned model has {} outputs, the original {}", s->outputs().size(), names_.size());
  AccuracyReport acc(names_, Gates{});
  for (size_t i = 0; i < outputs_.size(); ++i) {
    ASSIGN_OR_RETURN(rt::Sample sample, samples_->get(i));
    auto got = s->run(sample.feeds);
    if (!got.is_ok()) return got.status().with_context(fmt::format("the pruned model, sample {}", sample.label));
    TRY(acc.add(outputs_[i], *got, sample.label));
  }
  OutputFigures f;
  for (const OutputAccuracy& o : acc.outputs()) {
    if (!o.mismatch.empty())
      return internal_error("output '{}' of the pruned model differs from the original's: {} (a pruning bug)", o.name,
                            o.mismatch);
    take_min(f.sqnr_db, o.total_sqnr_db());
    take_min(f.cosine, o.min_cosine);
    take_min(f.top1, o.top1_agreement());
  }
  return f;
}

double noise_ratio(const std::optional<double>& sqnr_db) {
  if (!sqnr_db || std::isinf(*sqnr_db)) return sqnr_db ? 0.0 : 1.0;
  return std::pow(10.0, -*sqnr_db / 10.0);
}

}  // namespace ortool::prune
