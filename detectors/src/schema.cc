#include "tidemark/detectors/schema.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>
#include <utility>

#include "explain.h"
#include "series_grid.h"
#include "tidemark/detectors/detector.h"

namespace tidemark::detectors {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool SameName(std::string_view a, std::string_view b) { return Lower(a) == Lower(b); }

// A type reduced to a canonical base name and its parameters: "NUMERIC( 12, 2 )" and
// "decimal(12,2)" are both {numeric, [12, 2]}.
struct CanonicalType {
  std::string base;
  std::vector<int> params;
  std::string rest;  // anything after the parameters, kept verbatim ("[]", " array")

  friend bool operator==(const CanonicalType&, const CanonicalType&) = default;
};

std::string_view Alias(std::string_view base) {
  static constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
      {"int", "integer"},
      {"int4", "integer"},
      {"signed", "integer"},
      {"int8", "bigint"},
      {"int64", "bigint"},
      {"long", "bigint"},
      {"int2", "smallint"},
      {"float8", "double"},
      {"double precision", "double"},
      {"float64", "double"},
      {"float", "double"},
      {"float4", "real"},
      {"float32", "real"},
      {"bool", "boolean"},
      {"character varying", "varchar"},
      {"nvarchar", "varchar"},
      {"character", "char"},
      {"bpchar", "char"},
      {"string", "text"},
      {"decimal", "numeric"},
      {"number", "numeric"},
      {"timestamp without time zone", "timestamp"},
      {"datetime", "timestamp"},
      {"timestamp_ntz", "timestamp"},
      {"timestamp with time zone", "timestamptz"},
      {"timestamp_tz", "timestamptz"},
      {"time without time zone", "time"},
  };
  for (const auto& [from, to] : kAliases) {
    if (base == from) return to;
  }
  return base;
}

CanonicalType Canonicalize(std::string_view type) {
  // Lower case, single spaces, no spaces around punctuation.
  std::string s;
  for (char c : type) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::isspace(static_cast<unsigned char>(l))) {
      if (!s.empty() && s.back() != ' ' && s.back() != '(' && s.back() != ',') s.push_back(' ');
      continue;
    }
    if ((l == '(' || l == ',' || l == ')') && !s.empty() && s.back() == ' ') s.pop_back();
    s.push_back(l);
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  CanonicalType out;
  size_t open = s.find('(');
  std::string base = s.substr(0, open);
  while (!base.empty() && base.back() == ' ') base.pop_back();
  // "timestamp(6) with time zone": parameters sit inside the name; fold them out.
  size_t close = open == std::string::npos ? std::string::npos : s.find(')', open);
  if (open != std::string::npos && close != std::string::npos) {
    std::string_view inner(s.data() + open + 1, close - open - 1);
    bool numeric = !inner.empty();
    std::vector<int> params;
    size_t pos = 0;
    while (numeric && pos <= inner.size()) {
      size_t comma = inner.find(',', pos);
      std::string_view part =
          inner.substr(pos, comma == std::string_view::npos ? inner.npos : comma - pos);
      int v = 0;
      auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
      if (ec != std::errc() || ptr != part.data() + part.size()) numeric = false;
      params.push_back(v);
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
    }
    std::string tail = s.substr(close + 1);
    if (!tail.empty() && tail.front() == ' ' && base.find(' ') == std::string::npos &&
        tail.find("time zone") != std::string::npos) {
      base += tail;  // "timestamp(6) with time zone" → base "timestamp with time zone"
      tail.clear();
    }
    if (numeric) {
      out.params = std::move(params);
      out.rest = tail;
    } else {
      out.rest = s.substr(open);
    }
  }
  out.base = std::string(Alias(base));
  return out;
}

int IntegerRank(std::string_view base) {
  if (base == "smallint") return 1;
  if (base == "integer") return 2;
  if (base == "bigint") return 3;
  return 0;
}

int IntegerDigits(int rank) { return rank == 1 ? 5 : rank == 2 ? 10 : 19; }

