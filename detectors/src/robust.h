#pragma once

// Robust statistics shared by the detectors: medians, MAD, quantiles and a Huber line fit.
// Functions take caller-owned scratch space so the hot loops (replay scores millions of
// points) do not allocate.

#include <span>
#include <vector>

namespace tidemark::detectors::internal {

// The consistency constant that turns a median absolute deviation into a standard deviation
// for normal data.
inline constexpr double kMadToSigma = 1.482602218505602;

// Median of `v`; reorders `v`. REQUIRES: !v.empty().
double MedianInPlace(std::span<double> v);

// Median of `v`, using `scratch` for the copy. REQUIRES: !v.empty().
double Median(std::span<const double> v, std::vector<double>& scratch);

// kMadToSigma · median(|v - center|), using `scratch` (left holding |v - center|,
// partitioned around its median). 0 for empty `v`.
double MadSigma(std::span<const double> v, double center, std::vector<double>& scratch);

// Quantile `q` in [0, 1] of ascending `sorted`, interpolating between order statistics
// (Hyndman & Fan type 7, R's default). REQUIRES: !sorted.empty().
double QuantileSorted(std::span<const double> sorted, double q);

// y ≈ level + slope · t, fitted by iteratively reweighted least squares with Huber weights.
struct LineFit {
  double level = 0;  // at t = 0
  double slope = 0;
  double slope_se = 0;  // robust standard error of the slope
  double t_mean = 0;    // weighted mean of t (the fit's pivot)
};

// The slope between the medians of the first and second halves of (t, y) in time: a robust
// start for a line, and a cheap first look at whether there is a trend at all. 0 when t does
// not move. REQUIRES: t ascending, t.size() == y.size() >= 2.
double HalvesSlope(std::span<const double> t, std::span<const double> y,
                   std::vector<double>& scratch);

// Starts from `start_slope` (HalvesSlope) and the median level around it; the residual scale
// is the MAD around that start. REQUIRES: t.size() == y.size() >= 3, t ascending.
// `scratch` and `resid` are working space.
LineFit HuberLine(std::span<const double> t, std::span<const double> y, double start_slope,
                  std::vector<double>& scratch, std::vector<double>& resid);

// Quantile of the standard normal distribution. REQUIRES: 0.5 <= p < 1.
double NormalQuantile(double p);

// P(Z > z) for a standard normal Z.
double NormalUpperTail(double z);

}  // namespace tidemark::detectors::internal
