// Row bands of a 2-D conv's output for a Team (runtime/team.h): the part of a conv each team thread runs.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <vector>

#include "runtime/cpu/conv.h"

namespace ortool::rt::dnnl_ep {

// Output rows [out_row, out_row + win.out[0]) of a conv, computed from input rows [in_row, in_row + win.in[0])
// by the conv with window `win`: the whole conv's top pad when the band starts at the top, its bottom pad when
// it ends at the bottom, none between, so every output reads the inputs it reads in the whole conv.
struct RowBand {
  int64_t in_row = 0, out_row = 0;
  cpu::conv_family::Window win;
};

// How many bands a conv of `multiply_adds`, with `weight_bytes` of weights and `out_rows` output rows, runs as on
// a team of `threads`: one per thread, or 0 (no bands) for one thread, fewer rows than threads, or a conv whose
// work or weights make oneDNN's own split the better one.
int row_band_count(int threads, double multiply_adds, double weight_bytes, int64_t out_rows);

// `count` bands of (nearly) equal numbers of output rows of the conv with window `win` (2-D).
std::vector<RowBand> row_bands(const cpu::conv_family::Window& win, int count);

// The weights for a band's primitive wanting layout `want`: the whole primitive's packed `whole` when the layouts
// agree (the usual case), else the constant user weights (`user` at `user_data`) reordered on `stream`.
dnnl::memory band_weights(const dnnl::memory::desc& want, const dnnl::memory& whole, const dnnl::memory::desc& user,
                          const void* user_data, dnnl::stream& stream);

}  // namespace ortool::rt::dnnl_ep
