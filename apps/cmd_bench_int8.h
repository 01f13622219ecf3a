// `ortool bench --profile`: the int8 group table (runtime/qdq_group_report.h) as JSON and text.
#pragma once

#include <nlohmann/json.hpp>

#include <vector>

#include "runtime/qdq_group_report.h"

namespace ortool::cli {

// [{"group", "node", "provider", "fused", "ms", "reason"}...]; empty for a model without int8 groups.
nlohmann::json int8_groups_json(const std::vector<rt::qdq::GroupRow>& rows);
// Per provider the fused groups (count, time, the `top` slowest) and every int8 op that fell back, with
// the reason; nothing for a model without int8 groups.
void print_int8_groups(const std::vector<rt::qdq::GroupRow>& rows, int top);

}  // namespace ortool::cli
