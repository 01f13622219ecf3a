// Samples: the inputs a model is run on by compare, quantize's calibration and prune, read one at a time.
//
// A SampleSource never holds the whole data set: `get(i)` reads sample i from disk (or makes it), so
// calibrating on 100,000 files costs the memory of one. compare, quantize and prune all read samples
// through here, so every sample layout works the same in all three.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

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
  // Reads (or makes) sample i < size(); errors name the file and the input.
  virtual Result<Sample> get(size_t i) const = 0;
  // One line for messages and reports, e.g. "calib/ (1000 .npy files)".
  virtual std::string describe() const = 0;
};

// Samples already in memory (tests, and callers that build feeds themselves).
std::unique_ptr<SampleSource> samples_in_memory(std::vector<Sample> samples, std::string description);

}  // namespace ortool::rt
