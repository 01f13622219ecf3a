// How far a pruned model's outputs are from the reference's on samples, with the reference run once:
// the recovery steps and the sensitivity sweep measure many models against the same outputs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/status.h"
#include "runtime/samples.h"
#include "runtime/session.h"

namespace ortool::prune {

// Over every output (the worst one): SQNR of all samples together, the worst sample's cosine
// similarity, and the fraction of class-score rows whose top-1 class agrees (unset without such rows).
struct OutputFigures {
  std::optional<double> sqnr_db;
  std::optional<double> cosine;
  std::optional<double> top1;
};

class ReferenceOutputs {
 public:
  // Runs `reference` on every sample and keeps its outputs (and the samples, which must outlive this).
  static Result<ReferenceOutputs> compute(const ir::Model& reference, const rt::SampleSource& samples,
                                          const rt::SessionOptions& session);
  // Runs `model` on the same samples. Errors: a failing run, outputs of another count or shape (kInternal).
  Result<OutputFigures> measure(const ir::Model& model) const;
  size_t samples() const { return outputs_.size(); }

 private:
  const rt::SampleSource* samples_ = nullptr;
  rt::SessionOptions session_;
  std::vector<std::string> names_;
  std::vector<std::vector<RValue>> outputs_;  // per sample
};

// Noise-to-signal ratio (linear) from an SQNR in dB: what the sweep adds up as damage; 0 when exact.
double noise_ratio(const std::optional<double>& sqnr_db);

}  // namespace ortool::prune
