#pragma once

// The volume detector: is this bucket's number (rows loaded, row count, bytes, a column's null
// rate...) out of line with the same series' recent history?
//
// The baseline is robust: level and trend by Huber regression, a seasonal profile (day of
// week, hour of day or hour of week, chosen when it explains the window clearly better, judged
// on leave-one-out residuals) by slot medians, and the spread by the median absolute
// deviation, widened when the residuals' tail is heavier than normal and, for counts, never
// below a count's own noise. Points flagged before are left out of training, a persistent move
// to a new level is re-baselined rather than alerted forever, changes below a minimum absolute
// and relative size are ignored, a zero where zeros are rare and a value frozen where values
// always move are flagged, and nothing is said before `min_history` points and two cycles of
// the longest seasonal profile the cadence allows (cold start). A running total (a table's
// row_count) is judged by what each bucket added. Timestamps may be irregular or have gaps:
// the series is bucketed by its cadence, the last point in a bucket standing for it.
//
// Inputs: `series.ts` non-decreasing and the same length as `series.values`, values finite;
// anything else is InvalidArgument naming the first offending index.
//
// Outputs: model::Anomaly records, fully filled (id, value, expected range, signed robust
// z-score, direction "spike"/"drop"/"change", severity, training window and size, seasonality,
// one-line explanation); `detected_at` is the scored point's time, so results are
// deterministic. The caller owns them.
//
// Thread-safety: the functions are pure; concurrent calls are safe (each thread keeps its own
// working space between calls).

#include <span>
#include <string_view>
#include <vector>

#include "tidemark/detectors/settings.h"
#include "tidemark/model/incident.h"
#include "tidemark/model/metric.h"
#include "tidemark/model/status.h"
#include "tidemark/model/time.h"

namespace tidemark::detectors {

// Scores the latest bucket of `series` (at most one anomaly). `flagged` lists the times of
// points already flagged by an earlier run (stored anomalies, any order); they stay out of the
// baseline. Without it, the baseline still drops the points it would flag itself.
// `detector` names the Anomaly.detector ("volume", or "column_metric" for column metrics).
model::Result<std::vector<model::Anomaly>> DetectVolume(
    const model::Series& series, const VolumeSettings& settings,
    std::span<const model::Timestamp> flagged = {}, std::string_view detector = "volume");

// Walks forward through `series`, scoring each bucket using only strictly earlier buckets and
// feeding its own earlier verdicts back as `flagged`: the anomalies the live service would
// have raised, in time order. Equal, point by point, to DetectVolume on each prefix.
// Cost: O(n · training window) time, O(n) memory.
model::Result<std::vector<model::Anomaly>> ReplayVolume(const model::Series& series,
                                                        const VolumeSettings& settings,
                                                        std::string_view detector = "volume");

}  // namespace tidemark::detectors
