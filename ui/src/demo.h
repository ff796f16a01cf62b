#pragma once

// The `tidemark demo` data hook: what the demo loads into its store before serving.

#include "tidemark/catalog/store.h"
#include "tidemark/model/status.h"

namespace tidemark::ui {

// Loads the demo catalog (the sales analytics stack of pipeline/demo_data.h: assets, lineage,
// owners, 90 days of runs and series with five incidents) into `store`, anchored at the
// current hour. Idempotent: running the demo twice in one hour leaves one copy.
model::Status LoadDemoData(catalog::Store& store);

}  // namespace tidemark::ui
