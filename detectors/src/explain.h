#pragma once

// Words and numbers for the one-line explanations people read in alerts.

#include <cstdint>
#include <string>
#include <string_view>

#include "tidemark/detectors/settings.h"
#include "tidemark/model/time.h"

namespace tidemark::detectors::internal {

// "1,090", "512", "0.0123", "12.3", "-4.5": thousands separators for large numbers, three
// significant digits for small ones, no trailing zeros.
std::string FormatNumber(double x);

// "48%", "4.5%", "0.3%".
std::string FormatPercent(double fraction);

// "45s", "12m", "31h", "2d 4h", "1d 30m" (at most two units).
std::string FormatDuration(std::int64_t seconds);

// "Tue 2026-03-03" when the cadence is a day or longer, else "Tue 2026-03-03 14:00".
std::string FormatWhen(model::Timestamp t, std::int64_t cadence_seconds);

// "for a Tuesday", "at 14:00", "for a Tuesday at 14:00", or "" for no seasonality.
std::string SlotPhrase(Seasonality s, int hour_of_week);

// "weekly seasonality", "daily seasonality", "hour-of-week seasonality", "no seasonality".
std::string_view SeasonalityPhrase(Seasonality s);

// "28 days of history", "36 hours of history", "50 minutes of history".
std::string HistoryPhrase(std::int64_t seconds);

}  // namespace tidemark::detectors::internal
