#include "tidemark/pipeline/notifier.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <nlohmann/json.hpp>

namespace tidemark::pipeline {
namespace {

using json = nlohmann::json;

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string Truncate(std::string s, size_t n) {
  if (s.size() <= n) return s;
  s.resize(n - 3);
  return s + "...";
}

std::string Number(const json& v) {
  if (!v.is_number()) return "?";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v.get<double>());
  return buf;
}

std::string Verb(const std::string& event) {
  if (event == "opened") return "New incident";
  if (event == "updated") return "Incident updated";
  if (event == "reminder") return "Still open";
  if (event == "acknowledged") return "Acknowledged";
  if (event == "resolved") return "Resolved";
  return "Incident";
}

// One line per symptom: "orders row_count: 12 (expected 900–1100): explanation".
std::vector<std::string> SymptomLines(const json& p) {
  std::vector<std::string> lines;
  for (const json& s : p.value("symptoms", json::array())) {
    std::string line = Str(s, "asset") + " " + Str(s, "metric") + " [" + Str(s, "detector") +
                       "]: seen " + Number(s.value("value", json())) + ", expected " +
                       Number(s.value("expected_low", json())) + " to " +
                       Number(s.value("expected_high", json()));
    if (!Str(s, "explanation").empty()) line += " — " + Str(s, "explanation");
    lines.push_back(Truncate(line, 500));
  }
  return lines;
}

std::string ImpactLine(const json& p) {
  const json impact = p.value("impact", json::object());
  std::string line = std::to_string(impact.value("downstream_count", 0)) + " downstream assets";
  if (impact.value("dashboards", 0) > 0) {
    line += " (" + std::to_string(impact.value("dashboards", 0)) + " dashboards)";
  }
  std::string top;
  for (const json& t : impact.value("top", json::array())) {
    if (t.is_string()) top += (top.empty() ? "" : ", ") + t.get<std::string>();
  }
  if (!top.empty()) line += ": " + top;
  return line;
}

std::string OwnersLine(const json& p) {
  std::string owners;
  for (const json& o : p.value("owners", json::array())) {
    if (o.is_string()) owners += (owners.empty() ? "" : ", ") + o.get<std::string>();
  }
  return owners.empty() ? "no owner recorded" : owners;
}

std::string Headline(const json& p) {
  return Verb(Str(p, "event")) + " [" + Str(p, "severity") + "]: " + Str(p, "title");
}

// The nightly report's summary (report_notice.h): counts, the top open incidents, a link.
long long Count(const json& p, const char* group, const char* key) {
  const json g = p.value(group, json::object());
  auto it = g.find(key);
  return it != g.end() && it->is_number_integer() ? it->get<long long>() : 0;
}

// "12 (+3)" against the previous window.
std::string CountWithChange(const json& p, const char* key) {
  const long long now = Count(p, "counts", key), before = Count(p, "previous", key);
  std::string out = std::to_string(now);
  if (now != before) out += " (" + std::string(now > before ? "+" : "") + std::to_string(now - before) + ")";
  return out;
}

std::string ReportSummaryLine(const json& p) {
  return Str(p, "title") + ": " + std::to_string(Count(p, "counts", "anomalies")) +
         " anomalies, " + std::to_string(Count(p, "counts", "incidents_open")) +
         " open incidents";
}

std::string ByDetectorLine(const json& p) {
  std::string line;
  const json by_detector =
      p.value("counts", json::object()).value("anomalies_by_detector", json::object());
  for (const auto& [detector, n] : by_detector.items()) {
    if (!n.is_number_integer()) continue;
    line += (line.empty() ? "" : " · ") + detector + " " + std::to_string(n.get<long long>());
  }
  return line.empty() ? "none" : line;
}

std::vector<std::pair<std::string, std::string>> ReportFacts(const json& p) {
  return {{"Anomalies", CountWithChange(p, "anomalies")},
          {"By kind", ByDetectorLine(p)},
          {"Open incidents", CountWithChange(p, "incidents_open")},
          {"Opened / resolved", std::to_string(Count(p, "counts", "incidents_opened")) + " / " +
                                    std::to_string(Count(p, "counts", "incidents_resolved"))},
          {"Late assets", CountWithChange(p, "late")},
          {"dbt failures", std::to_string(Count(p, "counts", "dbt_model_failures")) +
                               " models, " +
                               std::to_string(Count(p, "counts", "dbt_test_failures")) + " tests"},
          {"Schema changes", CountWithChange(p, "schema_changes")}};
}

// "[error] title — root (3 symptoms, 5 downstream)"; the title links in Slack mrkdwn.
std::vector<std::string> TopIncidentLines(const json& p, bool slack_links) {
  std::vector<std::string> lines;
  for (const json& i : p.value("top_incidents", json::array())) {
    std::string title = Truncate(Str(i, "title"), 200);
    if (slack_links && !Str(i, "url").empty()) title = "<" + Str(i, "url") + "|" + title + ">";
    lines.push_back("[" + Str(i, "severity") + "] " + title + " — " + Str(i, "root") + " (" +
                    std::to_string(i.value("symptoms", 0)) + " symptoms, " +
                    std::to_string(i.value("downstream", 0)) + " downstream)");
  }
  return lines;
}

std::string ReportFooter(const json& p) {
  return "report " + Str(p, "report_id") + " · " + Str(p, "since") + " to " + Str(p, "until") +
         " · key " + Str(p, "idempotency_key");
}

json ReportSlackMessage(const json& p) {
  json blocks = json::array();
  blocks.push_back({{"type", "header"},
                    {"text", {{"type", "plain_text"}, {"text", Truncate(Str(p, "title"), 150)}}}});
  json fields = json::array();
  for (const auto& [title, value] : ReportFacts(p)) {
    fields.push_back({{"type", "mrkdwn"}, {"text", Truncate("*" + title + "*\n" + value, 2000)}});
  }
  blocks.push_back({{"type", "section"}, {"fields", fields}});  // Slack allows 10 fields
  std::string top;
  for (const std::string& line : TopIncidentLines(p, true)) top += "• " + line + "\n";
  const long long open = p.value("open_incident_count", 0LL);
  const long long shown = static_cast<long long>(p.value("top_incidents", json::array()).size());
  if (open > shown) top += "… and " + std::to_string(open - shown) + " more\n";
  if (!top.empty()) {
    blocks.push_back({{"type", "section"},
                      {"text", {{"type", "mrkdwn"},
                                {"text", Truncate("*Top open incidents*\n" + top, 3000)}}}});
  }
  if (!Str(p, "url").empty()) {
    blocks.push_back({{"type", "actions"},
                      {"elements", {{{"type", "button"},
                                     {"text", {{"type", "plain_text"}, {"text", "Open report"}}},
                                     {"url", Str(p, "url")}}}}});
  }
  blocks.push_back({{"type", "context"},
                    {"elements", {{{"type", "mrkdwn"}, {"text", ReportFooter(p)}}}}});
  return {{"text", Truncate(ReportSummaryLine(p), 3000)}, {"blocks", blocks}};
}

json AdaptiveCardMessage(json body, json actions) {
  json card = {{"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"},
               {"type", "AdaptiveCard"},
               {"version", "1.4"},
               {"body", std::move(body)}};
  if (!actions.empty()) card["actions"] = std::move(actions);
  return {{"type", "message"},
          {"attachments",
           {{{"contentType", "application/vnd.microsoft.card.adaptive"},
             {"contentUrl", nullptr},
             {"content", std::move(card)}}}}};
}

json ReportTeamsMessage(const json& p) {
  json body = json::array();
  body.push_back({{"type", "TextBlock"}, {"text", Str(p, "title")}, {"weight", "Bolder"},
                  {"size", "Medium"}, {"wrap", true}});
  json facts = json::array();
  for (const auto& [title, value] : ReportFacts(p)) {
    facts.push_back({{"title", title}, {"value", value}});
  }
  body.push_back({{"type", "FactSet"}, {"facts", facts}});
  const std::vector<std::string> top = TopIncidentLines(p, false);
  if (!top.empty()) {
    body.push_back({{"type", "TextBlock"}, {"text", "Top open incidents"}, {"weight", "Bolder"},
                    {"wrap", true}});
  }
  for (const std::string& line : top) {
    body.push_back({{"type", "TextBlock"}, {"text", "- " + line}, {"wrap", true}});
  }
  body.push_back({{"type", "TextBlock"}, {"text", ReportFooter(p)}, {"isSubtle", true},
                  {"size", "Small"}, {"wrap", true}});
  json actions = json::array();
  if (!Str(p, "url").empty()) {
    actions.push_back({{"type", "Action.OpenUrl"}, {"title", "Open report"}, {"url", Str(p, "url")}});
  }
  return AdaptiveCardMessage(std::move(body), std::move(actions));
}

json SlackMessage(const json& p) {
  if (Str(p, "event") == "report") return ReportSlackMessage(p);
  const std::string event = Str(p, "event");
  json blocks = json::array();
  blocks.push_back({{"type", "header"},
                    {"text", {{"type", "plain_text"}, {"text", Truncate(Headline(p), 150)}}}});
  std::string root = Str(p["root"], "key");
  if (!Str(p["root"], "url").empty()) root = "<" + Str(p["root"], "url") + "|" + root + ">";
  blocks.push_back(
      {{"type", "section"},
       {"fields",
        {{{"type", "mrkdwn"}, {"text", "*Root asset*\n" + root}},
         {{"type", "mrkdwn"}, {"text", "*Severity*\n" + Str(p, "severity")}},
         {{"type", "mrkdwn"}, {"text", "*State*\n" + Str(p, "state")}},
         {{"type", "mrkdwn"}, {"text", "*Owners*\n" + Truncate(OwnersLine(p), 1900)}}}}});
  std::string what;
  for (const std::string& line : SymptomLines(p)) what += "• " + line + "\n";
  const long long total = p.value("symptom_count", 0LL);
  const long long shown = static_cast<long long>(p.value("symptoms", json::array()).size());
  if (total > shown) what += "… and " + std::to_string(total - shown) + " more\n";
  if (event == "resolved") what = "*Resolution:* " + Str(p, "resolution") + "\n" + what;
  if (!what.empty()) {
    blocks.push_back({{"type", "section"},
                      {"text", {{"type", "mrkdwn"}, {"text", Truncate(what, 3000)}}}});
  }
  blocks.push_back({{"type", "section"},
                    {"text", {{"type", "mrkdwn"}, {"text", "*Impact:* " + ImpactLine(p)}}}});
  json buttons = json::array();
  if (!Str(p, "url").empty()) {
    buttons.push_back({{"type", "button"},
                       {"text", {{"type", "plain_text"}, {"text", "Open incident"}}},
                       {"url", Str(p, "url")}});
  }
  if (!Str(p, "ack_url").empty() && event != "resolved" && event != "acknowledged") {
    buttons.push_back({{"type", "button"},
                       {"text", {{"type", "plain_text"}, {"text", "Acknowledge"}}},
                       {"url", Str(p, "ack_url")}});
  }
  if (!buttons.empty()) blocks.push_back({{"type", "actions"}, {"elements", buttons}});
  blocks.push_back(
      {{"type", "context"},
       {"elements",
        {{{"type", "mrkdwn"},
          {"text", "incident " + Str(p, "incident_id") + " · key " + Str(p, "idempotency_key")}}}}});
  return {{"text", Truncate(Headline(p), 3000)}, {"blocks", blocks}};
}

json TeamsMessage(const json& p) {
  if (Str(p, "event") == "report") return ReportTeamsMessage(p);
  json body = json::array();
  body.push_back({{"type", "TextBlock"},
                  {"text", Headline(p)},
                  {"weight", "Bolder"},
                  {"size", "Medium"},
                  {"wrap", true}});
  json facts = json::array({{{"title", "Root asset"}, {"value", Str(p["root"], "key")}},
                            {{"title", "Severity"}, {"value", Str(p, "severity")}},
                            {{"title", "State"}, {"value", Str(p, "state")}},
                            {{"title", "Owners"}, {"value", OwnersLine(p)}},
                            {{"title", "Impact"}, {"value", ImpactLine(p)}}});
  if (Str(p, "event") == "resolved") {
    facts.push_back({{"title", "Resolution"}, {"value", Str(p, "resolution")}});
  }
  body.push_back({{"type", "FactSet"}, {"facts", facts}});
  for (const std::string& line : SymptomLines(p)) {
    body.push_back({{"type", "TextBlock"}, {"text", "- " + line}, {"wrap", true}});
  }
  body.push_back({{"type", "TextBlock"},
                  {"text", "incident " + Str(p, "incident_id") + " · key " +
                               Str(p, "idempotency_key")},
                  {"isSubtle", true},
                  {"size", "Small"},
                  {"wrap", true}});
  json actions = json::array();
  if (!Str(p, "url").empty()) {
    actions.push_back({{"type", "Action.OpenUrl"}, {"title", "Open incident"}, {"url", Str(p, "url")}});
  }
  if (!Str(p, "ack_url").empty() && Str(p, "event") != "resolved") {
    actions.push_back({{"type", "Action.OpenUrl"}, {"title", "Acknowledge"}, {"url", Str(p, "ack_url")}});
  }
  return AdaptiveCardMessage(std::move(body), std::move(actions));
}

}  // namespace

