// BuildReport: what the store holds, read once per asset.
//
// The Store interface has no "everything in a time range" queries for runs and snapshots, so
// the report walks the assets (ListAssets in pages) and reads, per asset, only what its kind
// can have: update series (freshness), recent node results (dbt failures, durations), schema
// history, and for dbt models their duration and row-count series. Anomalies and incidents
// come from one query each. Charts read one series per (asset, metric), cached, and are
// downsampled so that 500 charts stay well under the 5 MB the HTML may weigh.

#include "tidemark/pipeline/report.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "tidemark/detectors/freshness.h"
#include "tidemark/detectors/schema.h"
#include "tidemark/model/metric.h"

namespace tidemark::pipeline {
namespace {

using model::AssetKey;
using model::Result;
using model::Status;
using model::Timestamp;
using std::chrono::days;
using std::chrono::hours;
using std::chrono::seconds;

double Secs(Timestamp a, Timestamp b) { return std::chrono::duration<double>(b - a).count(); }

bool IsFailure(const std::string& status) {
  return status == "error" || status == "fail" || status == "runtime error";
}

int SeverityRank(model::Severity s) {
  return s == model::Severity::kError ? 2 : s == model::Severity::kWarn ? 1 : 0;
}

// dbt's {"count": 2, "period": "hour"} in seconds.
std::optional<seconds> Period(const nlohmann::json& after) {
  if (!after.is_object() || !after.contains("count") || !after["count"].is_number()) {
    return std::nullopt;
  }
  double count = after["count"].get<double>();
  std::string period = after.value("period", "hour");
  double unit = period == "minute" ? 60 : period == "day" ? 86400 : 3600;
  return seconds(static_cast<long long>(count * unit));
}

std::string HoursText(seconds s) {
  long long h = s.count() / 3600;
  return h >= 48 && h % 24 == 0 ? std::to_string(h / 24) + "d" : std::to_string(h) + "h";
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

class Builder {
 public:
  Builder(catalog::Store& store, const ReportOptions& options)
      : store_(store), o_(options), prev_since_(options.since - (options.until - options.since)) {}

  Result<ReportData> Run() {
    if (o_.until <= o_.since) {
      return Status::InvalidArgument("the report window is empty: until must be after since",
                                     "report");
    }
    r_.title = o_.title;
    r_.since = o_.since;
    r_.until = o_.until;
    TM_RETURN_IF_ERROR(LoadAssets());
    r_.empty_store = assets_.empty();
    r_.current.assets = r_.previous.assets = static_cast<long long>(assets_.size());
    TM_RETURN_IF_ERROR(Anomalies());
    TM_RETURN_IF_ERROR(Incidents());
    for (const model::Asset& a : assets_) TM_RETURN_IF_ERROR(PerAsset(a));
    Finish();
    TM_RETURN_IF_ERROR(Charts());
    return std::move(r_);
  }

 private:
  Status LoadAssets() {
    catalog::AssetFilter f;
    f.limit = 1000;
    for (;;) {
      TM_ASSIGN_OR_RETURN(std::vector<model::Asset> page, store_.ListAssets(f));
      for (model::Asset& a : page) {
        index_.emplace(a.key.ToString(), assets_.size());
        assets_.push_back(std::move(a));
      }
      if (page.size() < f.limit) break;
      f.offset += page.size();
    }
    return Status::Ok();
  }

  ReportAssetRef Ref(const AssetKey& key) {
    auto it = index_.find(key.ToString());
    if (it == index_.end()) return {key, key.name, ""};
    const model::Asset& a = assets_[it->second];
    return {key, a.name.empty() ? key.name : a.name, std::string(model::AssetKindName(a.kind))};
  }

  Status Anomalies() {
    catalog::AnomalyFilter f;
    f.since = std::min(prev_since_, o_.until - days(o_.noisy_days));
    f.limit = 1'000'000;
    TM_ASSIGN_OR_RETURN(std::vector<model::Anomaly> all, store_.ListAnomalies(f));
    std::map<std::string, ReportNoisyRow> noisy;
    for (model::Anomaly& a : all) {
      if (a.ts >= o_.until) continue;
      if (a.ts >= o_.until - days(o_.noisy_days)) {
        ReportNoisyRow& row = noisy[a.asset.ToString()];
        row.asset.key = a.asset;
        ++row.anomalies;
        ++row.by_detector[a.detector];
      }
      ReportHeadline* h = a.ts >= o_.since ? &r_.current : a.ts >= prev_since_ ? &r_.previous
                                                                                : nullptr;
      if (!h) continue;
      ++h->anomalies;
      ++h->anomalies_by_detector[a.detector];
      if (h == &r_.current) r_.anomalies.push_back(std::move(a));
    }
    std::stable_sort(r_.anomalies.begin(), r_.anomalies.end(),
                     [](const model::Anomaly& a, const model::Anomaly& b) {
                       if (SeverityRank(a.severity) != SeverityRank(b.severity)) {
                         return SeverityRank(a.severity) > SeverityRank(b.severity);
                       }
                       return std::abs(a.score) > std::abs(b.score);
                     });
    for (auto& [key, row] : noisy) {
      row.asset = Ref(row.asset.key);
      r_.noisiest.push_back(std::move(row));
    }
    std::stable_sort(r_.noisiest.begin(), r_.noisiest.end(),
                     [](const ReportNoisyRow& a, const ReportNoisyRow& b) {
                       return a.anomalies > b.anomalies;
                     });
    if (r_.noisiest.size() > o_.max_rows) r_.noisiest.resize(o_.max_rows);
    return Status::Ok();
  }

  static bool OpenAt(const model::Incident& i, Timestamp t) {
    return i.opened_at < t && (!i.resolved_at || *i.resolved_at >= t) &&
           !(i.state == model::IncidentState::kResolved && !i.resolved_at);
  }

  Status Incidents() {
    TM_ASSIGN_OR_RETURN(std::vector<model::Incident> all, store_.ListIncidents(std::nullopt, 100000));
    for (model::Incident& i : all) {
      auto in = [&](Timestamp t, Timestamp from, Timestamp to) { return t >= from && t < to; };
      if (in(i.opened_at, o_.since, o_.until)) ++r_.current.incidents_opened;
      if (in(i.opened_at, prev_since_, o_.since)) ++r_.previous.incidents_opened;
      if (i.resolved_at && in(*i.resolved_at, o_.since, o_.until)) ++r_.current.incidents_resolved;
      if (i.resolved_at && in(*i.resolved_at, prev_since_, o_.since)) {
        ++r_.previous.incidents_resolved;
      }
      if (OpenAt(i, o_.since)) ++r_.previous.incidents_open;
      if (i.state != model::IncidentState::kResolved && i.opened_at < o_.until) {
        ++r_.current.incidents_open;
        ReportIncident ri;
        ri.root = Ref(i.root);
        catalog::AnomalyFilter f;
        f.incident_id = i.id;
        f.limit = 200;
        TM_ASSIGN_OR_RETURN(ri.symptoms, store_.ListAnomalies(f));
        TM_ASSIGN_OR_RETURN(ri.downstream, Downstream(i.root));
        std::set<std::string> seen;
        auto add_owners = [&](const AssetKey& key) -> Status {
          TM_ASSIGN_OR_RETURN(auto owners, store_.GetOwnersOf(key));
          for (auto& [owner, role] : owners) {
            if (!seen.insert(owner.id).second) continue;
            ri.owners.push_back({owner.id, owner.name, owner.email, role});
          }
          return Status::Ok();
        };
        TM_RETURN_IF_ERROR(add_owners(i.root));
        for (const model::Anomaly& a : ri.symptoms) TM_RETURN_IF_ERROR(add_owners(a.asset));
        ri.incident = std::move(i);
        r_.open_incidents.push_back(std::move(ri));
      }
    }
    std::stable_sort(r_.open_incidents.begin(), r_.open_incidents.end(),
                     [](const ReportIncident& a, const ReportIncident& b) {
                       int sa = SeverityRank(a.incident.severity),
                           sb = SeverityRank(b.incident.severity);
                       if (sa != sb) return sa > sb;
                       return a.incident.opened_at > b.incident.opened_at;
                     });
    return Status::Ok();
  }

  // Assets downstream of `root`, breadth first, each once.
  Result<std::vector<ReportAssetRef>> Downstream(const AssetKey& root) {
    std::string root_text = root.ToString();
    if (auto it = downstream_cache_.find(root_text); it != downstream_cache_.end()) {
      return it->second;
    }
    std::vector<ReportAssetRef> out;
    std::set<std::string> seen{root_text};
    std::vector<AssetKey> level{root};
    for (int depth = 0; depth < o_.max_lineage_depth && !level.empty(); ++depth) {
      std::vector<AssetKey> next;
      for (const AssetKey& k : level) {
        TM_ASSIGN_OR_RETURN(auto edges, store_.GetEdges(k, catalog::Direction::kDownstream));
        for (const model::LineageEdge& e : edges) {
          if (!seen.insert(e.downstream.ToString()).second) continue;
          out.push_back(Ref(e.downstream));
          next.push_back(e.downstream);
        }
      }
      level = std::move(next);
    }
    downstream_cache_.emplace(root_text, out);
    return out;
  }

  Status PerAsset(const model::Asset& a) {
    if (a.kind == model::AssetKind::kExposure || a.kind == model::AssetKind::kJob ||
        a.kind == model::AssetKind::kMetric || a.kind == model::AssetKind::kAnalysis) {
      return Status::Ok();
    }
    TM_RETURN_IF_ERROR(Freshness(a));
    TM_RETURN_IF_ERROR(Results(a));
    TM_RETURN_IF_ERROR(Schema(a));
    return Status::Ok();
  }

  Status Freshness(const model::Asset& a) {
    TM_ASSIGN_OR_RETURN(model::Series updates,
                        store_.ReadSeries(a.key, model::kMetricUpdate,
                                          prev_since_ - days(28), o_.until));
    if (updates.ts.empty()) return Status::Ok();
    detectors::FreshnessSettings settings;
    std::string rule = "learned from past updates";
    nlohmann::json props = nlohmann::json::parse(a.properties, nullptr, false);
    if (props.is_object() && props.contains("freshness")) {
      const nlohmann::json& f = props["freshness"];
      settings.warn_after = Period(f.value("warn_after", nlohmann::json()));
      settings.error_after = Period(f.value("error_after", nlohmann::json()));
      if (settings.warn_after || settings.error_after) {
        rule = "dbt freshness:";
        if (settings.warn_after) rule += " warn after " + HoursText(*settings.warn_after);
        if (settings.error_after) rule += " error after " + HoursText(*settings.error_after);
      }
    }
    TM_ASSIGN_OR_RETURN(std::vector<model::Anomaly> now,
                        detectors::CheckFreshness(updates, o_.until - std::chrono::microseconds(1), settings));
    TM_ASSIGN_OR_RETURN(std::vector<model::Anomaly> before,
                        detectors::CheckFreshness(updates, o_.since, settings));
    (before.empty() ? r_.previous.fresh : r_.previous.late) += 1;
    (now.empty() ? r_.current.fresh : r_.current.late) += 1;

    ReportFreshnessRow row;
    row.asset = Ref(a.key);
    row.rule = rule;
    auto last = std::upper_bound(updates.ts.begin(), updates.ts.end(), o_.until);
    if (last != updates.ts.begin()) row.last_update = *std::prev(last);
    if (!now.empty()) {
      const model::Anomaly& late = now.front();
      row.severity = std::string(model::SeverityName(late.severity));
      if (row.last_update) {
        row.expected_by = *row.last_update + seconds(static_cast<long long>(late.expected_high));
        row.lateness_s = std::max(0.0, Secs(*row.expected_by, o_.until));
      }
    } else if (row.last_update) {
      if (settings.warn_after) {
        row.expected_by = *row.last_update + *settings.warn_after;
      } else {
        std::vector<double> gaps;
        for (size_t i = 1; i < updates.ts.size(); ++i) {
          gaps.push_back(Secs(updates.ts[i - 1], updates.ts[i]));
        }
        if (!gaps.empty()) {
          row.expected_by =
              *row.last_update + seconds(static_cast<long long>(Median(std::move(gaps))));
        }
      }
    }
    r_.freshness.push_back(std::move(row));
    return Status::Ok();
  }

  Status Results(const model::Asset& a) {
    TM_ASSIGN_OR_RETURN(std::vector<model::NodeResult> results,
                        store_.GetRecentResults(a.key, 256));
    for (model::NodeResult& nr : results) {
      Timestamp at = nr.completed_at.value_or(nr.started_at.value_or(Timestamp{}));
      if (!nr.completed_at && !nr.started_at) {
        // Skipped nodes carry no timing: they happened when their run did.
        TM_ASSIGN_OR_RETURN(at, RunTime(nr.run_id));
      }
      ReportHeadline* h = at >= o_.since && at < o_.until   ? &r_.current
                          : at >= prev_since_ && at < o_.since ? &r_.previous
                                                               : nullptr;
      if (!h) continue;
      if (nr.node_kind == "source") continue;  // freshness checks: counted as late assets
      (h == &r_.current ? runs_now_ : runs_before_).insert(nr.run_id);
      const bool test = nr.node_kind == "test" || nr.node_kind == "unit_test";
      if (IsFailure(nr.status)) ++(test ? h->dbt_test_failures : h->dbt_model_failures);
      if (h == &r_.current && (IsFailure(nr.status) || nr.status == "skipped")) {
        failed_now_.insert(a.key.ToString());
        r_.failures.push_back({nr.run_id, nr.node_id, nr.node_kind, nr.status, Ref(a.key),
                               nr.completed_at, nr.failures, nr.message});
      }
    }
    const bool model = a.source == "dbt" && (a.kind == model::AssetKind::kTable ||
                                             a.kind == model::AssetKind::kView);
    if (!model) return Status::Ok();
    Timestamp from = o_.until - days(o_.noisy_days);
    TM_ASSIGN_OR_RETURN(model::Series dur,
                        store_.ReadSeries(a.key, model::kMetricDuration, from, o_.until));
    if (dur.values.empty()) return Status::Ok();
    ReportModelRow row;
    row.asset = Ref(a.key);
    row.latest_s = dur.values.back();
    std::vector<double> first_week;
    for (size_t i = 0; i < dur.ts.size() && dur.ts[i] < from + days(7); ++i) {
      first_week.push_back(dur.values[i]);
    }
    row.baseline_s = Median(std::move(first_week));
    if (row.baseline_s > 0) row.duration_growth = row.latest_s / row.baseline_s - 1;
    TM_ASSIGN_OR_RETURN(model::Series rows,
                        store_.ReadSeries(a.key, model::kMetricRowCount, from, o_.until));
    if (!rows.values.empty()) {
      row.rows_latest = rows.values.back();
      if (rows.values.front() > 0) row.rows_growth = rows.values.back() / rows.values.front() - 1;
    }
    models_.push_back(std::move(row));
    return Status::Ok();
  }

  Result<Timestamp> RunTime(const std::string& run_id) {
    auto it = run_times_.find(run_id);
    if (it != run_times_.end()) return it->second;
    Timestamp at{};
    Result<model::Run> run = store_.GetRun(run_id);
    if (run.ok()) {
      at = run->ended_at.value_or(run->started_at.value_or(run->event_time));
    } else if (!run.status().IsNotFound()) {
      return run.status();
    }
    run_times_.emplace(run_id, at);
    return at;
  }

  Status Schema(const model::Asset& a) {
    TM_ASSIGN_OR_RETURN(std::vector<model::SchemaSnapshot> history,
                        store_.GetSchemaHistory(a.key));
    for (size_t i = 1; i < history.size(); ++i) {
      const Timestamp at = history[i].observed_at;
      ReportHeadline* h = at >= o_.since && at < o_.until   ? &r_.current
                          : at >= prev_since_ && at < o_.since ? &r_.previous
                                                               : nullptr;
      if (!h) continue;
      std::vector<detectors::SchemaChange> changes =
          detectors::DiffSchemas(history[i - 1].columns, history[i].columns);
      if (changes.empty()) continue;
      ++h->schema_changes;
      if (h != &r_.current) continue;
      ReportSchemaChange sc;
      sc.asset = Ref(a.key);
      sc.observed_at = at;
      sc.before = history[i - 1].columns;
      sc.after = history[i].columns;
      for (const detectors::SchemaChange& c : changes) {
        sc.changes.push_back(c.Describe());
        sc.breaking = sc.breaking || c.breaking;
      }
      TM_ASSIGN_OR_RETURN(sc.downstream, Downstream(a.key));
      r_.schema_changes.push_back(std::move(sc));
    }
    return Status::Ok();
  }

  void Finish() {
    r_.current.dbt_runs = static_cast<long long>(runs_now_.size());
    r_.previous.dbt_runs = static_cast<long long>(runs_before_.size());
    for (ReportSchemaChange& sc : r_.schema_changes) {
      for (const ReportAssetRef& d : sc.downstream) {
        if (failed_now_.count(d.key.ToString())) sc.broken.push_back(d);
      }
    }
    std::sort(r_.freshness.begin(), r_.freshness.end(),
              [](const ReportFreshnessRow& a, const ReportFreshnessRow& b) {
                if ((a.lateness_s > 0) != (b.lateness_s > 0)) return a.lateness_s > 0;
                if (a.lateness_s != b.lateness_s) return a.lateness_s > b.lateness_s;
                return a.expected_by < b.expected_by;
              });
    size_t late = 0;
    for (const auto& f : r_.freshness) late += f.severity.empty() ? 0 : 1;
    if (r_.freshness.size() > std::max(o_.max_rows, late)) {
      r_.freshness.resize(std::max(o_.max_rows, late));
    }
    r_.slowest = models_;
    std::sort(r_.slowest.begin(), r_.slowest.end(),
              [](const ReportModelRow& a, const ReportModelRow& b) {
                return a.latest_s > b.latest_s;
              });
    if (r_.slowest.size() > o_.max_rows) r_.slowest.resize(o_.max_rows);
    r_.most_grown = std::move(models_);
    std::sort(r_.most_grown.begin(), r_.most_grown.end(),
              [](const ReportModelRow& a, const ReportModelRow& b) {
                return a.duration_growth > b.duration_growth;
              });
    if (r_.most_grown.size() > o_.max_rows) r_.most_grown.resize(o_.max_rows);
    std::sort(r_.failures.begin(), r_.failures.end(),
              [](const ReportFailure& a, const ReportFailure& b) {
                if (IsFailure(a.status) != IsFailure(b.status)) return IsFailure(a.status);
                return a.node_id < b.node_id;
              });
  }

  // ---- charts -----------------------------------------------------------------------------

  Result<const model::Series*> Series(const AssetKey& key, const std::string& metric,
                                      Timestamp from, Timestamp to) {
    std::string id = key.ToString() + "\x1f" + metric;
    auto it = series_cache_.find(id);
    if (it == series_cache_.end() || it->second.from > from || it->second.to < to) {
      TM_ASSIGN_OR_RETURN(model::Series s, store_.ReadSeries(key, metric, from, to));
      it = series_cache_.insert_or_assign(id, CachedSeries{from, to, std::move(s)}).first;
    }
    return &it->second.series;
  }

  Status Charts() {
    std::unordered_map<std::string, std::vector<const model::Anomaly*>> by_series;
    for (const model::Anomaly& a : r_.anomalies) {
      by_series[a.asset.ToString() + "\x1f" + a.metric].push_back(&a);
    }
    for (const model::Anomaly& a : r_.anomalies) {
      if (r_.charts.size() >= o_.max_charts) break;
      if (a.detector == "schema" || a.metric == "schema" || a.metric == "contract") continue;
      ReportChart c;
      c.anomaly = a;
      c.asset_name = Ref(a.asset).name;
      Timestamp from = a.train_start.value_or(a.ts - days(28));
      Timestamp to = std::max(a.ts, a.detected_at) + hours(1);
      if (to > o_.until) to = std::max(o_.until, a.ts + std::chrono::microseconds(1));
      c.view_from = from;
      c.view_to = to;
      TM_ASSIGN_OR_RETURN(const model::Series* s, Series(a.asset, a.metric, from, to));
      const bool freshness = a.detector == "freshness" || a.metric == model::kMetricUpdate;
      std::vector<Timestamp> ts;
      std::vector<double> values;
      if (freshness) {
        // Events have no value: draw the wait before each update, in hours.
        c.y_label = "hours since the previous update";
        for (size_t i = 1; i < s->ts.size(); ++i) {
          if (s->ts[i] < from || s->ts[i] >= to) continue;
          ts.push_back(s->ts[i]);
          values.push_back(Secs(s->ts[i - 1], s->ts[i]) / 3600);
        }
        c.anomaly.value = a.value / 3600;
        c.anomaly.expected_low = a.expected_low / 3600;
        c.anomaly.expected_high = a.expected_high / 3600;
        c.flagged.emplace_back(a.ts, c.anomaly.value);
      } else {
        c.y_label = a.metric;
        for (size_t i = 0; i < s->ts.size(); ++i) {
          if (s->ts[i] < from || s->ts[i] >= to) continue;
          ts.push_back(s->ts[i]);
          values.push_back(s->values[i]);
        }
        for (const model::Anomaly* f : by_series[a.asset.ToString() + "\x1f" + a.metric]) {
          if (f->ts >= from && f->ts < to) c.flagged.emplace_back(f->ts, f->value);
        }
      }
      Downsample(ts, values, &c);
      r_.charts.push_back(std::move(c));
    }
    return Status::Ok();
  }

  // Keeps the first, the last, and the min and max of each bucket.
  void Downsample(const std::vector<Timestamp>& ts, const std::vector<double>& v,
                  ReportChart* c) const {
    const size_t n = ts.size(), cap = std::max<size_t>(o_.max_chart_points, 4);
    if (n <= cap) {
      c->ts = ts;
      c->values = v;
      return;
    }
    const size_t buckets = cap / 2;
    for (size_t b = 0; b < buckets; ++b) {
      size_t lo = b * n / buckets, hi = (b + 1) * n / buckets;
      if (lo >= hi) continue;
      size_t mn = lo, mx = lo;
      for (size_t i = lo; i < hi; ++i) {
        if (v[i] < v[mn]) mn = i;
        if (v[i] > v[mx]) mx = i;
      }
      for (size_t i : {std::min(mn, mx), std::max(mn, mx)}) {
        if (!c->ts.empty() && c->ts.back() == ts[i]) continue;
        c->ts.push_back(ts[i]);
        c->values.push_back(v[i]);
      }
    }
  }

  struct CachedSeries {
    Timestamp from, to;
    model::Series series;
  };

  catalog::Store& store_;
  const ReportOptions& o_;
  const Timestamp prev_since_;
  ReportData r_;
  std::vector<model::Asset> assets_;
  std::unordered_map<std::string, size_t> index_;
  std::unordered_map<std::string, std::vector<ReportAssetRef>> downstream_cache_;
  std::unordered_map<std::string, CachedSeries> series_cache_;
  std::set<std::string> runs_now_, runs_before_;
  std::unordered_map<std::string, Timestamp> run_times_;
  std::unordered_set<std::string> failed_now_;
  std::vector<ReportModelRow> models_;
};

}  // namespace

Result<ReportData> BuildReport(catalog::Store& store, const ReportOptions& options) {
  return Builder(store, options).Run();
}

Result<std::chrono::seconds> ParseReportDuration(std::string_view text) {
  if (text.size() < 2) {
    return Status::InvalidArgument("expected a duration like 24h, 7d or 90m, got '" +
                                       std::string(text) + "'",
                                   "--since");
  }
  long long n = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9' || n > 1'000'000'000) {
      return Status::InvalidArgument(
          "expected a duration like 24h, 7d or 90m, got '" + std::string(text) + "'", "--since");
    }
    n = n * 10 + (c - '0');
  }
  long long unit = 0;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: break;
  }
  if (unit == 0 || n == 0) {
    return Status::InvalidArgument(
        "expected a positive duration like 24h, 7d or 90m, got '" + std::string(text) + "'",
        "--since");
  }
  return std::chrono::seconds(n * unit);
}

}  // namespace tidemark::pipeline
