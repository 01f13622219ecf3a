// render_html_report: fills the page template with the inlined chart library, the page code and the data.
#include "lib/html_report.h"

#include <algorithm>
#include <functional>
#include <map>

#include "lib/file_util.h"

namespace ortool {

namespace report_assets {
extern const char kD3Js[];
extern const char kC3Js[];
extern const char kC3Css[];
extern const char kPageHtml[];
extern const char kPageJs[];
extern const char kPageCss[];
}  // namespace report_assets

namespace {

// Text for inside an HTML element or attribute.
std::string escape_html(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// JSON for inside <script type="application/json">: a '<' may only occur inside JSON strings, where
// \u003c means the same, and without it no "</script>" or "<!--" in a value can end the element early.
std::string escape_json_for_script(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  for (char c : json) {
    if (c == '<') out += "\\u003c";
    else out += c;
  }
  return out;
}

// The template with each @NAME@ marker replaced by its text, in one pass over the template, so nothing
// the data or the libraries contain is ever read as a marker. Each marker must occur at least once.
Result<std::string> fill(std::string_view page, const std::map<std::string, std::string, std::less<>>& texts) {
  std::string out;
  std::map<std::string_view, int> seen;
  size_t at = 0;
  while (true) {
    size_t open = page.find('@', at);
    if (open == std::string_view::npos) break;
    size_t close = page.find('@', open + 1);
    if (close == std::string_view::npos) return internal_error("HTML report template: unpaired '@'");
    std::string_view name = page.substr(open + 1, close - open - 1);
    auto it = texts.find(name);
    if (it == texts.end()) return internal_error("HTML report template: unknown marker @{}@", name);
    ++seen[it->first];
    out.append(page.substr(at, open - at));
    out.append(it->second);
    at = close + 1;
  }
  out.append(page.substr(at));
  for (const auto& [name, text] : texts)
    if (seen[name] == 0) return internal_error("HTML report template: marker @{}@ is missing", name);
  return out;
}

}  // namespace

Result<std::string> render_html_report(std::string_view kind, std::string_view json, std::string_view title) {
  if (std::find(std::begin(kHtmlReportKinds), std::end(kHtmlReportKinds), kind) == std::end(kHtmlReportKinds))
    return internal_error("no HTML report layout for '{}'", kind);
  std::map<std::string, std::string, std::less<>> texts;
  texts["TITLE"] = escape_html(title);
  texts["KIND"] = escape_html(kind);
  texts["STYLE"] = std::string(report_assets::kC3Css) + "\n" + report_assets::kPageCss;
  texts["DATA"] = escape_json_for_script(json);
  texts["D3"] = report_assets::kD3Js;
  texts["C3"] = report_assets::kC3Js;
  texts["PAGE"] = report_assets::kPageJs;
  return fill(report_assets::kPageHtml, texts);
}

Status write_html_report(const std::filesystem::path& path, std::string_view kind, std::string_view json,
                         std::string_view title) {
  auto page = render_html_report(kind, json, title);
  if (!page.is_ok()) return page.status();
  return write_file_atomic(path, *page).with_context(path.string());
}

}  // namespace ortool
