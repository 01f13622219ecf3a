// Unit tests of the loss kernels (NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss) and the spectral
// kernels (DFT, STFT) against naive computations written here, plus their error cases.
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/session.h"
#include "tests/runtime/kernel_test_util.h"

using namespace ortool;
using namespace ortool::kernel_test;

namespace {

std::vector<double> as_doubles(const RValue& r) {
  REQUIRE(r.is_tensor());
  std::vector<double> v(static_cast<size_t>(r.tensor.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = r.tensor.get_double(static_cast<int64_t>(i));
  return v;
}

ir::Attribute attr_i(const std::string& n, int64_t v) { return ir::Attribute::make_int(n, v); }
ir::Attribute attr_s(const std::string& n, const std::string& v) { return ir::Attribute::make_string(n, v); }

RValue out(Result<std::vector<RValue>> r, size_t i = 0) {
  if (!r.is_ok()) FAIL(r.status().message());
  REQUIRE(r->size() > i);
  return (*r)[i];
}

// The error of a run that must fail; it names the node.
std::string error_of(Result<std::vector<RValue>> r) {
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message().find("'n'") != std::string::npos);
  return r.status().message();
}

void check_close(const std::vector<double>& got, const std::vector<double>& want, double tol = 1e-4) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(tol));
}

// Naive loss over x [N, C, D] (log-probabilities already applied when wanted), target [N, D].
struct NaiveLoss {
  std::vector<double> per_element;
  double sum = 0, weight_sum = 0;
};
NaiveLoss naive_loss(const std::vector<double>& x, const std::vector<int64_t>& t, const std::vector<double>& w,
                     int64_t n, int64_t c, int64_t d, int64_t ignore = INT64_MIN) {
  NaiveLoss r;
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t k = 0; k < d; ++k) {
      const int64_t cls = t[static_cast<size_t>(b * d + k)];
      double l = 0;
      if (cls != ignore) {
        const double wt = w.empty() ? 1.0 : w[static_cast<size_t>(cls)];
        l = -wt * x[static_cast<size_t>((b * c + cls) * d + k)];
        r.weight_sum += wt;
      }
      r.per_element.push_back(l);
      r.sum += l;
    }
  }
  return r;
}

std::vector<double> naive_log_softmax(const std::vector<float>& x, int64_t n, int64_t c, int64_t d) {
  std::vector<double> lp(x.size());
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t k = 0; k < d; ++k) {
      double s = 0;
      for (int64_t j = 0; j < c; ++j) s += std::exp(static_cast<double>(x[static_cast<size_t>((b * c + j) * d + k)]));
      for (int64_t j = 0; j < c; ++j) {
        const size_t at = static_cast<size_t>((b * c + j) * d + k);
        lp[at] = static_cast<double>(x[at]) - std::log(s);
      }
    }
  }
  return lp;
}

// Naive DFT of complex values: X[k] = sum_j x[j] exp(-+2 pi i k j / len), j < min(size, len).
std::vector<std::complex<double>> naive_dft(const std::vector<std::complex<double>>& x, int64_t len, bool inverse) {
  std::vector<std::complex<double>> y(static_cast<size_t>(len));
  const double sign = inverse ? 1.0 : -1.0;
  for (int64_t k = 0; k < len; ++k) {
    for (int64_t j = 0; j < std::min<int64_t>(len, static_cast<int64_t>(x.size())); ++j)
      y[static_cast<size_t>(k)] += x[static_cast<size_t>(j)] *
                                   std::polar(1.0, sign * 2.0 * M_PI * static_cast<double>(k * j) / static_cast<double>(len));
    if (inverse) y[static_cast<size_t>(k)] /= static_cast<double>(len);
  }
  return y;
}

}  // namespace

