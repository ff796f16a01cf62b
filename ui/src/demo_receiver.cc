#include "demo_receiver.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tidemark/model/time.h"
#include "tidemark/pipeline/notifier.h"
#include "tidemark/pipeline/report.h"

namespace tidemark::ui {
namespace {

using json = nlohmann::json;
using model::Status;
using pipeline::HtmlEscape;

// How far a signed timestamp may be from now: replays of old requests are refused.
constexpr long long kMaxSkewSeconds = 300;

bool SameBytes(std::string_view a, std::string_view b) {
  // Constant time over the expected length: a signature is not guessed byte by byte.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < b.size(); ++i) {
    diff |= static_cast<unsigned char>((i < a.size() ? a[i] : 0) ^ b[i]);
  }
  return diff == 0;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Response Unauthorized(std::string_view why) {
  return ErrorResponse(401, "unauthenticated", why, "headers");
}

// One received alert as a card of the page.
std::string Card(const std::string& received_at, const std::string& event,
                 const std::string& key, const json& p) {
  const std::string severity = Str(p, "severity");
  std::string html = "<article class=\"" + std::string(severity == "error" ? "error" : "warn") +
                     "\"><header><span class=\"event\">" + HtmlEscape(event) +
                     "</span> <span class=\"sev\">" + HtmlEscape(severity) + "</span> <strong>" +
                     HtmlEscape(Str(p, "title")) + "</strong></header><dl>";
  auto row = [&](const char* name, const std::string& value) {
    if (!value.empty()) html += "<dt>" + std::string(name) + "</dt><dd>" + HtmlEscape(value) + "</dd>";
  };
  const json root = p.value("root", json::object());
  row("root asset", root.is_object() ? Str(root, "key") : "");
  row("state", Str(p, "state"));
  row("began", Str(p, "opened_at"));
  row("resolved", Str(p, "resolved_at"));
  row("received", received_at);
  row("incident", Str(p, "incident_id"));
  html += "</dl><ul>";
  for (const json& s : p.value("symptoms", json::array())) {
    if (!s.is_object()) continue;
    html += "<li><code>" + HtmlEscape(Str(s, "asset")) + "</code> " + HtmlEscape(Str(s, "metric")) +
            " [" + HtmlEscape(Str(s, "detector")) + "] at " + HtmlEscape(Str(s, "ts")) + ": " +
            HtmlEscape(Str(s, "explanation")) + "</li>";
  }
  html += "</ul>";
  const json impact = p.value("impact", json::object());
  if (impact.is_object() && impact.value("downstream_count", 0) > 0) {
    std::string top;
    for (const json& t : impact.value("top", json::array())) {
      if (t.is_string()) top += (top.empty() ? "" : ", ") + t.get<std::string>();
    }
    html += "<p>Downstream: " + std::to_string(impact.value("downstream_count", 0)) +
            " assets" + (top.empty() ? "" : " (" + HtmlEscape(top) + ")") + "</p>";
  }
  html += "<p class=\"key\">" + HtmlEscape(key) + "</p></article>";
  return html;
}

}  // namespace

model::Result<std::unique_ptr<DemoReceiver>> DemoReceiver::Open(std::string secret,
                                                                 std::string file,
                                                                 const model::Clock& clock) {
  std::unique_ptr<DemoReceiver> r(new DemoReceiver(std::move(secret), std::move(file), clock));
  std::ifstream in(r->file_);
  if (!in) return r;  // nothing received yet
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_object() || !j.value("payload", json()).is_object()) continue;  // torn line
    Received got{Str(j, "received_at"), Str(j, "event"), Str(j, "idempotency_key"),
                 j["payload"].dump()};
    if (!got.idempotency_key.empty() && !r->keys_.insert(got.idempotency_key).second) continue;
    r->received_.push_back(std::move(got));
  }
  if (in.bad()) return Status::IoError("cannot read the receiver's file", r->file_);
  return r;
}

