// SampleSource over samples already in memory; the readers of sample folders live beside it.
#include "runtime/samples.h"

namespace ortool::rt {

namespace {

class InMemorySamples final : public SampleSource {
 public:
  InMemorySamples(std::vector<Sample> samples, std::string description)
      : samples_(std::move(samples)), description_(std::move(description)) {}
  size_t size() const override { return samples_.size(); }
  Result<Sample> get(size_t i) const override {
    if (i >= samples_.size()) return invalid("{}: sample {} of {} does not exist", description_, i, samples_.size());
    return samples_[i];
  }
  std::string describe() const override { return description_; }

 private:
  std::vector<Sample> samples_;
  std::string description_;
};

}  // namespace

std::unique_ptr<SampleSource> samples_in_memory(std::vector<Sample> samples, std::string description) {
  return std::make_unique<InMemorySamples>(std::move(samples), std::move(description));
}

}  // namespace ortool::rt