TEST_CASE("NegativeLogLikelihoodLoss loss: reductions, weights and ignore_index match a naive loop") {
  const int64_t n = 2, c = 3, d = 4;
  const auto xf = random_floats(static_cast<size_t>(n * c * d), 7);
  const std::vector<double> x(xf.begin(), xf.end());
  const std::vector<int64_t> t = {0, 2, 1, 1, 2, 0, 1, 2};
  const std::vector<double> w = {0.5, 2.0, 1.5};
  const Tensor xt = f32({n, c, d}, xf), tt = i64({n, d}, t), wt = f32({c}, {0.5f, 2.0f, 1.5f});

  SUBCASE("none keeps the target's shape") {
    RValue r = out(run1("NegativeLogLikelihoodLoss", 13, {xt, tt, wt}, 1, {attr_s("reduction", "none")}));
    CHECK(r.tensor.dims() == std::vector<int64_t>{n, d});
    check_close(as_doubles(r), naive_loss(x, t, w, n, c, d).per_element);
  }
  SUBCASE("sum") {
    RValue r = out(run1("NegativeLogLikelihoodLoss", 13, {xt, tt}, 1, {attr_s("reduction", "sum")}));
    CHECK(r.tensor.dims().empty());
    check_close(as_doubles(r), {naive_loss(x, t, {}, n, c, d).sum});
  }
  SUBCASE("mean (default) divides by the sum of the gathered weights") {
    RValue r = out(run1("NegativeLogLikelihoodLoss", 12, {xt, tt, wt}));
    const NaiveLoss l = naive_loss(x, t, w, n, c, d);
    check_close(as_doubles(r), {l.sum / l.weight_sum});
  }
  SUBCASE("mean with ignore_index skips those targets in the sum and the divisor") {
    RValue r = out(run1("NegativeLogLikelihoodLoss", 13, {xt, tt, wt}, 1, {attr_i("ignore_index", 2)}));
    const NaiveLoss l = naive_loss(x, t, w, n, c, d, 2);
    check_close(as_doubles(r), {l.sum / l.weight_sum});
    RValue r2 = out(run1("NegativeLogLikelihoodLoss", 13, {xt, tt}, 1, {attr_i("ignore_index", 2)}));
    const NaiveLoss l2 = naive_loss(x, t, {}, n, c, d, 2);
    CHECK(l2.weight_sum == 5.0);
    check_close(as_doubles(r2), {l2.sum / l2.weight_sum});
  }
  SUBCASE("an out-of-range ignore_index and int32 targets in double precision") {
    const std::vector<int32_t> t32 = {0, 2, 1, -7, 2, 0, -7, 2};
    std::vector<int64_t> t64(t32.begin(), t32.end());
    RValue r = out(run1("NegativeLogLikelihoodLoss", 13, {f64({n, c, d}, x), i32({n, d}, t32)}, 1,
                        {attr_i("ignore_index", -7), attr_s("reduction", "none")}));
    CHECK(r.tensor.dtype() == DType::Double);
    check_close(as_doubles(r), naive_loss(x, t64, {}, n, c, d, -7).per_element, 1e-12);
  }
}

TEST_CASE("NegativeLogLikelihoodLoss loss: bad targets, shapes and attributes are errors naming the node") {
  const Tensor x = f32({2, 3}, random_floats(6, 3));
  CHECK(error_of(run1("NegativeLogLikelihoodLoss", 13, {x, i64({2}, {0, 3})})).find("out of range") != std::string::npos);
  error_of(run1("NegativeLogLikelihoodLoss", 13, {x, i64({2}, {-1, 0})}));
  // A target equal to ignore_index is fine even out of range; another out-of-range one is not.
  CHECK(run1("NegativeLogLikelihoodLoss", 13, {x, i64({2}, {-1, 0})}, 1, {attr_i("ignore_index", -1)}).is_ok());
  error_of(run1("NegativeLogLikelihoodLoss", 13, {x, i64({2}, {-2, 0})}, 1, {attr_i("ignore_index", -1)}));
  error_of(run1("NegativeLogLikelihoodLoss", 13, {x, i64({3}, {0, 0, 0})}));       // N mismatch
  error_of(run1("NegativeLogLikelihoodLoss", 13, {x, i64({2, 1}, {0, 0})}));       // rank mismatch
  error_of(run1("NegativeLogLikelihoodLoss", 13, {f32({3}, {1, 2, 3}), i64({}, {0})}));  // rank 1 input
  error_of(run1("NegativeLogLikelihoodLoss", 13, {x, f32({2}, {0, 0})}));          // float target
  error_of(run1("NegativeLogLikelihoodLoss", 13, {x, i64({2}, {0, 1}), f32({2}, {1, 1})}));  // weights not [C]
  error_of(run1("NegativeLogLikelihoodLoss", 13, {x, i64({2}, {0, 1}), f64({3}, {1, 1, 1})}));  // weights type
  CHECK_FALSE(run1("NegativeLogLikelihoodLoss", 13, {x, i64({2}, {0, 1})}, 1, {attr_s("reduction", "avg")}).is_ok());
}

