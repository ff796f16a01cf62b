// The report's three renderings. HTML is one file with inline CSS and SVG and no script:
// nothing to fetch, nothing to run, safe to attach to an email or open from a chat. Every
// text from the catalog (names, descriptions, dbt messages) is escaped: it is untrusted.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tidemark/pipeline/report.h"

namespace tidemark::pipeline {
namespace {

using model::Timestamp;

std::string Esc(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// Markdown: table cells and inline text without pipes, newlines or markup surprises.
std::string Md(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '*' || c == '_' || c == '`' || c == '[' || c == ']') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out;
}

std::string When(Timestamp t) {  // "2026-11-22 14:00 UTC"
  std::string s = model::FormatTimestamp(t);
  return s.substr(0, 10) + " " + s.substr(11, 5) + " UTC";
}

std::string Num(double v) {
  char buf[64];
  double a = std::abs(v);
  if (a >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.2fG", v / 1e9);
  } else if (a >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  } else if (a >= 1e4) {
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  } else if (a == std::floor(a)) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f", v);
  }
  return buf;
}

std::string Duration(double s) {
  char buf[48];
  if (s < 90) {
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  } else if (s < 5400) {
    std::snprintf(buf, sizeof buf, "%.0fm", s / 60);
  } else if (s < 172800) {
    std::snprintf(buf, sizeof buf, "%.1fh", s / 3600);
  } else {
    std::snprintf(buf, sizeof buf, "%.1fd", s / 86400);
  }
  return buf;
}

std::string Percent(double f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.0f%%", f * 100);
  return buf;
}

std::string Delta(long long now, long long before) {
  long long d = now - before;
  if (d == 0) return "±0";
  return (d > 0 ? "+" : "−") + std::to_string(std::llabs(d));
}

// The headline rows: label, now, previous, and whether a rise is bad.
struct HeadlineRow {
  std::string label;
  long long now, before;
  bool up_is_bad;
};

std::vector<HeadlineRow> Headline(const ReportData& r) {
  const ReportHeadline &c = r.current, &p = r.previous;
  std::vector<HeadlineRow> rows = {
      {"Assets monitored", c.assets, p.assets, false},
      {"Fresh", c.fresh, p.fresh, false},
      {"Late", c.late, p.late, true},
      {"Anomalies", c.anomalies, p.anomalies, true},
  };
  std::set<std::string> detectors;
  for (const auto& [d, n] : c.anomalies_by_detector) detectors.insert(d);
  for (const auto& [d, n] : p.anomalies_by_detector) detectors.insert(d);
  for (const std::string& d : detectors) {
    auto get = [&](const ReportHeadline& h) {
      auto it = h.anomalies_by_detector.find(d);
      return it == h.anomalies_by_detector.end() ? 0LL : it->second;
    };
    rows.push_back({"  by " + d, get(c), get(p), true});
  }
  rows.push_back({"Incidents opened", c.incidents_opened, p.incidents_opened, true});
  rows.push_back({"Incidents resolved", c.incidents_resolved, p.incidents_resolved, false});
  rows.push_back({"Incidents still open", c.incidents_open, p.incidents_open, true});
  rows.push_back({"dbt runs", c.dbt_runs, p.dbt_runs, false});
  rows.push_back({"dbt model failures", c.dbt_model_failures, p.dbt_model_failures, true});
  rows.push_back({"dbt test failures", c.dbt_test_failures, p.dbt_test_failures, true});
  rows.push_back({"Schema changes", c.schema_changes, p.schema_changes, true});
  return rows;
}

std::string Names(const std::vector<ReportAssetRef>& refs, size_t max) {
  std::string out;
  for (size_t i = 0; i < refs.size() && i < max; ++i) {
    if (i) out += ", ";
    out += refs[i].name;
    if (refs[i].kind == "exposure") out += " (dashboard)";
  }
  if (refs.size() > max) out += ", and " + std::to_string(refs.size() - max) + " more";
  return out;
}

std::string ColumnsText(const std::vector<model::Column>& cols) {
  std::string out;
  for (const model::Column& c : cols) {
    if (!out.empty()) out += ", ";
    out += c.name + " " + c.data_type;
  }
  return out;
}

// ---- SVG --------------------------------------------------------------------------------

std::string Svg(const ReportChart& c) {
  const double W = 640, H = 200, L = 56, R = 12, T = 12, B = 28;
  const double x0 = static_cast<double>(model::ToMicros(c.view_from));
  const double x1 = std::max(x0 + 1, static_cast<double>(model::ToMicros(c.view_to)));
  double lo = std::min(c.anomaly.expected_low, c.anomaly.value);
  double hi = std::max(c.anomaly.expected_high, c.anomaly.value);
  for (double v : c.values) lo = std::min(lo, v), hi = std::max(hi, v);
  if (hi - lo < 1e-9) hi = lo + 1;
  const double pad = (hi - lo) * 0.06;
  lo -= pad, hi += pad;
  auto X = [&](Timestamp t) {
    return L + (static_cast<double>(model::ToMicros(t)) - x0) / (x1 - x0) * (W - L - R);
  };
  auto Y = [&](double v) { return T + (hi - v) / (hi - lo) * (H - T - B); };
  char buf[160];
  std::string s;
  s.reserve(64 + c.ts.size() * 16);
  std::snprintf(buf, sizeof buf,
                "<svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" class=\"chart\" aria-label=\"", W, H);
  s += buf;
  s += Esc(c.asset_name + " " + c.anomaly.metric) + "\">";
  // Expected range at detection.
  std::snprintf(buf, sizeof buf,
                "<rect class=\"band\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>", L,
                Y(c.anomaly.expected_high), W - L - R,
                std::max(0.5, Y(c.anomaly.expected_low) - Y(c.anomaly.expected_high)));
  s += buf;
  // Axes labels: range and dates.
  std::snprintf(buf, sizeof buf, "<text x=\"%.0f\" y=\"%.1f\" class=\"ax\" text-anchor=\"end\">",
                L - 4, T + 8);
  s += buf + Esc(Num(hi - pad)) + "</text>";
  std::snprintf(buf, sizeof buf, "<text x=\"%.0f\" y=\"%.1f\" class=\"ax\" text-anchor=\"end\">",
                L - 4, H - B);
  s += buf + Esc(Num(lo + pad)) + "</text>";
  std::snprintf(buf, sizeof buf, "<text x=\"%.0f\" y=\"%.0f\" class=\"ax\">", L, H - 8);
  s += buf + When(c.view_from).substr(0, 10) + "</text>";
  std::snprintf(buf, sizeof buf, "<text x=\"%.0f\" y=\"%.0f\" class=\"ax\" text-anchor=\"end\">",
                W - R, H - 8);
  s += buf + When(c.view_to).substr(0, 10) + "</text>";
  std::snprintf(buf, sizeof buf,
                "<line class=\"axis\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>", L,
                H - B, W - R, H - B);
  s += buf;
  // The series.
  if (!c.ts.empty()) {
    s += "<polyline class=\"line\" points=\"";
    for (size_t i = 0; i < c.ts.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%s%.1f,%.1f", i ? " " : "", X(c.ts[i]), Y(c.values[i]));
      s += buf;
    }
    s += "\"/>";
  }
  // Detection time.
  Timestamp det = c.anomaly.detected_at > c.view_from ? c.anomaly.detected_at : c.anomaly.ts;
  double dx = std::min(X(det), W - R);
  std::snprintf(buf, sizeof buf,
                "<line class=\"det\" x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\"/>", dx, T,
                dx, H - B);
  s += buf;
  std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.0f\" class=\"ax det-label\" text-anchor=\"end\">detected</text>",
                dx - 3, T + 8);
  s += buf;
  for (const auto& [t, v] : c.flagged) {
    std::snprintf(buf, sizeof buf, "<circle class=\"flag\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\"/>",
                  std::min(X(t), W - R), Y(v));
    s += buf;
  }
  s += "</svg>";
  return s;
}

