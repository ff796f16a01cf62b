#include "cli.h"

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <cstdio>
#include <string>
#include <vector>

#include "demo.h"
#include "ingest_api.h"
#include "logging.h"
#include "report_command.h"
#include "report_service.h"
#include "tidemark/catalog/store.h"
#include "tidemark/collector/dbt.h"
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

// Commands that exist so scripts and help text can rely on their names, ahead of the issues
// that implement them.
struct PlannedCommand {
  const char* name;
  const char* summary;
  const char* plan;
};

constexpr PlannedCommand kPlannedCommands[] = {
    {"collect", "Run the configured sources once (planned)",
     "tidemark collect [source...] will run the sources of the config file's `sources:` "
     "section once (all of them, or those named): read dbt artifacts, poll PostgreSQL "
     "warehouse statistics and fetch tool results, writing assets, runs and metric points to "
     "the store idempotently."},
    {"detect", "Run the detectors over stored series (planned)",
     "tidemark detect [asset...] will run the freshness, volume, schema-change and column "
     "metric detectors over the stored series (of every asset, or those named), record each "
     "anomaly with its value, expected range, score and training window, and group them into "
     "incidents through lineage."},
    {"search", "Search assets, columns, owners and tags (planned)",
     "tidemark search <query> will run a full-text search over asset names, descriptions, "
     "columns, owners and tags and print the best matches with their keys and owners."},
    {"lineage", "Show an asset's upstream or downstream lineage (planned)",
     "tidemark lineage <asset> [--upstream|--downstream] [--depth N] will print the assets "
     "upstream or downstream of <asset> (a key or an alias such as a dbt unique_id), level by "
     "level, with the columns each edge maps when known."},
};

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

int RunPlanned(const PlannedCommand& command) {
  std::printf("%s\n", command.plan);
  return Fail(std::string("not implemented yet: see `tidemark ") + command.name + " --help`",
              kExitUsage);
}

constexpr const char* kIngestPlan =
    "tidemark ingest <kind> PATH... loads artifacts into the catalog, validated whole and "
    "rejected whole with errors naming the file and JSON path, and prints a JSON summary. "
    "Kinds: dbt (a target/ folder or its manifest.json, run_results.json, sources.json, "
    "catalog.json). Coming: openlineage (RunEvents as JSON or NDJSON), metrics (pushed stats "
    "as CSV or JSON lines).";

struct IngestArgs {
  std::string kind;
  std::vector<std::string> paths;
  std::string ns;
  std::string project;
  bool force = false;
};

int RunIngest(const Config& config, const IngestArgs& args) {
  if (args.kind != "dbt") {
    std::printf("%s\n", kIngestPlan);
    return Fail("cannot ingest '" + args.kind + "' yet: see `tidemark ingest --help`", kExitUsage);
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

int RunMigrate(const Config& config) {
  auto report = catalog::Migrate({.url = config.db});
  if (!report.ok()) return Fail(Describe(report.status()), ExitCodeFor(report.status()));
  std::printf("schema version %d -> %d\n", report->from, report->to);
  return kExitOk;
}

// "127.0.0.1:8080", with IPv6 hosts bracketed.
std::string HostPortText(const ServerOptions& options, uint16_t port) {
  bool v6 = options.host.find(':') != std::string::npos;
  return (v6 ? "[" + options.host + "]" : options.host) + ":" + std::to_string(port);
}

// `serve`, and `demo` (which loads the demo data first and tells the user where to look).
int RunServe(const Config& config, bool demo) {
  auto store = catalog::OpenStore({.url = config.db});
  if (!store.ok()) {
    spdlog::error("cannot open store {}: {}", config.db, Describe(store.status()));
    return ExitCodeFor(store.status());
  }
  if (demo) {
    if (Status status = LoadDemoData(**store); !status.ok()) {
      spdlog::error("cannot load demo data: {}", Describe(status));
      return kExitFailure;
    }
  }
  auto options = ServiceOptionsFrom(config);
  if (!options.ok()) return Fail(Describe(options.status()), kExitUsage);
  auto service = Service::Create(**store, *options);
  if (!service.ok()) {
    spdlog::error("cannot start: {}", Describe(service.status()));
    return ExitCodeFor(service.status());
  }
  if (Status status = AddIngestRoutes((*service)->router(), **store, (*service)->metrics());
      !status.ok()) {
    spdlog::error("cannot register routes: {}", Describe(status));
    return kExitFailure;
  }
  auto report_config = ReportScheduleFrom(config);
  if (!report_config.ok()) return Fail(Describe(report_config.status()), kExitUsage);
  std::unique_ptr<ReportScheduler> report_scheduler;  // stopped after Run() returns
  if (report_config->enabled) {
    if (Status status = AddReportRoutes((*service)->router(), report_config->dir); !status.ok()) {
      spdlog::error("cannot register routes: {}", Describe(status));
      return kExitFailure;
    }
    auto started = ReportScheduler::Start(**store, *report_config, model::SystemClock());
    if (!started.ok()) return Fail(Describe(started.status()), kExitUsage);
    report_scheduler = std::move(started).value();
    spdlog::info("nightly report on \"{}\" ({}), kept in {}, served at /reports/",
                 report_config->schedule, report_config->time_zone, report_config->dir);
  }
  auto schema = (*store)->SchemaVersion();
  const std::string address = HostPortText(options->server, (*service)->port());
  spdlog::info("listening on http://{} (store: {}, schema v{})", address, (*store)->Describe(),
               schema.ok() ? std::to_string(*schema) : "?");
  if (demo) {
    std::printf("Tidemark demo: open http://%s/\n", address.c_str());
    std::fflush(stdout);
  }
  (*service)->Run();
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

  IngestArgs ingest_args;
  auto* ingest = app.add_subcommand("ingest", "Load artifacts into the catalog");
  ingest->footer(kIngestPlan);
  ingest->add_option("kind", ingest_args.kind, "What the files are: dbt")->required();
  ingest->add_option("paths", ingest_args.paths, "Files or folders (a dbt target/ folder)");
  ingest->add_option("--namespace", ingest_args.ns,
                     "Namespace of dataset keys, e.g. postgres://db:5432 (default: the "
                     "manifest's adapter type)");
  ingest->add_option("--project", ingest_args.project, "Project name (default: the manifest's)");
  ingest->add_flag("--force", ingest_args.force, "Ingest even artifacts unchanged since last time");

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

  std::vector<std::pair<CLI::App*, const PlannedCommand*>> planned;
  for (const PlannedCommand& command : kPlannedCommands) {
    auto* sub = app.add_subcommand(command.name, command.summary);
    sub->footer(command.plan);
    // Accepts whatever it will take, until it exists: extras stay here rather than falling
    // through to the global flags, which would reject them.
    sub->fallthrough(false)->allow_extras();
    planned.emplace_back(sub, &command);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --help-all, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return Fail(std::string(e.what()) + " (see tidemark --help)", kExitUsage);
  }

  if (version->parsed()) return RunVersion();
  for (const auto& [sub, command] : planned) {
    if (sub->parsed()) return RunPlanned(*command);
  }

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
  if (ingest->parsed()) return RunIngest(*config, ingest_args);
  if (report->parsed()) return RunReport(*config, report_args);
  return RunServe(*config, demo->parsed());
}

}  // namespace tidemark::ui
