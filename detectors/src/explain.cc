#include "explain.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "series_grid.h"

namespace tidemark::detectors::internal {
namespace {

constexpr const char* kDayNames[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                     "Friday", "Saturday", "Sunday"};
constexpr const char* kDayAbbrev[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

std::string GroupThousands(long long v) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out;
  int count = 0;
  for (size_t i = digits.size(); i-- > 0;) {
    out.insert(out.begin(), digits[i]);
    if (++count % 3 == 0 && i > 0) out.insert(out.begin(), ',');
  }
  return v < 0 ? "-" + out : out;
}

std::string TrimZeros(std::string s) {
  if (s.find('.') == std::string::npos) return s;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

std::string FormatNumber(double x) {
  if (!std::isfinite(x)) return x > 0 ? "inf" : (x < 0 ? "-inf" : "nan");
  double a = std::abs(x);
  if (a >= 1000 || (a >= 100 && std::abs(x - std::round(x)) < 1e-9)) {
    return GroupThousands(std::llround(x));
  }
  if (a == 0) return "0";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g", x);
  std::string s = buf;
  // %g may fall back to exponent notation for tiny values; keep it, it is rare and exact.
  if (s.find('e') != std::string::npos) return s;
  return TrimZeros(s);
}

std::string FormatPercent(double fraction) {
  double p = std::abs(fraction) * 100;
  char buf[32];
  if (p >= 10) {
    std::snprintf(buf, sizeof buf, "%.0f%%", p);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f%%", p);
  }
  return buf;
}

std::string FormatDuration(std::int64_t seconds) {
  if (seconds < 0) return "-" + FormatDuration(-seconds);
  if (seconds < 60) return std::to_string(seconds) + "s";
  std::int64_t d = seconds / kDay, h = (seconds % kDay) / kHour, m = (seconds % kHour) / 60;
  if (d > 0) {
    std::string s = std::to_string(d) + "d";
    if (h > 0) return s + " " + std::to_string(h) + "h";
    if (m > 0) return s + " " + std::to_string(m) + "m";
    return s;
  }
  if (h > 0) return std::to_string(h) + "h" + (m > 0 ? " " + std::to_string(m) + "m" : "");
  return std::to_string(m) + "m";
}

std::string FormatWhen(model::Timestamp t, std::int64_t cadence_seconds) {
  using namespace std::chrono;
  std::int64_t s = EpochSeconds(t);
  std::int64_t days_since = FloorDiv(s, kDay);
  year_month_day ymd{sys_days{days{days_since}}};
  int how = HourOfWeek(s);
  std::int64_t in_day = s - days_since * kDay;
  char buf[64];
  if (cadence_seconds >= kDay) {
    std::snprintf(buf, sizeof buf, "%s %04d-%02u-%02u", kDayAbbrev[how / 24],
                  static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()));
  } else {
    std::snprintf(buf, sizeof buf, "%s %04d-%02u-%02u %02d:%02d", kDayAbbrev[how / 24],
                  static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()), static_cast<int>(in_day / kHour),
                  static_cast<int>((in_day % kHour) / 60));
  }
  return buf;
}

std::string SlotPhrase(Seasonality s, int how) {
  char hour[16];
  std::snprintf(hour, sizeof hour, "%02d:00", how % 24);
  switch (s) {
    case Seasonality::kDayOfWeek:
      return std::string("for a ") + kDayNames[how / 24];
    case Seasonality::kHourOfDay:
      return std::string("at ") + hour;
    case Seasonality::kHourOfWeek:
      return std::string("for a ") + kDayNames[how / 24] + " at " + hour;
    default:
      return "";
  }
}

std::string_view SeasonalityPhrase(Seasonality s) {
  switch (s) {
    case Seasonality::kDayOfWeek:
      return "weekly seasonality";
    case Seasonality::kHourOfDay:
      return "daily seasonality";
    case Seasonality::kHourOfWeek:
      return "hour-of-week seasonality";
    default:
      return "no seasonality";
  }
}

std::string HistoryPhrase(std::int64_t seconds) {
  if (seconds >= 2 * kDay) return std::to_string((seconds + kDay / 2) / kDay) + " days of history";
  if (seconds >= 2 * kHour) {
    return std::to_string((seconds + kHour / 2) / kHour) + " hours of history";
  }
  return std::to_string(std::max<std::int64_t>(seconds / 60, 1)) + " minutes of history";
}

}  // namespace tidemark::detectors::internal
