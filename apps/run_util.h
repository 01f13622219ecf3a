// Loading a model and running it once with the shared input options; used by `run` and `compare`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "apps/input_options.h"
#include "lib/graph.h"
#include "lib/input_shapes.h"
#include "runtime/session.h"

namespace ortool::cli {

struct LoadedModel {
  std::string path;
  std::unique_ptr<ir::Model> model;
  std::unique_ptr<rt::Session> session;
  // --shape as resolved against this model before it was optimized (lib/input_shapes.h); `unmatched`
  // names the arguments this model has nothing for, which the caller may refuse.
  ShapeBindings shapes;
  rt::SessionOptions session_options;  // what `session` was created with (compare --layerwise makes its own)
};

// Loads `path` and creates a session; errors name the file.
Result<LoadedModel> load_for_run(const std::string& path, const InputOptions& o);
// Runs and prefixes errors with the model path; `ms` gets the wall time of the run.
Result<std::vector<RValue>> run_once(LoadedModel& m, const rt::Feeds& feeds, double* ms = nullptr);

}  // namespace ortool::cli
