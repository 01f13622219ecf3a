// Tests of the HTML report writer: the chart library and page code are inlined (no external reference),
// the data is embedded so that nothing in it can end its <script> element, and errors are clean.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "lib/html_report.h"

using namespace ortool;

TEST_CASE("render_html_report: inlines D3, C3 and the page code, loads nothing from elsewhere") {
  auto page = render_html_report("bench", R"({"model": "m.onnx"})", "ortool bench: m.onnx");
  REQUIRE(page.is_ok());
  const std::string& p = *page;
  CHECK(p.find("<!DOCTYPE html>") == 0);
  CHECK(p.find("version:\"3.5") != std::string::npos);   // D3 3.5, Debian's libjs-d3
  CHECK(p.find("c3={version:\"0.4") != std::string::npos);  // C3 0.4, Debian's libjs-c3
  CHECK(p.find(".c3 svg") != std::string::npos);                // C3's stylesheet
  CHECK(p.find("render-status") != std::string::npos);
  CHECK(p.find("data-kind=\"bench\"") != std::string::npos);
  CHECK(p.find("<title>ortool bench: m.onnx</title>") != std::string::npos);
  // Self-contained: no script or stylesheet fetched from a URL or file.
  CHECK(p.find("<script src") == std::string::npos);
  CHECK(p.find("<link") == std::string::npos);
  // Every marker filled.
  for (const char* marker : {"@TITLE@", "@KIND@", "@STYLE@", "@DATA@", "@D3@", "@C3@", "@PAGE@"})
    CHECK(p.find(marker) == std::string::npos);
}

TEST_CASE("render_html_report: data cannot close its script element, the title is escaped") {
  auto page = render_html_report("compare", R"({"name": "</script><script>alert(1)</script><!--"})", "a<b & \"c\"");
  REQUIRE(page.is_ok());
  CHECK(page->find("</script><script>alert(1)") == std::string::npos);
  CHECK(page->find(R"(\u003c/script>\u003cscript>alert(1)\u003c/script>\u003c!--)") != std::string::npos);
  CHECK(page->find("<title>a&lt;b &amp; &quot;c&quot;</title>") != std::string::npos);
}

TEST_CASE("render_html_report: every report kind has a layout, others are refused") {
  for (std::string_view kind : kHtmlReportKinds) CHECK(render_html_report(kind, "{}", "t").is_ok());
  auto bad = render_html_report("optimize", "{}", "t");
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().message().find("optimize") != std::string::npos);
}

TEST_CASE("write_html_report: writes the page, and names the path when it cannot") {
  auto dir = std::filesystem::temp_directory_path() / "ortool_test_html_report";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto path = dir / "r.html";
  REQUIRE(write_html_report(path, "prune", R"({"model": "x"})", "t").is_ok());
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str() == *render_html_report("prune", R"({"model": "x"})", "t"));
  Status st = write_html_report(dir / "missing" / "r.html", "prune", "{}", "t");
  CHECK_FALSE(st.is_ok());
  CHECK(st.message().find("missing") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "missing"));
  std::filesystem::remove_all(dir);
}