constexpr const char* kCss = R"css(
:root{--fg:#1d2433;--mute:#5b6475;--line:#d9dee7;--bad:#c0392b;--warn:#b7791f;--ok:#1f8a4c;--accent:#2563eb;--band:#2563eb22}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:#f6f7f9}
main{max-width:980px;margin:0 auto;padding:16px}
h1{font-size:1.5em;margin:.2em 0}
h2{font-size:1.2em;margin:1.6em 0 .5em;padding-bottom:.2em;border-bottom:2px solid var(--line)}
h3{font-size:1em;margin:.2em 0}
.sub{color:var(--mute);margin:0 0 1em}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px 10px}
.card .n{font-size:1.6em;font-weight:600}
.card .l{color:var(--mute);font-size:.85em}
.d{font-size:.8em;margin-left:.4em}
.d.bad{color:var(--bad)}.d.good{color:var(--ok)}.d.same{color:var(--mute)}
.box{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 12px;margin:8px 0;break-inside:avoid}
.sev{display:inline-block;padding:0 6px;border-radius:4px;font-size:.8em;font-weight:600;color:#fff;background:var(--mute)}
.sev.error{background:var(--bad)}.sev.warn{background:var(--warn)}
.tbl{overflow-x:auto}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9em}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#eef1f5}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em;word-break:break-all}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:8px}
svg.chart{width:100%;height:auto;display:block}
svg .band{fill:var(--band)}svg .line{fill:none;stroke:var(--fg);stroke-width:1.2}
svg .flag{fill:var(--bad)}svg .det{stroke:var(--accent);stroke-dasharray:4 3}
svg .axis{stroke:var(--line)}svg .ax{font-size:11px;fill:var(--mute)}svg .det-label{fill:var(--accent)}
.legend{color:var(--mute);font-size:.8em}
.rm{color:var(--bad)}.add{color:var(--ok)}
.empty{color:var(--mute);font-style:italic}
nav{display:flex;flex-wrap:wrap;gap:.2em .9em}nav a{color:var(--accent);text-decoration:none}
@media (max-width:600px){body{font-size:14px}main{padding:8px}.card .n{font-size:1.3em}.charts{grid-template-columns:1fr}}
@media print{body{background:#fff}main{max-width:none;padding:0}nav{display:none}.box,.card,table{border-color:#999}h2{break-after:avoid}.charts{grid-template-columns:1fr 1fr}}
)css";

void DeltaSpan(std::string& h, const HeadlineRow& row) {
  long long d = row.now - row.before;
  const char* cls = d == 0 ? "same" : ((d > 0) == row.up_is_bad ? "bad" : "good");
  h += "<span class=\"d ";
  h += cls;
  h += "\" title=\"change from the previous window\">" + Delta(row.now, row.before) + "</span>";
}

std::string SevSpan(std::string_view sev) {
  return "<span class=\"sev " + Esc(sev) + "\">" + Esc(sev) + "</span>";
}

}  // namespace

