#include "cli.h"

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "demo.h"
#include "demo_receiver.h"
#include "incidents_api.h"
#include "ingest_api.h"
#include "logging.h"
#include "report_command.h"
#include "report_service.h"
#include "routing_config.h"
#include "search_api.h"
#include "sources.h"
#include "tidemark/catalog/store.h"
#include "tidemark/collector/dbt.h"
#include "tidemark/collector/openlineage.h"
#include "tidemark/collector/pushed_metrics.h"
#include "tidemark/pipeline/backtest.h"
#include "tidemark/pipeline/deliverer.h"
#include "tidemark/pipeline/detection.h"
#include "tidemark/pipeline/incidents.h"
#include "tidemark/pipeline/scheduler.h"
#include "tidemark/ui/config.h"
#include "tidemark/ui/redact.h"
#include "tidemark/ui/service.h"
#include "tidemark/ui/version.h"

namespace tidemark::ui {
namespace {

using model::Status;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr std::string_view kDemoDb = "sqlite:./tidemark-demo.db";
std::string Describe(const Status& status) {
  return status.where().empty() ? status.message() : status.where() + ": " + status.message();
}

// The one-line failure format for usage and configuration errors.
int Fail(std::string_view message, int exit_code) {
  std::string line(message);
  std::replace(line.begin(), line.end(), '\n', ' ');
  std::fprintf(stderr, "tidemark: error: %s\n", line.c_str());
  return exit_code;
}

int ExitCodeFor(const Status& status) {
  return status.IsInvalidArgument() ? kExitUsage : kExitFailure;
}

int RunVersion() {
  std::printf("tidemark %s\n%s\n", std::string(Version()).c_str(), BuildDescription().c_str());
  return kExitOk;
}

constexpr const char* kIngestHelp =
    "tidemark ingest <kind> PATH... loads artifacts into the catalog, validated whole and "
    "rejected whole with errors naming the file and JSON path, and prints a JSON summary. "
    "Kinds: dbt (a target/ folder or its manifest.json, run_results.json, sources.json, "
    "catalog.json); openlineage (RunEvents, JobEvents, DatasetEvents as a JSON object, a JSON "
    "array or NDJSON); metrics (pushed stats as CSV or JSON lines: dataset, metric, timestamp, "
    "value).";

struct IngestArgs {
  std::string kind;
  std::vector<std::string> paths;
  std::string ns;
  std::string project;
  bool force = false;
};

bool ReadWholeFile(const std::string& path, std::string* text) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text->append(buf, n);
  bool ok = !std::ferror(f);
  std::fclose(f);
  return ok;
}

// `ingest openlineage FILE...`: every event of every file (JSON object, JSON array or NDJSON)
// in one transaction.
int RunIngestOpenLineage(const Config& config, const IngestArgs& args) {
  if (args.paths.empty()) return Fail("ingest openlineage needs JSON or NDJSON files", kExitUsage);
  std::vector<collector::OpenLineageDocument> events;
  for (const std::string& path : args.paths) {
    std::string text;
    if (!ReadWholeFile(path, &text)) return Fail(path + ": cannot read", kExitFailure);
    auto split = collector::SplitOpenLineageEvents(text, path);
    if (!split.ok()) return Fail(Describe(split.status()), ExitCodeFor(split.status()));
    for (auto& e : *split) events.push_back(std::move(e));
  }
  auto store = catalog::OpenStore({.url = config.db});
  if (!store.ok()) return Fail(Describe(store.status()), ExitCodeFor(store.status()));
  auto report = collector::IngestOpenLineage(**store, events);
  if (!report.ok()) return Fail(Describe(report.status()), ExitCodeFor(report.status()));
  std::printf("%s\n", report->ToJson().c_str());
  return kExitOk;
}

// `ingest metrics FILE...`: pushed stats, each file in its own transaction.
int RunIngestMetrics(const Config& config, const IngestArgs& args) {
  if (args.paths.empty()) return Fail("ingest metrics needs CSV or JSON lines files", kExitUsage);
  auto store = catalog::OpenStore({.url = config.db});
  if (!store.ok()) return Fail(Describe(store.status()), ExitCodeFor(store.status()));
  for (const std::string& path : args.paths) {
    std::string text;
    if (!ReadWholeFile(path, &text)) return Fail(path + ": cannot read", kExitFailure);
    auto report = collector::IngestPushedMetrics(**store, text, path);
    if (!report.ok()) return Fail(Describe(report.status()), ExitCodeFor(report.status()));
    std::printf("%s\n", report->ToJson().c_str());
  }
  return kExitOk;
}

int RunIngest(const Config& config, const IngestArgs& args) {
  if (args.kind == "openlineage") return RunIngestOpenLineage(config, args);
  if (args.kind == "metrics") return RunIngestMetrics(config, args);
  if (args.kind != "dbt") {
    return Fail("unknown kind '" + args.kind + "': dbt, openlineage or metrics", kExitUsage);
  }
  if (args.paths.empty()) return Fail("ingest dbt needs a target/ folder or files", kExitUsage);
  auto store = catalog::OpenStore({.url = config.db});
  if (!store.ok()) return Fail(Describe(store.status()), ExitCodeFor(store.status()));
  std::vector<std::filesystem::path> paths(args.paths.begin(), args.paths.end());
  auto artifacts = collector::LoadDbtTarget(paths);
  if (!artifacts.ok()) return Fail(Describe(artifacts.status()), ExitCodeFor(artifacts.status()));
  collector::DbtOptions options;
  options.ns = args.ns;
  options.project = args.project;
  options.force = args.force;
  auto report = collector::IngestDbt(**store, *artifacts, options);
  if (!report.ok()) return Fail(Describe(report.status()), ExitCodeFor(report.status()));
  std::printf("%s\n", report->ToJson().c_str());
  return kExitOk;
}

struct SearchArgs {
  std::vector<std::string> words;
  std::string kind, owner, tag;
  size_t limit = 10;
  bool json = false;
};

int RunSearch(const Config& config, const SearchArgs& args) {
  auto store = catalog::OpenStore({.url = config.db});
  if (!store.ok()) return Fail(Describe(store.status()), ExitCodeFor(store.status()));
  catalog::SearchQuery q;
  for (const std::string& w : args.words) q.text += (q.text.empty() ? "" : " ") + w;
  q.kind = args.kind;
  q.owner = args.owner;
  q.tag = args.tag;
  q.limit = args.limit;
  auto results = (*store)->Search(q);
  if (!results.ok()) return Fail(Describe(results.status()), ExitCodeFor(results.status()));
  if (args.json) {
    std::printf("%s\n", SearchResultsJson(*results).c_str());
    return kExitOk;
  }
  std::printf("%lld match%s%s\n", results->total, results->total == 1 ? "" : "es",
              results->exact ? "" : " (at least)");
  for (const auto& h : results->hits) {
    std::string owners;
    for (const auto& o : h.owners) owners += (owners.empty() ? "" : ", ") + o;
    std::printf("%-10s %s  [%s]%s%s\n", h.kind.c_str(), h.key.ToString().c_str(),
                h.health.Label().c_str(), owners.empty() ? "" : "  owners: ", owners.c_str());
    if (!h.matched.empty()) {
      std::printf("           matched %s (%s)\n", h.matched[0].field.c_str(),
                  h.matched[0].how.c_str());
    }
    if (!h.snippet.empty()) {
      // Highlights as **word**, the way a terminal reader skims.
      std::string line;
      size_t at = 0;
      for (auto [b, e] : h.highlights) {
        line += h.snippet.substr(at, b - at) + "**" + h.snippet.substr(b, e - b) + "**";
        at = e;
      }
      line += h.snippet.substr(at);
      std::replace(line.begin(), line.end(), '\n', ' ');
      std::printf("           %s\n", line.c_str());
    }
  }
  return kExitOk;
}

struct LineageArgs {
  std::string key;
  bool upstream = false, downstream = false, json = false;
  int depth = 3;
  std::string column;
  size_t max_nodes = 500;
};

int RunLineage(const Config& config, const LineageArgs& args) {
  auto store = catalog::OpenStore({.url = config.db});
  if (!store.ok()) return Fail(Describe(store.status()), ExitCodeFor(store.status()));
  auto key = (*store)->Resolve(args.key);
  if (!key.ok()) return Fail(Describe(key.status()), ExitCodeFor(key.status()));
  catalog::LineageQuery q;
  q.key = *key;
  q.direction = args.upstream == args.downstream ? catalog::LineageDirection::kBoth
                : args.upstream                  ? catalog::LineageDirection::kUpstream
                                                 : catalog::LineageDirection::kDownstream;
  q.depth = args.depth;
  q.max_nodes = args.max_nodes;
  if (!args.column.empty()) {
    q.level = catalog::LineageLevel::kColumn;
    q.column = args.column;
  }
  auto graph = (*store)->Lineage(q);
  if (!graph.ok()) return Fail(Describe(graph.status()), ExitCodeFor(graph.status()));
  if (args.json) {
    std::printf("%s\n", LineageGraphJson(*graph).c_str());
    return kExitOk;
  }
  for (const auto& n : graph->nodes) {
    std::printf("%+3d %-10s %s  [%s]\n", n.distance, n.kind.c_str(), n.key.ToString().c_str(),
                n.health.Label().c_str());
  }
  for (const auto& e : graph->edges) {
    if (e.upstream_column.empty()) continue;
    std::printf("    %s.%s -> %s.%s\n", e.upstream.name.c_str(), e.upstream_column.c_str(),
                e.downstream.name.c_str(), e.downstream_column.c_str());
  }
  if (graph->truncated) {
    std::printf("truncated at %zu nodes: raise --max-nodes or lower --depth\n", q.max_nodes);
  }
  return kExitOk;
}

struct CollectArgs {
  std::string kind;                // "", "postgres" or "dbt"
  std::vector<std::string> names;  // of sources of that kind; none: all of them
};

// `collect [KIND [NAME...]]`: the configured sources (of one kind, or those named) once, in
// file order, one JSON summary line each on stdout; a source that fails is logged and the
// others go on (exit 1 at the end).
int RunCollect(const Config& config, const CollectArgs& args) {
  if (!args.kind.empty() && args.kind != "postgres" && args.kind != "dbt") {
    return Fail("unknown source kind '" + args.kind + "': postgres or dbt", kExitUsage);
  }
  auto sources = SourcesFrom(config, ProcessEnvironment());
  if (!sources.ok()) return Fail(Describe(sources.status()), kExitUsage);
  const bool postgres = args.kind.empty() || args.kind == "postgres";
  const bool dbt = args.kind.empty() || args.kind == "dbt";
  if ((postgres ? sources->postgres.size() : 0) + (dbt ? sources->dbt.size() : 0) == 0) {
    return Fail("no sources" + (args.kind.empty() ? "" : "." + args.kind) +
                    " in the config file (see `tidemark collect --help`)",
                kExitUsage);
  }
  auto wanted = [&](const std::string& name) {
    return args.names.empty() ||
           std::find(args.names.begin(), args.names.end(), name) != args.names.end();
  };
  for (const std::string& name : args.names) {
    auto named = [&](const auto& s) { return s.name == name; };
    if ((!postgres || std::none_of(sources->postgres.begin(), sources->postgres.end(), named)) &&
        (!dbt || std::none_of(sources->dbt.begin(), sources->dbt.end(), named))) {
      return Fail("no " + args.kind + " source named '" + name + "'", kExitUsage);
    }
  }
  auto store = catalog::OpenStore({.url = config.db});
  if (!store.ok()) return Fail(Describe(store.status()), ExitCodeFor(store.status()));
  int exit_code = kExitOk;
  auto collect = [&](const auto& source, const char* kind) {
    if (!wanted(source.name)) return;
    auto summary = CollectSource(**store, source);
    if (!summary.ok()) {
      spdlog::error("collect {} {}: {}", kind, source.name, Describe(summary.status()));
      exit_code = kExitFailure;
      return;
    }
    std::printf("%s\n", summary->c_str());
  };
  if (postgres) for (const auto& source : sources->postgres) collect(source, "postgres");
  if (dbt) for (const auto& source : sources->dbt) collect(source, "dbt");
  return exit_code;
}

int RunMigrate(const Config& config) {
  auto report = catalog::Migrate({.url = config.db});
  if (!report.ok()) return Fail(Describe(report.status()), ExitCodeFor(report.status()));
  std::printf("schema version %d -> %d\n", report->from, report->to);
  return kExitOk;
}

// `reindex`: the search index built again from the stored assets.
int RunReindex(const Config& config) {
  auto store = catalog::OpenStore({.url = config.db});
  if (!store.ok()) return Fail(Describe(store.status()), ExitCodeFor(store.status()));
  const auto start = std::chrono::steady_clock::now();
  Status rebuilt = (*store)->RebuildSearchIndex();
  if (!rebuilt.ok()) return Fail(Describe(rebuilt), ExitCodeFor(rebuilt));
  auto counts = (*store)->Counts();
  std::printf("search index rebuilt: %lld assets in %.1f s\n", counts.ok() ? counts->assets : 0LL,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return kExitOk;
}

struct DetectArgs {
  std::string series;
  bool replay = false;
  std::optional<double> sensitivity;
  std::string now;
  std::vector<std::string> assets;
  bool json = false;
  bool full = false;
  bool no_incidents = false;
  bool deliver = false;
};

// `detect --series FILE.csv`: the backtest over a CSV file, anomalies as JSON lines.
int RunDetectSeries(const DetectArgs& args) {
  pipeline::BacktestOptions options;
  options.replay = args.replay;
  options.sensitivity = args.sensitivity;
  if (!args.now.empty()) {
    options.now = model::ParseTimestamp(args.now);
    if (!options.now) return Fail("--now: '" + args.now + "' is not ISO-8601", kExitUsage);
  }
  std::ifstream in(args.series, std::ios::binary);
  if (!in) return Fail("cannot read " + args.series, kExitUsage);
  Status status = pipeline::RunBacktest(in, args.series, std::cout, options);
  std::cout.flush();
  if (!status.ok()) return Fail(Describe(status), kExitUsage);
  return kExitOk;
}

// `detect` over the store: the detection job, then incident grouping (and, with --deliver,
// one pass of the outbox).
int RunDetect(const Config& config, const DetectArgs& args) {
  if (!args.series.empty()) return RunDetectSeries(args);
  if (args.replay) return Fail("--replay needs --series FILE.csv", kExitUsage);
  auto routing = LoadRoutingConfig(config, ProcessEnvironment());
  if (!routing.ok()) return Fail(Describe(routing.status()), kExitUsage);
  auto store = catalog::OpenStore({.url = config.db});
  if (!store.ok()) return Fail(Describe(store.status()), ExitCodeFor(store.status()));
  pipeline::DetectionOptions options;
  options.full = args.full;
  for (const std::string& a : args.assets) {
    auto key = (*store)->Resolve(a);
    if (!key.ok()) return Fail("asset " + a + ": " + Describe(key.status()), ExitCodeFor(key.status()));
    options.assets.push_back(*key);
  }
  auto detection = pipeline::RunDetection(**store, model::SystemClock(), options);
  if (!detection.ok()) return Fail(Describe(detection.status()), ExitCodeFor(detection.status()));
  nlohmann::ordered_json out;
  out["detection"] = nlohmann::ordered_json::parse(detection->ToJson());
  if (!args.no_incidents) {
    auto incidents = pipeline::UpdateIncidents(**store, model::SystemClock(), *routing, {});
    if (!incidents.ok()) return Fail(Describe(incidents.status()), ExitCodeFor(incidents.status()));
    out["incidents"] = nlohmann::ordered_json::parse(incidents->ToJson());
  }
  if (args.deliver) {
    pipeline::Deliverer deliverer(**store, model::SystemClock(), *routing, {});
    auto delivered = deliverer.Drain(100);
    if (!delivered.ok()) return Fail(Describe(delivered.status()), ExitCodeFor(delivered.status()));
    out["delivery"] = nlohmann::ordered_json::parse(delivered->ToJson());
  }
  if (args.json) {
    std::printf("%s\n", out.dump().c_str());
    return kExitOk;
  }
  const auto& d = *detection;
  std::printf("detect: %lld assets, %lld series scored (%lld unchanged), %lld anomalies found, "
              "%lld new (%lld from failed tests and runs), %lld warnings, %.0f ms\n",
              d.assets, d.series_scored, d.series_unchanged, d.anomalies_found, d.anomalies_new,
              d.triggers_new, d.warnings, d.elapsed_ms);
  for (const std::string& w : d.warning_samples) std::printf("  warning: %s\n", w.c_str());
  if (out.contains("incidents")) {
    const auto& i = out["incidents"];
    std::printf("incidents: %lld opened, %lld joined, %lld resolved, %lld alerts enqueued\n",
                i["opened"].get<long long>(), i["joined"].get<long long>(),
                i["resolved"].get<long long>(), i["alerts_enqueued"].get<long long>());
  }
  if (out.contains("delivery")) {
    const auto& x = out["delivery"];
    std::printf("delivery: %lld delivered, %lld to retry, %lld dead\n",
                x["delivered"].get<long long>(), x["retried"].get<long long>(),
                x["dead"].get<long long>());
  }
  return kExitOk;
}

// `routes test KEY`: which channels an incident rooted at KEY would reach, and why.
int RunRoutesTest(const Config& config, const std::string& key_text, bool json) {
  auto routing = LoadRoutingConfig(config, ProcessEnvironment());
  if (!routing.ok()) return Fail(Describe(routing.status()), kExitUsage);
  auto store = catalog::OpenStore({.url = config.db});
  if (!store.ok()) return Fail(Describe(store.status()), ExitCodeFor(store.status()));
  auto key = (*store)->Resolve(key_text);
  if (!key.ok()) return Fail("asset " + key_text + ": " + Describe(key.status()), ExitCodeFor(key.status()));
  auto facts = pipeline::GatherFacts(**store, *key);
  if (!facts.ok()) return Fail(Describe(facts.status()), ExitCodeFor(facts.status()));
  facts->severity = model::Severity::kError;
  std::vector<std::string> skipped;
  auto targets = pipeline::ResolveRoutes(*routing, *facts, &skipped);
  if (json) {
    nlohmann::ordered_json out;
    out["asset"] = key->ToString();
    out["channels"] = nlohmann::ordered_json::array();
    for (const auto& t : targets) {
      const pipeline::Channel* c = routing->FindChannel(t.channel);
      out["channels"].push_back({{"channel", t.channel},
                                 {"kind", pipeline::ChannelKindName(c->kind)},
                                 {"url", c->RedactedUrl()},
                                 {"reason", t.reason}});
    }
    out["skipped"] = skipped;
    std::printf("%s\n", out.dump().c_str());
    return kExitOk;
  }
  std::printf("An error incident rooted at %s would reach:\n", key->ToString().c_str());
  for (const auto& t : targets) {
    const pipeline::Channel* c = routing->FindChannel(t.channel);
    std::printf("  %s (%s, %s): %s\n", t.channel.c_str(),
                std::string(pipeline::ChannelKindName(c->kind)).c_str(),
                c->RedactedUrl().c_str(), t.reason.c_str());
  }
  if (targets.empty()) std::printf("  no channel: add a route or routes.default\n");
  for (const std::string& s : skipped) std::printf("  skipped: %s\n", s.c_str());
  return kExitOk;
}

// "127.0.0.1:8080", with IPv6 hosts bracketed.
std::string HostPortText(const ServerOptions& options, uint16_t port) {
  bool v6 = options.host.find(':') != std::string::npos;
  return (v6 ? "[" + options.host + "]" : options.host) + ":" + std::to_string(port);
}

// The demo's receiver URL: the listening address, reached over loopback when it is a wildcard.
std::string DemoReceiverUrl(const ServerOptions& options, uint16_t port) {
  ServerOptions loopback = options;
  if (loopback.host.empty() || loopback.host == "0.0.0.0") loopback.host = "127.0.0.1";
  if (loopback.host == "::") loopback.host = "::1";
  return "http://" + HostPortText(loopback, port) + "/demo/receiver";
}

// A fresh secret for the demo's signed webhook, known only to this process.
std::string RandomSecret() {
  std::random_device device;
  std::string out;
  for (int i = 0; i < 8; ++i) {
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(device()));
    out += hex;
  }
  return out;
}

// Waits until the outbox holds no pending alert (delivered or dead), at most `limit`.
void WaitForDelivery(catalog::Store& store, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto pending = store.ListAlerts(model::AlertState::kPending, 1);
    if (!pending.ok() || pending->empty()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  spdlog::warn("some demo alerts are still pending; they are retried in the background");
}

// What `demo` prints once everything is in place.
void PrintDemo(const std::string& address, const DemoOutcome& outcome, const DemoPaths& paths) {
  std::printf("Tidemark demo: open http://%s/\n", address.c_str());
  std::printf("  %zu incidents (%lld open) from %lld anomalies: http://%s/api/v1/incidents\n",
              outcome.incidents.size(), outcome.open_incidents, outcome.anomalies,
              address.c_str());
  for (const model::Incident& i : outcome.incidents) {
    std::printf("    %s\n", DemoIncidentLine(i).c_str());
  }
  std::printf("  search: http://%s/  (API: http://%s/api/v1/search?q=purchases)\n",
              address.c_str(), address.c_str());
  std::printf("  report: http://%s/reports/%s (file %s/%s)\n", address.c_str(),
              outcome.report_file.c_str(), outcome.report_dir.c_str(),
              outcome.report_file.c_str());
  std::printf("  alerts: http://%s/demo/alerts (received by the built-in signed-webhook "
              "receiver), log %s\n",
              address.c_str(), paths.alert_log.c_str());
  std::fflush(stdout);
}

// `serve`, and `demo` (which loads the demo data first and tells the user where to look).
int RunServe(const Config& config, bool demo) {
  // Searches are answered from a copy of the index in memory once it has loaded (issue 6).
  auto store = catalog::OpenStore({.url = config.db, .search_in_memory = true});
  if (!store.ok()) {
    spdlog::error("cannot open store {}: {}", config.db, Describe(store.status()));
    return ExitCodeFor(store.status());
  }
  auto alerting = LoadAlertingConfig(config, ProcessEnvironment());
  if (!alerting.ok()) return Fail(Describe(alerting.status()), kExitUsage);
  auto report_config = ReportScheduleFrom(config);
  if (!report_config.ok()) return Fail(Describe(report_config.status()), kExitUsage);
  auto options = ServiceOptionsFrom(config);
  if (!options.ok()) return Fail(Describe(options.status()), kExitUsage);
  // Bound before the demo prepares: its receiver needs the port, and a Ctrl-C from now on is
  // a graceful stop after the current step, never a kill halfway through a write.
  auto service = Service::Create(**store, *options);
  if (!service.ok()) {
    spdlog::error("cannot start: {}", Describe(service.status()));
    return ExitCodeFor(service.status());
  }
  const std::string address = HostPortText(options->server, (*service)->port());
  pipeline::RoutingConfig routing = alerting->routing;
  pipeline::SchedulerOptions scheduler_options = alerting->scheduler;
  std::optional<DemoOutcome> demo_outcome;
  std::unique_ptr<DemoReceiver> receiver;
  const DemoPaths demo_paths = DemoPathsFor(config.db);
  if (demo) {
    const std::string secret = RandomSecret();
    auto opened = DemoReceiver::Open(secret, demo_paths.receiver_file, model::SystemClock());
    if (!opened.ok()) {
      spdlog::error("cannot open the demo receiver: {}", Describe(opened.status()));
      return kExitFailure;
    }
    receiver = std::move(opened).value();
    if (Status status = receiver->AddRoutes((*service)->router()); !status.ok()) {
      spdlog::error("cannot register routes: {}", Describe(status));
      return kExitFailure;
    }
    routing = DemoRouting(demo_paths, DemoReceiverUrl(options->server, (*service)->port()),
                          secret);
    scheduler_options.detection = DemoDetectionOptions();
    scheduler_options.incidents = DemoIncidentOptions();
    auto prepared = PrepareDemo(**store, model::SystemClock(), routing, demo_paths.report_dir);
    if (!prepared.ok()) {
      spdlog::error("cannot prepare the demo: {}", Describe(prepared.status()));
      return kExitFailure;
    }
    demo_outcome = std::move(prepared).value();
  }
  const OpenLineageSettings openlineage{.retention = config.openlineage_retention,
                                        .background = config.openlineage_background};
  if (Status status =
          AddIngestRoutes((*service)->router(), **store, (*service)->metrics(), openlineage);
      !status.ok()) {
    spdlog::error("cannot register routes: {}", Describe(status));
    return kExitFailure;
  }
  if (Status status = AddSearchRoutes((*service)->router(), **store); !status.ok()) {
    spdlog::error("cannot register routes: {}", Describe(status));
    return kExitFailure;
  }
  std::jthread search_index_log = LogSearchIndexLoad(**store);
  if (Status status = AddIncidentRoutes((*service)->router(), **store, model::SystemClock(), routing);
      !status.ok()) {
    spdlog::error("cannot register routes: {}", Describe(status));
    return kExitFailure;
  }
  // Detection, incident grouping and alert delivery in the background. The lease owner names
  // this process, so several instances on one PostgreSQL share the outbox.
  scheduler_options.delivery.worker = "tidemark-" + std::to_string(::getpid());
  scheduler_options.on_delivery = [&metrics = (*service)->metrics()](const pipeline::DeliveryStats& s) {
    metrics.RecordAlertDeliveries(static_cast<uint64_t>(s.delivered),
                                  static_cast<uint64_t>(s.retried), static_cast<uint64_t>(s.dead));
  };
  scheduler_options.on_detection = [&metrics = (*service)->metrics()](
                                       const model::Result<pipeline::DetectionSummary>& run) {
    metrics.RecordDetectionRun(run.ok(), std::chrono::system_clock::now(),
                               run.ok() ? run->elapsed_ms / 1000 : 0,
                               run.ok() ? run->anomalies_new : 0);
  };
  pipeline::Scheduler scheduler(**store, model::SystemClock(), routing, scheduler_options);
  // What each ingest or collection writes is scored within seconds, not at the next tick.
  (*store)->SetCommitObserver([&scheduler](const catalog::WriteBatch& batch) {
    scheduler.ScoreSoon(pipeline::AssetsToScore(batch));
  });
  // Undone before the scheduler goes; the collectors declared below have stopped by then.
  struct ObserverReset {
    catalog::Store& store;
    ~ObserverReset() { store.SetCommitObserver(nullptr); }
  } observer_reset{**store};
  scheduler.Start();
  std::unique_ptr<ReportScheduler> report_scheduler;  // stopped after Run() returns
  if (report_config->enabled) {
    if (Status status = AddReportRoutes((*service)->router(), report_config->dir); !status.ok()) {
      spdlog::error("cannot register routes: {}", Describe(status));
      return kExitFailure;
    }
    report_config->base_url = ReportBaseUrl(
        *report_config, routing, HostPortText(options->server, (*service)->port()));
    auto started = ReportScheduler::Start(**store, *report_config, model::SystemClock(), routing);
    if (!started.ok()) return Fail(Describe(started.status()), kExitUsage);
    report_scheduler = std::move(started).value();
    spdlog::info("nightly report on \"{}\" ({}), kept in {}, served at /reports/",
                 report_config->schedule, report_config->time_zone, report_config->dir);
  }
  if (demo_outcome && !report_config->enabled) {
    if (Status status = AddReportRoutes((*service)->router(), demo_outcome->report_dir);
        !status.ok()) {
      spdlog::error("cannot register routes: {}", Describe(status));
      return kExitFailure;
    }
  }
  // Sources with a `schedule` are collected in the background (sources.*[].schedule).
  auto sources = SourcesFrom(config, ProcessEnvironment());
  if (!sources.ok()) return Fail(Describe(sources.status()), kExitUsage);
  CollectSchedule collect_schedule(**store, *sources);
  if (collect_schedule.scheduled() > 0) {
    spdlog::info("collecting {} source(s) on their schedule", collect_schedule.scheduled());
  }
  auto schema = (*store)->SchemaVersion();
  spdlog::info("listening on http://{} (store: {}, schema v{})", address, (*store)->Describe(),
               schema.ok() ? std::to_string(*schema) : "?");
  if (demo_outcome) {
    // The demo serves, waits for the alerts it decided to reach the alert log and the
    // receiver (this server, over loopback), and only then says it is ready.
    std::thread server([&service] { (*service)->Run(); });
    WaitForDelivery(**store, std::chrono::seconds(5));
    PrintDemo(address, *demo_outcome, demo_paths);
    server.join();
  } else {
    (*service)->Run();
  }
  scheduler.Stop();
  spdlog::info("stopped");
  return kExitOk;
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app{"Tidemark: data observability and catalog.", "tidemark"};
  app.footer(
      "Settings come from defaults < the config file < TIDEMARK_DB, TIDEMARK_LISTEN, "
      "TIDEMARK_LOG_LEVEL, TIDEMARK_LOG_FORMAT < flags.\n"
      "Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.");
  app.require_subcommand(1);
  app.fallthrough();  // global flags may also follow the subcommand
  app.set_version_flag("--version", "tidemark " + std::string(Version()));

  std::string config_file, db, log_level, log_format;
  auto* config_flag =
      app.add_option("--config", config_file, "YAML config file (default: $TIDEMARK_CONFIG)");
  auto* db_flag = app.add_option("--db", db, "Store URL: sqlite:PATH or postgresql://...");
  auto* level_flag =
      app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off");
  auto* format_flag = app.add_option("--log-format", log_format, "text or json");

  std::string listen;
  auto* serve = app.add_subcommand("serve", "Run the service: HTTP API, /health, /metrics");
  auto* serve_listen =
      serve->add_option("--listen", listen, "host:port to listen on; port 0 picks a free one");

  std::string demo_listen, demo_db;
  auto* demo = app.add_subcommand("demo", "Serve a demo catalog to explore");
  demo->footer("The demo keeps its own store (default " + std::string(kDemoDb) +
               ") and ignores the db of the config file and TIDEMARK_DB, so it never writes demo "
               "data into a real catalog.");
  auto* demo_listen_flag =
      demo->add_option("--listen", demo_listen, "host:port to listen on; port 0 picks a free one");
  auto* demo_db_flag = demo->add_option("--db", demo_db, "Store URL for the demo catalog");

  auto* migrate = app.add_subcommand("migrate", "Bring the store's schema up to this version");
  auto* version = app.add_subcommand("version", "Print the version and build");
  auto* reindex = app.add_subcommand(
      "reindex", "Build the search index again from the stored assets (one transaction)");

  IngestArgs ingest_args;
  auto* ingest = app.add_subcommand("ingest", "Load artifacts into the catalog");
  ingest->footer(kIngestHelp);
  ingest->add_option("kind", ingest_args.kind, "What the files are: dbt, openlineage or metrics")->required();
  ingest->add_option("paths", ingest_args.paths, "Files or folders (a dbt target/ folder)");
  ingest->add_option("--namespace", ingest_args.ns,
                     "Namespace of dataset keys, e.g. postgres://db:5432 (default: the "
                     "manifest's adapter type)");
  ingest->add_option("--project", ingest_args.project, "Project name (default: the manifest's)");
  ingest->add_flag("--force", ingest_args.force, "Ingest even artifacts unchanged since last time");

  SearchArgs search_args;
  auto* search = app.add_subcommand("search", "Search assets, columns, owners and tags");
  search->footer(
      "Words must all match (names, full names, columns, tags, owners, descriptions); "
      "\"quoted phrases\", -excluded words and prefix* work; one typo is forgiven on words of "
      "5+ letters. The exact name ranks first. With --kind, --owner or --tag and no words, "
      "lists what the filters keep, the most important first.");
  search->add_option("query", search_args.words, "Words to search for");
  search->add_option("--kind", search_args.kind, "Only assets of this kind (table, view, ...)");
  search->add_option("--owner", search_args.owner, "Only assets of this owner id");
  search->add_option("--tag", search_args.tag, "Only assets with this tag");
  search->add_option("--limit", search_args.limit, "Hits to print (default 10)")
      ->check(CLI::Range(1, 200));
  search->add_flag("--json", search_args.json, "Print the API's JSON");

  LineageArgs lineage_args;
  auto* lineage = app.add_subcommand("lineage", "Show an asset's upstream or downstream lineage");
  lineage->add_option("asset", lineage_args.key, "Asset key or alias (a dbt unique_id)")
      ->required();
  lineage->add_flag("--upstream", lineage_args.upstream, "Only upstream");
  lineage->add_flag("--downstream", lineage_args.downstream, "Only downstream");
  lineage->add_option("--depth", lineage_args.depth, "Hops (default 3)")->check(CLI::Range(1, 50));
  lineage->add_option("--column", lineage_args.column, "Column-level lineage from this column");
  lineage->add_option("--max-nodes", lineage_args.max_nodes, "Node cap (default 500)")
      ->check(CLI::Range(1, 20000));
  lineage->add_flag("--json", lineage_args.json, "Print the API's JSON");
  DetectArgs detect_args;
  auto* detect = app.add_subcommand("detect", "Run the detectors over stored series, or over a CSV");
  detect->footer(
      "Without --series: runs the freshness, volume, schema and column-metric detectors over "
      "the store's series (every asset, or those named with --asset), records new anomalies "
      "(failed dbt tests and builds too) idempotently, groups them into incidents through "
      "lineage and enqueues their alerts. With --series FILE.csv (header "
      "key,metric,timestamp,value): the backtest, one JSON object per anomaly on stdout.");
  detect->add_option("--series", detect_args.series, "CSV series to backtest instead of the store");
  detect->add_flag("--replay", detect_args.replay, "With --series: score every point walking forward");
  detect->add_option("--sensitivity", detect_args.sensitivity, "With --series: volume sensitivity");
  detect->add_option("--now", detect_args.now, "With --series: the time to judge at (ISO-8601)");
  detect->add_option("--asset", detect_args.assets, "Only these assets (keys or aliases)");
  detect->add_flag("--json", detect_args.json, "Print the summary as JSON");
  detect->add_flag("--full", detect_args.full, "Score every series, even those unchanged");
  detect->add_flag("--no-incidents", detect_args.no_incidents, "Do not group into incidents");
  detect->add_flag("--deliver", detect_args.deliver, "Then deliver due alerts once");

  std::string routes_key;
  bool routes_json = false;
  auto* routes = app.add_subcommand("routes", "Inspect alert routing");
  routes->require_subcommand(1);
  auto* routes_test = routes->add_subcommand("test", "Show which channels an incident on KEY reaches, and why");
  routes_test->add_option("key", routes_key, "Asset key or alias")->required();
  routes_test->add_flag("--json", routes_json, "Print JSON");
  ReportArgs report_args;
  auto* report = app.add_subcommand("report", "Render the nightly report");
  report->footer(
      "Headline numbers with the change from the previous window, open incidents, a chart per "
      "anomaly, freshness, schema changes, dbt failures, slowest and most-grown models, and "
      "the noisiest assets, read from the store.");
  report->add_option("--since", report_args.since,
                     "Start of the window: a duration before --until (24h, 7d) or a time");
  report->add_option("--until", report_args.until, "End of the window: now or an ISO-8601 time");
  report->add_option("--format", report_args.format, "html, md or json");
  report->add_option("--out", report_args.out, "File to write (default: standard output)");
  report->add_option("--title", report_args.title, "Title of the report");

  CollectArgs collect_args;
  auto* collect = app.add_subcommand("collect", "Run the configured sources once");
  collect->footer(
      "tidemark collect [KIND [NAME...]] runs the sources of the config file's `sources:` "
      "section once (all of them, those of one kind, or those named), in file order, and prints "
      "one JSON summary line per source. Kinds: postgres (warehouses read directly: columns, "
      "row counts, sizes, last changes) and dbt (a project's target/ folder, ingested as "
      "`tidemark ingest dbt` does, unchanged artifacts skipped). `serve` collects the sources "
      "that have a `schedule` on their own.");
  collect->add_option("kind", collect_args.kind, "postgres or dbt (default: every kind)");
  collect->add_option("names", collect_args.names, "Sources of that kind (default: all)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --help-all, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return Fail(std::string(e.what()) + " (see tidemark --help)", kExitUsage);
  }

  if (version->parsed()) return RunVersion();
  // The backtest reads only its CSV: no config or store needed.
  if (detect->parsed() && !detect_args.series.empty()) return RunDetectSeries(detect_args);

  ConfigOverrides overrides;
  if (config_flag->count() > 0) overrides.config_file = config_file;
  if (db_flag->count() > 0) overrides.db = db;
  if (level_flag->count() > 0) overrides.log_level = log_level;
  if (format_flag->count() > 0) overrides.log_format = log_format;
  if (serve_listen->count() > 0) overrides.listen = listen;
  if (demo->parsed()) {
    if (demo_listen_flag->count() > 0) overrides.listen = demo_listen;
    if (demo_db_flag->count() > 0) {
      overrides.db = demo_db;
    } else if (!overrides.db) {
      overrides.db = std::string(kDemoDb);
    }
  }
  auto config = LoadConfig(overrides, ProcessEnvironment());
  if (!config.ok()) return Fail(Describe(config.status()), kExitUsage);
  SetUpLogging(config->log_level, config->log_format);

  if (migrate->parsed()) return RunMigrate(*config);
  if (reindex->parsed()) return RunReindex(*config);
  if (ingest->parsed()) return RunIngest(*config, ingest_args);
  if (search->parsed()) return RunSearch(*config, search_args);
  if (lineage->parsed()) return RunLineage(*config, lineage_args);
  if (detect->parsed()) return RunDetect(*config, detect_args);
  if (routes_test->parsed()) return RunRoutesTest(*config, routes_key, routes_json);
  if (collect->parsed()) return RunCollect(*config, collect_args);
  if (report->parsed()) return RunReport(*config, report_args);
  return RunServe(*config, demo->parsed());
}

}  // namespace tidemark::ui
