// MaxPool and AveragePool of tensors stored NHWC (float32; 8-bit MaxPool), for the dnnl provider's NHWC regions.
#pragma once

#include <cstdint>

#include "runtime/cpu/conv.h"

namespace ortool::rt {
class ThreadPool;
}

namespace ortool::rt::cpu {

enum class NhwcPool { Max, Average, AverageIncludePad };

// y[n, oh, ow, c] (NHWC, `w.out` spatially) from x[n, h, w, c] (NHWC, `w.in` spatially) over the 2-D
// window `w` (any strides, dilations, pads, ceil_mode windows), a vector of channels at a time: the
// values of the reference kernels (runtime/cpu/pool.cpp): maxima with NaN propagated and the first of
// equal values kept, sums in row-then-column order divided by the tap count (the taps inside the
// padded input for AverageIncludePad); a window over no input element gives the lowest float (max) or 0.
// Output rows are split over `pool` when the output is large.
void pool2d_nhwc(NhwcPool kind, const conv_family::Window& w, const float* x, float* y, int64_t n, int64_t c,
                 ThreadPool* pool);

// MaxPool of 8-bit NHWC data (int8 when `is_signed`, else uint8) as pool2d_nhwc lays it out, each maximum
// then mapped through `table` (256 entries, the requantization between the input's and output's
// parameters; null: none). A window over padding only gives the type's lowest value (through the table).
void max_pool2d_nhwc_bytes(bool is_signed, const conv_family::Window& w, const uint8_t* x, uint8_t* y, int64_t n,
                           int64_t c, const uint8_t* table, ThreadPool* pool);

}  // namespace ortool::rt::cpu