std::string HtmlEscape(std::string_view text) { return Esc(text); }

std::string RenderReportHtml(const ReportData& r) {
  std::string h;
  h.reserve(64 * 1024 + r.charts.size() * 4096);
  h += "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
       "style-src 'unsafe-inline'; img-src data:\">";
  h += "<title>" + Esc(r.title) + " · " + When(r.until) + "</title><style>" + kCss +
       "</style></head><body><main>";
  h += "<h1>" + Esc(r.title) + "</h1>";
  h += "<p class=\"sub\">" + When(r.since) + " → " + When(r.until) +
       " · compared with the " + Duration(std::chrono::duration<double>(r.until - r.since).count()) +
       " before</p>";
  if (r.empty_store) {
    h += "<div class=\"box\"><p><strong>Nothing to report yet.</strong> The catalog is empty: "
         "no asset has been collected. Ingest a dbt target/ folder (<code>tidemark ingest dbt "
         "target/</code>) or send OpenLineage events, and the next report will show their "
         "freshness, volume and schema.</p></div></main></body></html>";
    return h;
  }
  h += "<nav><a href=\"#incidents\">Incidents</a><a href=\"#anomalies\">Anomalies</a>"
       "<a href=\"#freshness\">Freshness</a><a href=\"#schema\">Schema</a><a href=\"#dbt\">dbt</a>"
       "<a href=\"#noisy\">Noisiest</a></nav>";
  h += "<h2 id=\"headline\">Headline</h2><div class=\"cards\">";
  for (const HeadlineRow& row : Headline(r)) {
    h += "<div class=\"card\"><div class=\"n\">" + std::to_string(row.now);
    DeltaSpan(h, row);
    std::string label = row.label;
    if (label.rfind("  ", 0) == 0) label = "anomalies " + label.substr(2);
    h += "</div><div class=\"l\">" + Esc(label) + "</div></div>";
  }
  h += "</div>";

  h += "<h2 id=\"incidents\">Open incidents (" + std::to_string(r.open_incidents.size()) + ")</h2>";
  if (r.open_incidents.empty()) h += "<p class=\"empty\">No open incident.</p>";
  for (const ReportIncident& i : r.open_incidents) {
    h += "<div class=\"box\"><h3>" + SevSpan(model::SeverityName(i.incident.severity)) + " " +
         Esc(i.incident.title.empty() ? i.root.name : i.incident.title) + "</h3>";
    h += "<p>Root: <strong>" + Esc(i.root.name) + "</strong> <code>" + Esc(i.root.key.ToString()) +
         "</code> · " + Esc(model::IncidentStateName(i.incident.state)) + " since " +
         When(i.incident.opened_at) + "</p>";
    if (!i.symptoms.empty()) {
      h += "<p>Symptoms:</p><ul>";
      for (const model::Anomaly& a : i.symptoms) {
        h += "<li>" + Esc(a.asset.name) + " · " + Esc(a.metric) + " · " + Esc(a.detector) +
             ": " + Esc(a.explanation) + "</li>";
      }
      h += "</ul>";
    }
    h += "<p>Downstream impact: " +
         (i.downstream.empty() ? std::string("none known") : Esc(Names(i.downstream, 12))) + "</p>";
    h += "<p>Owners: ";
    if (i.owners.empty()) h += "<span class=\"empty\">none recorded</span>";
    for (size_t k = 0; k < i.owners.size(); ++k) {
      const ReportOwner& o = i.owners[k];
      if (k) h += ", ";
      h += Esc(o.name.empty() ? o.id : o.name);
      if (!o.email.empty()) h += " &lt;" + Esc(o.email) + "&gt;";
    }
    h += "</p></div>";
  }

  h += "<h2 id=\"anomalies\">Anomalies (" + std::to_string(r.anomalies.size()) + ")</h2>";
  if (r.anomalies.empty()) h += "<p class=\"empty\">No anomaly in this window.</p>";
  if (!r.charts.empty()) {
    h += "<p class=\"legend\">Line: the series over the training window · shaded: the expected "
         "range · red dots: flagged points · dashed line: when it was detected.</p>"
         "<div class=\"charts\">";
    for (const ReportChart& c : r.charts) {
      const model::Anomaly& a = c.anomaly;
      h += "<div class=\"box\"><h3>" + SevSpan(model::SeverityName(a.severity)) + " " +
           Esc(c.asset_name) + " · " + Esc(a.metric) + "</h3>" + Svg(c) +
           "<p class=\"legend\">" + Esc(a.detector) + " · " + When(a.ts) + " · " +
           Esc(c.y_label) + " " + Esc(Num(a.value)) + ", expected " + Esc(Num(a.expected_low)) +
           "–" + Esc(Num(a.expected_high)) + "<br>" + Esc(a.explanation) + "</p></div>";
    }
    h += "</div>";
  }
  if (r.anomalies.size() > r.charts.size()) {
    h += "<div class=\"tbl\"><table><tr><th>Asset</th><th>Metric</th><th>Detector</th>"
         "<th>When</th><th>Severity</th><th>Explanation</th></tr>";
    for (const model::Anomaly& a : r.anomalies) {
      bool has_chart = false;
      for (const ReportChart& c : r.charts) has_chart = has_chart || c.anomaly.id == a.id;
      if (has_chart) continue;
      h += "<tr><td>" + Esc(a.asset.name) + "</td><td>" + Esc(a.metric) + "</td><td>" +
           Esc(a.detector) + "</td><td>" + When(a.ts) + "</td><td>" +
           SevSpan(model::SeverityName(a.severity)) + "</td><td>" + Esc(a.explanation) +
           "</td></tr>";
    }
    h += "</table></div>";
  }

  h += "<h2 id=\"freshness\">Freshness</h2>";
  if (r.freshness.empty()) {
    h += "<p class=\"empty\">No asset has an update history yet.</p>";
  } else {
    h += "<div class=\"tbl\"><table><tr><th>Asset</th><th>Last update</th><th>Expected by</th>"
         "<th>Late by</th><th>Rule</th></tr>";
    for (const ReportFreshnessRow& f : r.freshness) {
      h += "<tr><td>" + Esc(f.asset.name) + "</td><td>" +
           (f.last_update ? When(*f.last_update) : "never") + "</td><td>" +
           (f.expected_by ? When(*f.expected_by) : "") + "</td><td>" +
           (f.severity.empty() ? std::string("on time")
                               : SevSpan(f.severity) + " " + Duration(f.lateness_s)) +
           "</td><td>" + Esc(f.rule) + "</td></tr>";
    }
    h += "</table></div>";
  }

  h += "<h2 id=\"schema\">Schema changes (" + std::to_string(r.schema_changes.size()) + ")</h2>";
  if (r.schema_changes.empty()) h += "<p class=\"empty\">No schema change in this window.</p>";
  for (const ReportSchemaChange& sc : r.schema_changes) {
    h += "<div class=\"box\"><h3>" + (sc.breaking ? SevSpan("error") + " " : std::string()) +
         Esc(sc.asset.name) + " · " + When(sc.observed_at) + "</h3><ul>";
    for (const std::string& c : sc.changes) {
      bool rm = c.rfind("removed", 0) == 0 || c.rfind("renamed", 0) == 0;
      h += std::string("<li class=\"") + (rm ? "rm" : "add") + "\">" + Esc(c) + "</li>";
    }
    h += "</ul><div class=\"tbl\"><table><tr><th>Before</th><th>After</th></tr><tr><td class=\"mono\">" +
         Esc(ColumnsText(sc.before)) + "</td><td class=\"mono\">" + Esc(ColumnsText(sc.after)) +
         "</td></tr></table></div>";
    h += "<p>Downstream: " +
         (sc.downstream.empty() ? std::string("none known") : Esc(Names(sc.downstream, 12)));
    if (!sc.broken.empty()) {
      h += "<br><strong class=\"rm\">Broken since:</strong> " + Esc(Names(sc.broken, 12));
    }
    h += "</p></div>";
  }

  h += "<h2 id=\"dbt\">dbt</h2>";
  if (r.failures.empty()) {
    h += "<p class=\"empty\">No failed or skipped dbt node in this window.</p>";
  } else {
    h += "<div class=\"tbl\"><table><tr><th>Node</th><th>Status</th><th>Asset</th><th>When</th>"
         "<th>Message</th></tr>";
    for (const ReportFailure& f : r.failures) {
      std::string msg = f.message.size() > 400 ? f.message.substr(0, 400) + "…" : f.message;
      h += "<tr><td class=\"mono\">" + Esc(f.node_id) + "</td><td>" + Esc(f.status) +
           (f.failures && *f.failures > 0 ? " (" + std::to_string(*f.failures) + ")" : "") +
           "</td><td>" + Esc(f.asset.name) + "</td><td>" +
           (f.completed_at ? When(*f.completed_at) : "") + "</td><td>" + Esc(msg) + "</td></tr>";
    }
    h += "</table></div>";
  }
  auto models = [&](const char* title, const std::vector<ReportModelRow>& rows) {
    h += std::string("<h3>") + title + "</h3>";
    if (rows.empty()) {
      h += "<p class=\"empty\">No dbt build durations recorded.</p>";
      return;
    }
    h += "<div class=\"tbl\"><table><tr><th>Model</th><th>Newest build</th><th>First week</th>"
         "<th>Growth</th><th>Rows</th><th>Rows growth</th></tr>";
    for (const ReportModelRow& m : rows) {
      h += "<tr><td>" + Esc(m.asset.name) + "</td><td class=\"num\">" + Duration(m.latest_s) +
           "</td><td class=\"num\">" + Duration(m.baseline_s) + "</td><td class=\"num\">" +
           Percent(m.duration_growth) + "</td><td class=\"num\">" +
           (m.rows_latest ? Num(*m.rows_latest) : "") + "</td><td class=\"num\">" +
           (m.rows_growth ? Percent(*m.rows_growth) : "") + "</td></tr>";
    }
    h += "</table></div>";
  };
  models("Slowest models", r.slowest);
  models("Most-grown models", r.most_grown);

  h += "<h2 id=\"noisy\">Noisiest assets (30 days)</h2>";
  if (r.noisiest.empty()) {
    h += "<p class=\"empty\">No anomaly in the last 30 days.</p>";
  } else {
    h += "<div class=\"tbl\"><table><tr><th>Asset</th><th>Anomalies</th><th>By detector</th></tr>";
    for (const ReportNoisyRow& n : r.noisiest) {
      std::string by;
      for (const auto& [d, k] : n.by_detector) by += (by.empty() ? "" : ", ") + d + " " + std::to_string(k);
      h += "<tr><td>" + Esc(n.asset.name) + "</td><td class=\"num\">" +
           std::to_string(n.anomalies) + "</td><td>" + Esc(by) + "</td></tr>";
    }
    h += "</table></div><p class=\"legend\">Assets that alert most often: tune their "
         "sensitivity or freshness rules if the alerts are not useful.</p>";
  }
  h += "<p class=\"legend\">Generated by Tidemark from the catalog at " + When(r.until) +
       ".</p></main></body></html>";
  return h;
}

