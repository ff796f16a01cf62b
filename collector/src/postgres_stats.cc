// CollectPostgres. Two catalog queries list every table and column of the warehouse at once
// (one round trip each however many tables there are); only row counts of small tables and
// loaded_at maxima need a query per table, each in its own savepoint so that one table's
// failure (dropped meanwhile, permission denied, timeout) is a warning and not the run's end.
//
// Why last change comes from counters: n_tup_ins + n_tup_upd + n_tup_del only grow while the
// table changes, so a difference between two collections means "changed in between"; the
// collection time is then the last change as far as we can tell. The counter and the time
// are kept as a checkpoint in the same transaction as the points they explain.

#include "tidemark/collector/postgres_stats.h"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <memory>
#include <set>

#include "dataset_join.h"
#include "tidemark/collector/openlineage.h"

namespace tidemark::collector {
namespace {

using model::AssetKey;
using model::Result;
using model::Status;

constexpr std::string_view kSource = "postgres";

struct Table {
  std::string schema, name;
  char kind = 'r';
  double reltuples = -1;
  std::optional<double> live;
  std::optional<long long> counter;
  double bytes = 0;
  std::vector<model::Column> columns;
  std::string Qualified() const { return schema + "." + name; }
};

bool Selected(const PostgresSourceOptions& o, const std::string& schema, const std::string& table) {
  auto in = [&](const std::vector<std::string>& list, const std::string& s) {
    return std::find(list.begin(), list.end(), s) != list.end();
  };
  if (!o.include_schemas.empty() && !in(o.include_schemas, schema)) return false;
  if (in(o.exclude_schemas, schema)) return false;
  const std::string qualified = schema + "." + table;
  auto matches = [&](const std::string& glob) {
    return GlobMatch(glob, glob.find('.') == std::string::npos ? table : qualified);
  };
  if (!o.tables.empty() && std::none_of(o.tables.begin(), o.tables.end(), matches)) return false;
  return std::none_of(o.exclude_tables.begin(), o.exclude_tables.end(), matches);
}

// A libpq error with the DSN (and so any password) taken out.
Status PgError(const PostgresSourceOptions& o, std::string_view what, const std::exception& e) {
  std::string message = e.what();
  if (!o.dsn.empty()) {
    for (size_t p; (p = message.find(o.dsn)) != std::string::npos;) {
      message.replace(p, o.dsn.size(), catalog::RedactUrl(o.dsn));
    }
  }
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return Status::Unavailable(std::string(what) + ": " + message, "sources.postgres." + o.name);
}

}  // namespace

bool GlobMatch(std::string_view glob, std::string_view text) {
  size_t g = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (g < glob.size() && (glob[g] == '?' || glob[g] == text[t])) {
      ++g, ++t;
    } else if (g < glob.size() && glob[g] == '*') {
      star = g++;
      mark = t;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

Result<PostgresCollectReport> CollectPostgres(catalog::Store& store,
                                              const PostgresSourceOptions& o) {
  auto start = std::chrono::steady_clock::now();
  if (o.dsn.empty()) {
    return Status::InvalidArgument("dsn is empty", "sources.postgres." + o.name);
  }
  const model::Clock& clock = o.clock ? *o.clock : model::SystemClock();
  const model::Timestamp now = clock.Now();
  PostgresCollectReport report;
  report.source = o.name;
  std::vector<Table> tables;
  catalog::WriteBatch batch;
  std::vector<std::pair<std::string, AssetKey>> aliases;
  try {
    pqxx::connection conn(o.dsn);
    {
      pqxx::nontransaction setup(conn);
      setup.exec("SET application_name = 'tidemark'");
      setup.exec("SET statement_timeout = " + std::to_string(o.statement_timeout.count()));
      setup.exec("SET lock_timeout = " + std::to_string(o.lock_timeout.count()));
      setup.exec("SET default_transaction_read_only = on");
    }
    auto tx_holder = std::make_unique<pqxx::read_transaction>(conn);
    pqxx::read_transaction& catalog_tx = *tx_holder;
    report.database = catalog_tx.exec1("SELECT current_database()")[0].as<std::string>();
    if (!o.ns.empty()) {
      report.ns = o.ns;
    } else {
      std::string host = conn.hostname() ? conn.hostname() : "";
      if (host.empty() || host.front() == '/') host = "localhost";
      report.ns = CanonicalDatasetNamespace("postgres://" + host + ":" +
                                            (conn.port() ? conn.port() : "5432"));
    }
    const char* kSystem =
        "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' "
        "AND n.nspname NOT LIKE 'pg_temp%'";
    pqxx::result rows = catalog_tx.exec(
        std::string("SELECT n.nspname, c.relname, c.relkind, c.reltuples::float8, "
                    "CASE WHEN c.relkind IN ('r','p','m') THEN pg_total_relation_size(c.oid) "
                    "ELSE 0 END::float8, s.n_live_tup::float8, "
                    "(s.n_tup_ins + s.n_tup_upd + s.n_tup_del)::int8 "
                    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid "
                    "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition AND ") +
        kSystem + " ORDER BY 1, 2");
    std::map<std::pair<std::string, std::string>, size_t> index;
    for (const auto& row : rows) {
      Table t;
      t.schema = row[0].as<std::string>();
      t.name = row[1].as<std::string>();
      if (!Selected(o, t.schema, t.name)) continue;
      t.kind = row[2].as<std::string>()[0];
      t.reltuples = row[3].as<double>();
      t.bytes = row[4].as<double>();
      if (!row[5].is_null()) t.live = row[5].as<double>();
      if (!row[6].is_null()) t.counter = row[6].as<long long>();
      index[{t.schema, t.name}] = tables.size();
      tables.push_back(std::move(t));
    }
    pqxx::result cols = catalog_tx.exec(
        "SELECT table_schema, table_name, column_name, ordinal_position, data_type, is_nullable "
        "FROM information_schema.columns "
        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
        "ORDER BY table_schema, table_name, ordinal_position");
    for (const auto& row : cols) {
      auto it = index.find({row[0].as<std::string>(), row[1].as<std::string>()});
      if (it == index.end()) continue;
      model::Column c;
      c.name = row[2].as<std::string>();
      c.position = row[3].as<int>();
      c.data_type = row[4].as<std::string>();
      c.nullable = row[5].as<std::string>() == "YES";
      tables[it->second].columns.push_back(std::move(c));
    }

    tx_holder->commit();
    tx_holder.reset();

    TM_ASSIGN_OR_RETURN(auto checkpoints, store.ListCheckpoints("postgres:" + o.name));
    std::map<std::string, std::string> previous;
    for (auto& cp : checkpoints) previous[cp.key] = cp.value;

    // Per-table queries run in short transactions of kTablesPerTransaction tables: a read
    // lock is held to the end of its transaction, and one transaction over 10,000 tables
    // would exhaust the server's lock table (max_locks_per_transaction).
    constexpr size_t kTablesPerTransaction = 200;
    size_t in_chunk = 0;
    for (Table& t : tables) {
      if (!tx_holder || in_chunk == kTablesPerTransaction) {
        if (tx_holder) tx_holder->commit();
        tx_holder = std::make_unique<pqxx::read_transaction>(conn);
        in_chunk = 0;
      }
      ++in_chunk;
      pqxx::read_transaction& tx = *tx_holder;
      const std::string qualified = t.Qualified();
      const AssetKey given{report.ns, report.database + "." + qualified};
      TM_ASSIGN_OR_RETURN(AssetKey key, JoinDatasetKey(store, given, kSource, aliases));
      auto point = [&](std::string metric, double value) {
        batch.AppendMetricPoint({key, std::move(metric), now, value});
        ++report.metric_points;
      };
      ++report.tables;
      report.columns += t.columns.size();

      // The asset: ours when new; another source's (dbt) description and kind stand.
      auto stored = store.GetAsset(key);
      if (!stored.ok() && !stored.status().IsNotFound()) return stored.status();
      std::vector<model::Column> old_columns;
      if (stored.ok()) {
        TM_ASSIGN_OR_RETURN(old_columns, store.GetColumns(key));
      }
      std::string method;
      std::optional<double> row_count;
      const bool is_table = t.kind == 'r' || t.kind == 'p' || t.kind == 'm';
      if (is_table) {
        double estimate = t.reltuples >= 0 ? t.reltuples : t.live.value_or(-1);
        if (estimate < o.exact_count_below) {
          try {
            pqxx::subtransaction sub(tx, "count");
            row_count = sub.exec1("SELECT count(*) FROM " + sub.quote_name(t.schema) + "." +
                                  sub.quote_name(t.name))[0]
                            .as<double>();
            sub.commit();
            method = "exact";
            ++report.exact_counts;
          } catch (const pqxx::broken_connection&) {
            throw;
          } catch (const std::exception& e) {
            report.warnings.push_back({qualified, std::string("count(*) failed: ") + e.what()});
          }
        }
        if (!row_count && estimate >= 0) {
          row_count = estimate;
          method = t.reltuples >= 0 ? "estimate:reltuples" : "estimate:n_live_tup";
          ++report.estimated_counts;
        }
      }
      model::Asset asset;
      if (stored.ok()) {
        asset = *stored;
      } else {
        asset.key = key;
        asset.kind = t.kind == 'v' ? model::AssetKind::kView : model::AssetKind::kTable;
        asset.name = t.name;
        asset.database = report.database;
        asset.schema = t.schema;
        asset.source = std::string(kSource);
      }
      auto props = nlohmann::json::parse(asset.properties.empty() ? "{}" : asset.properties,
                                         nullptr, false);
      if (!props.is_object()) props = nlohmann::json::object();
      props["postgres"] = {{"relkind", std::string(1, t.kind)}, {"row_count_method", method}};
      asset.properties = props.dump();
      asset.tags.clear();
      asset.aliases.clear();
      batch.PutAsset(asset);

      // Columns: the warehouse's truth on names, types and order; others' descriptions kept.
      std::vector<model::Column> columns = t.columns;
      for (model::Column& c : columns) {
        for (const model::Column& old : old_columns) {
          if (old.name != c.name) continue;
          c.description = old.description;
          c.tags = old.tags;
          c.properties = old.properties;
        }
      }
      if (!columns.empty()) {
        batch.SetColumns(key, columns);
        batch.PutSchemaSnapshot({key, now, std::string(kSource), t.columns});
      }
      if (row_count) point(std::string(model::kMetricRowCount), *row_count);
      if (is_table) point(std::string(model::kMetricBytes), t.bytes);

      // Last change.
      if (auto col = o.loaded_at.find(qualified); col != o.loaded_at.end()) {
        try {
          pqxx::subtransaction sub(tx, "loaded_at");
          pqxx::row r = sub.exec1("SELECT extract(epoch FROM max(" + sub.quote_name(col->second) +
                                  "))::float8 FROM " + sub.quote_name(t.schema) + "." +
                                  sub.quote_name(t.name));
          sub.commit();
          if (!r[0].is_null()) point(std::string(model::kMetricLastModified), r[0].as<double>());
        } catch (const pqxx::broken_connection&) {
          throw;
        } catch (const std::exception& e) {
          report.warnings.push_back(
              {qualified, "max(" + col->second + ") failed: " + std::string(e.what())});
        }
      } else if (t.counter) {
        long long last_counter = -1;
        long long last_change_us = 0;
        if (auto p = previous.find(qualified); p != previous.end()) {
          std::sscanf(p->second.c_str(), "%lld %lld", &last_counter, &last_change_us);
        }
        long long change_us = last_change_us;
        if (last_counter >= 0 && *t.counter > last_counter) {
          change_us = model::ToMicros(now);
          ++report.changes_detected;
          point(std::string(model::kMetricUpdate), static_cast<double>(*t.counter - last_counter));
        }
        if (change_us > 0) {
          point(std::string(model::kMetricLastModified), static_cast<double>(change_us) / 1e6);
        }
        batch.PutCheckpoint({"postgres:" + o.name, qualified,
                             std::to_string(*t.counter) + " " + std::to_string(change_us)});
      }
    }
    if (tx_holder) tx_holder->commit();
  } catch (const pqxx::broken_connection& e) {
    return PgError(o, "cannot reach the warehouse", e);
  } catch (const pqxx::sql_error& e) {
    return PgError(o, "warehouse query failed", e);
  } catch (const std::exception& e) {
    return PgError(o, "warehouse collection failed", e);
  }
  for (auto& [alias, key] : aliases) batch.PutAlias(alias, key);
  TM_ASSIGN_OR_RETURN(report.write, store.Write(batch));
  report.elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return report;
}

std::string PostgresCollectReport::ToJson() const {
  nlohmann::json warns = nlohmann::json::array();
  for (const auto& w : warnings) warns.push_back({{"table", w.table}, {"message", w.message}});
  nlohmann::json j = {{"source", source},
                      {"namespace", ns},
                      {"database", database},
                      {"tables", tables},
                      {"columns", columns},
                      {"row_counts", {{"exact", exact_counts}, {"estimated", estimated_counts}}},
                      {"changes_detected", changes_detected},
                      {"metric_points", metric_points},
                      {"warnings", std::move(warns)},
                      {"written",
                       {{"assets", write.assets_written},
                        {"points", write.points_written},
                        {"snapshots", write.snapshots_written}}},
                      {"elapsed_ms", elapsed_ms}};
  return j.dump();
}

}  // namespace tidemark::collector
