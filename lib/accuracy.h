// Accuracy of a model's outputs against a reference over many samples: statistics, gates, verdicts.
//
// compare, quantize's closing check and prune's check all judge results through here, so a gate
// means the same in each. Statistics accumulate sample by sample; memory does not grow with them.
//
// Definitions, per output:
// - An element fails when |got - ref| > atol + rtol * |ref| (NaN equals NaN, infinities must match).
// - cosine and SQNR are computed per sample over the finite elements, and the worst sample is kept.
//   SQNR = 10 log10(sum ref^2 / sum (ref - got)^2) is +inf when the error is zero. When the
//   reference of a sample is all zero and the error is not, SQNR is undefined for that sample (there
//   is no signal to measure the noise against), and so is cosine; such samples are left out of the
//   worst-sample values. An output whose every sample is undefined is not gated on that metric (a
//   note says so): an all-zero reference is judged by atol alone.
// - top-1 agreement: over the rows of 2-D outputs with at least two columns (class scores), the
//   fraction of rows whose argmax is the same; the top-1 drop is 100 * (1 - agreement) percentage
//   points (no labels needed: it bounds the change of top-1 accuracy).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lib/rvalue.h"
#include "lib/status.h"
#include "lib/tensor_compare.h"

namespace ortool {

// One output's statistics accumulated over samples.
struct OutputAccuracy {
  std::string name;
  Tolerance tol;                 // element tolerance that `failed` counts with
  int64_t samples = 0;           // samples added
  int64_t elements = 0;          // elements compared, all samples and sequence items together
  int64_t failed = 0;            // elements outside atol + rtol * |ref|
  double max_abs = 0, max_rel = 0;
  double sum_abs = 0;            // sum of |got - ref| over finite elements (mean_abs())
  std::optional<double> min_cosine;   // worst sample where defined; unset when no sample defines it
  std::optional<double> min_sqnr_db;  // worst sample where defined (+inf: every sample exact)
  double ref_energy = 0, noise_energy = 0;  // sums over all samples (total_sqnr_db())
  int64_t top1_rows = 0, top1_agree = 0;    // rows of class scores compared, and those whose argmax agrees
  // The element furthest outside the tolerance, e.g. "sample s3.npy element [0,7]: expected 0.1523, got 0.2011".
  std::string worst;
  double worst_excess = 0;       // its |got - ref| - (atol + rtol * |ref|); meaningful when `worst` is set
  std::array<int64_t, kAbsErrorBins> abs_error_hist{};  // elements by absolute error (tensor_compare.h)
  // The first sample whose output differs in kind, element type or shape, e.g. "sample 2: shape [1,10] vs [1,11]".
  std::string mismatch;

  OutputAccuracy() = default;
  OutputAccuracy(std::string output_name, Tolerance tolerance) : name(std::move(output_name)), tol(tolerance) {}

  // Adds one sample: `ref` is the reference output, `got` the output under test; `sample` labels it
  // in messages (a file name, "random #3").
  void add(const RValue& ref, const RValue& got, std::string_view sample);

  double mean_abs() const { return elements ? sum_abs / static_cast<double>(elements) : 0.0; }
  // Fraction of rows whose argmax agrees; unset when the output has no rows of class scores.
  std::optional<double> top1_agreement() const;
  // Percentage points of rows whose top-1 class changed; unset like top1_agreement().
  std::optional<double> top1_drop() const;
  // SQNR of all samples taken together (sum of signal over sum of noise), defined like min_sqnr_db.
  std::optional<double> total_sqnr_db() const;
};

// What makes an output pass. Unset gates are not applied.
struct Gates {
  Tolerance tol;                          // element tolerance (--atol, --rtol)
  bool check_elements = true;             // fail when any element is outside `tol`
  // With check_elements off: still check elements on an output whose cosine and SQNR are undefined
  // (an all-zero reference), where the whole-output gates have nothing to measure.
  bool check_elements_if_undefined = false;
  std::optional<double> min_cosine;       // the worst sample's cosine must be >= this (--min-cosine)
  std::optional<double> min_sqnr_db;      // the worst sample's SQNR must be >= this (--min-sqnr)
  std::optional<double> max_top1_drop;    // percentage points of changed top-1 rows, <= this (--max-top1-drop)
};

// Checks the gate values: --atol and --rtol finite and >= 0, --min-cosine in [-1, 1], --min-sqnr
// finite, --max-top1-drop in [0, 100]. The error names the option as the CLI spells it (exit 2).
Status validate_gates(const Gates& gates);

struct OutputVerdict {
  std::string name;
  bool passed = true;
  // One sentence per failed gate, e.g. "cosine similarity 0.931200 below --min-cosine 0.99".
  std::vector<std::string> failures;
  // Gates that could not apply, e.g. "SQNR undefined (the reference is all zero): not gated".
  std::vector<std::string> notes;
};

// Judges one output against the gates. A mismatch (kind, type or shape) always fails.
OutputVerdict judge(const OutputAccuracy& output, const Gates& gates);

// The accuracy of every output of a model: add samples, then judge.
class AccuracyReport {
 public:
  AccuracyReport(const std::vector<std::string>& output_names, Gates gates);

  // Adds one sample's outputs, in output order (reference first). Both must have one value per
  // output; a different count is an error naming the sample.
  Status add(std::span<const RValue> ref, std::span<const RValue> got, std::string_view sample);

  const std::vector<OutputAccuracy>& outputs() const { return outputs_; }
  const Gates& gates() const { return gates_; }
  int64_t samples() const { return samples_; }
  // One verdict per output, in output order.
  std::vector<OutputVerdict> verdicts() const;
  bool passed() const;

 private:
  std::vector<OutputAccuracy> outputs_;
  Gates gates_;
  int64_t samples_ = 0;
};

// "12.3" for finite dB values, "inf" for +inf, "n/a" when unset: for tables and messages.
std::string format_db(const std::optional<double>& db);

}  // namespace ortool
