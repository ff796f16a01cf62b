#pragma once

// The nightly report inside the service: the config file's `report:` section, the scheduler
// that writes the report on it, and the routes that serve the kept reports.
//
//   report:
//     schedule: "0 7 * * *"        # cron: minute hour day-of-month month day-of-week
//     time_zone: Europe/London     # IANA name (system zoneinfo) or UTC; default UTC
//     keep: 14                     # reports kept in `dir` (default 14)
//     dir: ./reports               # default ./reports
//     since: 24h                   # window of each report (default 24h)
//     title: Acme nightly report   # optional
//
//   GET /reports/          an HTML index of the kept reports, newest first
//   GET /reports/{name}    one report (report-YYYYMMDDTHHMMZ.html)

#include <memory>
#include <string>

#include "tidemark/catalog/store.h"
#include "tidemark/model/clock.h"
#include "tidemark/model/status.h"
#include "tidemark/ui/config.h"
#include "tidemark/ui/router.h"

namespace tidemark::ui {

struct ReportScheduleConfig {
  bool enabled = false;  // a `report:` section with a schedule
  std::string schedule;
  std::string time_zone = "UTC";
  size_t keep = 14;
  std::string dir = "./reports";
  std::string since = "24h";
  std::string title;
};

// Reads the `report:` section of config.file_text. No section: disabled. InvalidArgument with
// file:line for an unknown key, a bad cron expression, time zone, keep or since.
model::Result<ReportScheduleConfig> ReportScheduleFrom(const Config& config);

// Registers GET /reports/ and GET /reports/{name} serving the files of `dir` (blocking pool).
model::Status AddReportRoutes(Router& router, std::string dir);

// Writes the report at each fire time of the schedule until destroyed. Thread-safe to destroy
// from any thread; destruction wakes and joins the scheduler thread. `store` and `clock` must
// outlive it.
class ReportScheduler {
 public:
  static model::Result<std::unique_ptr<ReportScheduler>> Start(catalog::Store& store,
                                                               const ReportScheduleConfig& config,
                                                               const model::Clock& clock);
  ~ReportScheduler();
  ReportScheduler(const ReportScheduler&) = delete;
  ReportScheduler& operator=(const ReportScheduler&) = delete;

  // Builds and writes one report as of `now` (what each fire does). Returns the file's path.
  model::Result<std::string> WriteNow(model::Timestamp now);

 private:
  struct State;
  explicit ReportScheduler(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace tidemark::ui
