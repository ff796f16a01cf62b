#include "tidemark/pipeline/notifier.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tidemark::pipeline {
namespace {

using json = nlohmann::json;

// A payload as incidents.cc writes it into the outbox.
model::Alert SampleAlert(const std::string& event) {
  json p = {{"incident_id", "inc-0123456789abcdef"},
            {"event", event},
            {"sequence", event == "opened" ? 1 : 2},
            {"title", "raw_orders: rows_affected dropped to 10, expected 900 to 1100"},
            {"state", event == "resolved" ? "resolved" : "open"},
            {"severity", "error"},
            {"root", {{"key", "postgres://db:5432/shop.raw.raw_orders"},
                      {"name", "shop.raw.raw_orders"},
                      {"url", "https://tidemark.example.com/assets/postgres://db:5432/shop.raw.raw_orders"}}},
            {"opened_at", "2026-03-02T06:00:00Z"},
            {"updated_at", "2026-03-02T06:00:00Z"},
            {"resolved_at", event == "resolved" ? json("2026-03-02T09:00:00Z") : json()},
            {"symptoms",
             {{{"asset", "postgres://db:5432/shop.raw.raw_orders"}, {"metric", "rows_affected"},
               {"detector", "volume"}, {"severity", "error"}, {"ts", "2026-03-02T06:00:00Z"},
               {"value", 10}, {"expected_low", 900}, {"expected_high", 1100},
               {"explanation", "rows_affected dropped to 10, expected 900 to 1100"}}}},
            {"symptom_count", 1},
            {"impact", {{"downstream_count", 3}, {"dashboards", 1}, {"top", {"revenue_dashboard", "orders"}}}},
            {"owners", {"team:finance"}},
            {"resolution", event == "resolved" ? "automatic: every symptom recovered" : ""},
            {"url", "https://tidemark.example.com/incidents/inc-0123456789abcdef"},
            {"ack_url", "https://tidemark.example.com/api/v1/incidents/inc-0123456789abcdef/ack"}};
  model::Alert a;
  a.id = "alr-1";
  a.incident_id = "inc-0123456789abcdef";
  a.channel = "c";
  a.event = event;
  a.idempotency_key = "inc-0123456789abcdef:" + event + ":1:c";
  a.payload = p.dump();
  return a;
}

// The golden file's JSON; with TIDEMARK_UPDATE_GOLDEN=1, (re)writes it from `actual` first.
std::string Golden(const std::string& name, const json& actual) {
  const char* src = std::getenv("TIDEMARK_SOURCE_DIR");
  const std::string path = std::string(src ? src : ".") + "/tests/data/alerts/" + name;
  if (const char* update = std::getenv("TIDEMARK_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::ofstream(path) << actual.dump(2) << "\n";
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json Render(ChannelKind kind, const std::string& event) {
  Channel c{"c", kind, "https://example.invalid/x", "", std::chrono::milliseconds(1000), ""};
  auto m = RenderAlert(c, SampleAlert(event), model::FromMicros(1772430000000000));
  EXPECT_TRUE(m.ok());
  return m.ok() ? json::parse(m->body) : json();
}

TEST(NotifierTest, SlackMessageIsBlockKitAndMatchesGolden) {
  for (const std::string event : {"opened", "resolved"}) {
    json msg = Render(ChannelKind::kSlack, event);
    ASSERT_TRUE(msg["text"].is_string());
    ASSERT_TRUE(msg["blocks"].is_array());
    for (const json& b : msg["blocks"]) {
      const std::string type = b["type"];
      EXPECT_TRUE(type == "header" || type == "section" || type == "actions" || type == "context")
          << type;
      if (type == "header") {
        EXPECT_EQ(b["text"]["type"], "plain_text");
        EXPECT_LE(b["text"]["text"].get<std::string>().size(), 150u);
      }
      if (type == "actions") {
        for (const json& e : b["elements"]) EXPECT_EQ(e["type"], "button");
      }
    }
    EXPECT_NE(msg.dump().find("inc-0123456789abcdef:" + event), std::string::npos);
    EXPECT_EQ(msg, json::parse(Golden("slack_" + event + ".json", msg))) << msg.dump(2);
  }
}

TEST(NotifierTest, TeamsMessageIsAnAdaptiveCardAndMatchesGolden) {
  for (const std::string event : {"opened", "resolved"}) {
    json msg = Render(ChannelKind::kTeams, event);
    EXPECT_EQ(msg["type"], "message");
    ASSERT_EQ(msg["attachments"].size(), 1u);
    EXPECT_EQ(msg["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive");
    const json& card = msg["attachments"][0]["content"];
    EXPECT_EQ(card["type"], "AdaptiveCard");
    EXPECT_EQ(card["version"], "1.4");
    EXPECT_EQ(msg, json::parse(Golden("teams_" + event + ".json", msg))) << msg.dump(2);
  }
}

TEST(NotifierTest, WebhookIsSignedOverTimestampAndBody) {
  Channel c{"c", ChannelKind::kWebhook, "https://example.invalid/x", "key", std::chrono::milliseconds(1000), ""};
  auto m = RenderAlert(c, SampleAlert("opened"), model::FromMicros(1772430000000000));
  ASSERT_TRUE(m.ok());
  std::map<std::string, std::string> h(m->headers.begin(), m->headers.end());
  EXPECT_EQ(h["Tidemark-Timestamp"], "1772430000");
  EXPECT_EQ(h["Tidemark-Signature"], SignWebhook("key", "1772430000", m->body));
  EXPECT_EQ(h["Idempotency-Key"], "inc-0123456789abcdef:opened:1:c");
  // Computed independently: python3 hmac.new(b"Jefe", b"1700000000.what do ya want for
  // nothing?", hashlib.sha256).hexdigest()
  EXPECT_EQ(SignWebhook("Jefe", "1700000000", "what do ya want for nothing?"),
            "v1=1cdd0650c8be1cb0974b1788d458b1e781206cfef59b85faafc582d2e182c57e");
}

TEST(NotifierTest, RedactedUrlHidesPathAndToken) {
  Channel c{"c", ChannelKind::kSlack, "https://hooks.slack.com/services/T0/B0/XXXX", "", {}, ""};
  EXPECT_EQ(c.RedactedUrl(), "https://hooks.slack.com/***");
}

}  // namespace
}  // namespace tidemark::pipeline