// True when every value of `from` fits in `to` unchanged: readers keep working.
bool IsWidening(const CanonicalType& from, const CanonicalType& to) {
  if (from.rest != to.rest) return false;
  int rf = IntegerRank(from.base), rt = IntegerRank(to.base);
  if (rf > 0 && rt > 0) return rt >= rf;
  if (rf > 0 && to.base == "numeric") {
    return to.params.empty() ||
           (to.params.size() >= 1 &&
            to.params[0] - (to.params.size() > 1 ? to.params[1] : 0) >= IntegerDigits(rf));
  }
  if (from.base == "real" && to.base == "double") return true;
  const bool from_text = from.base == "varchar" || from.base == "char" || from.base == "text";
  if (from_text && to.base == "text") return true;
  if (from_text && from.base != "text" && to.base == "varchar") {
    return to.params.empty() || (!from.params.empty() && to.params[0] >= from.params[0]);
  }
  if (from.base == "numeric" && to.base == "numeric") {
    if (to.params.empty()) return true;
    if (from.params.empty()) return false;
    int fs = from.params.size() > 1 ? from.params[1] : 0;
    int ts = to.params.size() > 1 ? to.params[1] : 0;
    return ts >= fs && to.params[0] - ts >= from.params[0] - fs;
  }
  return false;
}

bool SameType(std::string_view a, std::string_view b) { return Canonicalize(a) == Canonicalize(b); }

std::string NullText(std::optional<bool> nullable) {
  return !nullable ? "?" : (*nullable ? "null" : "not null");
}

// A canonical, order-sensitive key of a schema: equal keys are the same schema to readers.
std::string SchemaKey(std::span<const model::Column> columns) {
  std::vector<const model::Column*> ordered;
  for (const model::Column& c : columns) ordered.push_back(&c);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const model::Column* a, const model::Column* b) {
                     return a->position != b->position ? a->position < b->position
                                                       : Lower(a->name) < Lower(b->name);
                   });
  std::string key;
  for (const model::Column* c : ordered) {
    CanonicalType t = Canonicalize(c->data_type);
    key += Lower(c->name) + '\x1f' + t.base + '(';
    for (int p : t.params) key += std::to_string(p) + ',';
    key += ')' + t.rest + '\x1f' + NullText(c->nullable) + '\x1e';
  }
  return key;
}

const model::Column* FindColumn(std::span<const model::Column> columns, std::string_view name) {
  for (const model::Column& c : columns) {
    if (SameName(c.name, name)) return &c;
  }
  return nullptr;
}

std::vector<const model::Column*> ByPosition(std::span<const model::Column> columns) {
  std::vector<const model::Column*> out;
  for (const model::Column& c : columns) out.push_back(&c);
  std::stable_sort(out.begin(), out.end(), [](const model::Column* a, const model::Column* b) {
    return a->position < b->position;
  });
  return out;
}

}  // namespace

std::string_view SchemaChangeKindName(SchemaChangeKind kind) {
  switch (kind) {
    case SchemaChangeKind::kAdded:
      return "added";
    case SchemaChangeKind::kRemoved:
      return "removed";
    case SchemaChangeKind::kRenamed:
      return "renamed";
    case SchemaChangeKind::kTypeChanged:
      return "type_changed";
    case SchemaChangeKind::kNullabilityChanged:
      return "nullability_changed";
  }
  return "unknown";
}

std::string SchemaChange::Describe() const {
  switch (kind) {
    case SchemaChangeKind::kAdded:
      return "added column " + column + " (" + new_type + ")";
    case SchemaChangeKind::kRemoved:
      return "removed column " + column + " (" + old_type + ")";
    case SchemaChangeKind::kRenamed:
      return "renamed column " + old_name + " to " + column + " (" + new_type + ")";
    case SchemaChangeKind::kTypeChanged:
      return "column " + column + " changed type from " + old_type + " to " + new_type;
    case SchemaChangeKind::kNullabilityChanged:
      return "column " + column +
             (new_nullable.value_or(true) ? " became nullable" : " became NOT NULL");
  }
  return column;
}

