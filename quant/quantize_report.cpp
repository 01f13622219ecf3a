// Building the quantize report from a plan.
#include "quant/quantize_report.h"

namespace ortool::quant {

std::string node_label(const ir::Node& n) { return n.name.empty() ? n.describe() : n.name; }

void fill_report_nodes(const StaticPlan& plan, QuantizeReport& report) {
  for (const NodePlan& np : plan.nodes) {
    NodeOutcome o{node_label(*np.node), np.node->op_type(), np.detail};
    (np.quantized ? report.quantized : report.left_float).push_back(std::move(o));
  }
}

void set_quantized_detail(QuantizeReport& report, const std::string& label, const std::string& detail) {
  for (NodeOutcome& o : report.quantized)
    if (o.node == label) {
      o.detail = detail;
      return;
    }
}

}  // namespace ortool::quant
