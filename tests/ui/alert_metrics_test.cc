// The outbox on /metrics: a dead letter forced for real (a receiver on loopback answering 500
// to an alert allowed one attempt) shows as tidemark_alert_dead_letters_total and in the
// tidemark_alerts{state} gauges, scraped over loopback HTTP from a running service.

#include "tidemark/ui/metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "pipeline/receiver.h"
#include "tidemark/catalog/store.h"
#include "tidemark/pipeline/scheduler.h"
#include "tidemark/ui/service.h"
#include "ui/http_client.h"
#include "ui/temp_dir.h"

namespace tidemark::ui {
namespace {

using namespace std::chrono_literals;

model::Alert PendingAlert(const std::string& id, const std::string& channel) {
  model::Alert a;
  a.id = id;
  a.incident_id = "inc-1";
  a.channel = channel;
  a.event = "opened";
  a.payload = R"({"incident_id":"inc-1","event":"opened","title":"t"})";
  a.idempotency_key = "inc-1:opened:1:" + channel + ":" + id;
  a.created_at = model::SystemClock().Now();
  a.next_attempt_at = a.created_at;
  return a;
}

TEST(AlertMetricsTest, DeadLetterIsCountedAndOutboxGaugesFollowTheStore) {
  test::TempDir dir("tidemark-alert-metrics-test");
  auto store = catalog::OpenStore({.url = "sqlite:" + (dir.path() / "s.db").string()});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  pipeline::testing::Receiver receiver;
  receiver.Script({{500, ""}, {200, ""}});
  catalog::WriteBatch batch;
  batch.EnqueueAlert(PendingAlert("alr-dead", "hook"));
  ASSERT_TRUE((*store)->Write(batch).ok());

  ServiceOptions options;
  options.server.host = "127.0.0.1";
  options.server.port = 0;
  options.server.handle_signals = false;
  options.probe_interval = 20ms;
  auto service = Service::Create(**store, options);
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  std::thread server([&] { (*service)->Run(); });

  pipeline::RoutingConfig routing;
  routing.channels = {{"hook", pipeline::ChannelKind::kWebhook, receiver.Url(), "", 2000ms, ""}};
  pipeline::SchedulerOptions scheduler_options;
  scheduler_options.run_detection = false;
  scheduler_options.deliver_interval = 20ms;
  scheduler_options.delivery.worker = "metrics-test";
  scheduler_options.delivery.max_attempts = 1;  // the 500 makes it dead at once
  Metrics& metrics = (*service)->metrics();
  scheduler_options.on_delivery = [&metrics](const pipeline::DeliveryStats& s) {
    metrics.RecordAlertDeliveries(static_cast<uint64_t>(s.delivered),
                                  static_cast<uint64_t>(s.retried), static_cast<uint64_t>(s.dead));
  };
  pipeline::Scheduler scheduler(**store, model::SystemClock(), routing, scheduler_options);
  scheduler.Start();

  auto scrape_until = [&](const std::vector<std::string>& lines) {
    std::string body;
    for (int i = 0; i < 250; ++i) {
      auto reply = test::Fetch((*service)->port(), "GET", "/metrics");
      if (reply && reply->status == 200) {
        body = reply->body;
        bool all = true;
        for (const std::string& l : lines) all = all && body.find("\n" + l + "\n") != std::string::npos;
        if (all) return body;
      }
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "metrics never showed the expected lines; last scrape:\n" << body;
    return body;
  };
  std::string body = scrape_until({"tidemark_alert_dead_letters_total 1",
                                   "tidemark_alerts{state=\"dead\"} 1",
                                   "tidemark_alerts{state=\"pending\"} 0"});
  EXPECT_NE(body.find("# TYPE tidemark_alert_dead_letters_total counter"), std::string::npos);
  EXPECT_NE(body.find("# TYPE tidemark_alerts gauge"), std::string::npos);
  EXPECT_NE(body.find("tidemark_alert_deliveries_total{outcome=\"delivered\"} 0"), std::string::npos);
  // Logs and metrics name channels at most, never their URLs.
  EXPECT_EQ(body.find(receiver.Url()), std::string::npos);

  // A second alert is delivered: the counters move, the dead letter stays.
  catalog::WriteBatch more;
  more.EnqueueAlert(PendingAlert("alr-ok", "hook"));
  ASSERT_TRUE((*store)->Write(more).ok());
  scrape_until({"tidemark_alert_deliveries_total{outcome=\"delivered\"} 1",
                "tidemark_alert_dead_letters_total 1", "tidemark_alerts{state=\"delivered\"} 1",
                "tidemark_alerts{state=\"dead\"} 1"});
  auto dead = (*store)->ListAlerts(model::AlertState::kDead, 10);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].last_error, "HTTP 500");

  scheduler.Stop();
  (*service)->Shutdown();
  server.join();
}

TEST(AlertMetricsTest, StoresCountTheOutboxByState) {
  test::TempDir dir("tidemark-alert-metrics-test");
  auto store = catalog::OpenStore({.url = "sqlite:" + (dir.path() / "s.db").string()});
  ASSERT_TRUE(store.ok());
  catalog::WriteBatch batch;
  for (const char* id : {"a1", "a2", "a3"}) batch.EnqueueAlert(PendingAlert(id, "c"));
  ASSERT_TRUE((*store)->Write(batch).ok());
  auto now = model::SystemClock().Now();
  ASSERT_TRUE((*store)->ClaimAlerts("w", 2, now + 1s, 60s).ok());
  ASSERT_TRUE((*store)->MarkAlertDelivered("a1", "w", now).ok());
  ASSERT_TRUE((*store)->MarkAlertFailed("a2", "w", "HTTP 500", now, true).ok());
  auto counts = (*store)->CountAlerts();
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->pending, 1);
  EXPECT_EQ(counts->delivered, 1);
  EXPECT_EQ(counts->dead, 1);
}

}  // namespace
}  // namespace tidemark::ui