TEST_CASE("SoftmaxCrossEntropyLoss loss: loss and log_prob match a naive log-softmax") {
  const int64_t n = 3, c = 5, d = 2;
  const auto xf = random_floats(static_cast<size_t>(n * c * d), 11);
  const std::vector<double> lp = naive_log_softmax(xf, n, c, d);
  const std::vector<int64_t> t = {4, 0, 1, 1, 3, 2};
  const std::vector<float> wf = {1.0f, 0.5f, 2.0f, 0.25f, 3.0f};
  const std::vector<double> w(wf.begin(), wf.end());
  const Tensor xt = f32({n, c, d}, xf), tt = i64({n, d}, t), wt = f32({c}, wf);

  SUBCASE("mean with weights and ignore_index, two outputs") {
    auto r = run1("SoftmaxCrossEntropyLoss", 13, {xt, tt, wt}, 2, {attr_i("ignore_index", 1)});
    const NaiveLoss l = naive_loss(lp, t, w, n, c, d, 1);
    check_close(as_doubles(out(r, 0)), {l.sum / l.weight_sum});
    RValue log_prob = out(r, 1);
    CHECK(log_prob.tensor.dims() == std::vector<int64_t>{n, c, d});
    check_close(as_doubles(log_prob), lp);
  }
  SUBCASE("none and sum") {
    RValue none = out(run1("SoftmaxCrossEntropyLoss", 12, {xt, tt}, 1, {attr_s("reduction", "none")}));
    CHECK(none.tensor.dims() == std::vector<int64_t>{n, d});
    check_close(as_doubles(none), naive_loss(lp, t, {}, n, c, d).per_element);
    RValue sum = out(run1("SoftmaxCrossEntropyLoss", 13, {xt, tt, wt}, 1, {attr_s("reduction", "sum")}));
    check_close(as_doubles(sum), {naive_loss(lp, t, w, n, c, d).sum});
  }
  SUBCASE("errors name the node") {
    error_of(run1("SoftmaxCrossEntropyLoss", 13, {xt, i64({n, d}, {4, 0, 5, 1, 3, 2})}));
    error_of(run1("SoftmaxCrossEntropyLoss", 13, {xt, i64({n, 1}, {0, 0, 0})}));
  }
}

TEST_CASE("DFT: real and complex input, onesided, dft_length, inverse and axis match a naive DFT") {
  const std::vector<float> sig = {1.0f, -2.0f, 0.5f, 3.0f, 1.5f};
  std::vector<std::complex<double>> cs(sig.begin(), sig.end());
  auto as_complex = [](const std::vector<double>& v) {
    std::vector<std::complex<double>> r;
    for (size_t i = 0; i + 1 < v.size(); i += 2) r.emplace_back(v[i], v[i + 1]);
    return r;
  };
  auto check_complex = [](const std::vector<std::complex<double>>& got, const std::vector<std::complex<double>>& want,
                          size_t count) {
    REQUIRE(got.size() == count);
    for (size_t i = 0; i < count; ++i) {
      CHECK(got[i].real() == doctest::Approx(want[i].real()).epsilon(1e-5));
      CHECK(got[i].imag() == doctest::Approx(want[i].imag()).epsilon(1e-5));
    }
  };
  const Tensor x = f32({1, 5, 1}, sig);

  SUBCASE("full spectrum") {
    RValue r = out(run1("DFT", 17, {x}));
    CHECK(r.tensor.dims() == std::vector<int64_t>{1, 5, 2});
    check_complex(as_complex(as_doubles(r)), naive_dft(cs, 5, false), 5);
  }
  SUBCASE("onesided keeps n / 2 + 1 bins") {
    RValue r = out(run1("DFT", 17, {x}, 1, {attr_i("onesided", 1)}));
    CHECK(r.tensor.dims() == std::vector<int64_t>{1, 3, 2});
    check_complex(as_complex(as_doubles(r)), naive_dft(cs, 5, false), 3);
  }
  SUBCASE("dft_length pads with zeros or truncates") {
    RValue pad = out(run1("DFT", 17, {x, i64({}, {8})}));
    CHECK(pad.tensor.dims() == std::vector<int64_t>{1, 8, 2});
    check_complex(as_complex(as_doubles(pad)), naive_dft(cs, 8, false), 8);
    RValue cut = out(run1("DFT", 17, {x, i32({1}, {3})}));
    check_complex(as_complex(as_doubles(cut)), naive_dft(cs, 3, false), 3);
  }
  SUBCASE("inverse of the forward transform gives the signal back") {
    RValue fwd = out(run1("DFT", 17, {x}));
    RValue back = out(run1("DFT", 17, {fwd.tensor}, 1, {attr_i("inverse", 1)}));
    const auto v = as_complex(as_doubles(back));
    REQUIRE(v.size() == 5);
    for (size_t i = 0; i < 5; ++i) {
      CHECK(v[i].real() == doctest::Approx(sig[i]).epsilon(1e-5));
      CHECK(std::abs(v[i].imag()) < 1e-5);
    }
  }
  SUBCASE("axis 2 of [1, 2, 3, 2] complex input") {
    const auto vals = random_floats(12, 5);
    RValue r = out(run1("DFT", 17, {f32({1, 2, 3, 2}, vals)}, 1, {attr_i("axis", 2)}));
    CHECK(r.tensor.dims() == std::vector<int64_t>{1, 2, 3, 2});
    const auto got = as_complex(as_doubles(r));
    for (size_t row = 0; row < 2; ++row) {
      std::vector<std::complex<double>> line;
      for (size_t j = 0; j < 3; ++j) line.emplace_back(vals[(row * 3 + j) * 2], vals[(row * 3 + j) * 2 + 1]);
      const auto want = naive_dft(line, 3, false);
      for (size_t k = 0; k < 3; ++k) {
        CHECK(got[row * 3 + k].real() == doctest::Approx(want[k].real()).epsilon(1e-5));
        CHECK(got[row * 3 + k].imag() == doctest::Approx(want[k].imag()).epsilon(1e-5));
      }
    }
  }
  SUBCASE("bad inputs are errors naming the node") {
    error_of(run1("DFT", 17, {x, i64({}, {0})}));                                   // dft_length 0
    error_of(run1("DFT", 17, {x, i64({}, {-4})}));                                  // negative
    error_of(run1("DFT", 17, {x, i64({2}, {4, 4})}));                               // not a scalar
    error_of(run1("DFT", 17, {x, f32({}, {4})}));                                   // float length
    error_of(run1("DFT", 17, {x}, 1, {attr_i("axis", 2)}));                         // the complex axis
    error_of(run1("DFT", 17, {x}, 1, {attr_i("axis", 3)}));                         // out of range
    error_of(run1("DFT", 17, {f32({1, 2, 3}, random_floats(6, 1))}));               // last dim 3
    error_of(run1("DFT", 17, {f32({1, 5, 2}, random_floats(10, 1))}, 1, {attr_i("onesided", 1)}));
    CHECK_FALSE(run1("DFT", 17, {x}, 1, {attr_i("inverse", 2)}).is_ok());
  }
}