Response DemoReceiver::Receive(const Request& request) {
  auto ts = request.headers.Get(pipeline::kTimestampHeader);
  auto signature = request.headers.Get(pipeline::kSignatureHeader);
  if (!ts || !signature) return Unauthorized("missing Tidemark-Timestamp or Tidemark-Signature");
  char* end = nullptr;
  const std::string ts_text(*ts);
  const long long sent = std::strtoll(ts_text.c_str(), &end, 10);
  if (ts_text.empty() || *end != '\0') return Unauthorized("Tidemark-Timestamp is not a number");
  const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                            clock_.Now().time_since_epoch()).count();
  if (std::llabs(now - sent) > kMaxSkewSeconds) {
    return Unauthorized("Tidemark-Timestamp is more than 5 minutes away from now");
  }
  if (!SameBytes(*signature, pipeline::SignWebhook(secret_, ts_text, request.body))) {
    return Unauthorized("signature does not match");
  }
  json payload = json::parse(request.body, nullptr, false);
  if (!payload.is_object()) {
    return ErrorResponse(400, "invalid_argument", "body is not a JSON object", "body");
  }
  Received got;
  got.received_at = model::FormatTimestamp(clock_.Now());
  got.event = std::string(request.headers.Get(pipeline::kEventHeader).value_or(""));
  got.idempotency_key = std::string(request.headers.Get(pipeline::kIdempotencyHeader).value_or(""));
  got.payload = payload.dump();
  std::lock_guard lock(mu_);
  if (!got.idempotency_key.empty() && keys_.count(got.idempotency_key)) {
    return Response::Json(200, R"({"duplicate":true})");
  }
  json line = {{"received_at", got.received_at}, {"event", got.event},
               {"idempotency_key", got.idempotency_key}, {"payload", payload}};
  std::ofstream out(file_, std::ios::app);
  out << line.dump() << '\n';
  out.flush();
  if (!out) {
    // Not kept: the sender retries later (at-least-once), and the page never shows an alert
    // the file lost.
    return ErrorResponse(Status::IoError("cannot write the receiver's file"));
  }
  keys_.insert(got.idempotency_key);
  received_.push_back(std::move(got));
  return Response::Json(200, R"({"received":true})");
}

Response DemoReceiver::Page() const {
  std::string cards;
  size_t count = 0;
  {
    std::lock_guard lock(mu_);
    count = received_.size();
    for (auto it = received_.rbegin(); it != received_.rend(); ++it) {
      json p = json::parse(it->payload, nullptr, false);
      if (p.is_object()) cards += Card(it->received_at, it->event, it->idempotency_key, p);
    }
  }
  Response r;
  r.content_type = "text/html; charset=utf-8";
  r.body =
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
      "content=\"width=device-width,initial-scale=1\"><title>Tidemark demo: alerts received"
      "</title><style>body{font:15px/1.5 system-ui,sans-serif;max-width:860px;margin:2em auto;"
      "padding:0 1em;color:#1d2430}article{border:1px solid #d5dbe3;border-left:6px solid "
      "#d9a400;border-radius:6px;padding:.6em 1em;margin:1em 0}article.error{border-left-color:"
      "#c62828}.event{text-transform:uppercase;font-size:12px;background:#eef1f5;padding:1px "
      "6px;border-radius:3px}.sev{font-size:12px;color:#5b6575}dl{display:grid;grid-template-"
      "columns:max-content 1fr;gap:0 1em;margin:.5em 0}dt{color:#5b6575}dd{margin:0}code{font-"
      "size:13px}.key{font-size:12px;color:#8a93a3}</style></head><body><h1>Alerts received</h1>"
      "<p>What Tidemark's signed webhook channel delivered to this demo's receiver "
      "(<code>POST /demo/receiver</code>, signature checked), newest first: " +
      std::to_string(count) + (count == 1 ? " alert" : " alerts") +
      ". The same alerts are appended to the demo's alert log file. Incidents: "
      "<a href=\"/api/v1/incidents\">/api/v1/incidents</a>.</p>" +
      (count == 0 ? std::string("<p>Nothing received yet.</p>") : cards) + "</body></html>";
  r.headers.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
  r.headers.Set("Cache-Control", "no-store");
  return r;
}

model::Status DemoReceiver::AddRoutes(Router& router) {
  TM_RETURN_IF_ERROR(router.Add("POST", "/demo/receiver",
                                {.name = "demo_receiver", .blocking = true},
                                [this](const Request& request) { return Receive(request); }));
  return router.Add("GET", "/demo/alerts", {.name = "demo_alerts", .blocking = true},
                    [this](const Request&) { return Page(); });
}

size_t DemoReceiver::size() const {
  std::lock_guard lock(mu_);
  return received_.size();
}

}  // namespace tidemark::ui
