// Ridge fits toward the layer's own weights, lambda chosen on unseen rows (see refit_solve.h).
#include "prune/refit_solve.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ortool::prune {

void NormalEquations::add(const Mat& a, const Mat& t) {
  if (a.rows() == 0) return;
  ata.selfadjointView<Eigen::Lower>().rankUpdate(a.transpose());
  aty.noalias() += a.transpose() * t;
  yy += t.squaredNorm();
  rows += a.rows();
}

void NormalEquations::finish() { ata = Mat(ata.selfadjointView<Eigen::Lower>()); }

void NormalEquations::merge(const NormalEquations& o) {
  ata += o.ata;
  aty += o.aty;
  yy += o.yy;
  rows += o.rows;
}

namespace {

// Systems up to this many weights try every candidate alpha.
constexpr int64_t kEveryAlphaUpTo = 1024;

// Squared error sum of weights `s` on rows given by their normal equations.
double error_of(const Mat& s, const NormalEquations& e) {
  return std::max(0.0, (s.transpose() * e.ata * s).trace() - 2.0 * (s.transpose() * e.aty).trace() + e.yy);
}

// lambda for `alpha`: relative to the weights' mean squared input, so it does not depend on their scale.
double lambda_of(double alpha, double mean_diag) { return alpha * mean_diag + 1e-12; }

// W0 + (A^T A + lambda D)^-1 (A^T Y - A^T A W0), `rhs` = the last factor; empty when not positive definite.
Mat solve_with(const NormalEquations& e, const Mat& rhs, const Mat& w0, int64_t n_w, double alpha) {
  const double mean_diag = n_w > 0 ? e.ata.diagonal().head(n_w).mean() : 0.0;
  Mat reg = e.ata;
  reg.diagonal().head(n_w).array() += lambda_of(alpha, mean_diag);
  Eigen::LLT<Eigen::Ref<Mat>> llt(reg);  // in place: one k x k matrix besides the normal equations
  if (llt.info() != Eigen::Success) return {};
  Mat s = w0 + llt.solve(rhs);
  return s.allFinite() ? s : Mat();
}

// A fit is kept when it lowers the error by more than float rounding of the targets (`yy` = their
// squared sum) could: a layer whose kept channels already give the original's outputs stays as it is.
bool lowers(double after, double before, double yy) { return after < before - 1e-9 * yy; }

}  // namespace

GroupFit fit_normal_equations(NormalEquations& fit, const NormalEquations& held, const Mat& w0, int64_t n_w) {
  GroupFit out;
  out.w = w0;
  out.judged = held.rows;
  out.before = out.after = error_of(w0, held);
  const Mat rhs = fit.aty - fit.ata * w0;
  double best = std::numeric_limits<double>::infinity(), last = best;
  for (double alpha : kAlphas) {
    Mat s = solve_with(fit, rhs, w0, n_w, alpha);
    if (s.size() == 0) continue;
    const double e = error_of(s, held);
    if (e < best) best = e, out.alpha = alpha;
    // Each candidate costs a factorization: a large system stops once the held-out error rises again
    // (it has one minimum in lambda, but for the noise of few held-out rows).
    if (n_w > kEveryAlphaUpTo && e > last) break;
    last = e;
  }
  if (!lowers(best, out.before, held.yy)) return out;
  // Kept: solved again on every row with the chosen alpha.
  fit.merge(held);
  Mat s = solve_with(fit, fit.aty - fit.ata * w0, w0, n_w, out.alpha);
  if (s.size() == 0) return out;
  out.w = std::move(s);
  out.after = best;
  return out;
}

GroupFit fit_rows(const RowMat& a, const RowMat& y, const Mat& w0, bool bias) {
  GroupFit out;
  out.w = w0;
  const int64_t r = a.rows(), k = a.cols(), n_w = bias ? k - 1 : k;
  out.judged = r;
  const Mat resid = y - a * w0;  // what W0 leaves: the fit moves W0 to explain it
  out.before = out.after = resid.squaredNorm();
  if (r < 2 || n_w < 1) return out;
  // The intercept is not shrunk: centre the rows (columns' means removed) and fit it from the means.
  Mat aw = a.leftCols(n_w), rc = resid;
  Eigen::RowVectorXd mean_a = Eigen::RowVectorXd::Zero(n_w), mean_r = Eigen::RowVectorXd::Zero(resid.cols());
  if (bias) {
    mean_a = aw.colwise().mean();
    mean_r = resid.colwise().mean();
    aw.rowwise() -= mean_a;
    rc.rowwise() -= mean_r;
  }
  const double mean_diag = a.leftCols(n_w).squaredNorm() / static_cast<double>(n_w);  // as diag(A^T A)
  Eigen::SelfAdjointEigenSolver<Mat> es(aw * aw.transpose());
  if (es.info() != Eigen::Success) return out;
  const Mat& v = es.eigenvectors();
  const Eigen::VectorXd ev = es.eigenvalues().cwiseMax(0.0);
  const Mat q = v.transpose() * rc;
  const Mat v2 = v.cwiseAbs2();
  // With H the hat matrix (fitted residuals = H resid) of a lambda, the error on row i of the fit made
  // without row i is e_i / (1 - H_ii): every row judged, each by a fit that did not see it.
  double best = std::numeric_limits<double>::infinity();
  for (int i = 0; i <= 14; ++i) {  // alpha = 10 ... 1e-6 by half decades: each candidate is cheap here
    const double alpha = std::pow(10.0, 1.0 - 0.5 * i);
    const double lambda = lambda_of(alpha, mean_diag);
    const Eigen::VectorXd f = ev.array() / (ev.array() + lambda);
    const Eigen::VectorXd h = (v2 * f).array() + (bias ? 1.0 / static_cast<double>(r) : 0.0);
    if ((1.0 - h.array()).minCoeff() < 1e-9) break;  // a row fit exactly: smaller lambdas interpolate
    Mat e = rc - v * (f.asDiagonal() * q);
    double loo = 0;
    for (int64_t i = 0; i < r; ++i) loo += e.row(i).squaredNorm() / ((1.0 - h(i)) * (1.0 - h(i)));
    if (!std::isfinite(loo)) continue;
    if (loo < best) best = loo, out.alpha = alpha;
  }
  if (!lowers(best, out.before, y.squaredNorm())) return out;
  const Eigen::VectorXd inv = (ev.array() + lambda_of(out.alpha, mean_diag)).inverse();
  const Mat dw = aw.transpose() * (v * (inv.asDiagonal() * q));
  Mat s = w0;
  s.topRows(n_w) += dw;
  if (bias) s.row(n_w) += mean_r - mean_a * dw;
  if (!s.allFinite()) return out;
  out.w = std::move(s);
  out.after = best;
  return out;
}

}  // namespace ortool::prune
