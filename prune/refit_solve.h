// The refit's solver: ridge least squares that shrinks toward the layer's own (pruned) weights, with
// the ridge weight chosen on rows the fit did not see (see refit.h for where the rows come from).
//
// For rows A (inputs, the bias column of ones last when there is one), targets Y and the layer's
// weights W0 restricted to the inputs it kept:
//   W = argmin ||A W - Y||^2 + lambda ||W_w - W0_w||^2 = W0 + (A^T A + lambda D)^-1 A^T (Y - A W0),
// D the identity on the weights and 0 on the bias (the intercept is not shrunk). W moves from W0 only
// in directions the rows span, so fewer rows than unknowns are safe: what the data does not see stays
// as it was, and lambda -> infinity leaves W0 with only its bias corrected.
// lambda = alpha x the mean of diag(A^T A) over the weights.
#pragma once

#include <Eigen/Dense>

#include <cstdint>
#include <span>

namespace ortool::prune {

using Mat = Eigen::MatrixXd;
using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Candidate alphas, largest (closest to W0) first.
inline constexpr double kAlphas[] = {10, 1, 0.1, 1e-2, 1e-3, 1e-4};

// Normal equations of a set of rows: A^T A, A^T Y, ||Y||^2.
struct NormalEquations {
  Mat ata, aty;
  double yy = 0;
  int64_t rows = 0;
  NormalEquations(int64_t k, int64_t m) : ata(Mat::Zero(k, k)), aty(Mat::Zero(k, m)) {}
  void add(const Mat& a, const Mat& t);  // rows a (r x k) with targets t (r x m)
  void finish();                         // fills the upper triangle (add writes the lower)
  void merge(const NormalEquations& o);
};

// A fit of one group of output channels, and its squared error summed over the judged rows before
// (W0) and after.
struct GroupFit {
  Mat w;
  double alpha = 0;
  double before = 0, after = 0;
  int64_t judged = 0;  // rows the errors are over
};

// Many rows: alpha (from `kAlphas`) chosen on `held`, the rows the fit on `fit` did not see; when the
// fit lowers the error there it is solved again on both (`fit` gets `held` merged into it).
// `n_w` = unknowns that are weights (the rest, the last row of w0, is the bias).
GroupFit fit_normal_equations(NormalEquations& fit, const NormalEquations& held, const Mat& w0, int64_t n_w);

// Few rows (kept as rows; fewer than unknowns is fine): alpha (10 ... 1e-6 by half decades) chosen by
// leave-one-row-out error, exact and cheap through one eigen-decomposition of the rows' r x r Gram
// matrix (the dual form); every row is judged. `bias`: the last column of `a` is the ones column.
GroupFit fit_rows(const RowMat& a, const RowMat& y, const Mat& w0, bool bias);

}  // namespace ortool::prune
