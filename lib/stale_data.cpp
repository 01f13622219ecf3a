// Finding the external data of a model about to be replaced, and removing what nothing uses any more.
#include "lib/stale_data.h"

#include <fmt/format.h>

#include "lib/model_io.h"

namespace ortool {

namespace fs = std::filesystem;

std::vector<fs::path> external_data_of(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return {};
  LoadInfo info;
  auto loaded = load_model(path, {}, &info);
  if (!loaded.is_ok()) return {};
  return info.external_files;
}

StaleRemoval remove_stale_data(const std::vector<fs::path>& previous, const std::vector<fs::path>& keep) {
  StaleRemoval r;
  for (const fs::path& p : previous) {
    bool kept = false;
    for (const fs::path& k : keep) {
      std::error_code ec;
      if (p == k || fs::equivalent(p, k, ec)) kept = true;
    }
    std::error_code ec;
    if (kept || !fs::is_regular_file(fs::symlink_status(p, ec))) continue;
    if (fs::remove(p, ec)) r.removed.push_back(p);
    else if (ec) r.errors.push_back(fmt::format("{}: {}", p.string(), ec.message()));
  }
  return r;
}

}  // namespace ortool
