#pragma once

// The process-wide log set-up for the CLI: spdlog to stderr, as text or as JSON lines, with
// every message passed through RedactSecrets so no log line can print a secret.

#include <string_view>

namespace tidemark::ui {

// Replaces spdlog's default logger. `level` is a Config log level ("info", "warn", ...);
// `format` is "text" (`2026-11-22T03:21:00.123Z info message`) or "json"
// (`{"ts":"2026-11-22T03:21:00.123456Z","level":"info","msg":"message"}`), both in UTC.
// REQUIRES: both values validated by LoadConfig. Not thread-safe: call before logging starts.
void SetUpLogging(std::string_view level, std::string_view format);

}  // namespace tidemark::ui
