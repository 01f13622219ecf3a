// Samples whose float inputs hold no finite value (all NaN or Inf): counted, and refused in one wording.
#include <cmath>
#include <map>

#include "runtime/samples.h"

namespace ortool::rt {

void FiniteTally::add(const Tensor& t) {
  if (!dtype_is_float(t.dtype())) return;
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double v = t.get_double(i);
    if (std::isnan(v)) ++nan;
    else if (std::isinf(v)) ++inf;
    else ++finite;
  }
}

Status no_finite_value(const SampleSource& samples, std::string_view tensor, int64_t nan, int64_t inf) {
  return invalid("{}: tensor '{}' has no finite value on any calibration sample ({} NaN, {} Inf): the calibration "
                 "data holds NaN or Inf",
                 samples.describe(), tensor, nan, inf);
}

Status check_samples_finite(const SampleSource& samples) {
  std::map<std::string, FiniteTally> tally;  // by input name: the first in name order is reported
  for (size_t i = 0; i < samples.size(); ++i) {
    ASSIGN_OR_RETURN(Sample s, samples.get(i));
    for (const auto& [name, v] : s.feeds) {
      if (!v.is_tensor() || !dtype_is_float(v.tensor.dtype())) continue;
      FiniteTally& t = tally[name];
      if (t.finite == 0) t.add(v.tensor);  // once one value is finite, the input is fine
    }
  }
  for (const auto& [name, t] : tally)
    if (t.finite == 0 && t.nan + t.inf > 0) return no_finite_value(samples, name, t.nan, t.inf);
  return Status::ok();
}

}  // namespace ortool::rt
