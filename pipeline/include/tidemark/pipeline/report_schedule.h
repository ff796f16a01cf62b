#pragma once

// When the service writes the nightly report, and where it keeps them: a cron expression in a
// time zone, and a folder holding the last N reports.
//
//   report:
//     schedule: "0 7 * * 1-5"      # minute hour day-of-month month day-of-week
//     time_zone: Europe/London      # an IANA name from the system's zoneinfo, or UTC
//     keep: 14
//     dir: ./reports
//
// Cron: five fields, each `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a comma
// list of those; day of week 0-7 with 0 and 7 both Sunday; when both day fields are
// restricted a day matching either runs (as Vixie cron does). Local times that do not exist
// (the hour skipped when clocks go forward) do not fire; a repeated hour fires once, at its
// first occurrence.
//
// Time zones are read from TZif files (/usr/share/zoneinfo); the transitions they list are
// used (Debian's files list them to 2037); after the last one its offset holds.
//
// Thread-safety: the types are immutable after construction; functions are reentrant.

#include <bitset>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tidemark/model/status.h"
#include "tidemark/model/time.h"

namespace tidemark::pipeline {

class TimeZone {
 public:
  // "UTC" (or "Etc/UTC", "Z") without any file; else `zoneinfo_dir`/name. InvalidArgument for
  // a name that is not a zone (or tries to leave the folder), Corruption for a bad file.
  static model::Result<TimeZone> Load(std::string_view name,
                                      const std::filesystem::path& zoneinfo_dir =
                                          "/usr/share/zoneinfo");
  // Seconds east of UTC in force at `t`.
  int OffsetAt(model::Timestamp t) const;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::vector<long long> transitions_;  // UTC seconds, ascending
  std::vector<int> offsets_;            // offset from each transition on
  int initial_offset_ = 0;              // before the first transition
};

class CronSchedule {
 public:
  // InvalidArgument naming the field and what was expected.
  static model::Result<CronSchedule> Parse(std::string_view expression);
  // The first fire time strictly after `after`, in `zone`; nullopt when none within 5 years
  // (e.g. "0 0 31 2 *").
  std::optional<model::Timestamp> Next(model::Timestamp after, const TimeZone& zone) const;

 private:
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;    // 1-31
  std::bitset<13> months_;  // 1-12
  std::bitset<7> weekdays_; // 0 = Sunday
  bool any_day_ = true, any_weekday_ = true;
};

// Writes `html` as `dir`/report-YYYYMMDDTHHMMZ.html (named for `at`, UTC), creating `dir`,
// through a temporary file renamed into place, then removes the oldest such reports past
// `keep` (other files are left alone). Returns the file's path. IoError naming the path.
model::Result<std::filesystem::path> WriteReportFile(const std::filesystem::path& dir,
                                                     model::Timestamp at, std::string_view html,
                                                     size_t keep);

// The reports in `dir`, newest first (file names only). Empty when the folder is missing.
std::vector<std::string> ListReportFiles(const std::filesystem::path& dir);

}  // namespace tidemark::pipeline