std::string SignWebhook(std::string_view secret, std::string_view timestamp,
                        std::string_view body) {
  std::string message;
  message.reserve(timestamp.size() + 1 + body.size());
  message.append(timestamp).append(".").append(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "v1=";
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

model::Result<OutgoingMessage> RenderAlert(const Channel& channel, const model::Alert& alert,
                                           model::Timestamp now) {
  json payload = json::parse(alert.payload, nullptr, false);
  if (!payload.is_object()) {
    return model::Status::InvalidArgument("alert payload is not a JSON object",
                                          "alerts/" + alert.id + "/payload");
  }
  payload["idempotency_key"] = alert.idempotency_key;
  OutgoingMessage m;
  switch (channel.kind) {
    case ChannelKind::kSlack: m.body = SlackMessage(payload).dump(); break;
    case ChannelKind::kTeams: m.body = TeamsMessage(payload).dump(); break;
    case ChannelKind::kWebhook: m.body = payload.dump(); break;
    case ChannelKind::kFile:
      payload["channel"] = channel.name;
      payload["sent_at"] = model::FormatTimestamp(now);
      m.body = payload.dump();  // one line: dump() escapes every newline
      break;
  }
  m.headers.emplace_back("Content-Type", "application/json");
  m.headers.emplace_back(std::string(kIdempotencyHeader), alert.idempotency_key);
  m.headers.emplace_back(std::string(kEventHeader), alert.event);
  if (channel.kind == ChannelKind::kWebhook && !channel.secret.empty()) {
    const std::string ts = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
    m.headers.emplace_back(std::string(kTimestampHeader), ts);
    m.headers.emplace_back(std::string(kSignatureHeader), SignWebhook(channel.secret, ts, m.body));
  }
  return m;
}

}  // namespace tidemark::pipeline
