// --html FILE on compare, quantize, prune and bench: the command's JSON report written as one
// self-contained page (lib/html_report.h).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "lib/status.h"

namespace CLI {
class App;
}

namespace ortool::cli {

// Declares --html FILE on `app`.
void add_html_option(CLI::App& app, std::string& path);
// Writes the page for `kind` ("compare", "quantize", "prune", "bench") showing `report` to `path`;
// the title names the command and `subject` (the model or models).
Status write_html(const std::string& path, std::string_view kind, const nlohmann::json& report, std::string_view subject);

}  // namespace ortool::cli
