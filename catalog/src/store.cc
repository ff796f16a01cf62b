#include "tidemark/catalog/store.h"

#include "store_url.h"

namespace tidemark::catalog {

Result<std::unique_ptr<Store>> OpenStore(const StoreOptions& options) {
  TM_ASSIGN_OR_RETURN(ParsedStoreUrl parsed, ParseStoreUrl(options.url));
  switch (parsed.backend) {
    case StoreBackend::kSqlite:
      return OpenSqliteStore(options);
    case StoreBackend::kPostgres:
      return OpenPostgresStore(options);
  }
  return Status::Internal("unreachable store backend");
}

Result<MigrationReport> Migrate(const StoreOptions& options) {
  // Opening with migrate=false reads the version as found; opening again with migrate=true
  // applies what is pending. Both backends refuse a schema newer than this binary on open.
  StoreOptions read_only = options;
  read_only.migrate = false;
  MigrationReport report;
  {
    TM_ASSIGN_OR_RETURN(auto store, OpenStore(read_only));
    TM_ASSIGN_OR_RETURN(report.from, store->SchemaVersion());
  }
  StoreOptions migrating = options;
  migrating.migrate = true;
  TM_ASSIGN_OR_RETURN(auto store, OpenStore(migrating));
  TM_ASSIGN_OR_RETURN(report.to, store->SchemaVersion());
  return report;
}

Result<std::vector<std::string>> Store::MarkAlertsDelivered(
    const std::vector<std::string>& alert_ids, std::string_view worker, model::Timestamp now) {
  std::vector<std::string> done;
  for (const std::string& id : alert_ids) {
    Status s = MarkAlertDelivered(id, worker, now);
    if (s.ok()) {
      done.push_back(id);
    } else if (!s.IsInvalidArgument() && !s.IsNotFound()) {
      return s;
    }
  }
  return done;
}

}  // namespace tidemark::catalog
