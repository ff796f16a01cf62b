#include "incidents_api.h"

#include <nlohmann/json.hpp>

#include "tidemark/pipeline/incidents.h"

namespace tidemark::ui {
namespace {

using json = nlohmann::json;
using model::Status;

size_t Limit(const Request& request) {
  auto text = request.QueryParam("limit");
  if (!text) return 100;
  try {
    long long n = std::stoll(std::string(*text));
    return n > 0 && n <= 10000 ? static_cast<size_t>(n) : 100;
  } catch (const std::exception&) {
    return 100;
  }
}

std::string Who(const Request& request) {
  if (request.body.empty()) return "api";
  json body = json::parse(request.body, nullptr, false);
  if (body.is_object() && body.contains("by") && body["by"].is_string()) {
    return body["by"].get<std::string>().substr(0, 200);
  }
  return "api";
}

json AlertJson(const model::Alert& a) {
  return {{"id", a.id},
          {"incident_id", a.incident_id},
          {"channel", a.channel},
          {"event", a.event},
          {"idempotency_key", a.idempotency_key},
          {"state", model::AlertStateName(a.state)},
          {"attempts", a.attempts},
          {"created_at", model::FormatTimestamp(a.created_at)},
          {"next_attempt_at", model::FormatTimestamp(a.next_attempt_at)},
          {"delivered_at", a.delivered_at ? json(model::FormatTimestamp(*a.delivered_at)) : json()},
          {"last_error", a.last_error}};
}

}  // namespace

Status AddIncidentRoutes(Router& router, catalog::Store& store, const model::Clock& clock,
                         const pipeline::RoutingConfig& routing) {
  TM_RETURN_IF_ERROR(router.Add(
      "GET", "/api/v1/incidents", {.name = "list_incidents", .scope = "read", .blocking = true},
      [&store](const Request& request) {
        std::optional<model::IncidentState> state;
        if (auto s = request.QueryParam("state")) {
          state = model::ParseIncidentState(*s);
          if (!state) {
            return ErrorResponse(Status::InvalidArgument(
                "state must be open, acknowledged or resolved", "query.state"));
          }
        }
        auto list = store.ListIncidents(state, Limit(request));
        if (!list.ok()) return ErrorResponse(list.status());
        json out = {{"incidents", json::array()}};
        for (const model::Incident& i : *list) {
          out["incidents"].push_back(json::parse(pipeline::IncidentToJson(i)));
        }
        return Response::Json(200, out.dump());
      }));
  TM_RETURN_IF_ERROR(router.Add(
      "GET", "/api/v1/incidents/{id}", {.name = "get_incident", .scope = "read", .blocking = true},
      [&store](const Request& request) {
        auto inc = store.GetIncident(request.PathParam("id"));
        if (!inc.ok()) return ErrorResponse(inc.status());
        return Response::Json(200, pipeline::IncidentToJson(*inc));
      }));
  for (const bool resolve : {false, true}) {
    TM_RETURN_IF_ERROR(router.Add(
        "POST", resolve ? "/api/v1/incidents/{id}/resolve" : "/api/v1/incidents/{id}/ack",
        {.name = resolve ? "resolve_incident" : "ack_incident", .scope = "write", .blocking = true},
        [&store, &clock, &routing, resolve](const Request& request) {
          const std::string id(request.PathParam("id"));
          auto inc = resolve ? pipeline::ResolveIncident(store, clock, id, Who(request), routing)
                             : pipeline::AcknowledgeIncident(store, clock, id, Who(request), routing);
          if (!inc.ok()) return ErrorResponse(inc.status());
          return Response::Json(200, pipeline::IncidentToJson(*inc));
        }));
  }
  return router.Add(
      "GET", "/api/v1/alerts", {.name = "list_alerts", .scope = "read", .blocking = true},
      [&store](const Request& request) {
        std::optional<model::AlertState> state;
        if (auto s = request.QueryParam("state")) {
          state = model::ParseAlertState(*s);
          if (!state) {
            return ErrorResponse(Status::InvalidArgument(
                "state must be pending, delivered or dead", "query.state"));
          }
        }
        auto list = store.ListAlerts(state, Limit(request));
        if (!list.ok()) return ErrorResponse(list.status());
        json out = {{"alerts", json::array()}};
        for (const model::Alert& a : *list) out["alerts"].push_back(AlertJson(a));
        return Response::Json(200, out.dump());
      });
}

}  // namespace tidemark::ui
