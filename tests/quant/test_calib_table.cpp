// Calibration table tests: round trip, hand-edited ranges honoured, bad files named by file and key.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "quant/calib_table.h"

using namespace ortool;
using namespace ortool::quant;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("ortool_calib_table_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
}

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

CalibrationTable sample_table() {
  CalibrationTable t;
  t.method = "entropy";
  t.samples = 200;
  t.ranges["conv1_out"] = {0.0, 6.25};
  t.ranges["input"] = {-2.1179039478302, 2.640000104904175};  // float values, as measured ones are
  t.ranges["edge \"quoted\" name"] = {-1e-7, 3.0e8};
  t.ranges["threshold"] = {-0.1234567890123, 0.1234567890123};  // a bin edge: not a float
  return t;
}

// The error of parsing `text`, which must fail.
std::string error_of(const std::string& text) {
  auto r = parse_calibration_table(text, "calib.json");
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == StatusCode::kInvalid);
  CHECK(r.status().message().find('\n') == std::string::npos);
  return r.status().message();
}

}  // namespace

TEST_CASE("calibration table: written and read back, ranges and header equal") {
  TempDir dir;
  const fs::path file = dir.path / "calib.json";
  const CalibrationTable t = sample_table();
  REQUIRE(write_calibration_table(file, t).is_ok());
  auto back = read_calibration_table(file);
  REQUIRE_MESSAGE(back.is_ok(), back.status().message());
  CHECK(back->method == "entropy");
  CHECK(back->samples == 200);
  REQUIRE(back->ranges.size() == t.ranges.size());
  for (const auto& [name, r] : t.ranges) {
    CAPTURE(name);
    REQUIRE(back->ranges.count(name));
    // Float-valued ends come back as the same float; others as the same double.
    CHECK(static_cast<float>(back->ranges[name].min) == static_cast<float>(r.min));
    CHECK(static_cast<float>(back->ranges[name].max) == static_cast<float>(r.max));
  }
  CHECK(back->ranges["threshold"].max == t.ranges.at("threshold").max);
  // Writing what was read gives the same bytes: the format is stable.
  CHECK(calibration_table_json(*back) == read_text(file));
  // Numbers are short where they can be: what a person edits.
  CHECK(read_text(file).find("\"max\": 6.25}") != std::string::npos);
  CHECK(read_text(file).find("\"max\": 2.64}") != std::string::npos);
}

TEST_CASE("calibration table: a hand-edited range is honoured, and a minimal hand-written table works") {
  TempDir dir;
  const fs::path file = dir.path / "calib.json";
  REQUIRE(write_calibration_table(file, sample_table()).is_ok());
  std::string text = read_text(file);
  const std::string from = "\"conv1_out\": {\"min\": 0, \"max\": 6.25}";
  REQUIRE(text.find(from) != std::string::npos);
  text.replace(text.find(from), from.size(), "\"conv1_out\": {\"min\": 0, \"max\": 4}");
  write_text(file, text);
  auto back = read_calibration_table(file);
  REQUIRE(back.is_ok());
  CHECK(back->ranges["conv1_out"].max == 4);

  auto minimal = parse_calibration_table(R"({"ranges": {"x": {"max": 1.5, "min": -0.5}}})", "hand.json");
  REQUIRE_MESSAGE(minimal.is_ok(), minimal.status().message());
  CHECK(minimal->ranges["x"].min == -0.5);
  CHECK(minimal->ranges["x"].max == 1.5);
  CHECK(minimal->samples == 0);
}

TEST_CASE("calibration table: an empty table is written as valid JSON") {
  CalibrationTable t;
  t.method = "minmax";
  auto back = parse_calibration_table(calibration_table_json(t), "empty.json");
  REQUIRE(back.is_ok());
  CHECK(back->ranges.empty());
}

