#pragma once

// Elementary's anomaly detection (elementary-data/dbt-data-reliability), reimplemented as the
// baseline Tidemark is measured against, with its defaults.
//
// Volume and freshness (macros/edr/data_monitoring/anomaly_detection/get_anomaly_scores_query):
// each bucket's metric is compared with the buckets of the last `days_back` days *including
// itself*: anomaly_score = (value − training_avg) / training_stddev, stddev being the sample
// standard deviation (PostgreSQL `stddev`), score 0 when the stddev is 0; a bucket is
// anomalous when |score| > anomaly_sensitivity (3) — spikes only for freshness, whose
// `anomaly_direction` defaults to spike — and the training set holds at least
// days_back − 1 points (get_anomaly_query's minimum). No seasonality (its default), no
// exclusion of earlier anomalies, no minimum change (ignore_small_changes unset).
//
// Freshness (freshness_anomalies): per time bucket, the metric is the longest time without an
// update, counting the gap from the previous update into the bucket and from the last update
// to the bucket's end; the verdict is known when the bucket closes. Buckets follow the job:
// hourly for hourly jobs and streams, daily otherwise (the test's `time_bucket`).
//
// Schema (schema_changes): the current columns against the last stored ones: column added,
// removed, type changed (lower-cased type names compared verbatim), alerting on every
// difference. No renames (a removal plus an addition), no nullability, no memory of reverts.

#include <cstdint>
#include <string>
#include <vector>

#include "tidemark/model/asset.h"
#include "tidemark/model/metric.h"
#include "tidemark/model/time.h"

namespace tidemark::bench {

struct ElementarySettings {
  int days_back = 14;
  double sensitivity = 3;
};

// Flagged points (their timestamps), scoring each bucket of `cadence` seconds.
std::vector<model::Timestamp> ElementaryVolume(const model::Series& series, std::int64_t cadence,
                                               const ElementarySettings& settings);

// Times at which a bucket was found anomalous (the bucket's end), up to `until`.
std::vector<model::Timestamp> ElementaryFreshness(const model::Series& updates,
                                                  model::Timestamp until, std::int64_t bucket,
                                                  const ElementarySettings& settings);

// The changes Elementary reports between two column lists, sorted "kind:column".
std::vector<std::string> ElementarySchemaChanges(const std::vector<model::Column>& before,
                                                 const std::vector<model::Column>& after);

}  // namespace tidemark::bench
