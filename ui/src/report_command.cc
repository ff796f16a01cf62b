#include "report_command.h"

#include <cstdio>
#include <fstream>

#include "tidemark/catalog/store.h"
#include "tidemark/model/clock.h"
#include "tidemark/pipeline/report.h"

namespace tidemark::ui {
namespace {

int Fail(const model::Status& status, int code) {
  std::string where = status.where().empty() ? "" : status.where() + ": ";
  std::fprintf(stderr, "tidemark: error: %s%s\n", where.c_str(), status.message().c_str());
  return code;
}

}  // namespace

int RunReport(const Config& config, const ReportArgs& args) {
  model::Timestamp until = model::SystemClock().Now();
  if (args.until != "now") {
    auto t = model::ParseTimestamp(args.until);
    if (!t) {
      return Fail(model::Status::InvalidArgument("expected \"now\" or an ISO-8601 time, got '" +
                                                     args.until + "'",
                                                 "--until"),
                  2);
    }
    until = *t;
  }
  model::Timestamp since;
  if (auto t = model::ParseTimestamp(args.since); t && args.since.find('-') != std::string::npos) {
    since = *t;
  } else {
    auto d = pipeline::ParseReportDuration(args.since);
    if (!d.ok()) return Fail(d.status(), 2);
    since = until - *d;
  }
  if (args.format != "html" && args.format != "md" && args.format != "json") {
    return Fail(model::Status::InvalidArgument("expected html, md or json, got '" + args.format +
                                                   "'",
                                               "--format"),
                2);
  }
  auto store = catalog::OpenStore({.url = config.db});
  if (!store.ok()) return Fail(store.status(), store.status().IsInvalidArgument() ? 2 : 1);
  pipeline::ReportOptions options;
  options.since = since;
  options.until = until;
  if (!args.title.empty()) options.title = args.title;
  auto report = pipeline::BuildReport(**store, options);
  if (!report.ok()) return Fail(report.status(), report.status().IsInvalidArgument() ? 2 : 1);
  std::string text = args.format == "md"     ? pipeline::RenderReportMarkdown(*report)
                     : args.format == "json" ? pipeline::RenderReportJson(*report)
                                             : pipeline::RenderReportHtml(*report);
  if (args.out.empty() || args.out == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  std::ofstream out(args.out, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) return Fail(model::Status::IoError("cannot write the report", args.out), 1);
  std::fprintf(stderr, "report written to %s (%zu bytes)\n", args.out.c_str(), text.size());
  return 0;
}

}  // namespace tidemark::ui
