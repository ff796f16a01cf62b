#pragma once

// The `tidemark demo` data hook: what the demo loads into its store before serving.

#include "tidemark/catalog/store.h"
#include "tidemark/model/status.h"

namespace tidemark::ui {

// Loads the demo catalog (assets, lineage, owners, series with anomalies) into `store`.
// Idempotent: running the demo twice on the same store leaves one copy.
// For now a placeholder that loads nothing and returns OK; the demo-data issue replaces it.
model::Status LoadDemoData(catalog::Store& store);

}  // namespace tidemark::ui
