// The scheduler sleeps on a condition variable until the next fire time (re-reading the clock
// at most every minute, so a clock that jumps is followed), then builds the report from the
// store, renders it and hands it to WriteReportFile, which keeps the last N. A failure is
// logged and the next fire time tried: a report missed is not retried, the next one covers
// its window again.

#include "report_service.h"

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include "tidemark/pipeline/report.h"
#include "tidemark/pipeline/report_notice.h"
#include "tidemark/pipeline/report_schedule.h"

namespace tidemark::ui {
namespace {

using model::Result;
using model::Status;
using pipeline::HtmlEscape;

std::string Where(const Config& config, const YAML::Node& node) {
  std::string file = config.file.empty() ? "config" : config.file;
  if (node.Mark().is_null()) return file;
  return file + ":" + std::to_string(node.Mark().line + 1);
}

}  // namespace

Result<ReportScheduleConfig> ReportScheduleFrom(const Config& config) {
  ReportScheduleConfig out;
  if (!config.HasSection("report")) return out;
  YAML::Node root;
  try {
    root = YAML::Load(config.file_text);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(e.what(), config.file);
  }
  YAML::Node section = root["report"];
  if (!section || section.IsNull()) return out;
  if (!section.IsMap()) {
    return Status::InvalidArgument("report: expected a map", Where(config, section));
  }
  try {
    for (const auto& item : section) {
      const std::string key = item.first.as<std::string>();
      const YAML::Node& v = item.second;
      if (key == "schedule") {
        out.schedule = v.as<std::string>();
      } else if (key == "time_zone") {
        out.time_zone = v.as<std::string>();
      } else if (key == "keep") {
        long long keep = v.as<long long>();
        if (keep < 1 || keep > 100000) {
          return Status::InvalidArgument("report.keep: expected 1 to 100000", Where(config, v));
        }
        out.keep = static_cast<size_t>(keep);
      } else if (key == "dir") {
        out.dir = v.as<std::string>();
      } else if (key == "since") {
        out.since = v.as<std::string>();
      } else if (key == "title") {
        out.title = v.as<std::string>();
      } else if (key == "notify") {
        out.notify_where = Where(config, v) + ": report.notify";
        if (v.IsScalar()) {
          out.notify = {v.as<std::string>()};
        } else if (v.IsSequence()) {
          out.notify = v.as<std::vector<std::string>>();
        } else {
          return Status::InvalidArgument("report.notify: expected a channel name or a list",
                                         Where(config, v));
        }
      } else if (key == "base_url") {
        out.base_url = v.as<std::string>();
        if (out.base_url.rfind("http://", 0) != 0 && out.base_url.rfind("https://", 0) != 0) {
          return Status::InvalidArgument("report.base_url: expected an http:// or https:// URL",
                                         Where(config, v));
        }
      } else {
        return Status::InvalidArgument("unknown key \"report." + key + "\"",
                                       Where(config, item.first));
      }
      auto check = [&](Status s) { return s.ok() ? s : s.WithWhere(Where(config, v)); };
      if (key == "schedule") TM_RETURN_IF_ERROR(check(pipeline::CronSchedule::Parse(out.schedule).status()));
      if (key == "time_zone") TM_RETURN_IF_ERROR(check(pipeline::TimeZone::Load(out.time_zone).status()));
      if (key == "since") TM_RETURN_IF_ERROR(check(pipeline::ParseReportDuration(out.since).status()));
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string("report: ") + e.what(), Where(config, section));
  }
  out.enabled = !out.schedule.empty();
  return out;
}

Status AddReportRoutes(Router& router, std::string dir) {
  TM_RETURN_IF_ERROR(router.Add(
      "GET", "/reports/", {.name = "reports_index", .blocking = true},
      [dir](const Request&) {
        std::string body =
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
            "content=\"width=device-width,initial-scale=1\"><title>Tidemark reports</title>"
            "<style>body{font:15px/1.6 system-ui,sans-serif;max-width:640px;margin:2em auto;"
            "padding:0 1em}</style></head><body><h1>Nightly reports</h1>";
        std::vector<std::string> files = pipeline::ListReportFiles(dir);
        if (files.empty()) body += "<p>No report written yet.</p>";
        body += "<ul>";
        for (const std::string& f : files) {
          body += "<li><a href=\"/reports/" + HtmlEscape(f) + "\">" + HtmlEscape(f) + "</a></li>";
        }
        body += "</ul></body></html>";
        Response r;
        r.content_type = "text/html; charset=utf-8";
        r.body = std::move(body);
        return r;
      }));
  return router.Add(
      "GET", "/reports/{name}", {.name = "report_file", .blocking = true},
      [dir](const Request& request) {
        std::string name(request.PathParam("name"));
        std::vector<std::string> files = pipeline::ListReportFiles(dir);
        // Only names the folder listing produced: no path can be smuggled in.
        if (std::find(files.begin(), files.end(), name) == files.end()) {
          return ErrorResponse(Status::NotFound("no such report", name));
        }
        std::ifstream in(std::filesystem::path(dir) / name, std::ios::binary);
        std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (!in && !in.eof()) return ErrorResponse(Status::IoError("cannot read the report", name));
        Response r;
        r.content_type = "text/html; charset=utf-8";
        r.body = std::move(body);
        r.headers.Set("Content-Security-Policy",
                      "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
        return r;
      });
}

std::string ReportBaseUrl(const ReportScheduleConfig& config,
                          const pipeline::RoutingConfig& routing,
                          std::string_view listen_address) {
  std::string base = !config.base_url.empty()  ? config.base_url
                     : !routing.base_url.empty() ? routing.base_url
                     : !listen_address.empty()   ? "http://" + std::string(listen_address)
                                                 : std::string();
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

struct ReportScheduler::State {
  catalog::Store* store = nullptr;
  const model::Clock* clock = nullptr;
  const pipeline::RoutingConfig* routing = nullptr;
  ReportScheduleConfig config;
  pipeline::CronSchedule cron;
  pipeline::TimeZone zone;
  std::chrono::seconds window{86400};
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::thread thread;
};

ReportScheduler::ReportScheduler(std::unique_ptr<State> state) : state_(std::move(state)) {}

Result<std::unique_ptr<ReportScheduler>> ReportScheduler::Start(catalog::Store& store,
                                                                const ReportScheduleConfig& config,
                                                                const model::Clock& clock,
                                                                const pipeline::RoutingConfig& routing) {
  for (const std::string& channel : config.notify) {
    if (!routing.FindChannel(channel)) {
      return Status::InvalidArgument("report.notify: unknown channel \"" + channel +
                                         "\" (not under channels:)",
                                     config.notify_where);
    }
  }
  TM_ASSIGN_OR_RETURN(pipeline::CronSchedule cron, pipeline::CronSchedule::Parse(config.schedule));
  TM_ASSIGN_OR_RETURN(pipeline::TimeZone zone, pipeline::TimeZone::Load(config.time_zone));
  TM_ASSIGN_OR_RETURN(std::chrono::seconds window, pipeline::ParseReportDuration(config.since));
  auto state = std::make_unique<State>();
  state->store = &store;
  state->clock = &clock;
  state->routing = &routing;
  state->config = config;
  state->cron = cron;
  state->zone = zone;
  state->window = window;
  std::unique_ptr<ReportScheduler> scheduler(new ReportScheduler(std::move(state)));
  State* s = scheduler->state_.get();
  ReportScheduler* self = scheduler.get();
  s->thread = std::thread([s, self] {
    std::unique_lock lock(s->mu);
    while (!s->stop) {
      model::Timestamp now = s->clock->Now();
      std::optional<model::Timestamp> next = s->cron.Next(now, s->zone);
      if (!next) {
        spdlog::warn("report schedule \"{}\" never fires: no report will be written",
                     s->config.schedule);
        return;
      }
      // Sleep in steps of at most a minute so that a manual or jumping clock is followed.
      while (!s->stop && s->clock->Now() < *next) {
        auto wait = std::min<std::chrono::microseconds>(*next - s->clock->Now(),
                                                        std::chrono::minutes(1));
        s->cv.wait_for(lock, std::max(wait, std::chrono::microseconds(1000)));
      }
      if (s->stop) return;
      lock.unlock();
      Result<std::string> path = self->WriteNow(*next);
      if (path.ok()) {
        spdlog::info("nightly report written to {}", *path);
      } else {
        spdlog::error("nightly report failed: {}", path.status().ToString());
      }
      lock.lock();
    }
  });
  return scheduler;
}

Result<std::string> ReportScheduler::WriteNow(model::Timestamp now) {
  pipeline::ReportOptions options;
  options.until = now;
  options.since = now - state_->window;
  if (!state_->config.title.empty()) options.title = state_->config.title;
  TM_ASSIGN_OR_RETURN(pipeline::ReportData report, pipeline::BuildReport(*state_->store, options));
  TM_ASSIGN_OR_RETURN(std::filesystem::path path,
                      pipeline::WriteReportFile(state_->config.dir, now,
                                                pipeline::RenderReportHtml(report),
                                                state_->config.keep));
  if (!state_->config.notify.empty()) {
    // The report is kept even when its summary cannot be enqueued: the error is returned
    // (and logged by the caller) and the next report is announced as usual.
    const std::string file = path.filename().string();
    pipeline::ReportNotice notice;
    notice.report_id = path.stem().string();
    notice.base_url = ReportBaseUrl(state_->config, *state_->routing, "");
    notice.url = notice.base_url.empty() ? "" : notice.base_url + "/reports/" + file;
    notice.channels = state_->config.notify;
    TM_ASSIGN_OR_RETURN(size_t enqueued, pipeline::EnqueueReportSummary(
                                             *state_->store, *state_->routing, report, notice,
                                             state_->clock->Now()));
    if (enqueued > 0) {
      spdlog::info("nightly report summary enqueued for {} channel(s)", enqueued);
    }
  }
  return path.string();
}

ReportScheduler::~ReportScheduler() {
  {
    std::lock_guard lock(state_->mu);
    state_->stop = true;
  }
  state_->cv.notify_all();
  if (state_->thread.joinable()) state_->thread.join();
}

}  // namespace tidemark::ui
