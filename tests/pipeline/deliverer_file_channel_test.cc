// The Deliverer's local channel (kind file): alerts appended as JSON Lines, through the same
// outbox as every other channel, on both stores.
#include "tidemark/pipeline/deliverer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "pipeline/fixtures.h"
#include "tidemark/pipeline/incidents.h"
#include "ui/temp_dir.h"

namespace tidemark::pipeline {
namespace {

using namespace testing;
using catalog::testing::PostgresFactory;
using catalog::testing::SqliteFileFactory;

std::vector<nlohmann::json> ReadLines(const std::filesystem::path& file) {
  std::vector<nlohmann::json> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

template <typename Factory>
class FileChannelTest : public StoreFixture<Factory> {
 protected:
  using StoreFixture<Factory>::clock_;
  using StoreFixture<Factory>::store_;

  void SetUp() override {
    StoreFixture<Factory>::SetUp();
    if (this->SetUpStopped()) return;
    catalog::WriteBatch batch;
    batch.PutAsset(Table("orders"));
    model::Anomaly a = DropAnomaly("orders", Day(60), "drop-60");
    a.explanation = "rows_affected dropped to 5 <b>\"quoted\"\nsecond line";
    batch.PutAnomaly(a);
    ASSERT_TRUE(store_->Write(batch).ok());
    // The folder does not exist yet: the first delivery creates it.
    routing_.channels = {{"log", ChannelKind::kFile, log_.string(), "", 1000ms, ""}};
    routing_.default_channel = "log";
  }
  DeliveryStats Drain() {
    DelivererOptions o;
    o.worker = "w1";
    o.seed = 1;
    Deliverer d(*store_, clock_, routing_, o);
    auto s = d.Drain();
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : DeliveryStats{};
  }

  test::TempDir dir_{"tidemark-file-channel"};
  std::filesystem::path log_ = dir_.path() / "logs" / "alerts.jsonl";
  RoutingConfig routing_;
};

using Stores = ::testing::Types<SqliteFileFactory, PostgresFactory>;
TYPED_TEST_SUITE(FileChannelTest, Stores);

TYPED_TEST(FileChannelTest, EachAlertIsOneLineAppendedOnce) {
  auto opened = UpdateIncidents(*this->store_, this->clock_, this->routing_, {});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ASSERT_EQ(opened->opened_ids.size(), 1u);
  EXPECT_EQ(this->Drain().delivered, 1);
  ASSERT_TRUE(ResolveIncident(*this->store_, this->clock_, opened->opened_ids[0], "jane",
                              this->routing_)
                  .ok());
  EXPECT_EQ(this->Drain().delivered, 1);
  EXPECT_EQ(this->Drain().claimed, 0);  // delivered alerts are never written again

  std::vector<nlohmann::json> lines = ReadLines(this->log_);
  ASSERT_EQ(lines.size(), 2u);
  std::set<std::string> keys;
  for (const nlohmann::json& line : lines) {
    EXPECT_EQ(line["channel"], "log");
    EXPECT_EQ(line["incident_id"], opened->opened_ids[0]);
    EXPECT_EQ(line["sent_at"], model::FormatTimestamp(Day(60)));
    keys.insert(line["idempotency_key"].get<std::string>());
  }
  EXPECT_EQ(keys.size(), 2u);
  EXPECT_EQ(lines[0]["event"], "opened");
  EXPECT_EQ(lines[1]["event"], "resolved");
  // A newline inside a value stays inside its line.
  EXPECT_EQ(lines[0]["symptoms"][0]["explanation"],
            "rows_affected dropped to 5 <b>\"quoted\"\nsecond line");
  auto delivered = this->store_->ListAlerts(model::AlertState::kDelivered, 10);
  ASSERT_TRUE(delivered.ok());
  EXPECT_EQ(delivered->size(), 2u);
}

TYPED_TEST(FileChannelTest, UnwritableFileIsRetriedThenDelivered) {
  std::filesystem::create_directories(this->log_);  // a folder where the file should be
  ASSERT_TRUE(UpdateIncidents(*this->store_, this->clock_, this->routing_, {}).ok());
  DeliveryStats failed = this->Drain();
  EXPECT_EQ(failed.retried, 1);
  EXPECT_EQ(failed.delivered, 0);
  auto pending = this->store_->ListAlerts(model::AlertState::kPending, 10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_NE((*pending)[0].last_error.find("cannot open the alert file"), std::string::npos)
      << (*pending)[0].last_error;

  std::filesystem::remove(this->log_);
  this->clock_.Advance(std::chrono::hours(1));
  EXPECT_EQ(this->Drain().delivered, 1);
  EXPECT_EQ(ReadLines(this->log_).size(), 1u);
}

}  // namespace
}  // namespace tidemark::pipeline
