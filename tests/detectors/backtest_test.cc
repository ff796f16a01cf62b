// The backtest behind `tidemark detect --series`: CSV in, one JSON anomaly per line out.

#include "tidemark/pipeline/backtest.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "series_util.h"

namespace tidemark::pipeline {
namespace {

using detectors::testing::kDayS;
using detectors::testing::kHourS;
using detectors::testing::Parse;
using detectors::testing::Seconds;
using detectors::testing::SeriesMaker;

const model::Timestamp kMonday = Parse("2026-01-05");

struct Outcome {
  model::Status status;
  std::vector<nlohmann::ordered_json> lines;
  BacktestSummary summary;
};

Outcome Backtest(const std::string& csv, const BacktestOptions& options = {}) {
  std::istringstream in(csv);
  std::ostringstream out;
  Outcome run;
  run.status = RunBacktest(in, "series.csv", out, options, &run.summary);
  std::istringstream lines(out.str());
  for (std::string line; std::getline(lines, line);)
    run.lines.push_back(nlohmann::ordered_json::parse(line));
  return run;
}

std::string Csv(const std::vector<model::Series>& series,
                const char* header = "key,metric,timestamp,value") {
  std::string csv = std::string(header) + "\n";
  for (const model::Series& s : series) {
    for (size_t i = 0; i < s.ts.size(); ++i) {
      csv += s.asset.ToString() + "," + s.metric + "," + model::FormatTimestamp(s.ts[i]) + "," +
             std::to_string(s.values[i]) + "\n";
    }
  }
  return csv;
}

// A daily table whose last load dropped to a fifth, and a daily job whose last load is late.
std::vector<model::Series> Example(SeriesMaker& maker) {
  model::Series loads = maker.Daily(kMonday, 60, 20000, 0.5, 0.04);
  loads.values.back() /= 5;
  model::Series updates =
      maker.Updates(kMonday, kMonday + std::chrono::hours(24 * 58), kDayS, 2 * kHourS, 1200);
  updates.asset = {"postgres://db:5432", "raw.payments"};
  return {loads, updates};
}

TEST(BacktestTest, LatestModeWritesOneLinePerAnomaly) {
  SeriesMaker maker(401);
  SCOPED_TRACE(maker.Trace());
  std::vector<model::Series> series = Example(maker);
  Outcome run = Backtest(Csv(series));
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.summary.series, 2);
  EXPECT_EQ(run.summary.rows, static_cast<long long>(series[0].ts.size() + series[1].ts.size()));
  // Lines come in key order: postgres://... before test://...
  ASSERT_EQ(run.lines.size(), 2u);
  const nlohmann::ordered_json& volume = run.lines[1];
  EXPECT_EQ(volume["key"], "test://db/analytics.orders");
  EXPECT_EQ(volume["metric"], "rows_affected");
  EXPECT_EQ(volume["detector"], "volume");
  EXPECT_EQ(volume["timestamp"], model::FormatTimestamp(series[0].ts.back()));
  EXPECT_EQ(volume["severity"], "error");
  EXPECT_LT(volume["value"].get<double>(), volume["expected_low"].get<double>());
  EXPECT_LT(volume["score"].get<double>(), 0);
  EXPECT_NE(volume["explanation"].get<std::string>().find("below the expected"), std::string::npos);
  std::vector<std::string> keys;
  for (auto& [k, v] : volume.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"key", "metric", "timestamp", "value", "expected_low",
                                            "expected_high", "score", "severity", "detector",
                                            "explanation"}));
  // The job last ran two days before the end of the file: late, and by now an error.
  const nlohmann::ordered_json& fresh = run.lines[0];
  EXPECT_EQ(fresh["key"], "postgres://db:5432/raw.payments");
  EXPECT_EQ(fresh["metric"], "update");
  EXPECT_EQ(fresh["detector"], "freshness");
  EXPECT_GT(fresh["value"].get<double>(), 24 * 3600);
  EXPECT_EQ(fresh["expected_low"], 0);
}

TEST(BacktestTest, ReplayScoresEveryPointWithEarlierDataOnly) {
  SeriesMaker maker(402);
  SCOPED_TRACE(maker.Trace());
  std::vector<model::Series> series = Example(maker);
  series[0].values[40] *= 6;  // an earlier spike
  BacktestOptions replay;
  replay.replay = true;
  Outcome run = Backtest(Csv(series), replay);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  std::vector<std::string> volume_times;
  int freshness = 0;
  for (const nlohmann::ordered_json& line : run.lines) {
    if (line["detector"] == "volume") volume_times.push_back(line["timestamp"]);
    freshness += line["detector"] == "freshness";
  }
  EXPECT_EQ(volume_times, (std::vector<std::string>{model::FormatTimestamp(series[0].ts[40]),
                                                    model::FormatTimestamp(series[0].ts.back())}));
  EXPECT_EQ(freshness, 1) << "the job was a day late when the file ended";
  // Appending future rows changes nothing that was said before them.
  std::vector<model::Series> longer = series;
  longer[0].ts.push_back(longer[0].ts.back() + std::chrono::hours(24));
  longer[0].values.push_back(1);
  Outcome more = Backtest(Csv(longer), replay);
  ASSERT_TRUE(more.status.ok());
  for (const nlohmann::ordered_json& line : run.lines) {
    EXPECT_NE(std::find(more.lines.begin(), more.lines.end(), line), more.lines.end())
        << line.dump();
  }
}