std::string RenderReportMarkdown(const ReportData& r) {
  std::string m;
  m += "# " + Md(r.title) + "\n\n" + When(r.since) + " → " + When(r.until) + "\n\n";
  if (r.empty_store) {
    m += "Nothing to report yet: the catalog is empty. Ingest a dbt target/ folder "
         "(`tidemark ingest dbt target/`) and the next report will show its freshness, volume "
         "and schema.\n";
    return m;
  }
  m += "| | now | change |\n|---|---:|---:|\n";
  for (const HeadlineRow& row : Headline(r)) {
    std::string label = row.label.rfind("  ", 0) == 0 ? "↳ " + row.label.substr(2) : row.label;
    m += "| " + Md(label) + " | " + std::to_string(row.now) + " | " + Delta(row.now, row.before) +
         " |\n";
  }
  m += "\n## Open incidents (" + std::to_string(r.open_incidents.size()) + ")\n\n";
  if (r.open_incidents.empty()) m += "No open incident.\n";
  for (const ReportIncident& i : r.open_incidents) {
    m += "- **" + Md(i.incident.title.empty() ? i.root.name : i.incident.title) + "** (" +
         std::string(model::SeverityName(i.incident.severity)) + ", since " +
         When(i.incident.opened_at) + ")\n  - root: " + Md(i.root.name) + "\n";
    for (const model::Anomaly& a : i.symptoms) {
      m += "  - symptom: " + Md(a.asset.name) + " " + Md(a.metric) + ": " + Md(a.explanation) + "\n";
    }
    if (!i.downstream.empty()) m += "  - downstream: " + Md(Names(i.downstream, 12)) + "\n";
    if (!i.owners.empty()) {
      m += "  - owners: ";
      for (size_t k = 0; k < i.owners.size(); ++k) {
        m += (k ? ", " : "") + Md(i.owners[k].email.empty() ? i.owners[k].name : i.owners[k].email);
      }
      m += "\n";
    }
  }
  m += "\n## Anomalies (" + std::to_string(r.anomalies.size()) + ")\n\n";
  if (r.anomalies.empty()) m += "No anomaly in this window.\n";
  for (const model::Anomaly& a : r.anomalies) {
    m += "- " + std::string(model::SeverityName(a.severity)) + " · " + Md(a.asset.name) + " · " +
         Md(a.metric) + " (" + Md(a.detector) + ", " + When(a.ts) + "): " + Md(a.explanation) + "\n";
  }
  m += "\n## Freshness\n\n";
  if (r.freshness.empty()) {
    m += "No asset has an update history yet.\n";
  } else {
    m += "| Asset | Last update | Expected by | Late by |\n|---|---|---|---|\n";
    for (const ReportFreshnessRow& f : r.freshness) {
      m += "| " + Md(f.asset.name) + " | " + (f.last_update ? When(*f.last_update) : "never") +
           " | " + (f.expected_by ? When(*f.expected_by) : "") + " | " +
           (f.severity.empty() ? "on time" : f.severity + " " + Duration(f.lateness_s)) + " |\n";
    }
  }
  m += "\n## Schema changes (" + std::to_string(r.schema_changes.size()) + ")\n\n";
  if (r.schema_changes.empty()) m += "No schema change in this window.\n";
  for (const ReportSchemaChange& sc : r.schema_changes) {
    m += "- **" + Md(sc.asset.name) + "** at " + When(sc.observed_at) + "\n";
    for (const std::string& c : sc.changes) m += "  - " + Md(c) + "\n";
    if (!sc.downstream.empty()) m += "  - downstream: " + Md(Names(sc.downstream, 12)) + "\n";
    if (!sc.broken.empty()) m += "  - broken: " + Md(Names(sc.broken, 12)) + "\n";
  }
  m += "\n## dbt\n\n";
  if (r.failures.empty()) m += "No failed or skipped dbt node in this window.\n";
  for (const ReportFailure& f : r.failures) {
    std::string msg = f.message.size() > 200 ? f.message.substr(0, 200) + "…" : f.message;
    m += "- `" + f.node_id + "` " + f.status + ": " + Md(msg) + "\n";
  }
  if (!r.slowest.empty()) {
    m += "\n| Slowest model | newest | growth |\n|---|---:|---:|\n";
    for (const ReportModelRow& x : r.slowest) {
      m += "| " + Md(x.asset.name) + " | " + Duration(x.latest_s) + " | " +
           Percent(x.duration_growth) + " |\n";
    }
  }
  if (!r.most_grown.empty()) {
    m += "\n| Most-grown model | newest | growth |\n|---|---:|---:|\n";
    for (const ReportModelRow& x : r.most_grown) {
      m += "| " + Md(x.asset.name) + " | " + Duration(x.latest_s) + " | " +
           Percent(x.duration_growth) + " |\n";
    }
  }
  m += "\n## Noisiest assets (30 days)\n\n";
  if (r.noisiest.empty()) m += "No anomaly in the last 30 days.\n";
  for (const ReportNoisyRow& n : r.noisiest) {
    m += "- " + Md(n.asset.name) + ": " + std::to_string(n.anomalies) + "\n";
  }
  return m;
}

