// Input options shared by `run`, `compare` and later `bench`: files, a test-data folder, or random data.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/feeds.h"
#include "runtime/provider.h"
#include "runtime/session.h"

namespace CLI {
class App;
class Option;
}

namespace ortool::cli {

struct InputOptions {
  std::vector<std::string> inputs;  // NAME=FILE
  std::string input_dir;
  int random = 0;                   // --random N: seeded random input sets (0: none; --random alone: 1)
  uint64_t seed = 0;
  std::vector<std::string> shapes;  // NAME=d0,d1,...
  int threads = 1;                  // --threads 0 becomes the number of cores at parse time
  std::string max_memory;           // "512M", "2G", bytes
  int64_t max_loop_iterations = rt::SessionOptions{}.max_loop_iterations;  // per Loop node run; 0: no limit
  // Execution providers in priority order; empty: chosen per model (rt::default_providers_for).
  std::vector<std::string> providers;
  bool profile = false;                          // time every node (bench --profile)
  bool optimize = false;                         // optimize the graph in memory first (bench)

  // Parsed --shape values: per input name, and per symbolic dim name (when NAME is a dim symbol).
  std::map<std::string, std::vector<int64_t>> input_shapes;
  std::map<std::string, int64_t> dim_bindings;
};

// The shared options, each declared once so that every subcommand spells and documents it the same.
CLI::Option* add_input_option(CLI::App& app, std::vector<std::string>& inputs);  // --input NAME=FILE
CLI::Option* add_shape_option(CLI::App& app, std::vector<std::string>& shapes);  // --shape NAME=DIMS
CLI::Option* add_threads_option(CLI::App& app, int& threads);                    // --threads N, 0 = all cores
CLI::Option* add_random_option(CLI::App& app, int& count);                       // --random [N]
// The number of cores this process may run on (what --threads 0 means).
int available_cores();

// Adds --max-memory and --max-loop-iterations (the run's resource limits) to `app`.
void add_limit_options(CLI::App& app, InputOptions& o);
// Puts --max-memory and --max-loop-iterations into the session options every model run of a command uses.
Status apply_limit_options(const InputOptions& o, rt::SessionOptions& so);
// Adds --input, --input-dir, --random, --seed, --shape, --threads, the limits, --providers to `app`.
void add_input_options(CLI::App& app, InputOptions& o, bool with_input_dir = true);
// Adds only --providers (for commands that declare the other input options their own way).
void add_providers_option(CLI::App& app, InputOptions& o);
// The session's providers: --providers, or the defaults for each model the session loads.
void apply_provider_options(const InputOptions& o, rt::SessionOptions& so);
// Resolves --shape against the model (lib/input_shapes.h: a name the model lacks is an error) and
// fills input_shapes / dim_bindings.
Status resolve_shapes(const ir::Graph& g, InputOptions& o);
Result<size_t> parse_bytes(const std::string& text);
// Builds feeds from the options (exactly one source unless --random; --random fills what is missing).
// `set` picks the random input set (seed + set); `random_names` gets the inputs filled with random data.
Result<rt::Feeds> build_feeds(const ir::Graph& g, const InputOptions& o, uint64_t set = 0,
                              std::set<std::string>* random_names = nullptr);

}  // namespace ortool::cli
