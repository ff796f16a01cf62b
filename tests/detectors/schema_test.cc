// The schema detector: diff kinds (added, removed, renamed, type and nullability changes),
// breaking vs not, type spellings, contracts, and reverts.

#include "tidemark/detectors/schema.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "series_util.h"

namespace tidemark::detectors {
namespace {

using testing::Parse;

model::Column Col(std::string name, int position, std::string type, std::optional<bool> nullable) {
  model::Column c;
  c.name = std::move(name);
  c.position = position;
  c.data_type = std::move(type);
  c.nullable = nullable;
  return c;
}

std::vector<model::Column> Orders() {
  return {Col("id", 1, "bigint", false), Col("customer_id", 2, "integer", false),
          Col("email", 3, "varchar(64)", true), Col("amount", 4, "numeric(12,2)", true)};
}

std::vector<std::string> Kinds(const std::vector<SchemaChange>& changes) {
  std::vector<std::string> out;
  for (const SchemaChange& c : changes) {
    out.push_back(std::string(SchemaChangeKindName(c.kind)) + ":" + c.column +
                  (c.breaking ? "!" : ""));
  }
  return out;
}

model::SchemaSnapshot Snapshot(const char* when, std::vector<model::Column> columns) {
  model::SchemaSnapshot s;
  s.asset = {"postgres://db:5432", "shop.public.orders"};
  s.observed_at = Parse(when);
  s.source = "postgres";
  s.columns = std::move(columns);
  return s;
}

TEST(SchemaTest, SameSchemaHasNoChanges) { EXPECT_TRUE(DiffSchemas(Orders(), Orders()).empty()); }

TEST(SchemaTest, DiffFindsEveryKind) {
  std::vector<model::Column> after = Orders();
  after.erase(after.begin() + 2);                    // email removed
  after[2].position = 3;                             // amount moves up
  after[1].data_type = "bigint";                     // customer_id widened
  after[2].nullable = false;                         // amount tightened
  after.push_back(Col("channel", 4, "text", true));  // added
  std::vector<SchemaChange> changes = DiffSchemas(Orders(), after);
  EXPECT_EQ(Kinds(changes),
            (std::vector<std::string>{"removed:email!", "type_changed:customer_id",
                                      "nullability_changed:amount", "added:channel"}));
  EXPECT_EQ(changes[0].Describe(), "removed column email (varchar(64))");
  EXPECT_EQ(changes[1].Describe(), "column customer_id changed type from integer to bigint");
  EXPECT_EQ(changes[2].Describe(), "column amount became NOT NULL");
  EXPECT_EQ(changes[3].Describe(), "added column channel (text)");
}

TEST(SchemaTest, RenameIsARemovedAndAddedPairWithSameTypeAndPosition) {
  std::vector<model::Column> after = Orders();
  after[1].name = "client_id";
  std::vector<SchemaChange> changes = DiffSchemas(Orders(), after);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, SchemaChangeKind::kRenamed);
  EXPECT_EQ(changes[0].old_name, "customer_id");
  EXPECT_EQ(changes[0].column, "client_id");
  EXPECT_TRUE(changes[0].breaking);
  EXPECT_EQ(changes[0].Describe(), "renamed column customer_id to client_id (integer)");
  // A different type at that position is a removal and an addition, not a rename.
  after[1].data_type = "text";
  EXPECT_EQ(Kinds(DiffSchemas(Orders(), after)),
            (std::vector<std::string>{"removed:customer_id!", "added:client_id"}));
}

TEST(SchemaTest, BreakingChangesAreTold) {
  auto one = [](const char* from, const char* to) {
    std::vector<model::Column> a = {Col("x", 1, from, true)};
    std::vector<model::Column> b = {Col("x", 1, to, true)};
    std::vector<SchemaChange> changes = DiffSchemas(a, b);
    EXPECT_EQ(changes.size(), 1u) << from << " -> " << to;
    return !changes.empty() && changes[0].breaking;
  };
  EXPECT_FALSE(one("integer", "bigint"));
  EXPECT_FALSE(one("smallint", "numeric(10,0)"));
  EXPECT_FALSE(one("varchar(64)", "varchar(255)"));
  EXPECT_FALSE(one("varchar(64)", "text"));
  EXPECT_FALSE(one("numeric(12,2)", "numeric(18,2)"));
  EXPECT_FALSE(one("real", "double precision"));
  EXPECT_TRUE(one("bigint", "integer"));
  EXPECT_TRUE(one("varchar(255)", "varchar(64)"));
  EXPECT_TRUE(one("numeric(12,2)", "numeric(12,1)"));
  EXPECT_TRUE(one("timestamp", "date"));
  EXPECT_TRUE(one("integer", "text"));
  // NOT NULL relaxed breaks readers relying on it (as dbt's contract checks rank it).
  std::vector<model::Column> a = {Col("x", 1, "integer", false)};
  std::vector<model::Column> b = {Col("x", 1, "integer", true)};
  EXPECT_EQ(Kinds(DiffSchemas(a, b)), (std::vector<std::string>{"nullability_changed:x!"}));
  // Unknown nullability on either side is not a change.
  b[0].nullable.reset();
  EXPECT_TRUE(DiffSchemas(a, b).empty());
}

TEST(SchemaTest, SpellingsOfOneTypeAreTheSameType) {
  std::vector<model::Column> a = {
      Col("a", 1, "integer", true),          Col("b", 2, "varchar(64)", true),
      Col("c", 3, "double precision", true), Col("d", 4, "timestamp with time zone", true),
      Col("e", 5, "NUMERIC(12, 2)", true),   Col("f", 6, "bool", true)};
  std::vector<model::Column> b = {
      Col("A", 1, "INT4", true),          Col("b", 2, "character varying(64)", true),
      Col("c", 3, "float8", true),        Col("d", 4, "timestamptz", true),
      Col("e", 5, "decimal(12,2)", true), Col("f", 6, "BOOLEAN", true)};
  EXPECT_TRUE(DiffSchemas(a, b).empty()) << ::testing::PrintToString(Kinds(DiffSchemas(a, b)));
}

TEST(SchemaTest, DetectAlertsOnChangesButNotOnReverts) {
  std::vector<model::Column> widened = Orders();
  widened.push_back(Col("channel", 5, "text", true));
  std::vector<model::Column> narrowed = widened;
  narrowed[1].data_type = "smallint";
  std::vector<model::SchemaSnapshot> history = {
      Snapshot("2026-01-01T06:00:00Z", Orders()), Snapshot("2026-01-02T06:00:00Z", widened),
      Snapshot("2026-01-03T06:00:00Z", Orders()),  // the column was rolled back
      Snapshot("2026-01-04T06:00:00Z", widened),   // and deployed again: news again
      Snapshot("2026-01-05T06:00:00Z", narrowed),  // a breaking change on top
      Snapshot("2026-01-06T06:00:00Z", widened),   // undone,
      Snapshot("2026-01-07T06:00:00Z", Orders()),  // and the column undone too
  };
  auto r = DetectSchemaChanges(history, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[1].ts, history[3].observed_at);
  EXPECT_EQ((*r)[2].ts, history[4].observed_at);
  EXPECT_EQ((*r)[2].severity, model::Severity::kError);
  const model::Anomaly& a = (*r)[0];
  EXPECT_EQ(a.detector, "schema");
  EXPECT_EQ(a.metric, "schema");
  EXPECT_EQ(a.direction, "change");
  EXPECT_EQ(a.ts, history[1].observed_at);
  EXPECT_EQ(a.value, 1);
  EXPECT_EQ(a.severity, model::Severity::kInfo);
  EXPECT_EQ(a.train_size, 1);
  EXPECT_EQ(a.explanation,
            "1 schema change since Thu 2026-01-01 06:00: added column channel (text)");
}

TEST(SchemaTest, SeverityFollowsTheWorstChange) {
  std::vector<model::Column> relaxed = Orders();
  relaxed[1].nullable = true;  // NOT NULL dropped: breaking
  std::vector<model::Column> tightened = Orders();
  tightened[2].nullable = false;  // nullable -> NOT NULL: worth a warning
  auto severity = [](std::vector<model::Column> after) {
    auto r =
        DetectSchemaChanges(std::vector<model::SchemaSnapshot>{Snapshot("2026-01-01", Orders()),
                                                               Snapshot("2026-01-02", after)},
                            {});
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r->size(), 1u);
    return r->empty() ? model::Severity::kInfo : (*r)[0].severity;
  };
  EXPECT_EQ(severity(relaxed), model::Severity::kError);
  EXPECT_EQ(severity(tightened), model::Severity::kWarn);
}

