// Cron and time zones for the report schedule, without a dependency: GCC 12's libstdc++ has no
// std::chrono::tzdb, and the POSIX TZ variable is process-wide (setting it races every thread
// that formats a time). A zone is a list of (transition, offset) read once from its TZif file.

#include "tidemark/pipeline/report_schedule.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>

namespace tidemark::pipeline {
namespace {

using model::Result;
using model::Status;
using model::Timestamp;

long long BigEndian(const unsigned char* p, int bytes) {
  unsigned long long v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  if (bytes == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
  return static_cast<long long>(v);
}

long long EpochSeconds(Timestamp t) {
  return std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
}

}  // namespace

Result<TimeZone> TimeZone::Load(std::string_view name, const std::filesystem::path& zoneinfo_dir) {
  TimeZone zone;
  zone.name_ = std::string(name);
  if (name == "UTC" || name == "Etc/UTC" || name == "Z" || name == "GMT") return zone;
  if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos) {
    return Status::InvalidArgument("not a time zone name: '" + std::string(name) + "'",
                                   "report.time_zone");
  }
  std::filesystem::path path = zoneinfo_dir / std::string(name);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::InvalidArgument("unknown time zone '" + std::string(name) +
                                       "' (no file " + path.string() + ")",
                                   "report.time_zone");
  }
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bad = [&](const char* why) {
    return Status::Corruption(std::string("bad TZif file: ") + why, path.string());
  };
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const size_t n = data.size();
  if (n < 44 || data.compare(0, 4, "TZif") != 0) return bad("no TZif header");
  auto counts = [&](size_t at, long long c[6]) {
    for (int i = 0; i < 6; ++i) c[i] = BigEndian(p + at + 20 + 4 * i, 4);
  };
  long long c[6];  // isutcnt isstdcnt leapcnt timecnt typecnt charcnt
  counts(0, c);
  int time_bytes = 4;
  size_t at = 44;
  if (data[4] >= '2') {  // skip the 32-bit block: the 64-bit one follows it
    at += c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
    if (at + 44 > n || data.compare(at, 4, "TZif") != 0) return bad("no second header");
    counts(at, c);
    at += 44;
    time_bytes = 8;
  }
  const long long timecnt = c[3], typecnt = c[4];
  if (typecnt <= 0 ||
      at + static_cast<size_t>(timecnt * (time_bytes + 1) + typecnt * 6) > n) {
    return bad("truncated");
  }
  std::vector<int> type_offset(static_cast<size_t>(typecnt));
  const size_t types_at = at + static_cast<size_t>(timecnt * (time_bytes + 1));
  for (long long i = 0; i < typecnt; ++i) {
    type_offset[static_cast<size_t>(i)] =
        static_cast<int>(BigEndian(p + types_at + 6 * i, 4));
  }
  zone.initial_offset_ = type_offset[0];
  for (long long i = 0; i < timecnt; ++i) {
    size_t type = p[at + static_cast<size_t>(timecnt * time_bytes + i)];
    if (type >= type_offset.size()) return bad("transition names an unknown type");
    zone.transitions_.push_back(BigEndian(p + at + i * time_bytes, time_bytes));
    zone.offsets_.push_back(type_offset[type]);
  }
  if (!std::is_sorted(zone.transitions_.begin(), zone.transitions_.end())) {
    return bad("transitions out of order");
  }
  return zone;
}

int TimeZone::OffsetAt(Timestamp t) const {
  const long long s = EpochSeconds(t);
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), s);
  if (it == transitions_.begin()) return initial_offset_;
  return offsets_[static_cast<size_t>(std::prev(it) - transitions_.begin()) ];
}

