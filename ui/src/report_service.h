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
//     notify: [ops-slack, data-teams]  # alert channels (`channels:`) that get a summary
//     base_url: https://tidemark.example.com  # for the link; default routes.base_url, else
//                                  # http://<server.listen>
//
// After writing each report the scheduler enqueues its summary (counts, top incidents, the
// link) for the `notify` channels in the alert outbox (pipeline/report_notice.h): once per
// report and channel, delivered by the service's alert dispatcher.
//
//   GET /reports/          an HTML index of the kept reports, newest first
//   GET /reports/{name}    one report (report-YYYYMMDDTHHMMZ.html)

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tidemark/catalog/store.h"
#include "tidemark/model/clock.h"
#include "tidemark/model/status.h"
#include "tidemark/pipeline/routing.h"
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
  std::vector<std::string> notify;  // channel names
  std::string notify_where;         // "FILE:LINE" of `notify`, for errors
  std::string base_url;             // empty: see ReportBaseUrl
};

// report.base_url, else routing.base_url, else "http://" + listen_address (empty when that
// is empty too); without a trailing "/".
std::string ReportBaseUrl(const ReportScheduleConfig& config,
                          const pipeline::RoutingConfig& routing,
                          std::string_view listen_address);

// Reads the `report:` section of config.file_text. No section: disabled. InvalidArgument with
// file:line for an unknown key, a bad cron expression, time zone, keep or since.
model::Result<ReportScheduleConfig> ReportScheduleFrom(const Config& config);

// Registers GET /reports/ and GET /reports/{name} serving the files of `dir` (blocking pool).
model::Status AddReportRoutes(Router& router, std::string dir);

// Writes the report at each fire time of the schedule until destroyed, and enqueues its
// summary for config.notify. Thread-safe to destroy from any thread; destruction wakes and
// joins the scheduler thread. `store`, `clock` and `routing` must outlive it.
// InvalidArgument (at notify_where) for a notify channel that `routing` does not configure.
class ReportScheduler {
 public:
  static model::Result<std::unique_ptr<ReportScheduler>> Start(
      catalog::Store& store, const ReportScheduleConfig& config, const model::Clock& clock,
      const pipeline::RoutingConfig& routing);
  ~ReportScheduler();
  ReportScheduler(const ReportScheduler&) = delete;
  ReportScheduler& operator=(const ReportScheduler&) = delete;

  // Builds and writes one report as of `now` and enqueues its summary (what each fire does).
  // Returns the file's path.
  model::Result<std::string> WriteNow(model::Timestamp now);

 private:
  struct State;
  explicit ReportScheduler(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace tidemark::ui
