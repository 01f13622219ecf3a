// Fuzz target: calibration table JSON -> ranges (quant/calib_table.h); a table read must write and read back.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_util.h"
#include "quant/calib_table.h"

using namespace ortool;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto table = quant::parse_calibration_table(fuzz::as_view(data, size), "fuzz.json");
  if (!table.is_ok()) return 0;
  std::string json = quant::calibration_table_json(*table);
  auto back = quant::parse_calibration_table(json, "written.json");
  if (!back.is_ok() || back->ranges.size() != table->ranges.size()) {
    std::fprintf(stderr, "a table written by calibration_table_json does not read back: %s\n",
                 back.is_ok() ? "range count differs" : back.status().message().c_str());
    std::abort();
  }
  return 0;
}
