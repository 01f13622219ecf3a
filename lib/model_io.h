// Loading and saving ONNX model files: path checks, external data, atomic writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/status.h"

namespace ortool {

struct LoadOptions {
  // Subgraphs (If/Loop/Scan bodies) nested deeper than this are refused.
  int max_subgraph_depth = 64;
};

// What load_model found besides the model itself.
struct LoadInfo {
  uint64_t file_bytes = 0;
  // External data files the model's tensors live in (canonical paths); empty when all inline.
  std::vector<std::filesystem::path> external_files;
};

// Loads an .onnx file: regular files only, read once (mapped), external data mapped from files
// inside the model's folder. Errors name the file, node and tensor ("model.onnx: empty file").
Result<std::unique_ptr<ir::Model>> load_model(const std::filesystem::path& path, const LoadOptions& options = {},
                                              LoadInfo* info = nullptr);

struct SaveOptions {
  // Put tensors of at least `threshold` bytes into one data file beside the model.
  bool external_data = false;
  size_t threshold = 1024;
  // Data file name relative to the model's folder; default "<model file name>.data".
  std::string location;
  // Never switch to external data on its own: a model over 2 GiB is then an error.
  bool force_internal = false;
  // When set, refuse to overwrite this file (the model being transformed) unless `force`.
  std::filesystem::path input_path;
  bool force = false;
};

struct SaveInfo {
  bool used_external_data = false;
  // True when the model was too large for one protobuf file and external data was chosen for it.
  bool switched_to_external = false;
  std::filesystem::path data_path;  // set when a data file was written
  size_t external_tensors = 0;
  uint64_t model_bytes = 0;
  uint64_t data_bytes = 0;
};

// Saves atomically (temporary files, then rename; data file first). A data file is written fresh
// each time, never appended to.
Result<SaveInfo> save_model(const ir::Model& model, const std::filesystem::path& path, const SaveOptions& options = {});
// save_model with a single-file limit below protobuf's 2 GiB, so tests can exercise the switch to
// external data (and the force_internal error) without writing gigabytes.
Result<SaveInfo> save_model_with_limit(const ir::Model& model, const std::filesystem::path& path,
                                       const SaveOptions& options, uint64_t inline_limit);

}  // namespace ortool
