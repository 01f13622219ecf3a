// One self-contained HTML page for a command's report (compare, quantize, prune, bench): the report's JSON
// embedded as data, rendered into tables and charts by the page's own script with the C3/D3 chart library,
// all inlined at build time (lib/report/), so the file opens from file:// with no network.
//
// The page (lib/report/report.js) marks when it is done: the element #render-status gets
// data-status="ok" (or "error" with data-error, when a script throws or a chart is empty) and
// data-charts="chart-id:points,...", the data points each chart drew; the browser test reads them.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "lib/status.h"

namespace ortool {

// The report kinds the page knows how to lay out.
inline constexpr std::string_view kHtmlReportKinds[] = {"compare", "quantize", "prune", "bench"};

// The page for `kind` showing `json` (a JSON object, as the command's --json prints it); `title` heads
// the page. An unknown kind is an internal error.
Result<std::string> render_html_report(std::string_view kind, std::string_view json, std::string_view title);

// Renders and writes atomically to `path` (no partial file on failure); errors name the path.
Status write_html_report(const std::filesystem::path& path, std::string_view kind, std::string_view json,
                         std::string_view title);

}  // namespace ortool