TEST_CASE("STFT: windowed frames match a naive DFT per frame") {
  const int64_t len = 16, step = 4, frame = 8;
  const auto sig = random_floats(len, 21);
  std::vector<float> win(frame);
  for (int64_t j = 0; j < frame; ++j) win[static_cast<size_t>(j)] = 0.5f + 0.05f * static_cast<float>(j);
  auto expect_frames = [&](const RValue& r, bool use_window, int64_t bins) {
    const int64_t frames = 1 + (len - frame) / step;
    REQUIRE(r.tensor.dims() == std::vector<int64_t>{1, frames, bins, 2});
    const auto got = as_doubles(r);
    for (int64_t f = 0; f < frames; ++f) {
      std::vector<std::complex<double>> seg;
      for (int64_t j = 0; j < frame; ++j)
        seg.emplace_back(static_cast<double>(sig[static_cast<size_t>(f * step + j)]) *
                         (use_window ? static_cast<double>(win[static_cast<size_t>(j)]) : 1.0));
      const auto want = naive_dft(seg, frame, false);
      for (int64_t k = 0; k < bins; ++k) {
        const size_t at = static_cast<size_t>((f * bins + k) * 2);
        CHECK(got[at] == doctest::Approx(want[static_cast<size_t>(k)].real()).epsilon(1e-5));
        CHECK(got[at + 1] == doctest::Approx(want[static_cast<size_t>(k)].imag()).epsilon(1e-5));
      }
    }
  };
  const Tensor x = f32({1, len, 1}, sig);
  expect_frames(out(run1("STFT", 17, {x, i64({}, {step}), f32({frame}, win)})), true, frame / 2 + 1);
  expect_frames(out(run1("STFT", 17, {x, i64({}, {step}), RValue(), i64({}, {frame})})), false, frame / 2 + 1);
  expect_frames(out(run1("STFT", 17, {x, i64({}, {step}), f32({frame}, win), i64({}, {frame})}, 1,
                         {attr_i("onesided", 0)})),
                true, frame);

  // Bad inputs.
  error_of(run1("STFT", 17, {x, i64({}, {0}), RValue(), i64({}, {frame})}));           // frame_step 0
  error_of(run1("STFT", 17, {x, i64({}, {-2}), RValue(), i64({}, {frame})}));          // negative step
  error_of(run1("STFT", 17, {x, i64({}, {step}), f32({frame}, win), i64({}, {6})}));   // window != frame_length
  error_of(run1("STFT", 17, {x, i64({}, {step}), RValue(), i64({}, {len + 1})}));      // frame > signal
  error_of(run1("STFT", 17, {x, i64({}, {step}), RValue(), i64({}, {0})}));            // frame_length 0
  error_of(run1("STFT", 17, {x, i64({}, {step}), f64({frame}, std::vector<double>(8, 1.0))}));  // window type
  error_of(run1("STFT", 17, {f32({1, len}, sig), i64({}, {step})}));                    // rank 2 signal
  error_of(run1("STFT", 17, {f32({1, 8, 2}, random_floats(16, 2)), i64({}, {step})}));  // complex + onesided
}
