#pragma once

// Entry points shared by volume.cc and detector.cc: scoring limited to a prefix of the
// series (the points at or before some time).

#include <span>
#include <string_view>
#include <vector>

#include "tidemark/detectors/settings.h"
#include "tidemark/model/incident.h"
#include "tidemark/model/metric.h"
#include "tidemark/model/status.h"

namespace tidemark::detectors::internal {

// Scores point `end - 1` (the latest of the prefix [0, end)); empty result when end == 0.
model::Result<std::vector<model::Anomaly>> DetectVolumePrefix(
    const model::Series& series, size_t end, const VolumeSettings& settings,
    std::span<const model::Timestamp> flagged, std::string_view detector);

// Replays the prefix [0, end), scoring the points from `begin` on; the points at the times
// in `flagged` start out flagged (kept out of baselines), as in DetectVolumePrefix.
model::Result<std::vector<model::Anomaly>> ReplayVolumePrefix(
    const model::Series& series, size_t begin, size_t end, const VolumeSettings& settings,
    std::span<const model::Timestamp> flagged, std::string_view detector);

}  // namespace tidemark::detectors::internal