Result<CronSchedule> CronSchedule::Parse(std::string_view expression) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < expression.size()) {
    while (i < expression.size() && expression[i] == ' ') ++i;
    size_t j = i;
    while (j < expression.size() && expression[j] != ' ') ++j;
    if (j > i) fields.push_back(expression.substr(i, j - i));
    i = j;
  }
  if (fields.size() != 5) {
    return Status::InvalidArgument(
        "expected five fields (minute hour day-of-month month day-of-week), got '" +
            std::string(expression) + "'",
        "report.schedule");
  }
  static constexpr const char* kNames[] = {"minute", "hour", "day of month", "month",
                                           "day of week"};
  static constexpr int kMin[] = {0, 0, 1, 1, 0}, kMax[] = {59, 23, 31, 12, 7};
  CronSchedule s;
  for (int f = 0; f < 5; ++f) {
    std::vector<bool> on(static_cast<size_t>(kMax[f] + 1), false);
    auto fail = [&](std::string_view part) {
      return Status::InvalidArgument(std::string(kNames[f]) + ": expected *, N, A-B or a step /N "
                                         "within " + std::to_string(kMin[f]) + "-" +
                                         std::to_string(kMax[f]) + ", got '" + std::string(part) +
                                         "'",
                                     "report.schedule");
    };
    std::string_view field = fields[static_cast<size_t>(f)];
    const bool star = field == "*";
    size_t start = 0;
    while (start <= field.size()) {
      size_t comma = field.find(',', start);
      std::string_view part = field.substr(start, comma == std::string_view::npos ? field.npos
                                                                                   : comma - start);
      int lo = kMin[f], hi = kMax[f], step = 1;
      std::string_view range = part;
      if (size_t slash = part.find('/'); slash != std::string_view::npos) {
        std::string_view st = part.substr(slash + 1);
        auto r = std::from_chars(st.data(), st.data() + st.size(), step);
        if (r.ec != std::errc() || r.ptr != st.data() + st.size() || step <= 0) return fail(part);
        range = part.substr(0, slash);
      }
      if (range != "*") {
        size_t dash = range.find('-');
        std::string_view a = range.substr(0, dash);
        auto r = std::from_chars(a.data(), a.data() + a.size(), lo);
        if (r.ec != std::errc() || r.ptr != a.data() + a.size() || a.empty()) return fail(part);
        hi = lo;
        if (dash != std::string_view::npos) {
          std::string_view b = range.substr(dash + 1);
          auto r2 = std::from_chars(b.data(), b.data() + b.size(), hi);
          if (r2.ec != std::errc() || r2.ptr != b.data() + b.size() || b.empty()) {
            return fail(part);
          }
        } else if (part.find('/') != std::string_view::npos) {
          hi = kMax[f];  // "5/15": from 5 on
        }
      }
      if (lo < kMin[f] || hi > kMax[f] || lo > hi) return fail(part);
      for (int v = lo; v <= hi; v += step) on[static_cast<size_t>(v)] = true;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    for (int v = kMin[f]; v <= kMax[f]; ++v) {
      if (!on[static_cast<size_t>(v)]) continue;
      switch (f) {
        case 0: s.minutes_.set(static_cast<size_t>(v)); break;
        case 1: s.hours_.set(static_cast<size_t>(v)); break;
        case 2: s.days_.set(static_cast<size_t>(v)); break;
        case 3: s.months_.set(static_cast<size_t>(v)); break;
        default: s.weekdays_.set(static_cast<size_t>(v % 7)); break;
      }
    }
    if (f == 2) s.any_day_ = star;
    if (f == 4) s.any_weekday_ = star;
  }
  return s;
}

std::optional<Timestamp> CronSchedule::Next(Timestamp after, const TimeZone& zone) const {
  using namespace std::chrono;
  const long long after_s = EpochSeconds(after);
  // Walk local days from the day `after` falls on, in local time.
  const long long local_after = after_s + zone.OffsetAt(after);
  sys_days day = floor<days>(sys_seconds(seconds(local_after)));
  for (int n = 0; n < 366 * 5 + 2; ++n, day += days(1)) {
    year_month_day ymd(day);
    const unsigned dom = static_cast<unsigned>(ymd.day());
    const unsigned month = static_cast<unsigned>(ymd.month());
    const unsigned wd = weekday(day).c_encoding();
    if (!months_.test(month)) continue;
    const bool dom_ok = days_.test(dom), wd_ok = weekdays_.test(wd);
    const bool day_ok = any_day_ && any_weekday_ ? true
                        : any_day_               ? wd_ok
                        : any_weekday_           ? dom_ok
                                                 : (dom_ok || wd_ok);
    if (!day_ok) continue;
    for (int h = 0; h < 24; ++h) {
      if (!hours_.test(static_cast<size_t>(h))) continue;
      for (int m = 0; m < 60; ++m) {
        if (!minutes_.test(static_cast<size_t>(m))) continue;
        const long long local = sys_seconds(day).time_since_epoch().count() + h * 3600 + m * 60;
        // The UTC instant whose local time is `local`: the offset before it first (the
        // earlier of two occurrences in a repeated hour), then after.
        long long utc = local - zone.OffsetAt(model::FromMicros((local - 86400) * 1'000'000));
        if (utc + zone.OffsetAt(model::FromMicros(utc * 1'000'000)) != local) {
          utc = local - zone.OffsetAt(model::FromMicros((local + 86400) * 1'000'000));
          if (utc + zone.OffsetAt(model::FromMicros(utc * 1'000'000)) != local) continue;  // gap
        }
        if (utc > after_s) return model::FromMicros(utc * 1'000'000);
      }
    }
  }
  return std::nullopt;
}

Result<std::filesystem::path> WriteReportFile(const std::filesystem::path& dir, Timestamp at,
                                              std::string_view html, size_t keep) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create the reports folder: " + ec.message(), dir.string());
  std::string stamp = model::FormatTimestamp(at);  // 2026-11-22T07:00:00Z
  std::string name = "report-" + stamp.substr(0, 4) + stamp.substr(5, 2) + stamp.substr(8, 2) +
                     "T" + stamp.substr(11, 2) + stamp.substr(14, 2) + "Z.html";
  std::filesystem::path path = dir / name, tmp = dir / ("." + name + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(html.data(), static_cast<std::streamsize>(html.size()));
    out.close();
    if (!out) return Status::IoError("cannot write the report", tmp.string());
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::IoError("cannot move the report into place: " + ec.message(), path.string());
  std::vector<std::string> files = ListReportFiles(dir);
  for (size_t i = std::max<size_t>(keep, 1); i < files.size(); ++i) {
    std::filesystem::remove(dir / files[i], ec);
  }
  return path;
}

std::vector<std::string> ListReportFiles(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() == 26 && name.rfind("report-", 0) == 0 &&
        name.compare(name.size() - 5, 5, ".html") == 0) {
      out.push_back(std::move(name));
    }
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

}  // namespace tidemark::pipeline
