// Value types of the model: Status/Result, timestamps, asset keys, names, fingerprints.

#include "tidemark/model/status.h"

#include <gtest/gtest.h>

#include "tidemark/model/asset.h"
#include "tidemark/model/clock.h"
#include "tidemark/model/incident.h"
#include "tidemark/model/run.h"
#include "tidemark/model/schema_snapshot.h"
#include "tidemark/model/time.h"

namespace tidemark::model {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument("odd", "x");
  return x / 2;
}

Result<int> Quarter(int x) {
  TM_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(StatusTest, CarriesCodeMessageAndWhere) {
  Status s = Status::NotFound("no asset 'x'", "/nodes/model.x");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(s.ToString(), "not_found: no asset 'x' (at /nodes/model.x)");
  EXPECT_EQ(s.WithWhere("manifest.json").where(), "manifest.json: /nodes/model.x");
  EXPECT_EQ(s.WithContext("ingest").message(), "ingest: no asset 'x'");
  EXPECT_TRUE(Status::Ok().WithContext("x").ok());
  EXPECT_EQ(StatusCodeName(StatusCode::kInvalidArgument), "invalid_argument");
}

TEST(ResultTest, PropagatesErrorsThroughMacros) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> bad = Quarter(6);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().where(), "x");
  EXPECT_EQ(bad.value_or(-1), -1);
}

TEST(TimestampTest, ParsesTheFormsProducersSend) {
  const Timestamp base = *ParseTimestamp("2024-03-05T10:20:30Z");
  EXPECT_EQ(FormatTimestamp(base), "2024-03-05T10:20:30Z");
  EXPECT_EQ(*ParseTimestamp("2024-03-05 10:20:30"), base) << "no zone reads as UTC";
  EXPECT_EQ(*ParseTimestamp("2024-03-05T12:20:30+02:00"), base);
  EXPECT_EQ(*ParseTimestamp("2024-03-05T05:20:30-0500"), base);
  EXPECT_EQ(*ParseTimestamp("2024-03-05T10:20:30.123456789Z"),
            base + std::chrono::microseconds(123456))
      << "nanoseconds truncate to microseconds";
  EXPECT_EQ(*ParseTimestamp("2024-03-05T10:20:30.5Z"), base + std::chrono::milliseconds(500));
  EXPECT_EQ(*ParseTimestamp("2024-03-05"), base - std::chrono::seconds(10 * 3600 + 20 * 60 + 30));
  EXPECT_EQ(FormatTimestamp(base + std::chrono::microseconds(7)),
            "2024-03-05T10:20:30.000007Z");
}

TEST(TimestampTest, RejectsWhatIsNotADateTime) {
  for (const char* bad : {"", "yesterday", "2024-13-01", "2024-02-30T00:00:00Z",
                          "2024-03-05T25:00:00Z", "2024-03-05T10:20:30Zjunk", "2024-03-05T10",
                          "2024-03-05T10:20:30.Z", "1710000000"}) {
    EXPECT_FALSE(ParseTimestamp(bad).has_value()) << bad;
  }
}

TEST(TimestampTest, FormatsBeforeTheEpoch) {
  Timestamp t = *ParseTimestamp("1969-12-31T23:59:59.5Z");
  EXPECT_EQ(FormatTimestamp(t), "1969-12-31T23:59:59.500000Z");
}

TEST(AssetKeyTest, SplitsAfterTheNamespaceAuthority) {
  AssetKey k{"postgres://db:5432", "analytics.marts.fct_orders"};
  EXPECT_EQ(k.ToString(), "postgres://db:5432/analytics.marts.fct_orders");
  EXPECT_EQ(*AssetKey::Parse(k.ToString()), k);
  AssetKey s3{"s3://bucket", "path/to/file.csv"};
  EXPECT_EQ(*AssetKey::Parse(s3.ToString()), s3);
  AssetKey job{"airflow-prod", "daily_sales.load"};
  EXPECT_EQ(*AssetKey::Parse(job.ToString()), job);
  EXPECT_FALSE(AssetKey::Parse("no-slash").has_value());
  EXPECT_FALSE(AssetKey::Parse("postgres://db:5432").has_value());
  EXPECT_FALSE(AssetKey::Parse("ns/").has_value());
}

TEST(NamesTest, EveryEnumRoundTrips) {
  for (auto k : {AssetKind::kTable, AssetKind::kSource, AssetKind::kJob, AssetKind::kExposure,
                 AssetKind::kDataset}) {
    EXPECT_EQ(ParseAssetKind(AssetKindName(k)), k);
  }
  for (auto s : {RunState::kStart, RunState::kRunning, RunState::kComplete, RunState::kAbort,
                 RunState::kFail, RunState::kOther}) {
    EXPECT_EQ(ParseRunState(RunStateName(s)), s);
  }
  EXPECT_EQ(RunStateName(RunState::kComplete), "COMPLETE");
  EXPECT_TRUE(IsTerminal(RunState::kAbort));
  EXPECT_FALSE(IsTerminal(RunState::kRunning));
  EXPECT_EQ(ParseIncidentState("acknowledged"), IncidentState::kAcknowledged);
  EXPECT_EQ(ParseAlertState("dead"), AlertState::kDead);
  EXPECT_EQ(ParseSeverity("error"), Severity::kError);
  EXPECT_FALSE(ParseAssetKind("Table").has_value()) << "names are exact";
}

TEST(SchemaSnapshotTest, FingerprintIgnoresOrderOfListingButNotOfPosition) {
  SchemaSnapshot a{{}, {}, "", {{"id", 1, "int", "", false, {}, ""}, {"x", 2, "text", "", {}, {}, ""}}};
  SchemaSnapshot b{{}, {}, "", {{"x", 2, "text", "", {}, {}, ""}, {"id", 1, "int", "", false, {}, ""}}};
  EXPECT_EQ(a.Fingerprint(), b.Fingerprint());
  b.columns[0].data_type = "varchar";
  EXPECT_NE(a.Fingerprint(), b.Fingerprint());
  SchemaSnapshot c = a;
  c.columns[0].nullable = true;
  EXPECT_NE(a.Fingerprint(), c.Fingerprint());
  c = a;
  c.columns[0].description = "descriptions do not count";
  EXPECT_EQ(a.Fingerprint(), c.Fingerprint());
}

TEST(ClockTest, ManualClockMovesOnlyWhenTold) {
  ManualClock clock(*ParseTimestamp("2026-01-01T00:00:00Z"));
  Timestamp t0 = clock.Now();
  EXPECT_EQ(clock.Now(), t0);
  clock.Advance(std::chrono::seconds(5));
  EXPECT_EQ(clock.Now() - t0, std::chrono::seconds(5));
  EXPECT_GT(SystemClock().Now(), t0 - std::chrono::hours(24 * 365 * 10));
}

}  // namespace
}  // namespace tidemark::model
