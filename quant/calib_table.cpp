// Calibration table files: JSON writing (one line per range) and strict reading with errors naming the key.
#include "quant/calib_table.h"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "lib/file_util.h"

namespace ortool::quant {

namespace {

using json = nlohmann::json;

constexpr uint64_t kMaxTableBytes = uint64_t{64} << 20;

// Shortest text that reads back to the same float when the value is one (ranges measured on float
// tensors are), so hand-editing sees 6.25 rather than 6.25000000000000000; else the shortest double.
std::string number_text(double v) {
  float f = static_cast<float>(v);
  if (static_cast<double>(f) == v) return fmt::format("{}", f);
  return fmt::format("{}", v);
}

std::string quoted(const std::string& s) { return json(s).dump(); }

// nlohmann's messages start with "[json.exception.parse_error.101] "; the rest is what a user needs.
std::string strip_exception_tag(std::string_view what) {
  if (!what.empty() && what.front() == '[') {
    size_t close = what.find("] ");
    if (close != std::string_view::npos) what.remove_prefix(close + 2);
  }
  return std::string(what);
}

Result<double> finite_number(const json& v, const std::string& source, const std::string& key) {
  if (!v.is_number()) return invalid("{}: {}: not a number ({})", source, key, v.type_name());
  double d = v.get<double>();
  if (!std::isfinite(d)) return invalid("{}: {}: not a finite number", source, key);
  return d;
}

Result<TensorRange> parse_range(const json& v, const std::string& source, const std::string& key) {
  if (!v.is_object()) return invalid("{}: {}: not an object like {{\"min\": -1, \"max\": 1}}", source, key);
  for (const auto& [k, _] : v.items())
    if (k != "min" && k != "max") return invalid("{}: {}: unknown key '{}' (min, max)", source, key, k);
  if (!v.contains("min")) return invalid("{}: {}: missing \"min\"", source, key);
  if (!v.contains("max")) return invalid("{}: {}: missing \"max\"", source, key);
  ASSIGN_OR_RETURN(double lo, finite_number(v["min"], source, key + ".min"));
  ASSIGN_OR_RETURN(double hi, finite_number(v["max"], source, key + ".max"));
  if (lo > hi) return invalid("{}: {}: min {} is above max {}", source, key, lo, hi);
  return TensorRange{lo, hi};
}

// Parses JSON and refuses duplicate keys in any object (nlohmann would silently keep the last one,
// and a hand-edited table with a tensor listed twice must not pick one of the two quietly).
Result<json> parse_json_no_duplicates(std::string_view text, const std::string& source) {
  std::vector<std::set<std::string>> keys;  // one set per open object
  std::string duplicate;
  auto callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (event == json::parse_event_t::key && !keys.empty()) {
      std::string k = parsed.get<std::string>();
      if (!keys.back().insert(k).second && duplicate.empty()) duplicate = k;
    }
    return true;
  };
  try {
    json j = json::parse(text.begin(), text.end(), callback);
    if (!duplicate.empty()) return invalid("{}: key '{}' appears twice in one object", source, duplicate);
    return j;
  } catch (const json::exception& e) {
    return invalid("{}: not valid JSON: {}", source, strip_exception_tag(e.what()));
  }
}

}  // namespace

std::string calibration_table_json(const CalibrationTable& table) {
  std::string out = "{\n";
  out += fmt::format("  \"format\": {},\n", quoted(kCalibrationTableFormat));
  out += fmt::format("  \"version\": {},\n", kCalibrationTableVersion);
  out += fmt::format("  \"method\": {},\n", quoted(table.method));
  out += fmt::format("  \"samples\": {},\n", table.samples);
  out += "  \"ranges\": {";
  bool first = true;
  for (const auto& [name, r] : table.ranges) {
    out += first ? "\n" : ",\n";
    first = false;
    out += fmt::format("    {}: {{\"min\": {}, \"max\": {}}}", quoted(name), number_text(r.min), number_text(r.max));
  }
  out += first ? "}\n}\n" : "\n  }\n}\n";
  return out;
}

Status write_calibration_table(const std::filesystem::path& path, const CalibrationTable& table) {
  for (const auto& [name, r] : table.ranges)
    if (!std::isfinite(r.min) || !std::isfinite(r.max))
      return internal_error("{}: range of '{}' is not finite ([{}, {}])", path.string(), name, r.min, r.max);
  return write_file_atomic(path, calibration_table_json(table));
}

Result<CalibrationTable> parse_calibration_table(std::string_view text, const std::string& source) {
  ASSIGN_OR_RETURN(json j, parse_json_no_duplicates(text, source));
  if (!j.is_object()) return invalid("{}: not a calibration table (a JSON object with \"ranges\")", source);
  CalibrationTable table;
  for (const auto& [k, v] : j.items()) {
    if (k == "format") {
      if (!v.is_string() || v.get<std::string>() != kCalibrationTableFormat)
        return invalid("{}: format: expected \"{}\"", source, kCalibrationTableFormat);
    } else if (k == "version") {
      if (!v.is_number_integer() || v.get<int64_t>() != kCalibrationTableVersion)
        return invalid("{}: version: {} is not supported (this ortool reads version {})", source, v.dump(),
                       kCalibrationTableVersion);
    } else if (k == "method") {
      if (!v.is_string()) return invalid("{}: method: not a string", source);
      table.method = v.get<std::string>();
    } else if (k == "samples") {
      if (!v.is_number_integer() || v.get<int64_t>() < 0)
        return invalid("{}: samples: not a non-negative integer ({})", source, v.dump());
      table.samples = v.get<int64_t>();
    } else if (k == "ranges") {
      if (!v.is_object()) return invalid("{}: ranges: not an object of tensor name -> {{\"min\", \"max\"}}", source);
      for (const auto& [name, r] : v.items()) {
        if (name.empty()) return invalid("{}: ranges: empty tensor name", source);
        ASSIGN_OR_RETURN(TensorRange range, parse_range(r, source, "ranges." + name));
        table.ranges[name] = range;
      }
    } else {
      return invalid("{}: unknown key '{}' (format, version, method, samples, ranges)", source, k);
    }
  }
  if (!j.contains("ranges")) return invalid("{}: missing \"ranges\"", source);
  return table;
}

Result<CalibrationTable> read_calibration_table(const std::filesystem::path& path) {
  auto text = read_file(path, kMaxTableBytes);
  if (!text.is_ok()) return text.status();
  return parse_calibration_table(*text, path.string());
}

Status check_table_covers(const CalibrationTable& table, const std::vector<std::string>& tensors,
                          const std::string& source) {
  for (const std::string& t : tensors)
    if (!table.ranges.count(t))
      return invalid("{}: no range for tensor '{}' ({} ranges in the table; was it made for another model?)", source, t,
                     table.ranges.size());
  return Status::ok();
}

}  // namespace ortool::quant
