#include "tidemark/catalog/write_batch.h"

namespace tidemark::catalog {

size_t WriteBatch::size() const {
  return assets_.size() + aliases_.size() + columns_.size() + tags_.size() + owners_.size() +
         ownerships_.size() + removals_.size() + edge_sets_.size() + edges_.size() +
         runs_.size() + node_results_.size() + points_.size() + snapshots_.size() +
         incidents_.size() + anomalies_.size() + alerts_.size() + checkpoints_.size();
}

bool WriteBatch::empty() const { return size() == 0; }

void WriteBatch::Clear() { *this = WriteBatch(); }

}  // namespace tidemark::catalog
