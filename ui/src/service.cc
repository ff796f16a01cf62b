#include "tidemark/ui/service.h"

#include <nlohmann/json.hpp>

#include "store_probe.h"
#include "tidemark/ui/redact.h"
#include "tidemark/ui/version.h"
#include "web_app.h"

namespace tidemark::ui {

using model::Result;
using model::Status;

struct Service::State {
  State(catalog::Store& store, const ServiceOptions& options)
      : store_kind(store.Kind()),
        // Describe() already drops the password; redacting again costs nothing at start-up
        // and keeps /health safe whatever a Store implementation returns.
        store_url(RedactSecrets(store.Describe())),
        metrics(Version()),
        router(&metrics),
        probe(store, metrics, options.probe_interval),
        started(std::chrono::steady_clock::now()) {}

  Status RegisterRoutes();
  Response Health() const;

  const std::string store_kind;
  const std::string store_url;
  Metrics metrics;
  Router router;
  StoreProbe probe;
  const std::chrono::steady_clock::time_point started;
  std::unique_ptr<Server> server;  // last: stops before what its handlers use goes away
};

Status Service::State::RegisterRoutes() {
  TM_RETURN_IF_ERROR(router.Add("GET", "/health", {.name = "health"},
                                [this](const Request&) { return Health(); }));
  TM_RETURN_IF_ERROR(AddWebRoutes(router));
  return router.Add("GET", "/metrics", {.name = "metrics"}, [this](const Request&) {
    Response response = Response::Text(200, metrics.Render());
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return response;
  });
}

Response Service::State::Health() const {
  StoreProbe::Reading reading = probe.Latest();
  auto uptime =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
  // ordered_json keeps the documented key order (status first) for people reading it raw.
  nlohmann::ordered_json store = {{"kind", store_kind},
                                  {"url", store_url},
                                  {"schema_version", nullptr},
                                  {"reachable", reading.reachable}};
  if (reading.schema_version) store["schema_version"] = *reading.schema_version;
  if (!reading.reachable) store["error"] = reading.error;
  nlohmann::ordered_json body = {{"status", reading.reachable ? "ok" : "unavailable"},
                                 {"version", Version()},
                                 {"store", std::move(store)},
                                 {"uptime_s", uptime.count()}};
  return Response::Json(
      reading.reachable ? 200 : 503,
      body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

Result<ServiceOptions> ServiceOptionsFrom(const Config& config) {
  std::optional<HostPort> listen = ParseHostPort(config.listen);
  if (!listen) {
    return Status::InvalidArgument("expected host:port, got \"" + config.listen + "\"",
                                   "server.listen");
  }
  ServiceOptions options;
  options.server.host = listen->host;
  options.server.port = listen->port;
  options.server.body_limit_bytes = config.body_limit_bytes;
  options.server.read_timeout = config.read_timeout;
  options.server.shutdown_grace = config.shutdown_grace;
  return options;
}

Result<std::unique_ptr<Service>> Service::Create(catalog::Store& store,
                                                 const ServiceOptions& options) {
  auto state = std::make_unique<State>(store, options);
  TM_RETURN_IF_ERROR(state->RegisterRoutes());
  TM_ASSIGN_OR_RETURN(state->server, Server::Create(options.server, state->router));
  return std::unique_ptr<Service>(new Service(std::move(state)));
}

Service::Service(std::unique_ptr<State> state) : state_(std::move(state)) {}

Service::~Service() = default;

Router& Service::router() { return state_->router; }

Metrics& Service::metrics() { return state_->metrics; }

uint16_t Service::port() const { return state_->server->port(); }

void Service::Run() { state_->server->Run(); }

void Service::Shutdown() { state_->server->Shutdown(); }

}  // namespace tidemark::ui
