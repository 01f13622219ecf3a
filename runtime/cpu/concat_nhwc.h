// Concat along channels of float32 tensors stored NHWC, for the dnnl provider's NHWC regions.
#pragma once

#include <cstdint>
#include <span>

namespace ortool::rt {
class ThreadPool;
}

namespace ortool::rt::cpu {

// y[p, :] = x_0[p, :] ++ x_1[p, :] ++ ... for `pixels` pixels (N x H x W), input k holding channels[k] values
// per pixel, y their sum. Pixels are walked in tiles, each input's slice of a tile copied at once, so reads
// and writes stay in a few KiB; tiles are split over `pool` when the output is large.
void concat_channels_nhwc(std::span<const float* const> xs, std::span<const int64_t> channels, float* y, int64_t pixels,
                          ThreadPool* pool);

}  // namespace ortool::rt::cpu
