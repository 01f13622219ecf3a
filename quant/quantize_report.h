// Building the quantize report: one entry per node of the float model, quantized or left float.
#pragma once

#include <string>

#include "lib/graph.h"
#include "quant/quantize.h"
#include "quant/quantize_plan.h"

namespace ortool::quant {

// The node's name, or its description when unnamed (the report's key for a node).
std::string node_label(const ir::Node& n);

// Fills report.quantized / report.left_float from a static plan.
void fill_report_nodes(const StaticPlan& plan, QuantizeReport& report);

// Replaces the detail of the quantized entry labelled `label` (after a lowering changed how it runs).
void set_quantized_detail(QuantizeReport& report, const std::string& label, const std::string& detail);

}  // namespace ortool::quant
