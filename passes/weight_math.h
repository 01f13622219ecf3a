// Arithmetic on constant weights for the fusions: per-channel vectors and scaled copies.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "lib/graph.h"
#include "lib/tensor.h"

namespace ortool::passes {

// A float32 tensor's values as doubles (nullopt for other types).
std::optional<std::vector<double>> float_values(const Tensor& t);
// A float32 tensor of `dims` from doubles (rounded once).
Tensor float_tensor(std::vector<int64_t> dims, const std::vector<double>& values);

// A float32 constant that broadcasts as one value per channel against an output of rank
// `out_rank` whose channel axis is `axis`: dims right-aligned, every dim 1 except the channel one,
// which is `channels` or 1. Returns the `channels` values (a single value repeated).
std::optional<std::vector<double>> per_channel_values(const Tensor& c, int64_t out_rank, int64_t axis,
                                                      int64_t channels);

// `w` (float32) with slice i along `axis` multiplied by s[i]; nullopt when dims do not fit.
std::optional<Tensor> scale_along_axis(const Tensor& w, int64_t axis, const std::vector<double>& s);

// An inference BatchNormalization over `channels` channels as y = x * scale + shift per channel:
// scale = gamma / sqrt(var + eps), shift = beta - mean * scale. nullopt in training mode, when a
// parameter is not a float32 [channels] constant, or when its statistics outputs are read.
struct BnAffine {
  std::vector<double> scale, shift;
};
std::optional<BnAffine> inference_bn_affine(const ir::Node& bn, int64_t channels);

}  // namespace ortool::passes