TEST(BacktestTest, OutputDoesNotDependOnRowOrderOrThreads) {
  SeriesMaker maker(403);
  SCOPED_TRACE(maker.Trace());
  std::string csv = Csv(Example(maker));
  std::vector<std::string> rows;
  std::istringstream in(csv);
  std::string header;
  std::getline(in, header);
  for (std::string line; std::getline(in, line);) rows.push_back(line);
  std::reverse(rows.begin(), rows.end());
  std::string reversed = header + "\r\n";
  for (const std::string& r : rows) reversed += r + "\r\n";
  BacktestOptions one;
  one.threads = 1;
  one.replay = true;
  BacktestOptions many = one;
  many.threads = 0;
  Outcome a = Backtest(csv, one), b = Backtest(reversed, many);
  ASSERT_TRUE(a.status.ok());
  ASSERT_TRUE(b.status.ok()) << b.status.ToString();
  EXPECT_EQ(a.lines, b.lines);
}

TEST(BacktestTest, OptionsReachTheDetectors) {
  SeriesMaker maker(404);
  SCOPED_TRACE(maker.Trace());
  std::vector<model::Series> series = Example(maker);
  series[0].values.back() = series[0].values[series[0].values.size() - 8] * 0.7;
  BacktestOptions quiet;
  quiet.sensitivity = 50;
  Outcome run = Backtest(Csv({series[0]}), quiet);
  ASSERT_TRUE(run.status.ok());
  EXPECT_TRUE(run.lines.empty());
  BacktestOptions sla;
  sla.warn_after = std::chrono::hours(1);
  sla.now = series[1].ts.back() + std::chrono::minutes(90);
  run = Backtest(Csv({series[1]}), sla);
  ASSERT_TRUE(run.status.ok());
  ASSERT_EQ(run.lines.size(), 1u);
  EXPECT_EQ(run.lines[0]["expected_high"], 3600);
  EXPECT_EQ(run.lines[0]["value"], 5400);
}

TEST(BacktestTest, QuotedFieldsAndHeaderOrderAreAccepted) {
  const std::string csv =
      "\xEF\xBB\xBFTimestamp,Value,Metric,Key\n"
      "2026-01-01T00:00:00Z,1,update,\"postgres://db:5432/shop.public.\"\"odd, name\"\"\"\n"
      "2026-01-02T00:00:00Z,,update,\"postgres://db:5432/shop.public.\"\"odd, name\"\"\"\n"
      "\n";
  Outcome run = Backtest(csv);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.summary.series, 1);
  EXPECT_EQ(run.summary.rows, 2);
}

TEST(BacktestTest, BadCsvNamesFileLineAndReason) {
  auto error = [](const std::string& csv) {
    Outcome run = Backtest(csv);
    EXPECT_FALSE(run.status.ok());
    EXPECT_TRUE(run.status.IsInvalidArgument());
    EXPECT_TRUE(run.lines.empty()) << "wrote output for a bad file";
    return run.status.message();
  };
  const std::string header = "key,metric,timestamp,value\n";
  EXPECT_EQ(error(""), "series.csv:1: empty file: expected a header key,metric,timestamp,value");
  EXPECT_EQ(error("key,metric,timestamp\n"),
            "series.csv:1: header has no 'value' column (expected key,metric,timestamp,value)");
  EXPECT_EQ(error(header + "a/t,row_count,2026-01-01,5\na/t,row_count,yesterday,6\n"),
            "series.csv:3: timestamp 'yesterday' is not ISO-8601");
  EXPECT_EQ(error(header + "a/t,row_count,2026-01-01,five\n"),
            "series.csv:2: value 'five' is not a finite number");
  EXPECT_EQ(error(header + "a/t,row_count,2026-01-01\n"),
            "series.csv:2: expected 4 fields, found 3");
  EXPECT_EQ(error(header + "a/t,row_count,2026-01-01,nan\n"),
            "series.csv:2: value 'nan' is not a finite number");
  EXPECT_EQ(error(header + ",row_count,2026-01-01,1\n"), "series.csv:2: empty key");
  EXPECT_EQ(error(header + "a/t,row_count,2026-01-01,1\n\"a/t\nrest,row_count,2026-01-02,1\n"),
            "series.csv:3: unterminated quoted field");
  EXPECT_EQ(error(header + "\"a/t\"x,row_count,2026-01-02,1\n"),
            "series.csv:2: text after a closing quote");
  EXPECT_EQ(error(header + "a/t,row_count,2026-01-01,1\na/\"t\",row_count,2026-01-02,1\n"),
            "series.csv:3: quote inside an unquoted field");
}

}  // namespace
}  // namespace tidemark::pipeline
