// Input options shared by `run`, `compare` and later `bench`: files, a test-data folder, or random data.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/feeds.h"
#include "runtime/provider.h"

namespace CLI {
class App;
}

namespace ortool::cli {

struct InputOptions {
  std::vector<std::string> inputs;  // NAME=FILE
  std::string input_dir;
  bool random = false;
  uint64_t seed = 0;
  std::vector<std::string> shapes;  // NAME=d0,d1,...
  int threads = 1;
  std::string max_memory;           // "512M", "2G", bytes
  // Execution providers in priority order (rt::default_providers: dnnl,cpu with oneDNN built in).
  std::vector<std::string> providers = rt::default_providers();
  bool profile = false;                          // time every node (bench --profile)
  bool optimize = false;                         // optimize the graph in memory first (bench)

  // Parsed --shape values: per input name, and per symbolic dim name (when NAME is a dim symbol).
  std::map<std::string, std::vector<int64_t>> input_shapes;
  std::map<std::string, int64_t> dim_bindings;
};

// Adds --input, --input-dir, --random, --seed, --shape, --threads, --max-memory, --providers to `app`.
void add_input_options(CLI::App& app, InputOptions& o, bool with_input_dir = true);
// Adds only --providers (for commands that declare the other input options their own way).
void add_providers_option(CLI::App& app, InputOptions& o);
// Parses --shape and --max-memory against the model; fills input_shapes / dim_bindings.
Status resolve_shapes(const ir::Graph& g, InputOptions& o);
Result<size_t> parse_bytes(const std::string& text);
// Builds feeds from the options (exactly one source unless --random; --random fills what is missing).
Result<rt::Feeds> build_feeds(const ir::Graph& g, const InputOptions& o);

}  // namespace ortool::cli