TEST(SchemaTest, ContractViolationsAreFoundOnceWhenTheyStart) {
  SchemaSettings settings;
  settings.contract = {{"id", "bigint", false},
                       {"customer_id", "int", {}},
                       {"email", "", {}},
                       {"amount", "decimal(12,2)", {}}};
  EXPECT_TRUE(CheckContract(Orders(), settings).empty());
  std::vector<model::Column> broken = Orders();
  broken[3].data_type = "double precision";
  broken.erase(broken.begin() + 2);
  broken.push_back(Col("debug", 5, "text", true));
  EXPECT_EQ(CheckContract(broken, settings),
            (std::vector<std::string>{"missing column email",
                                      "column amount is double precision, contract says "
                                      "decimal(12,2)",
                                      "extra column debug"}));
  settings.allow_extra_columns = true;
  EXPECT_EQ(CheckContract(broken, settings).size(), 2u);

  std::vector<model::SchemaSnapshot> history = {
      Snapshot("2026-01-01", Orders()), Snapshot("2026-01-02", broken),
      Snapshot("2026-01-03", broken), Snapshot("2026-01-04", Orders())};
  auto r = DetectSchemaChanges(history, settings);
  ASSERT_TRUE(r.ok());
  int contract = 0;
  for (const model::Anomaly& a : *r) {
    if (a.metric != "contract") continue;
    ++contract;
    EXPECT_EQ(a.ts, history[1].observed_at);
    EXPECT_EQ(a.severity, model::Severity::kError);
    EXPECT_EQ(a.explanation.rfind("contract violated: missing column email", 0), 0u);
  }
  EXPECT_EQ(contract, 1);
}

TEST(SchemaTest, HistoryMustBeOneAssetInTimeOrder) {
  model::SchemaSnapshot a = Snapshot("2026-01-02", Orders());
  model::SchemaSnapshot b = Snapshot("2026-01-01", Orders());
  auto r = DetectSchemaChanges(std::vector<model::SchemaSnapshot>{a, b}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_EQ(r.status().where(), "snapshot 1");
  b.observed_at = Parse("2026-01-03");
  b.asset.name = "shop.public.customers";
  EXPECT_FALSE(DetectSchemaChanges(std::vector<model::SchemaSnapshot>{a, b}, {}).ok());
  auto empty = DetectSchemaChanges({}, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace tidemark::detectors
