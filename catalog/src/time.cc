#include "tidemark/model/time.h"

#include <cstdio>

namespace tidemark::model {
namespace {

using std::chrono::days;
using std::chrono::microseconds;

// A tiny cursor over the text: each reader consumes digits or one expected character.
struct Cursor {
  std::string_view s;
  size_t i = 0;

  bool AtEnd() const { return i >= s.size(); }
  bool Peek(char c) const { return i < s.size() && s[i] == c; }
  bool Take(char c) {
    if (!Peek(c)) return false;
    ++i;
    return true;
  }
  // Exactly n digits.
  bool Digits(int n, int& out) {
    if (i + n > s.size()) return false;
    int v = 0;
    for (int k = 0; k < n; ++k) {
      char c = s[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i += n;
    out = v;
    return true;
  }
};

bool ValidDate(int y, int m, int d) {
  using namespace std::chrono;
  return year_month_day{year(y), month(static_cast<unsigned>(m)), day(static_cast<unsigned>(d))}
      .ok();
}

}  // namespace

std::optional<Timestamp> ParseTimestamp(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  Cursor c{text};
  int y, mo, d;
  if (!c.Digits(4, y) || !c.Take('-') || !c.Digits(2, mo) || !c.Take('-') || !c.Digits(2, d)) {
    return std::nullopt;
  }
  if (!ValidDate(y, mo, d)) return std::nullopt;
  int h = 0, mi = 0, sec = 0;
  long long frac_us = 0;
  long long offset_s = 0;
  if (!c.AtEnd()) {
    if (!c.Take('T') && !c.Take('t') && !c.Take(' ')) return std::nullopt;
    if (!c.Digits(2, h) || !c.Take(':') || !c.Digits(2, mi)) return std::nullopt;
    if (c.Take(':') && !c.Digits(2, sec)) return std::nullopt;
    if (h > 23 || mi > 59 || sec > 60) return std::nullopt;  // 60: a leap second, folded below
    if (c.Take('.') || c.Take(',')) {
      int ndig = 0;
      while (!c.AtEnd() && c.s[c.i] >= '0' && c.s[c.i] <= '9') {
        if (ndig < 6) frac_us = frac_us * 10 + (c.s[c.i] - '0');
        ++ndig;
        ++c.i;
      }
      if (ndig == 0) return std::nullopt;
      for (int k = ndig; k < 6; ++k) frac_us *= 10;
    }
    if (c.Take('Z') || c.Take('z')) {
    } else if (c.Peek('+') || c.Peek('-')) {
      int sign = c.s[c.i] == '-' ? -1 : 1;
      ++c.i;
      int oh, om = 0;
      if (!c.Digits(2, oh)) return std::nullopt;
      if (c.Take(':')) {
        if (!c.Digits(2, om)) return std::nullopt;
      } else if (!c.AtEnd()) {
        if (!c.Digits(2, om)) return std::nullopt;
      }
      if (oh > 23 || om > 59) return std::nullopt;
      offset_s = sign * (oh * 3600LL + om * 60LL);
    }
    if (!c.AtEnd()) return std::nullopt;
  }
  if (sec == 60) sec = 59;
  using namespace std::chrono;
  sys_days day_point{year(y) / month(static_cast<unsigned>(mo)) / day(static_cast<unsigned>(d))};
  auto t = time_point_cast<microseconds>(day_point) + hours(h) + minutes(mi) + seconds(sec) +
           microseconds(frac_us) - seconds(offset_s);
  return t;
}

std::string FormatTimestamp(Timestamp t) {
  using namespace std::chrono;
  auto day_point = floor<days>(t);
  year_month_day ymd{day_point};
  auto rest = t - day_point;
  auto h = duration_cast<hours>(rest);
  rest -= h;
  auto m = duration_cast<minutes>(rest);
  rest -= m;
  auto s = duration_cast<seconds>(rest);
  rest -= s;
  long long us = rest.count();
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02lld", int(ymd.year()),
                        unsigned(ymd.month()), unsigned(ymd.day()), int(h.count()),
                        int(m.count()), static_cast<long long>(s.count()));
  if (us != 0) n += std::snprintf(buf + n, sizeof buf - n, ".%06lld", us);
  std::snprintf(buf + n, sizeof buf - n, "Z");
  return buf;
}

}  // namespace tidemark::model
