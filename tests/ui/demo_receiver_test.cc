#include "demo_receiver.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tidemark/model/clock.h"
#include "tidemark/pipeline/notifier.h"
#include "ui/temp_dir.h"

namespace tidemark::ui {
namespace {

constexpr char kSecret[] = "demo-secret";

class DemoReceiverTest : public ::testing::Test {
 protected:
  std::unique_ptr<DemoReceiver> Open() {
    auto r = DemoReceiver::Open(kSecret, file_.string(), clock_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : nullptr;
  }
  // A request as the webhook channel sends it, signed at `sent` with `secret`.
  Request Signed(const std::string& body, const std::string& key, long long sent,
                 const std::string& secret = kSecret) {
    Request r;
    r.method = "POST";
    r.target = r.path = "/demo/receiver";
    r.body = body;
    const std::string ts = std::to_string(sent);
    r.headers.Add("Content-Type", "application/json");
    r.headers.Add(std::string(pipeline::kIdempotencyHeader), key);
    r.headers.Add(std::string(pipeline::kEventHeader), "opened");
    r.headers.Add(std::string(pipeline::kTimestampHeader), ts);
    r.headers.Add(std::string(pipeline::kSignatureHeader), pipeline::SignWebhook(secret, ts, body));
    return r;
  }
  long long Now() const {
    return std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  }

  test::TempDir dir_{"tidemark-demo-receiver"};
  std::filesystem::path file_ = dir_.path() / "received.jsonl";
  model::ManualClock clock_{model::ParseTimestamp("2026-12-06T03:00:00Z").value()};
};

std::string Payload(const std::string& title) {
  return nlohmann::json({{"incident_id", "inc-1"},
                         {"event", "opened"},
                         {"title", title},
                         {"severity", "error"},
                         {"state", "open"},
                         {"root", {{"key", "snowflake://acme/raw.hubspot.contacts"}}},
                         {"symptoms", {{{"asset", "a"}, {"metric", "update"},
                                        {"detector", "freshness"}, {"explanation", "late"}}}}})
      .dump();
}

TEST_F(DemoReceiverTest, SignedAlertIsKeptOnceAndShownEscaped) {
  auto receiver = Open();
  ASSERT_TRUE(receiver);
  const std::string body = Payload("hubspot_contacts: <script>alert(1)</script> & \"more\"");
  Response ok = receiver->Receive(Signed(body, "inc-1:opened:1:demo-receiver", Now()));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(receiver->size(), 1u);
  // The sender retries (a lost response): acknowledged, not kept twice.
  Response again = receiver->Receive(Signed(body, "inc-1:opened:1:demo-receiver", Now() + 3));
  EXPECT_EQ(again.status, 200);
  EXPECT_NE(again.body.find("duplicate"), std::string::npos);
  EXPECT_EQ(receiver->size(), 1u);

  Response page = receiver->Page();
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(page.body.find("<script"), std::string::npos) << "unescaped markup in the page";
  EXPECT_NE(page.body.find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;more&quot;"),
            std::string::npos);
  EXPECT_NE(page.body.find("snowflake://acme/raw.hubspot.contacts"), std::string::npos);
  EXPECT_NE(page.body.find("1 alert."), std::string::npos);
  EXPECT_NE(page.headers.Get("Content-Security-Policy")->find("default-src 'none'"),
            std::string::npos);
}

TEST_F(DemoReceiverTest, NewestFirstAndKeptAcrossRestarts) {
  {
    auto receiver = Open();
    ASSERT_TRUE(receiver);
    ASSERT_EQ(receiver->Receive(Signed(Payload("first incident"), "k1", Now())).status, 200);
    clock_.Advance(std::chrono::minutes(1));
    ASSERT_EQ(receiver->Receive(Signed(Payload("second incident"), "k2", Now())).status, 200);
  }
  std::ofstream(file_, std::ios::app) << "{\"torn\":";  // a crash mid-line
  auto reopened = Open();
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->size(), 2u);
  const std::string page = reopened->Page().body;
  ASSERT_NE(page.find("second incident"), std::string::npos);
  EXPECT_LT(page.find("second incident"), page.find("first incident"));
  // A repeat of an alert received before the restart is still recognised.
  Response again = reopened->Receive(Signed(Payload("first incident"), "k1", Now()));
  EXPECT_NE(again.body.find("duplicate"), std::string::npos);
  EXPECT_EQ(reopened->size(), 2u);
}

TEST_F(DemoReceiverTest, RejectsWhatIsNotSignedByTheChannel) {
  auto receiver = Open();
  ASSERT_TRUE(receiver);
  const std::string body = Payload("x");
  EXPECT_EQ(receiver->Receive(Signed(body, "k", Now(), "another-secret")).status, 401);
  EXPECT_EQ(receiver->Receive(Signed(body, "k", Now() - 301)).status, 401);  // stale
  EXPECT_EQ(receiver->Receive(Signed(body, "k", Now() + 301)).status, 401);
  Request tampered = Signed(body, "k", Now());
  tampered.body = Payload("y");
  EXPECT_EQ(receiver->Receive(tampered).status, 401);
  Request unsigned_request = Signed(body, "k", Now());
  unsigned_request.headers = Headers();
  EXPECT_EQ(receiver->Receive(unsigned_request).status, 401);
  EXPECT_EQ(receiver->Receive(Signed("[1,2]", "k", Now())).status, 400);
  EXPECT_EQ(receiver->size(), 0u);
  EXPECT_FALSE(std::filesystem::exists(file_));
  EXPECT_NE(receiver->Page().body.find("Nothing received yet"), std::string::npos);
}

}  // namespace
}  // namespace tidemark::ui