std::vector<SchemaChange> DiffSchemas(std::span<const model::Column> before,
                                      std::span<const model::Column> after) {
  std::vector<SchemaChange> out;
  std::vector<const model::Column*> old_cols = ByPosition(before);
  std::vector<const model::Column*> new_cols = ByPosition(after);
  std::vector<bool> new_matched(new_cols.size(), false);
  for (size_t i = 0; i < new_cols.size(); ++i) {
    new_matched[i] = FindColumn(before, new_cols[i]->name) != nullptr;
  }
  // Removals, and renames: a vanished column whose slot (same position, same type) is taken
  // by a new name.
  for (const model::Column* old_col : old_cols) {
    if (FindColumn(after, old_col->name)) continue;
    SchemaChange change;
    change.old_type = old_col->data_type;
    change.old_nullable = old_col->nullable;
    change.breaking = true;
    for (size_t i = 0; i < new_cols.size() && old_col->position > 0; ++i) {
      const model::Column* c = new_cols[i];
      if (new_matched[i] || c->position != old_col->position ||
          !SameType(c->data_type, old_col->data_type)) {
        continue;
      }
      new_matched[i] = true;
      change.kind = SchemaChangeKind::kRenamed;
      change.column = c->name;
      change.old_name = old_col->name;
      change.new_type = c->data_type;
      change.new_nullable = c->nullable;
      break;
    }
    if (change.kind != SchemaChangeKind::kRenamed) {
      change.kind = SchemaChangeKind::kRemoved;
      change.column = old_col->name;
    }
    out.push_back(std::move(change));
  }
  for (size_t i = 0; i < new_cols.size(); ++i) {
    const model::Column* c = new_cols[i];
    const model::Column* old_col = FindColumn(before, c->name);
    if (!old_col) {
      if (new_matched[i]) continue;  // the new side of a rename
      SchemaChange change;
      change.kind = SchemaChangeKind::kAdded;
      change.column = c->name;
      change.new_type = c->data_type;
      change.new_nullable = c->nullable;
      out.push_back(std::move(change));
      continue;
    }
    CanonicalType from = Canonicalize(old_col->data_type), to = Canonicalize(c->data_type);
    if (!(from == to)) {
      SchemaChange change;
      change.kind = SchemaChangeKind::kTypeChanged;
      change.column = c->name;
      change.old_type = old_col->data_type;
      change.new_type = c->data_type;
      change.old_nullable = old_col->nullable;
      change.new_nullable = c->nullable;
      change.breaking = !IsWidening(from, to);
      out.push_back(std::move(change));
    }
    if (old_col->nullable && c->nullable && *old_col->nullable != *c->nullable) {
      SchemaChange change;
      change.kind = SchemaChangeKind::kNullabilityChanged;
      change.column = c->name;
      change.old_type = old_col->data_type;
      change.new_type = c->data_type;
      change.old_nullable = old_col->nullable;
      change.new_nullable = c->nullable;
      change.breaking = *c->nullable;  // NOT NULL relaxed: readers relying on it break
      out.push_back(std::move(change));
    }
  }
  return out;
}

std::vector<std::string> CheckContract(std::span<const model::Column> columns,
                                       const SchemaSettings& settings) {
  std::vector<std::string> out;
  if (settings.contract.empty()) return out;
  for (const ContractColumn& want : settings.contract) {
    const model::Column* have = FindColumn(columns, want.name);
    if (!have) {
      out.push_back("missing column " + want.name);
      continue;
    }
    if (!want.data_type.empty() && !SameType(want.data_type, have->data_type)) {
      out.push_back("column " + want.name + " is " + have->data_type + ", contract says " +
                    want.data_type);
    }
    if (want.nullable && have->nullable && *want.nullable != *have->nullable) {
      out.push_back("column " + want.name + " is " + (*have->nullable ? "nullable" : "NOT NULL") +
                    ", contract says " + (*want.nullable ? "nullable" : "NOT NULL"));
    }
  }
  if (!settings.allow_extra_columns) {
    for (const model::Column* c : ByPosition(columns)) {
      bool listed = std::any_of(settings.contract.begin(), settings.contract.end(),
                                [&](const ContractColumn& w) { return SameName(w.name, c->name); });
      if (!listed) out.push_back("extra column " + c->name);
    }
  }
  return out;
}

