#pragma once

// Config: everything `tidemark` reads at start-up, from four layers, each overriding the one
// before: built-in defaults < the YAML file (--config FILE, or TIDEMARK_CONFIG) < environment
// variables (TIDEMARK_DB, TIDEMARK_LISTEN, TIDEMARK_LOG_LEVEL, TIDEMARK_LOG_FORMAT) <
// command-line flags.
//
// The file's layout:
//
//   db: sqlite:./tidemark.db          # or postgresql://user:pw@host:5432/db
//   server:
//     listen: 127.0.0.1:8080
//     body_limit: 8MiB                # bytes, or with a unit: KiB MiB GiB KB MB GB
//     read_timeout: 30s               # seconds, or with a unit: ms s m h d
//     shutdown_grace: 10s
//   openlineage:
//     retention: 7d                   # projected events kept in the event log, then pruned
//     projector_priority: background  # or normal (openlineage_projector.h, `background`)
//   log:
//     level: info                     # trace debug info warn error critical off
//     format: text                    # text or json
//   sources: ...                      # reserved sections, parsed by the modules that own them:
//   detectors: ...                    #   sources, detectors, routes, channels, report, demo
//
// Every problem is an InvalidArgument naming where it is (`where`: "tidemark.yml:7", or the
// variable or flag) and the key with what was expected (`message`:
// `server.listen: expected host:port, got "abc"`). Unknown keys are errors, so a typo is never
// silently ignored. Values that may hold secrets (db) are redacted in messages.
//
// Plain values; thread-compatible.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tidemark/model/status.h"

namespace tidemark::ui {

struct Config {
  std::string db = "sqlite:./tidemark.db";
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free port
  std::string log_level = "info";
  std::string log_format = "text";
  size_t body_limit_bytes = 8 << 20;
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds shutdown_grace{10'000};
  // How long the OpenLineage event log keeps events once projected (openlineage_projector.h).
  std::chrono::milliseconds openlineage_retention{std::chrono::hours(24 * 7)};
  // The projector yields the CPU to requests (openlineage.projector_priority: background).
  bool openlineage_background = true;

  // The config file that was loaded (empty when none) and its full text. The reserved
  // sections are not parsed here: the module that owns one loads `file_text` with yaml-cpp and
  // reads its section, so its error marks are lines of `file`. May hold secrets: never log it.
  std::string file;
  std::string file_text;
  // The reserved sections present in the file, in file order ("sources", "channels", ...).
  std::vector<std::string> sections;

  bool HasSection(std::string_view name) const;
};

// The top-level keys a file may hold that this module leaves to others.
inline constexpr std::string_view kReservedSections[] = {"sources",  "detectors", "routes",
                                                         "channels", "report",    "demo"};

// What the command line set; unset fields leave the lower layers' values in place.
struct ConfigOverrides {
  std::optional<std::string> config_file = {};  // --config
  std::optional<std::string> db = {};           // --db
  std::optional<std::string> listen = {};       // --listen
  std::optional<std::string> log_level = {};    // --log-level
  std::optional<std::string> log_format = {};   // --log-format
};

// Reads one environment variable; nullopt when unset. Injected so tests need not touch the
// process environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Looks variables up in the process environment; an empty value counts as unset.
EnvLookup ProcessEnvironment();

// "250ms", "30s" (or a bare "30": seconds), "15m", "1h", "7d": the durations every section of
// the config file takes. nullopt when the text is not one (or exceeds 1e9 of its unit).
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

// Builds the Config from all four layers. InvalidArgument (see above) when the file cannot be
// read or parsed, or any layer holds an unknown key or an invalid value.
model::Result<Config> LoadConfig(const ConfigOverrides& flags, const EnvLookup& env);

// Applies YAML `text` (named `file_name` in errors) over `base`: the file layer on its own.
model::Result<Config> ParseConfig(std::string_view text, std::string_view file_name,
                                  Config base = {});

struct HostPort {
  std::string host;  // "127.0.0.1", "::1" (brackets removed), "localhost"
  uint16_t port = 0;
};

// Splits "host:port" or "[v6]:port". nullopt when the host is empty or the port is not a
// number in 0..65535.
std::optional<HostPort> ParseHostPort(std::string_view text);

}  // namespace tidemark::ui
