#include "tidemark/pipeline/deliverer.h"

#include <gtest/gtest.h>

#include <latch>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "pipeline/fixtures.h"
#include "pipeline/receiver.h"
#include "tidemark/pipeline/incidents.h"
#include "tidemark/pipeline/notifier.h"

namespace tidemark::pipeline {
namespace {

using namespace testing;
using catalog::testing::PostgresFactory;
using catalog::testing::SqliteFileFactory;

template <typename Factory>
class DelivererTest : public StoreFixture<Factory> {
 protected:
  using StoreFixture<Factory>::clock_;
  using StoreFixture<Factory>::store_;

  void SetUp() override {
    StoreFixture<Factory>::SetUp();
    if (this->SetUpStopped()) return;
    catalog::WriteBatch batch;
    batch.PutAsset(Table("orders"));
    ASSERT_TRUE(store_->Write(batch).ok());
    routing_.channels = {{"hook", ChannelKind::kWebhook, receiver_.Url(), "s3cret", 2000ms, ""}};
    routing_.default_channel = "hook";
  }
  std::string OpenIncident() {
    catalog::WriteBatch batch;
    model::Anomaly a = DropAnomaly("orders", Day(60), "drop-60");
    a.explanation = "dropped";
    batch.PutAnomaly(a);
    EXPECT_TRUE(store_->Write(batch).ok());
    auto s = UpdateIncidents(*store_, clock_, routing_, {});
    EXPECT_TRUE(s.ok() && s->opened_ids.size() == 1);
    return s.ok() && !s->opened_ids.empty() ? s->opened_ids[0] : "";
  }
  DeliveryStats Drain(Deliverer& d) {
    auto s = d.Drain();
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : DeliveryStats{};
  }

  Receiver receiver_;
  RoutingConfig routing_;
};

DelivererOptions Opts(const std::string& worker, int max_attempts = 8) {
  DelivererOptions o;
  o.worker = worker;
  o.max_attempts = max_attempts;
  o.base_backoff = 1000ms;
  o.seed = 1;
  return o;
}

using Stores = ::testing::Types<SqliteFileFactory, PostgresFactory>;
TYPED_TEST_SUITE(DelivererTest, Stores);

TYPED_TEST(DelivererTest, OneSignedMessagePerIncidentEventThenResolve) {
  const std::string id = this->OpenIncident();
  Deliverer deliverer(*this->store_, this->clock_, this->routing_, Opts("w1"));
  DeliveryStats s = this->Drain(deliverer);
  EXPECT_EQ(s.delivered, 1);
  ASSERT_TRUE(ResolveIncident(*this->store_, this->clock_, id, "jane", this->routing_).ok());
  s = this->Drain(deliverer);
  EXPECT_EQ(s.delivered, 1);
  EXPECT_EQ(this->Drain(deliverer).claimed, 0);

  auto got = this->receiver_.Got();
  ASSERT_EQ(got.size(), 2u);
  std::vector<std::string> events;
  for (const Received& r : got) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/hook");
    auto body = nlohmann::json::parse(r.body);
    EXPECT_EQ(body["incident_id"], id);
    EXPECT_EQ(body["idempotency_key"], r.headers.at("idempotency-key"));
    events.push_back(r.headers.at("tidemark-event"));
    // The signature verifies over timestamp + "." + raw body, and fails for another secret.
    const std::string ts = r.headers.at("tidemark-timestamp");
    EXPECT_EQ(r.headers.at("tidemark-signature"), SignWebhook("s3cret", ts, r.body));
    EXPECT_NE(r.headers.at("tidemark-signature"), SignWebhook("other", ts, r.body));
  }
  EXPECT_EQ(events, (std::vector<std::string>{"opened", "resolved"}));
  auto delivered = this->store_->ListAlerts(model::AlertState::kDelivered, 10);
  ASSERT_TRUE(delivered.ok());
  EXPECT_EQ(delivered->size(), 2u);
}

TYPED_TEST(DelivererTest, RetriesAfter500And429ThenDelivers) {
  this->receiver_.Script({{500, ""}, {429, "7"}, {200, ""}});
  this->OpenIncident();
  Deliverer deliverer(*this->store_, this->clock_, this->routing_,
                      Opts("w1"));
  DeliveryStats s = this->Drain(deliverer);
  EXPECT_EQ(s.retried, 1);
  EXPECT_EQ(s.delivered, 0);
  auto pending = this->store_->ListAlerts(model::AlertState::kPending, 10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].attempts, 1);
  EXPECT_EQ((*pending)[0].last_error, "HTTP 500");
  EXPECT_LE((*pending)[0].next_attempt_at, this->clock_.Now() + 1s);  // backoff base 1 s

