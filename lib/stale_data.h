// External-data files left behind when a model is written over another: finding and removing them.
//
// `convert --internal -o m.onnx` over an m.onnx whose weights were in m.onnx.data leaves that file
// stale. Only files the replaced model itself referred to are candidates (load_model has already
// kept those inside the model's folder, regular files, no symlinks), and never one the new model or
// the input still uses: an unrelated file is never touched.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ortool {

// The external data files of the model at `path` (canonical); empty when there is no such file or it
// does not load (a broken file there refers to nothing we may remove).
std::vector<std::filesystem::path> external_data_of(const std::filesystem::path& path);

struct StaleRemoval {
  std::vector<std::filesystem::path> removed;
  std::vector<std::string> errors;  // "x.data: Permission denied"
};

// Removes each file of `previous` that is not one of `keep` (compared as files, not spellings).
StaleRemoval remove_stale_data(const std::vector<std::filesystem::path>& previous,
                               const std::vector<std::filesystem::path>& keep);

}  // namespace ortool
