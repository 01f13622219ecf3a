// Samples: the inputs a model is run on by compare, quantize's calibration and prune, read one at a time.
//
// A SampleSource never holds the whole data set: `get(i)` reads sample i from disk (or makes it), so
// calibrating on 100,000 files costs the memory of one. compare, quantize and prune all read samples
// through here, so every sample layout works the same in all three.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/graph.h"
#include "lib/image.h"
#include "lib/status.h"
#include "runtime/feeds.h"

namespace ortool::rt {

struct Sample {
  std::string label;              // for messages: the file, subfolder or "random #3"
  Feeds feeds;                    // by graph-input name
  std::vector<RValue> expected;   // stored reference outputs (ONNX test-data folders); usually empty
};

class SampleSource {
 public:
  virtual ~SampleSource() = default;
  virtual size_t size() const = 0;
  // Reads (or makes) sample i < size(); errors name the file and the input. Safe to call from
  // several threads at once.
  virtual Result<Sample> get(size_t i) const = 0;
  // One line for messages and reports, e.g. "calib/ (1000 .npy files)".
  virtual std::string describe() const = 0;
};

// Samples already in memory (tests, and callers that build feeds themselves).
std::unique_ptr<SampleSource> samples_in_memory(std::vector<Sample> samples, std::string description);

// How an image folder becomes input tensors. Unset fields come from the model input's shape.
struct ImageOptions {
  int64_t height = 0, width = 0;            // 0: the input's fixed height and width (--image-size)
  // Unset: NCHW when the input's channel dim in that layout is 1 or 3, else NHWC when its last dim
  // is, else NCHW.
  std::optional<ImageLayout> layout;
  ChannelOrder channel_order = ChannelOrder::RGB;
  // value = (pixel * scale - mean[c]) / std[c]. Unset: 1/255 for float inputs (values in [0, 1]),
  // and uint8 inputs take the pixel values (they accept no scale, mean or std).
  std::optional<double> scale;
  std::vector<double> mean;                 // per channel in the input's order, or one value; empty: 0
  std::vector<double> std;                  // likewise; empty: 1
};

struct SampleOptions {
  ImageOptions image;
  // Read the stored outputs (output_K.pb) of ONNX test-data folders into Sample::expected; a
  // folder without them is then an error.
  bool expected_outputs = false;
};

// Opens `path` as samples for the inputs of `g` (which must outlive the source). The layouts:
// - a .npy file: its first axis is the batch, split into samples (one-input models): a model input
//   of the same rank gets slices of its own batch size (1 when the batch dim is symbolic), one of
//   rank one less gets single rows; the file is read one slice at a time;
// - a folder of PNG/JPEG images: one sample per image, resized and normalized by `o.image`
//   (one-input models with a float or uint8 input);
// - a folder of .npy/.pb files: one sample per file (one-input models);
// - a folder of subfolders: one sample per subfolder in ONNX test-data layout (input_K.pb or NAME.npy);
// - an ONNX test-data folder itself (input_K.pb files, with output_K.pb files or for a model of
//   several inputs): one sample.
// Files are listed in name order; hidden files and other extensions are skipped. Errors (empty
// folder, images mixed with tensors, a wrong shape/type/name in a sample) name the path and input.
Result<std::unique_ptr<SampleSource>> open_samples(const ir::Graph& g, const std::filesystem::path& path,
                                                   const SampleOptions& o = {});

// `count` seeded random samples: sample i is rt::random_inputs(g, seed + i, shapes, dims).
std::unique_ptr<SampleSource> random_samples(const ir::Graph& g, size_t count, uint64_t seed,
                                             std::map<std::string, std::vector<int64_t>> shapes,
                                             std::map<std::string, int64_t> dims);

// The first `n` samples of `source` (all of them when it has fewer): --calib-samples N.
std::unique_ptr<SampleSource> first_samples(std::unique_ptr<SampleSource> source, size_t n);

// How many elements of a float tensor were finite, NaN and infinite, summed over samples.
struct FiniteTally {
  int64_t finite = 0, nan = 0, inf = 0;
  void add(const Tensor& t);  // counts nothing for tensors of other types
};

// The error for a tensor that held no finite value on any of `samples` (all NaN or Inf): quantize's
// calibration (any tensor it measures) and prune (its sample inputs) refuse such data in these words.
Status no_finite_value(const SampleSource& samples, std::string_view tensor, int64_t nan, int64_t inf);

// Reads every sample of `samples` and returns no_finite_value for the first float input that held no
// finite value in any of them (NaN or Inf everywhere), or a sample's read error.
Status check_samples_finite(const SampleSource& samples);

// Checks feeds against the model inputs: every required input present, no unknown names, element
// types, ranks and fixed dims as declared. Errors start with `label` (the file or folder).
Status check_feeds(const ir::Graph& g, const Feeds& feeds, std::string_view label);

}  // namespace ortool::rt
