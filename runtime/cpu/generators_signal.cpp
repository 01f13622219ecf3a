// Signal-processing generators of opset 17: HannWindow, HammingWindow, BlackmanWindow, MelWeightMatrix.
#include <cmath>

#include "runtime/cpu/shape_ops_util.h"
#include "runtime/cpu/tensor.h"

namespace ortool::rt::cpu {

using namespace tensor_util;  // NOLINT: helpers of this family (shape_ops_util.h)

namespace {

enum class Window { kHann, kHamming, kBlackman };

// Output element type from 'output_datatype' (default float32); numeric types only.
Status output_type(const ir::Node& n, DType& t) {
  t = static_cast<DType>(n.attr_int("output_datatype", static_cast<int64_t>(DType::Float)));
  if (!dtype_is_known(static_cast<int32_t>(t)) || t == DType::String || t == DType::Complex64 ||
      t == DType::Complex128)
    return node_unsupported(n, "output_datatype {}", static_cast<int32_t>(t));
  return Status::ok();
}

// y[n] = sum_k a_k cos(2 pi k n / N), N = size (periodic) or size - 1 (symmetric).
class WindowKernel final : public CheckedKernel {
 public:
  WindowKernel(const KernelInit& init, Window w) : window_(w), periodic_(init.node.attr_int("periodic", 1) != 0) {
    status_ = output_type(init.node, dtype_);
  }
  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(int64_t size, scalar_int_input(ctx, 0, "size"));
    if (size < 0) return node_error(n, "size {} is negative", size);
    TRY(checked_dims(n, {size}).status());
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, dtype_, {size}));
    const double big_n = static_cast<double>(periodic_ ? size : size - 1);
    for (int64_t i = 0; i < size; ++i) {
      const double phase = big_n > 0 ? 2.0 * M_PI * static_cast<double>(i) / big_n : 0.0;
      double y = 0;
      switch (window_) {
        case Window::kHann: y = 0.5 - 0.5 * std::cos(phase); break;
        case Window::kHamming: y = 25.0 / 46.0 - 21.0 / 46.0 * std::cos(phase); break;
        case Window::kBlackman: y = 0.42 - 0.5 * std::cos(phase) + 0.08 * std::cos(2 * phase); break;
      }
      set_from_double(*out, i, y);
    }
    return Status::ok();
  }

 private:
  Window window_;
  bool periodic_;
  DType dtype_ = DType::Float;
};

template <Window kWindow>
KernelFactory window_factory() {
  return [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    auto k = std::make_unique<WindowKernel>(init, kWindow);
    if (!k->init_status().is_ok()) return k->init_status();
    return std::unique_ptr<Kernel>(std::move(k));
  };
}

// MelWeightMatrix-17: [dft_length / 2 + 1, num_mel_bins] triangular filters spaced on the mel scale
// (the bin edges follow ONNX's reference: num_mel_bins + 2 points, mel step divided by that count).
class MelWeightMatrixKernel final : public CheckedKernel {
 public:
  explicit MelWeightMatrixKernel(const KernelInit& init) { status_ = output_type(init.node, dtype_); }
  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(int64_t bins, scalar_int_input(ctx, 0, "num_mel_bins"));
    ASSIGN_OR_RETURN(int64_t dft_length, scalar_int_input(ctx, 1, "dft_length"));
    ASSIGN_OR_RETURN(int64_t sample_rate, scalar_int_input(ctx, 2, "sample_rate"));
    ASSIGN_OR_RETURN(double lower, scalar_double_input(ctx, 3, "lower_edge_hertz"));
    ASSIGN_OR_RETURN(double upper, scalar_double_input(ctx, 4, "upper_edge_hertz"));
    if (bins <= 0 || dft_length <= 0 || sample_rate <= 0)
      return node_error(n, "num_mel_bins ({}), dft_length ({}) and sample_rate ({}) must be positive", bins, dft_length,
                        sample_rate);
    if (!(lower >= 0 && upper > lower && std::isfinite(upper)))
      return node_error(n, "edges [{}, {}] Hz must satisfy 0 <= lower < upper", lower, upper);
    const int64_t spec_bins = dft_length / 2 + 1;
    TRY(checked_dims(n, {spec_bins, bins}).status());
    const double low_mel = 2595.0 * std::log10(1.0 + lower / 700.0);
    const double high_mel = 2595.0 * std::log10(1.0 + upper / 700.0);
    const double step = (high_mel - low_mel) / static_cast<double>(bins + 2);
    std::vector<int64_t> edge(static_cast<size_t>(bins + 2));
    for (int64_t i = 0; i < bins + 2; ++i) {
      const double hz = 700.0 * (std::pow(10.0, (static_cast<double>(i) * step + low_mel) / 2595.0) - 1.0);
      edge[i] = static_cast<int64_t>(std::floor(static_cast<double>(dft_length + 1) * hz / static_cast<double>(sample_rate)));
      if (edge[i] < 0 || edge[i] >= spec_bins)
        return node_error(n, "mel bin edge {} falls outside the {} spectrogram bins (upper_edge_hertz {} too high?)",
                          edge[i], spec_bins, upper);
    }
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, dtype_, {spec_bins, bins}));
    std::vector<double> w(static_cast<size_t>(spec_bins * bins), 0.0);
    for (int64_t i = 0; i < bins; ++i) {
      const int64_t lo = edge[i], center = edge[i + 1], hi = edge[i + 2];
      if (center == lo) {
        w[center * bins + i] = 1;
      } else {
        for (int64_t j = lo; j <= center; ++j) w[j * bins + i] = static_cast<double>(j - lo) / static_cast<double>(center - lo);
      }
      if (hi > center)
        for (int64_t j = center; j < hi; ++j) w[j * bins + i] = static_cast<double>(hi - j) / static_cast<double>(hi - center);
    }
    for (size_t k = 0; k < w.size(); ++k) set_from_double(*out, static_cast<int64_t>(k), w[k]);
    return Status::ok();
  }

 private:
  DType dtype_ = DType::Float;
};

}  // namespace

void register_signal_generator_ops(KernelRegistry& r) {
  r.add("", "HannWindow", 17, INT32_MAX, window_factory<Window::kHann>());
  r.add("", "HammingWindow", 17, INT32_MAX, window_factory<Window::kHamming>());
  r.add("", "BlackmanWindow", 17, INT32_MAX, window_factory<Window::kBlackman>());
  r.add("", "MelWeightMatrix", 17, INT32_MAX, checked_factory<MelWeightMatrixKernel>());
}

}  // namespace ortool::rt::cpu