namespace {

std::string JoinSemicolon(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

model::Anomaly SchemaAnomaly(const model::SchemaSnapshot& prev, const model::SchemaSnapshot& cur,
                             const model::SchemaSnapshot& first, int history_size,
                             std::string_view metric) {
  model::Anomaly a;
  a.asset = cur.asset;
  a.metric = std::string(metric);
  a.detector = "schema";
  a.ts = cur.observed_at;
  a.id = AnomalyId(a.asset, a.metric, a.detector, a.ts);
  a.direction = "change";
  a.train_start = first.observed_at;
  a.train_end = prev.observed_at;
  a.train_size = history_size;
  a.seasonality = "none";
  a.detected_at = cur.observed_at;
  return a;
}

}  // namespace

model::Result<std::vector<model::Anomaly>> DetectSchemaChanges(
    std::span<const model::SchemaSnapshot> history, const SchemaSettings& settings) {
  std::vector<model::Anomaly> out;
  for (size_t i = 1; i < history.size(); ++i) {
    if (!(history[i].asset == history[0].asset)) {
      return model::Status::InvalidArgument("snapshots of more than one asset",
                                            "snapshot " + std::to_string(i));
    }
    if (history[i].observed_at < history[i - 1].observed_at) {
      return model::Status::InvalidArgument("snapshots are not in time order",
                                            "snapshot " + std::to_string(i));
    }
  }
  // The schemas that alerted changes started from, latest last: a transition back to the
  // latest of them undoes that change (a revert) and is not alerted again.
  std::vector<std::string> undo;
  bool was_violated = false;
  for (size_t i = 0; i < history.size(); ++i) {
    const model::SchemaSnapshot& cur = history[i];
    const model::SchemaSnapshot& prev = history[i == 0 ? 0 : i - 1];
    if (i > 0) {
      std::vector<SchemaChange> changes = DiffSchemas(prev.columns, cur.columns);
      const bool revert =
          !changes.empty() && !undo.empty() && undo.back() == SchemaKey(cur.columns);
      if (revert) undo.pop_back();
      if (!changes.empty() && !revert) {
        undo.push_back(SchemaKey(prev.columns));
        model::Anomaly a = SchemaAnomaly(prev, cur, history[0], static_cast<int>(i), "schema");
        int breaking = 0;
        bool nullability = false;
        std::vector<std::string> parts;
        for (const SchemaChange& c : changes) {
          breaking += c.breaking;
          nullability |= c.kind == SchemaChangeKind::kNullabilityChanged;
          parts.push_back(c.Describe() + (c.breaking ? " (breaking)" : ""));
        }
        a.value = static_cast<double>(changes.size());
        a.score = breaking;
        a.severity = breaking > 0  ? model::Severity::kError
                     : nullability ? model::Severity::kWarn
                                   : model::Severity::kInfo;
        a.explanation =
            std::to_string(changes.size()) + " schema change" + (changes.size() == 1 ? "" : "s") +
            (breaking > 0 ? " (" + std::to_string(breaking) + " breaking)" : "") + " since " +
            internal::FormatWhen(prev.observed_at, internal::kHour) + ": " + JoinSemicolon(parts);
        out.push_back(std::move(a));
      }
    }
    std::vector<std::string> violations = CheckContract(cur.columns, settings);
    if (!violations.empty() && !was_violated) {
      model::Anomaly a = SchemaAnomaly(prev, cur, history[0], static_cast<int>(i), "contract");
      a.value = static_cast<double>(violations.size());
      a.score = static_cast<double>(violations.size());
      a.severity = model::Severity::kError;
      a.explanation = "contract violated: " + JoinSemicolon(violations);
      out.push_back(std::move(a));
    }
    was_violated = !violations.empty();
  }
  return out;
}

}  // namespace tidemark::detectors
