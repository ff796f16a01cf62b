#include "store_rules.h"

#include <simdjson.h>

#include <nlohmann/json.hpp>

namespace tidemark::catalog {
namespace {

using model::RunState;

int Rank(RunState s) {
  switch (s) {
    case RunState::kFail: return 6;
    case RunState::kAbort: return 5;
    case RunState::kComplete: return 4;
    case RunState::kRunning: return 3;
    case RunState::kStart: return 2;
    case RunState::kOther: return 1;
  }
  return 0;
}

// True when `b` should decide the run's state over `a`.
bool Wins(const model::Run& a, const model::Run& b) {
  bool ta = model::IsTerminal(a.state), tb = model::IsTerminal(b.state);
  if (ta != tb) return tb;
  if (a.event_time != b.event_time) return b.event_time > a.event_time;
  return Rank(b.state) > Rank(a.state);
}

template <typename T>
std::optional<T> Earliest(const std::optional<T>& a, const std::optional<T>& b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

template <typename T>
std::optional<T> Latest(const std::optional<T>& a, const std::optional<T>& b) {
  if (!a) return b;
  if (!b) return a;
  return std::max(*a, *b);
}

std::string MergeProperties(const std::string& under, const std::string& over) {
  auto parse = [](const std::string& s) {
    auto j = nlohmann::json::parse(s.empty() ? "{}" : s, nullptr, /*allow_exceptions=*/false);
    return j.is_object() ? j : nlohmann::json::object();
  };
  nlohmann::json merged = parse(under);
  merged.update(parse(over));
  return merged.dump();
}

}  // namespace

model::Run MergeRun(const model::Run& stored, const model::Run& incoming) {
  const bool incoming_wins = Wins(stored, incoming);
  const model::Run& winner = incoming_wins ? incoming : stored;
  const model::Run& loser = incoming_wins ? stored : incoming;
  model::Run out = winner;
  out.started_at = Earliest(stored.started_at, incoming.started_at);
  out.ended_at = Latest(stored.ended_at, incoming.ended_at);
  if (!out.nominal_time) out.nominal_time = loser.nominal_time;
  if (out.job.empty()) out.job = loser.job;
  if (out.source.empty()) out.source = loser.source;
  if (out.parent_run_id.empty()) out.parent_run_id = loser.parent_run_id;
  if (out.error_message.empty()) out.error_message = loser.error_message;
  out.event_time = std::max(stored.event_time, incoming.event_time);
  out.properties = MergeProperties(loser.properties, winner.properties);
  return out;
}

// True when simdjson reads `text` as valid JSON. simdjson is stricter than nlohmann-json in
// places (integers beyond 64 bits, \u escapes of lone surrogates in some versions), so only
// its yes is taken as final, and text with \u escapes is left to nlohmann-json: what this
// accepts, nlohmann-json (which readers parse with) accepts too. Texts over 1 MB are left
// to it as well, so the thread's parser keeps no large buffers.
bool FastValid(std::string_view text) {
  if (text.size() > (size_t{1} << 20) || text.find("\\u") != std::string_view::npos) {
    return false;
  }
  thread_local simdjson::dom::parser parser;
  thread_local std::string padded;
  padded.assign(text);
  padded.append(simdjson::SIMDJSON_PADDING, ' ');
  simdjson::dom::element root;
  return parser.parse(padded.data(), text.size(), false).get(root) == simdjson::SUCCESS;
}

model::Status CheckJsonObject(std::string_view text, std::string_view where) {
  if (text.empty() || text == "{}") return model::Status::Ok();
  // Validation without building a DOM that is kept: ingest calls this for every asset and
  // column, so simdjson reads it (a few GB/s) and nlohmann-json's SAX accept() (tens of MB/s)
  // only has the last word on what simdjson refuses. The text is stored as given
  // (whitespace included); readers parse it, so only its validity matters.
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] != '{') {
    bool valid = nlohmann::json::accept(text);
    return model::Status::InvalidArgument(
        valid ? "properties must be a JSON object" : "properties are not valid JSON",
        std::string(where));
  }
  if (!FastValid(text) && !nlohmann::json::accept(text)) {
    return model::Status::InvalidArgument("properties are not valid JSON", std::string(where));
  }
  return model::Status::Ok();
}

model::Result<std::string> NormalizeJsonObject(std::string_view text, std::string_view where) {
  TM_RETURN_IF_ERROR(CheckJsonObject(text, where));
  return std::string(JsonObjectText(text));
}

}  // namespace tidemark::catalog
