#pragma once

// The `channels:`, `routes:` and `detectors:` sections of the config file, read into a
// pipeline::RoutingConfig. Layout:
//
//   channels:
//     finance-alerts:
//       kind: slack                 # slack | teams | webhook | file
//       url_env: FINANCE_SLACK_URL  # or url: https://hooks.slack.com/services/... (a secret)
//       secret_env: HOOK_SECRET     # webhook only, or secret: ...; signs with HMAC-SHA256
//       timeout: 10s                # ms, s, m, h or d; a bare number is seconds
//       ca_file: /etc/ssl/private-ca.pem
//     audit-log:
//       kind: file                  # local: one JSON object per alert per line, appended
//       path: /var/log/tidemark/alerts.jsonl
//   routes:
//     default: ops                  # the catch-all channel
//     detect_interval: 5m           # how often `serve` runs detection and grouping
//     delivery:                     # the outbox dispatcher of `serve`
//       interval: 2s
//       lease: 2m                   # a claimed alert is retried by anyone after this
//       max_attempts: 8             # then it is dead (GET /api/v1/alerts?state=dead)
//       backoff: 2s                 # first retry delay, doubled per attempt, jittered
//     base_url: https://tidemark.example.com
//     announce_within: 24h          # past incidents (already recovered when first found,
//                                   # newest symptom older than this) reach file channels
//                                   # only, never chat; 0 or off: announce everything
//     rules:
//       - name: finance-critical
//         team: finance             # owner, team, tag, asset (glob), kind, detector: one or a list
//         severity: error           # minimum severity
//         channels: [finance-alerts]
//         continue: false           # keep trying later rules after this one matched
//
//   detectors:
//     backfill_days: 14             # a series seen for the first time has its last N days
//                                   # scored (0: its newest point only)
//
// Errors are InvalidArgument with `where` "FILE:LINE" and a message naming the key
// ("routes.rules[0].channels: unknown channel \"x\""). URLs and secrets never appear in
// messages.

#include "tidemark/model/status.h"
#include "tidemark/pipeline/routing.h"
#include "tidemark/pipeline/scheduler.h"
#include "tidemark/ui/config.h"

namespace tidemark::ui {

// An empty RoutingConfig when the file has neither section. `env` resolves *_env keys.
model::Result<pipeline::RoutingConfig> LoadRoutingConfig(const Config& config,
                                                         const EnvLookup& env);

// Routing plus the scheduler's intervals and delivery settings (defaults when unset).
struct AlertingConfig {
  pipeline::RoutingConfig routing;
  pipeline::SchedulerOptions scheduler;
};
model::Result<AlertingConfig> LoadAlertingConfig(const Config& config, const EnvLookup& env);

}  // namespace tidemark::ui
