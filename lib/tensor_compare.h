// Numerical comparison of a tensor against a reference: error metrics and tolerance checks.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/tensor.h"

namespace ortool {

struct Tolerance {
  double atol = 1e-4;
  double rtol = 1e-3;
};

// Absolute errors by decade, for histograms: bin 0 holds exact elements, bin 1 errors under 1e-9,
// bins 2..11 the decades [1e-9, 1e-8) .. [1, 10), bin 12 errors of 10 and more (an infinity included).
inline constexpr size_t kAbsErrorBins = 13;
size_t abs_error_bin(double err);
std::string abs_error_bin_label(size_t bin);  // "0", "<1e-9", "1e-9..1e-8", ..., ">=10"

struct CompareStats {
  int64_t count = 0;
  double max_abs = 0;
  double max_rel = 0;
  double mean_abs = 0;
  // Cosine similarity of the flattened tensors: 1 when both are all zero, unset when only the
  // reference is (the angle to a zero vector is undefined), 0 when only `got` is.
  std::optional<double> cosine = 1.0;
  // 10*log10(sum ref^2 / sum (ref-got)^2): +inf when the error is zero, unset when the error is not
  // zero but the reference is all zero (no signal to measure the noise against). Unset for strings.
  std::optional<double> sqnr_db;
  double ref_energy = 0, noise_energy = 0;  // sum ref^2 and sum (ref-got)^2 over the finite elements
  int64_t failed = 0;    // elements outside both atol and rtol
  int64_t worst_index = -1;  // element with the largest excess over the tolerance (or largest abs error)
  double worst_ref = 0, worst_got = 0;
  std::optional<double> top1_agreement;  // for 2-D outputs: fraction of rows whose argmax agrees
  int64_t top1_rows = 0, top1_agree = 0;  // the rows compared and those that agree
  std::string mismatch;  // non-empty when dtype or shape differ (no numbers then)
  std::array<int64_t, kAbsErrorBins> abs_error_hist{};  // numeric elements per abs_error_bin
};

// Compares `got` with `ref`. An element fails when |got-ref| > atol + rtol*|ref| (NaN equals NaN;
// an infinity must match exactly; both are left out of cosine and SQNR). Strings and bools compare
// exactly (strings have no cosine or SQNR). Top-1 agreement is computed for 2-D outputs with at
// least two columns (rows of class scores).
CompareStats compare_tensors(const Tensor& ref, const Tensor& got, const Tolerance& tol);

// "[3,1,2]" element coordinates of a flat index, for messages.
std::string index_to_string(const std::vector<int64_t>& dims, int64_t flat);

}  // namespace ortool