  this->clock_.Advance(2s);
  s = this->Drain(deliverer);
  EXPECT_EQ(s.retried, 1);  // the 429
  pending = this->store_->ListAlerts(model::AlertState::kPending, 10);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].next_attempt_at, this->clock_.Now() + 7s);  // Retry-After honoured

  this->clock_.Advance(6s);
  EXPECT_EQ(this->Drain(deliverer).claimed, 0);  // not due yet
  this->clock_.Advance(1s);
  EXPECT_EQ(this->Drain(deliverer).delivered, 1);
  auto got = this->receiver_.Got();
  ASSERT_EQ(got.size(), 3u);
  // Every attempt carries the same idempotency key.
  EXPECT_EQ(got[0].headers.at("idempotency-key"), got[2].headers.at("idempotency-key"));
}

TYPED_TEST(DelivererTest, GivesUpIntoDeadAfterMaxAttemptsAndRefusesRedirects) {
  this->receiver_.Script({{302, ""}, {302, ""}});
  this->OpenIncident();
  Deliverer deliverer(*this->store_, this->clock_, this->routing_,
                      Opts("w1", 2));
  EXPECT_EQ(this->Drain(deliverer).retried, 1);
  this->clock_.Advance(5s);
  EXPECT_EQ(this->Drain(deliverer).dead, 1);
  auto dead = this->store_->ListAlerts(model::AlertState::kDead, 10);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].last_error, "HTTP 302 (redirect refused)");
  EXPECT_EQ(this->receiver_.Got().size(), 2u);  // the Location was never followed
}

TYPED_TEST(DelivererTest, UnreachableReceiverIsRetriedAndUnknownChannelIsDead) {
  this->routing_.channels[0].url = "http://127.0.0.1:1/hook";  // nothing listens on port 1
  this->OpenIncident();
  Deliverer deliverer(*this->store_, this->clock_, this->routing_, Opts("w1"));
  EXPECT_EQ(this->Drain(deliverer).retried, 1);
  RoutingConfig without;  // the channel was removed from the config
  Deliverer other(*this->store_, this->clock_, without, Opts("w2"));
  this->clock_.Advance(std::chrono::hours(2));
  EXPECT_EQ(this->Drain(other).dead, 1);
}

}  // namespace
}  // namespace tidemark::pipeline

namespace tidemark::pipeline {
namespace {

using namespace testing;

// Two dispatchers (as two `tidemark` instances would) drain one PostgreSQL outbox at once:
// every alert reaches the receiver exactly once.
TEST(DelivererTwoInstancesTest, EachAlertIsDeliveredOnceOnPostgres) {
  TM_REQUIRE_PG();
  catalog::testing::PostgresFactory factory;
  model::ManualClock clock(Day(60));
  auto opened = factory.Open(&clock);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<catalog::Store> store = std::move(*opened);
  Receiver receiver;
  RoutingConfig routing;
  routing.channels = {{"hook", ChannelKind::kWebhook, receiver.Url(), "k", 2000ms, ""}};
  constexpr int kAlerts = 200;
  catalog::WriteBatch batch;
  for (int i = 0; i < kAlerts; ++i) {
    model::Alert a;
    a.id = "alr-" + std::to_string(i);
    a.incident_id = "inc-" + std::to_string(i);
    a.channel = "hook";
    a.event = "opened";
    a.idempotency_key = a.incident_id + ":opened:1:hook";
    a.payload = R"({"incident_id":")" + a.incident_id + R"("})";
    batch.EnqueueAlert(a);
  }
  ASSERT_TRUE(store->Write(batch).ok());
  // Both start draining together, and each delivery takes 2 ms: on a busy machine one thread
  // could otherwise deliver all 200 before the other is even scheduled, and the test would
  // show no contention.
  Reply slow;
  slow.hang_ms = 2;
  receiver.Script(std::vector<Reply>(kAlerts, slow));
  std::latch start(2);
  auto run = [&](const std::string& worker, DeliveryStats& out) {
    DelivererOptions o;
    o.worker = worker;
    o.batch = 8;
    Deliverer d(*store, clock, routing, o);
    start.arrive_and_wait();
    auto s = d.Drain(10000);
    if (s.ok()) out = *s;
  };
  DeliveryStats a, b;
  std::thread t1(run, "instance-a", std::ref(a));
  std::thread t2(run, "instance-b", std::ref(b));
  t1.join();
  t2.join();
  EXPECT_EQ(a.delivered + b.delivered, kAlerts);
  EXPECT_GT(a.delivered, 0);
  EXPECT_GT(b.delivered, 0);
  std::set<std::string> keys;
  for (const Received& r : receiver.Got()) keys.insert(r.headers.at("idempotency-key"));
  EXPECT_EQ(receiver.Got().size(), static_cast<size_t>(kAlerts));
  EXPECT_EQ(keys.size(), static_cast<size_t>(kAlerts));
  store.reset();
  factory.Cleanup();
}

}  // namespace
}  // namespace tidemark::pipeline
