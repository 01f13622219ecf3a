// --html FILE: declaring the option and writing the page.
#include "apps/html_option.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "lib/html_report.h"

namespace ortool::cli {

void add_html_option(CLI::App& app, std::string& path) {
  app.add_option("--html", path,
                 "Also write the report as one self-contained HTML page with tables and charts (opens from a file, "
                 "no network needed)")
      ->type_name("FILE.html");
}

Status write_html(const std::string& path, std::string_view kind, const nlohmann::json& report, std::string_view subject) {
  // Undefined numbers are already null in the reports; `replace` keeps a stray invalid UTF-8 byte in a
  // tensor name from aborting the dump.
  std::string json = report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return write_html_report(path, kind, json, fmt::format("ortool {}: {}", kind, subject));
}

}  // namespace ortool::cli
