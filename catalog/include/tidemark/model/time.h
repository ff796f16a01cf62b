#pragma once

// Points in time as the model stores them: UTC, microsecond precision.
// Parsing accepts what real producers send (dbt, OpenLineage, CSV exports): ISO-8601 with
// 'T' or ' ' between date and time, optional fraction of any length (nanoseconds are truncated),
// 'Z', '+HH:MM', '+HHMM' or no zone (read as UTC).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tidemark::model {

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

inline std::int64_t ToMicros(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp FromMicros(std::int64_t us) { return Timestamp(std::chrono::microseconds(us)); }

// nullopt when `text` is not an ISO-8601 date-time (or a bare date, read as midnight UTC).
std::optional<Timestamp> ParseTimestamp(std::string_view text);

// "2026-11-22T03:21:00.123456Z"; the fraction is left out when zero.
std::string FormatTimestamp(Timestamp t);

}  // namespace tidemark::model