TEST_CASE("calibration table: bad files give one line naming the file and the key") {
  CHECK(error_of("").find("calib.json: not valid JSON") == 0);
  CHECK(error_of("{\"ranges\": {\"x\": {\"min\": 0, \"max\": 1}}").find("calib.json: not valid JSON") == 0);
  CHECK(error_of("[1, 2]").find("calib.json: not a calibration table") == 0);
  CHECK(error_of("{}") == "calib.json: missing \"ranges\"");
  CHECK(error_of(R"({"ranges": []})").find("calib.json: ranges: not an object") == 0);
  CHECK(error_of(R"({"ranges": {"x": {"min": 0}}})") == "calib.json: ranges.x: missing \"max\"");
  CHECK(error_of(R"({"ranges": {"x": {"max": 0}}})") == "calib.json: ranges.x: missing \"min\"");
  CHECK(error_of(R"({"ranges": {"x": {"min": "0", "max": 1}}})") == "calib.json: ranges.x.min: not a number (string)");
  CHECK(error_of(R"({"ranges": {"x": {"min": 0, "max": null}}})") == "calib.json: ranges.x.max: not a number (null)");
  CHECK(error_of(R"({"ranges": {"x": {"min": 0, "max": 1e999}}})") ==
        "calib.json: not valid JSON: number overflow parsing '1e999'");
  CHECK(error_of(R"({"ranges": {"x": {"min": 2, "max": 1}}})") == "calib.json: ranges.x: min 2 is above max 1");
  CHECK(error_of(R"({"ranges": {"x": {"min": 0, "max": 1, "mx": 2}}})") ==
        "calib.json: ranges.x: unknown key 'mx' (min, max)");
  CHECK(error_of(R"({"ranges": {"x": [0, 1]}})").find("calib.json: ranges.x: not an object") == 0);
  CHECK(error_of(R"({"ranges": {"": {"min": 0, "max": 1}}})") == "calib.json: ranges: empty tensor name");
  CHECK(error_of(R"({"ranges": {}, "method": 3})") == "calib.json: method: not a string");
  CHECK(error_of(R"({"ranges": {}, "samples": -1})") == "calib.json: samples: not a non-negative integer (-1)");
  CHECK(error_of(R"({"ranges": {}, "version": 2})") ==
        "calib.json: version: 2 is not supported (this ortool reads version 1)");
  CHECK(error_of(R"({"ranges": {}, "format": "other"})").find("calib.json: format") == 0);
  CHECK(error_of(R"({"ranges": {}, "rangse": {}})").find("calib.json: unknown key 'rangse'") == 0);
  // A tensor listed twice would otherwise keep one of its two ranges silently.
  CHECK(error_of(R"({"ranges": {"x": {"min": 0, "max": 1}, "x": {"min": 0, "max": 2}}})") ==
        "calib.json: key 'x' appears twice in one object");
}

TEST_CASE("calibration table: unreadable paths and atomic writing") {
  TempDir dir;
  auto missing = read_calibration_table(dir.path / "none.json");
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.status().message().find("none.json") != std::string::npos);
  CHECK(missing.status().exit_code() == 2);
  auto folder = read_calibration_table(dir.path);
  REQUIRE_FALSE(folder.is_ok());
  CHECK(folder.status().exit_code() == 2);
  // A folder that does not exist: an error and no file.
  Status st = write_calibration_table(dir.path / "no" / "calib.json", sample_table());
  CHECK_FALSE(st.is_ok());
  CHECK_FALSE(fs::exists(dir.path / "no"));
  // Overwriting keeps the file whole: what is there afterwards is the new table.
  const fs::path file = dir.path / "calib.json";
  REQUIRE(write_calibration_table(file, sample_table()).is_ok());
  CalibrationTable t2;
  t2.method = "minmax";
  t2.ranges["y"] = {1, 2};
  REQUIRE(write_calibration_table(file, t2).is_ok());
  CHECK(read_calibration_table(file)->ranges.size() == 1);
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);  // no temporary left
}

TEST_CASE("calibration table: coverage of the tensors a quantizer needs") {
  CalibrationTable t = sample_table();
  CHECK(check_table_covers(t, {"input", "conv1_out"}, "calib.json").is_ok());
  Status st = check_table_covers(t, {"input", "conv2_out"}, "calib.json");
  CHECK(st.code() == StatusCode::kInvalid);
  CHECK(st.message().find("calib.json: no range for tensor 'conv2_out'") == 0);
}
