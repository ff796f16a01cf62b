#pragma once

// The incident endpoints of the HTTP API.
//
//   GET  /api/v1/incidents[?state=open|acknowledged|resolved&limit=N]
//        200 {"incidents": [{id, root, state, severity, title, opened_at, updated_at,
//             acknowledged_at, resolved_at, properties: {symptoms, assets, impact, channels,
//             owners, notify, ...}}]}, newest first.
//   GET  /api/v1/incidents/{id}          200 one incident; 404 when unknown.
//   POST /api/v1/incidents/{id}/ack      200 the incident, acknowledged (reminders stop; an
//   POST /api/v1/incidents/{id}/resolve  "acknowledged"/"resolved" alert goes to its channels).
//        Optional JSON body {"by": "jane"}. 404 unknown id; 400 when resolved already.
//   GET  /api/v1/alerts[?state=pending|delivered|dead&limit=N]
//        200 {"alerts": [...]}: the outbox, dead letters included, without payloads. Channel
//        names only: URLs never leave the config.

#include "tidemark/catalog/store.h"
#include "tidemark/model/clock.h"
#include "tidemark/model/status.h"
#include "tidemark/pipeline/routing.h"
#include "tidemark/ui/router.h"

namespace tidemark::ui {

// `store`, `clock` and `routing` must outlive the router's use.
model::Status AddIncidentRoutes(Router& router, catalog::Store& store, const model::Clock& clock,
                                const pipeline::RoutingConfig& routing);

}  // namespace tidemark::ui
