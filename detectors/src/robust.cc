#include "robust.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <numbers>

namespace tidemark::detectors::internal {
namespace {

// Huber's tuning constant: 95% efficiency at the normal, bounded influence beyond 1.345 σ.
constexpr double kHuberK = 1.345;
// IRLS converges in a handful of steps from a robust start; more buys nothing measurable.
constexpr int kIrlsIterations = 3;

}  // namespace

double MedianInPlace(std::span<double> v) {
  const size_t n = v.size();
  const size_t mid = n / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  double hi = v[mid];
  if (n % 2 == 1) return hi;
  // The lower middle is the largest element of the lower half.
  double lo = *std::max_element(v.begin(), v.begin() + mid);
  return 0.5 * (lo + hi);
}

double Median(std::span<const double> v, std::vector<double>& scratch) {
  scratch.assign(v.begin(), v.end());
  return MedianInPlace(scratch);
}

double MadSigma(std::span<const double> v, double center, std::vector<double>& scratch) {
  if (v.empty()) return 0;
  scratch.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) scratch[i] = std::abs(v[i] - center);
  return kMadToSigma * MedianInPlace(scratch);
}

double QuantileSorted(std::span<const double> sorted, double q) {
  const size_t n = sorted.size();
  if (n == 1) return sorted[0];
  double h = std::clamp(q, 0.0, 1.0) * static_cast<double>(n - 1);
  size_t lo = static_cast<size_t>(std::floor(h));
  size_t hi = std::min(lo + 1, n - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

double HalvesSlope(std::span<const double> t, std::span<const double> y,
                   std::vector<double>& scratch) {
  const size_t n = t.size();
  const size_t half = n / 2;
  auto sorted_median = [](std::span<const double> v) {
    const size_t m = v.size();
    return m % 2 == 1 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
  };
  const double t_lo = sorted_median(t.subspan(0, half));
  const double t_hi = sorted_median(t.subspan(n - half));
  if (!(t_hi > t_lo)) return 0;
  return (Median(y.subspan(n - half), scratch) - Median(y.subspan(0, half), scratch)) /
         (t_hi - t_lo);
}

LineFit HuberLine(std::span<const double> t, std::span<const double> y, double start_slope,
                  std::vector<double>& scratch, std::vector<double>& resid) {
  const size_t n = t.size();
  double slope = start_slope;
  const double t_mid = t[n / 2];
  resid.resize(n);
  for (size_t i = 0; i < n; ++i) resid[i] = y[i] - slope * (t[i] - t_mid);
  double level = Median(resid, scratch) - slope * t_mid;  // at t = 0
  // The scale is fixed from the robust start: re-estimating it each round costs a median
  // and moves the weights only marginally.
  for (size_t i = 0; i < n; ++i) resid[i] = y[i] - (level + slope * t[i]);
  const double sigma = MadSigma(resid, 0.0, scratch);
  LineFit fit;
  fit.level = level;
  fit.slope = slope;
  if (!(sigma > 0)) {
    fit.slope_se = INFINITY;  // a perfect line through most points: nothing to test
    return fit;
  }
  const double c = kHuberK * sigma;
  Eigen::Matrix2d normal;
  Eigen::Vector2d rhs;
  double sw = 0, swt = 0;
  for (int iter = 0; iter < kIrlsIterations; ++iter) {
    normal.setZero();
    rhs.setZero();
    sw = swt = 0;
    for (size_t i = 0; i < n; ++i) {
      const double a = std::abs(y[i] - (level + slope * t[i]));
      const double w = a <= c ? 1.0 : c / a;
      normal(0, 0) += w;
      normal(0, 1) += w * t[i];
      normal(1, 1) += w * t[i] * t[i];
      rhs(0) += w * y[i];
      rhs(1) += w * t[i] * y[i];
      sw += w;
      swt += w * t[i];
    }
    normal(1, 0) = normal(0, 1);
    const Eigen::Vector2d beta = normal.ldlt().solve(rhs);
    if (!beta.allFinite()) break;
    level = beta(0);
    slope = beta(1);
  }
  fit.level = level;
  fit.slope = slope;
  fit.t_mean = sw > 0 ? swt / sw : 0;
  double sxx = 0;
  for (size_t i = 0; i < n; ++i) sxx += (t[i] - fit.t_mean) * (t[i] - fit.t_mean);
  fit.slope_se = sxx > 0 ? sigma / std::sqrt(sxx) : INFINITY;
  return fit;
}

double NormalQuantile(double p) {
  // Acklam's rational approximation (relative error below 1.2e-9).
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549732539343734e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  if (p > 0.97575) {
    double q = std::sqrt(-2 * std::log(1 - p));
    return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  double q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

double NormalUpperTail(double z) { return 0.5 * std::erfc(z / std::numbers::sqrt2); }

}  // namespace tidemark::detectors::internal
