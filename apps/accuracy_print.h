// Printing an AccuracyReport (lib/accuracy.h) the same way in compare, quantize and prune: the
// per-output table, PASS/FAIL lines with a final verdict, and the JSON form.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/accuracy.h"

namespace ortool::cli {

// The table: max abs, max rel, mean abs, cosine and SQNR (worst sample), top-1 agreement.
void print_accuracy_table(const AccuracyReport& report);
// "  PASS probs" / "  FAIL probs: <reasons>" per output (notes in parentheses), then
// "verdict: PASS (...)" or "verdict: FAIL (...)" summing up the gates.
void print_verdicts(const AccuracyReport& report, const std::vector<OutputVerdict>& verdicts);
// The first failure as one line for the error message, "output 'probs': <reason>"; empty when all pass.
std::string first_failure(const std::vector<OutputVerdict>& verdicts);
// One output's entry of accuracy_json's "outputs" (also each layer of compare --layerwise).
nlohmann::json output_accuracy_json(const OutputAccuracy& output, const OutputVerdict& verdict);
// Each output also has "abs_error_histogram": {"bins": ["0", "<1e-9", ...], "counts": [...]}.
// {"outputs": [{name, max_abs_error, ..., passed, failures, notes}], "gates": {...}, "verdict": "PASS"|"FAIL",
//  "passed": bool}; numbers that are undefined or infinite are null (JSON has no infinity).
nlohmann::json accuracy_json(const AccuracyReport& report, const std::vector<OutputVerdict>& verdicts);

}  // namespace ortool::cli