std::string RenderReportJson(const ReportData& r) {
  using json = nlohmann::ordered_json;
  auto ts = [](Timestamp t) { return model::FormatTimestamp(t); };
  auto opt_ts = [&](const std::optional<Timestamp>& t) { return t ? json(ts(*t)) : json(nullptr); };
  auto ref = [](const ReportAssetRef& a) {
    return json{{"key", a.key.ToString()}, {"name", a.name}, {"kind", a.kind}};
  };
  auto refs = [&](const std::vector<ReportAssetRef>& v) {
    json out = json::array();
    for (const auto& a : v) out.push_back(ref(a));
    return out;
  };
  auto headline = [](const ReportHeadline& h) {
    return json{{"assets", h.assets},
                {"fresh", h.fresh},
                {"late", h.late},
                {"anomalies", h.anomalies},
                {"anomalies_by_detector", h.anomalies_by_detector},
                {"incidents_opened", h.incidents_opened},
                {"incidents_resolved", h.incidents_resolved},
                {"incidents_open", h.incidents_open},
                {"dbt_runs", h.dbt_runs},
                {"dbt_model_failures", h.dbt_model_failures},
                {"dbt_test_failures", h.dbt_test_failures},
                {"schema_changes", h.schema_changes}};
  };
  auto anomaly = [&](const model::Anomaly& a) {
    return json{{"id", a.id},
                {"asset", a.asset.ToString()},
                {"metric", a.metric},
                {"detector", a.detector},
                {"ts", ts(a.ts)},
                {"value", a.value},
                {"expected_low", a.expected_low},
                {"expected_high", a.expected_high},
                {"score", a.score},
                {"severity", model::SeverityName(a.severity)},
                {"explanation", a.explanation},
                {"detected_at", ts(a.detected_at)},
                {"incident_id", a.incident_id}};
  };
  json j;
  j["title"] = r.title;
  j["since"] = ts(r.since);
  j["until"] = ts(r.until);
  j["empty_store"] = r.empty_store;
  j["headline"] = headline(r.current);
  j["previous"] = headline(r.previous);
  j["open_incidents"] = json::array();
  for (const ReportIncident& i : r.open_incidents) {
    json owners = json::array();
    for (const ReportOwner& o : i.owners) {
      owners.push_back({{"id", o.id}, {"name", o.name}, {"email", o.email}, {"role", o.role}});
    }
    json symptoms = json::array();
    for (const auto& a : i.symptoms) symptoms.push_back(anomaly(a));
    j["open_incidents"].push_back({{"id", i.incident.id},
                                   {"title", i.incident.title},
                                   {"state", model::IncidentStateName(i.incident.state)},
                                   {"severity", model::SeverityName(i.incident.severity)},
                                   {"opened_at", ts(i.incident.opened_at)},
                                   {"root", ref(i.root)},
                                   {"symptoms", symptoms},
                                   {"downstream", refs(i.downstream)},
                                   {"owners", owners}});
  }
  j["anomalies"] = json::array();
  for (const auto& a : r.anomalies) j["anomalies"].push_back(anomaly(a));
  j["charts"] = json::array();
  for (const ReportChart& c : r.charts) {
    json pts = json::array();
    for (size_t i = 0; i < c.ts.size(); ++i) pts.push_back({ts(c.ts[i]), c.values[i]});
    json flagged = json::array();
    for (const auto& [t, v] : c.flagged) flagged.push_back({ts(t), v});
    j["charts"].push_back({{"anomaly_id", c.anomaly.id},
                           {"y_label", c.y_label},
                           {"from", ts(c.view_from)},
                           {"to", ts(c.view_to)},
                           {"expected_low", c.anomaly.expected_low},
                           {"expected_high", c.anomaly.expected_high},
                           {"points", pts},
                           {"flagged", flagged},
                           {"detected_at", ts(c.anomaly.detected_at)}});
  }
  j["freshness"] = json::array();
  for (const auto& f : r.freshness) {
    j["freshness"].push_back({{"asset", ref(f.asset)},
                              {"last_update", opt_ts(f.last_update)},
                              {"expected_by", opt_ts(f.expected_by)},
                              {"lateness_s", f.lateness_s},
                              {"severity", f.severity},
                              {"rule", f.rule}});
  }
  j["schema_changes"] = json::array();
  for (const auto& sc : r.schema_changes) {
    auto cols = [](const std::vector<model::Column>& v) {
      json out = json::array();
      for (const auto& c : v) out.push_back({{"name", c.name}, {"type", c.data_type}});
      return out;
    };
    j["schema_changes"].push_back({{"asset", ref(sc.asset)},
                                   {"observed_at", ts(sc.observed_at)},
                                   {"changes", sc.changes},
                                   {"breaking", sc.breaking},
                                   {"before", cols(sc.before)},
                                   {"after", cols(sc.after)},
                                   {"downstream", refs(sc.downstream)},
                                   {"broken", refs(sc.broken)}});
  }
  j["dbt_failures"] = json::array();
  for (const auto& f : r.failures) {
    j["dbt_failures"].push_back({{"run_id", f.run_id},
                                 {"node_id", f.node_id},
                                 {"node_kind", f.node_kind},
                                 {"status", f.status},
                                 {"asset", ref(f.asset)},
                                 {"completed_at", opt_ts(f.completed_at)},
                                 {"failures", f.failures ? json(*f.failures) : json(nullptr)},
                                 {"message", f.message}});
  }
  auto model_rows = [&](const std::vector<ReportModelRow>& rows) {
    json out = json::array();
    for (const auto& x : rows) {
      out.push_back({{"asset", ref(x.asset)},
                     {"latest_s", x.latest_s},
                     {"baseline_s", x.baseline_s},
                     {"duration_growth", x.duration_growth},
                     {"rows_latest", x.rows_latest ? json(*x.rows_latest) : json(nullptr)},
                     {"rows_growth", x.rows_growth ? json(*x.rows_growth) : json(nullptr)}});
    }
    return out;
  };
  j["slowest_models"] = model_rows(r.slowest);
  j["most_grown_models"] = model_rows(r.most_grown);
  j["noisiest"] = json::array();
  for (const auto& n : r.noisiest) {
    j["noisiest"].push_back(
        {{"asset", ref(n.asset)}, {"anomalies", n.anomalies}, {"by_detector", n.by_detector}});
  }
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace tidemark::pipeline
