#pragma once

// Rules of the model that both Store implementations apply identically, kept here so SQLite
// and PostgreSQL cannot disagree: how two reports of one run merge, and how JSON property
// text is checked and normalised before it is stored.

#include <string>
#include <string_view>

#include "tidemark/catalog/store.h"
#include "tidemark/model/run.h"
#include "tidemark/model/status.h"

namespace tidemark::catalog {

// Merges `incoming` into `stored` (same run id) so that the result does not depend on the
// order the reports arrived in:
//  - state: a terminal state beats a non-terminal one; between two of the same class, the later
//    event_time wins; at equal times the higher-ranked state wins (FAIL > ABORT > COMPLETE,
//    RUNNING > START > OTHER);
//  - started_at is the earliest seen, ended_at the latest, other optional fields the first set;
//  - error_message and the job follow the winning report when it has them;
//  - properties are merged key by key, the winning report's keys on top.
model::Run MergeRun(const model::Run& stored, const model::Run& incoming);

// Checks that `text` is a JSON object (empty means {}) and returns it as given.
// InvalidArgument naming `where` otherwise.
model::Result<std::string> NormalizeJsonObject(std::string_view text, std::string_view where);
// The same check without the copy: bind JsonObjectText(text) after it succeeds.
model::Status CheckJsonObject(std::string_view text, std::string_view where);
inline std::string_view JsonObjectText(std::string_view text) {
  return text.empty() ? std::string_view("{}") : text;
}

// The failure of a write whose expected checkpoint (WriteBatch::ExpectCheckpoint) holds
// `found` instead of what the batch expected.
inline Status CheckpointConflict(const Checkpoint& expected, std::string_view found) {
  return Status::AlreadyExists("checkpoint changed by another writer (expected \"" +
                                   expected.value + "\", found \"" + std::string(found) + "\")",
                               "checkpoints/" + expected.scope + "/" + expected.key);
}

// Adds `count` alerts of the state named `state` ("pending", "delivered", "dead") to
// `counts`; other names are ignored.
inline void AddAlertCount(AlertCounts& counts, std::string_view state, long long count) {
  if (state == "pending") counts.pending += count;
  if (state == "delivered") counts.delivered += count;
  if (state == "dead") counts.dead += count;
}

}  // namespace tidemark::catalog
