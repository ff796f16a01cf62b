#pragma once

// Notifiers: what an alert looks like on the wire for each kind of channel, and how a
// generic webhook is signed. Pure functions (no I/O); the Deliverer sends what they render.
//
// An alert's payload (model::Alert::payload) is the channel-neutral incident message written
// when the alert was decided (pipeline/incidents.h): incident id, event, sequence, title,
// state, severity, root {key, name, url}, symptoms (value, expected range, explanation),
// impact {downstream_count, dashboards, top}, owners, url, ack_url, idempotency_key.
//
//   slack    a Slack incoming-webhook message: `text` (the notification fallback) and Block Kit
//            `blocks`: a header, the root and severity, what was expected vs seen per symptom,
//            downstream impact, owners, and buttons to the incident page and the ack link; the
//            idempotency key in a context block.
//   teams    a Microsoft Teams message carrying one Adaptive Card (version 1.4) as an
//            attachment of content type application/vnd.microsoft.card.adaptive, which both
//            Office 365 connectors and Workflows webhooks accept.
//   webhook  the neutral payload itself, signed (below).
//   file     the neutral payload with "channel" and "sent_at" added, on one line (JSON Lines);
//            the Deliverer appends it to the channel's file instead of sending it.
//
// An alert of event "report" carries the nightly report's summary instead (report_notice.h):
// Slack gets a header, the counts as fields, the top open incidents and an "Open report"
// button; Teams the same as an Adaptive Card; a generic webhook the summary JSON, signed.
//
// Every request also carries the headers
//   Content-Type: application/json
//   Idempotency-Key: <incident>:<event>:<sequence>:<channel>   (the same on every retry)
//   Tidemark-Event: opened | updated | reminder | acknowledged | resolved | report
// and a generic webhook with a secret carries, as Stripe and GitHub do,
//   Tidemark-Timestamp: <unix seconds when sent>
//   Tidemark-Signature: v1=<lowercase hex HMAC-SHA256(secret, timestamp + "." + body)>
// Receivers recompute the signature over the raw body and reject stale timestamps.
//
// Resolution in the same thread: incoming webhooks (Slack, Teams) return no message id to
// thread under, so a resolution is a new message that names the incident id and title;
// a generic webhook receiver can thread on `incident_id`.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tidemark/model/incident.h"
#include "tidemark/model/status.h"
#include "tidemark/model/time.h"
#include "tidemark/pipeline/routing.h"

namespace tidemark::pipeline {

inline constexpr std::string_view kSignatureHeader = "Tidemark-Signature";
inline constexpr std::string_view kTimestampHeader = "Tidemark-Timestamp";
inline constexpr std::string_view kEventHeader = "Tidemark-Event";
inline constexpr std::string_view kIdempotencyHeader = "Idempotency-Key";

struct OutgoingMessage {
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// The request `alert` becomes on `channel`, sent at `now`. InvalidArgument when the payload is
// not a JSON object.
model::Result<OutgoingMessage> RenderAlert(const Channel& channel, const model::Alert& alert,
                                           model::Timestamp now);

// "v1=" + lowercase hex HMAC-SHA256(secret, timestamp + "." + body).
std::string SignWebhook(std::string_view secret, std::string_view timestamp,
                        std::string_view body);

}  // namespace tidemark::pipeline
