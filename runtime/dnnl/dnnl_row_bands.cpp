// Row bands of a conv's output: which rows each team thread computes from which input rows.
#include "runtime/dnnl/dnnl_row_bands.h"

#include <algorithm>

#include "runtime/dnnl/dnnl_common.h"

namespace ortool::rt::dnnl_ep {

int row_band_count(int threads, double multiply_adds, double weight_bytes, int64_t out_rows) {
  // Above about 2^25 multiply-adds oneDNN's own split over the team wins: resnet18's 3x3 convs (2^27) lost 15-23%
  // on bands of 3 and 4 of 7 rows and kept even on balanced ones. Below it the fork, the join and reading half of
  // the input from the other core cost more than bands of unequal rows (mobilenet_v2's 7x7 tail). Sums of the
  // steps' times at two threads, best of 3-4 alternating runs, without and with bands up to 2^25 (float):
  // squeezenet1_1 3.38 -> 3.26 ms, efficientnet_b0 7.91 -> 7.54, mobilenet_v2 4.22 -> 3.86, shufflenet_v2 2.73 ->
  // 2.59 (up to 2^23: 7.83 and 3.82); int8 mobilenet_v2 1.68 -> 1.46 ms end to end.
  constexpr double kMaxMultiplyAdds = double(1 << 25);
  // Every band reads all of the conv's weights; oneDNN's split over output channels gives each core half. Past
  // half a core's L2 the bands' two copies cost more than they save: regnet_x_400mf's float 1x1 convs of 400
  // channels (640 KiB) made its two-thread steps 4.27 -> 4.49 ms with bands, 4.22 with this bound (mobilenet_v2
  // keeps its gain: 3.12 -> 2.84 ms).
  constexpr double kMaxWeightBytes = double(512 << 10);
  if (threads < 2 || multiply_adds > kMaxMultiplyAdds || weight_bytes > kMaxWeightBytes || out_rows < 2) return 0;
  return static_cast<int>(std::min<int64_t>(threads, out_rows));
}

std::vector<RowBand> row_bands(const cpu::conv_family::Window& win, int count) {
  const int64_t oh = win.out[0], h = win.in[0];
  const int64_t span = (win.kernel[0] - 1) * win.dilation[0] + 1, stride = win.stride[0], top = win.pad_begin[0];
  std::vector<RowBand> bands;
  for (int b = 0; b < count; ++b) {
    const int64_t r0 = oh * b / count, r1 = oh * (b + 1) / count;
    const int64_t first = r0 * stride - top, end = (r1 - 1) * stride - top + span;  // rows read, pads included
    const int64_t i0 = std::max<int64_t>(0, first), i1 = std::min<int64_t>(h, end);
    RowBand band;
    band.in_row = i0;
    band.out_row = r0;
    band.win = win;
    band.win.in[0] = i1 - i0;
    band.win.pad_begin[0] = i0 - first;
    band.win.pad_end[0] = end - i1;
    band.win.out[0] = r1 - r0;
    bands.push_back(band);
  }
  return bands;
}

dnnl::memory band_weights(const dnnl::memory::desc& want, const dnnl::memory& whole, const dnnl::memory::desc& user,
                          const void* user_data, dnnl::stream& stream) {
  if (want == whole.get_desc()) return whole;
  dnnl::memory from(user, cpu_engine(), const_cast<void*>(user_data));
  dnnl::memory to(want, cpu_engine());
  dnnl::reorder(from, to).execute(stream, from, to);
  stream.wait();
  return to;
}

}  // namespace ortool::rt::dnnl_ep
