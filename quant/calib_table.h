// Calibration table files: the tensor ranges as JSON, written after calibrating and read back instead of it.
//
//   {
//     "format": "ortool calibration table",
//     "version": 1,
//     "method": "entropy",
//     "samples": 200,
//     "ranges": {
//       "conv1_out": {"min": 0, "max": 6.25},
//       "input": {"min": -2.1179, "max": 2.64}
//     }
//   }
//
// A user may edit a range by hand (or write a table from scratch: only "ranges" is required); reading
// checks every key and number and names the file and key of the first problem.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "lib/status.h"
#include "quant/ranges.h"

namespace ortool::quant {

inline constexpr const char* kCalibrationTableFormat = "ortool calibration table";
inline constexpr int kCalibrationTableVersion = 1;

struct CalibrationTable {
  std::string method;   // how the ranges were chosen ("entropy"); free text in hand-written tables
  int64_t samples = 0;  // samples calibrated on
  RangeTable ranges;
};

// The JSON text of a table (keys sorted, numbers round-trip exactly).
std::string calibration_table_json(const CalibrationTable& table);
// Writes the table atomically (a temporary file, then rename): never a partial file.
Status write_calibration_table(const std::filesystem::path& path, const CalibrationTable& table);

// Parses a table; `source` names it in errors ("calib.json: ranges.conv1.max: not a number").
Result<CalibrationTable> parse_calibration_table(std::string_view text, const std::string& source);
// Reads and parses a table file (regular files only, at most 64 MiB).
Result<CalibrationTable> read_calibration_table(const std::filesystem::path& path);

// Checks that the table has a range for each of `tensors`; the error names the file and the first
// missing tensor, and hints that the table may come from another model.
Status check_table_covers(const CalibrationTable& table, const std::vector<std::string>& tensors,
                          const std::string& source);

}  // namespace ortool::quant
