// The demo history: generated, not bundled, so that it can sit right behind "now".
//
// Why generated: a bundled target/ folder would carry fixed dates, and a demo whose newest
// run is months old shows nothing the freshness detector would call fresh. Everything here is
// a pure function of the anchor (now, floored to the hour) and of fixed seeds, so loading the
// same anchor twice yields byte-identical artifacts (the collector skips them by digest) and
// identical metric points (the store skips them by key).
//
// Why the artifacts go through collector::IngestDbt: the demo must show what the product does
// with a real dbt project, so the manifest, run results, freshness results and catalog take
// the same path as files from a user's target/ folder. Only the warehouse's table stats,
// which a stats collector would push, are written as metric points directly.
//
// The timeline (B = midnight of the newest day whose 06:30 build has finished):
//   every hour      Kafka Connect flushes purchases; Airbyte syncs HubSpot contacts at :15;
//                   the warehouse stats of both are observed on the hour
//   00:30           Snowpipe loads the day's exchange-rate file from S3
//   01:00           dlt loads exchange rates from the REST API
//   02:00           dlt loads products from the shop's PostgreSQL
//   05:50           dbt source freshness
//   06:00           dbt build (staging views, marts, the sales report, their tests)
//   06:20           dbt docs generate on the first and the last day (catalog.json);
//                   daily warehouse stats of the daily tables
// The same days are also told as OpenLineage events from the Airflow DAG that runs the loads
// and the build (DemoOpenLineageEvents), for the OpenLineage endpoint.
// Incidents (DemoIncidents gives their exact windows):
//   B-5             the Kafka Connect sink drops every other batch: purchases halve for a day
//   last weekend    the exchange-rate API answers with no rows on Saturday and Sunday
//   B 02:00         the shop's engineers drop products.category: the dlt load follows, the
//                   06:00 build fails on dim_products and skips sales
//   B 06:00         not_null_dim_customers_email fails (HubSpot contacts without email)
//   anchor-14h      the Airbyte HubSpot sync stalls, and is still stalled

#include "tidemark/pipeline/demo_data.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>

#include "tidemark/collector/dbt.h"
#include "tidemark/model/metric.h"

namespace tidemark::pipeline {
namespace {

using json = nlohmann::ordered_json;
using model::AssetKey;
using model::Result;
using model::Timestamp;
using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr char kProject[] = "acme_sales";
constexpr char kDbtVersion[] = "1.9.4";
constexpr char kManifestSchema[] = "https://schemas.getdbt.com/dbt/manifest/v12.json";
constexpr char kRunResultsSchema[] = "https://schemas.getdbt.com/dbt/run-results/v6.json";
constexpr char kSourcesSchema[] = "https://schemas.getdbt.com/dbt/sources/v3.json";
constexpr char kCatalogSchema[] = "https://schemas.getdbt.com/dbt/catalog/v1.json";

// ---- deterministic noise ----------------------------------------------------------------------

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// SplitMix64: tiny, portable (std::normal_distribution is not the same on every library).
class Rng {
 public:
  Rng(std::string_view stream, int64_t index)
      : state_(Fnv1a(stream) ^ (static_cast<uint64_t>(index) * 0x9E3779B97F4A7C15ull)) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double Uniform() { return (Next() >> 11) * (1.0 / 9007199254740992.0); }
  double Normal() {  // Box-Muller
    double u1 = Uniform(), u2 = Uniform();
    if (u1 < 1e-12) u1 = 1e-12;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t state_;
};

int64_t HourIndex(Timestamp t) {
  return std::chrono::floor<hours>(t).time_since_epoch().count();
}
int64_t DayIndex(Timestamp t) {
  return std::chrono::floor<days>(t).time_since_epoch().count();
}
int Weekday(Timestamp t) {  // 0 = Sunday
  return static_cast<int>(
      std::chrono::weekday(std::chrono::floor<days>(t)).c_encoding());
}
int HourOfDay(Timestamp t) {
  return static_cast<int>((t - std::chrono::floor<days>(t)) / hours(1));
}

std::string Iso(Timestamp t) { return model::FormatTimestamp(t); }

// A UUID-shaped id that is a pure function of its label.
std::string StableUuid(std::string_view label) {
  uint64_t a = Fnv1a(label), b = Fnv1a(std::string(label) + "#2");
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-8%03x-%012llx",
                static_cast<unsigned>(a >> 32), static_cast<unsigned>((a >> 16) & 0xffff),
                static_cast<unsigned>(a & 0xfff), static_cast<unsigned>((b >> 48) & 0xfff),
                static_cast<unsigned long long>(b & 0xffffffffffffull));
  return buf;
}

// ---- the timeline -----------------------------------------------------------------------------

struct Timeline {
  Timestamp anchor;
  Timestamp base_day;    // B
  Timestamp start;       // B - 89 days
  int days = kDemoHistoryDays;  // B - 89 .. B
  Timestamp stall_from;  // the last HubSpot sync that happened
  Timestamp halved_day;  // purchases halve from here for 24 hours
  Timestamp zero_saturday;
  Timestamp drop_at;     // products.category dropped

  Timestamp Day(int d) const { return start + std::chrono::days(d); }
};

Timeline MakeTimeline(Timestamp now) {
  Timeline t;
  t.anchor = DemoAnchor(now);
  t.base_day = std::chrono::floor<days>(t.anchor - minutes(6 * 60 + 30));
  t.start = t.base_day - days(kDemoHistoryDays - 1);
  t.stall_from = t.anchor - hours(14) + minutes(15);
  t.halved_day = t.base_day - days(5);
  // The newest Saturday whose Sunday ended before B with two good loads after it: both zero
  // days are complete loads, and the incident has recovered (one good Monday is not yet
  // enough to call it resolved, so a demo started on a Monday shows the weekend before).
  Timestamp sat = t.base_day - days(3);
  while (Weekday(sat) != 6) sat -= days(1);
  t.zero_saturday = sat;
  t.drop_at = t.base_day + hours(2);
  return t;
}

bool IsZeroLoadDay(const Timeline& t, Timestamp day) {
  return day == t.zero_saturday || day == t.zero_saturday + days(1);
}

// ---- the tables' contents over time -------------------------------------------------------

// Purchases flushed by the Kafka Connect sink in the hour starting at `h`.
double PurchasesInHour(const Timeline& t, Timestamp h) {
  static constexpr double kProfile[24] = {0.35, 0.25, 0.2,  0.18, 0.2,  0.3,  0.5,  0.8,
                                          1.0,  1.15, 1.25, 1.35, 1.45, 1.4,  1.35, 1.3,
                                          1.3,  1.4,  1.55, 1.65, 1.6,  1.35, 0.95, 0.6};
  Rng rng("purchases", HourIndex(h));
  int wd = Weekday(h);
  double dow = (wd == 0 || wd == 6) ? 1.2 : 1.0;
  double trend = 1.0 + 0.002 * static_cast<double>(DayIndex(h) - DayIndex(t.start));
  double v = 420.0 * kProfile[HourOfDay(h)] * dow * trend * (1.0 + 0.04 * rng.Normal());
  if (h >= t.halved_day && h < t.halved_day + days(1)) v *= 0.5;
  return std::round(std::max(v, 1.0));
}

// Contacts synced by Airbyte in the hour starting at `h` (zero once the sync stalls).
double ContactsInHour(const Timeline& t, Timestamp h) {
  if (h + minutes(15) > t.stall_from) return 0;
  Rng rng("hubspot_contacts", HourIndex(h));
  int hod = HourOfDay(h);
  double day = (hod >= 8 && hod < 20) ? 1.0 : 0.45;
  double v = 26.0 * day * (1.0 + 0.08 * rng.Normal());
  return std::round(std::max(v, 1.0));
}

double ProductsOnDay(const Timeline& t, int d) {
  Rng rng("products", DayIndex(t.Day(d)));
  return std::round(1180.0 + 2.0 * d + 3.0 * rng.Normal());
}

double RatesFromApi(const Timeline& t, int d) {
  if (IsZeroLoadDay(t, t.Day(d))) return 0;
  Rng rng("exchange_rates", DayIndex(t.Day(d)));
  return 168.0 + std::round(2.0 * rng.Normal());
}

double RatesFromFiles(const Timeline& t, int d) {
  Rng rng("exchange_rate_files", DayIndex(t.Day(d)));
  return 31.0 + std::round(1.5 * rng.Normal());
}

// Hourly series of the two streaming sources, one value per hour from t.start.
struct HourlyTotals {
  std::vector<double> purchases_inc, contacts_inc;
  std::vector<double> purchases_cum, contacts_cum;  // totals at the end of each hour
  double purchases_base = 1'850'000, contacts_base = 61'000;

  double PurchasesAt(const Timeline& t, Timestamp at) const {  // total at `at` (on the hour)
    auto k = (at - t.start) / hours(1);
    return k <= 0 ? purchases_base : purchases_cum[static_cast<size_t>(k - 1)];
  }
  double ContactsAt(const Timeline& t, Timestamp at) const {
    auto k = (at - t.start) / hours(1);
    return k <= 0 ? contacts_base : contacts_cum[static_cast<size_t>(k - 1)];
  }
};

HourlyTotals MakeHourly(const Timeline& t) {
  HourlyTotals h;
  auto n = static_cast<size_t>((t.anchor - t.start) / hours(1));
  double p = h.purchases_base, c = h.contacts_base;
  for (size_t i = 0; i < n; ++i) {
    Timestamp at = t.start + hours(static_cast<int64_t>(i));
    h.purchases_inc.push_back(PurchasesInHour(t, at));
    h.contacts_inc.push_back(ContactsInHour(t, at));
    p += h.purchases_inc.back();
    c += h.contacts_inc.back();
    h.purchases_cum.push_back(p);
    h.contacts_cum.push_back(c);
  }
  return h;
}

// ---- the dbt project ----------------------------------------------------------------------

struct ColumnSpec {
  const char* name;
  const char* type;  // the warehouse's type, as catalog.json reports it
  const char* description;
};

struct SourceSpec {
  const char* source_name;  // dbt source name = raw schema
  const char* table;
  const char* loader;
  const char* loaded_at_field;
  int warn_hours, error_hours;
  const char* owner;        // meta.owner
  const char* description;
  std::vector<const char*> tags;
  std::vector<ColumnSpec> columns;
};

struct ModelSpec {
  const char* name;
  const char* layer;        // schema: staging, marts, reporting
  const char* materialized;
  const char* group;
  const char* description;
  std::vector<const char*> tags;
  std::vector<std::string> depends_on;  // unique_ids
  std::vector<ColumnSpec> columns;
  double base_seconds;      // build time on day 0
  double growth_seconds;    // per day
};

struct TestSpec {
  const char* kind;  // unique, not_null, accepted_values, relationships
  std::string attached;  // unique_id of the tested node
  const char* column;
  const char* severity = "ERROR";
};

const std::vector<SourceSpec>& Sources() {
  static const std::vector<SourceSpec> kSources = {
      // The sink flushes once an hour, at :57-:59, so a 1 h SLA would warn near every hour's
      // end; 2 h is what a team would write for an hourly flush.
      {"streaming", "purchases", "kafka-connect", "_kafka_ingested_at", 2, 6,
       "platform@acme.example",
       "Purchases from the web shop's `purchases` Kafka topic, written by the Kafka Connect "
       "Snowflake sink connector.",
       {"streaming", "pii:none"},
       {{"purchase_id", "VARCHAR", "The purchase's key (UUID from the shop)."},
        {"customer_email", "VARCHAR", "Email the customer checked out with."},
        {"product_id", "NUMBER(38,0)", "The product bought."},
        {"quantity", "NUMBER(38,0)", "Units bought."},
        {"unit_price", "NUMBER(12,2)", "Price per unit in `currency`."},
        {"currency", "VARCHAR(3)", "ISO 4217 code of the price."},
        {"purchased_at", "TIMESTAMP_TZ", "When the customer paid."},
        {"_kafka_ingested_at", "TIMESTAMP_NTZ", "When the sink wrote the record."}}},
      {"dlt", "products", "dlt", "_dlt_loaded_at", 26, 48, "platform@acme.example",
       "The product catalogue, copied nightly by dlt from the shop's PostgreSQL.",
       {"dlt", "daily"},
       {{"product_id", "NUMBER(38,0)", "The product's key."},
        {"name", "VARCHAR", "Display name."},
        {"category", "VARCHAR", "Merchandising category."},
        {"list_price", "NUMBER(12,2)", "Current list price."},
        {"currency", "VARCHAR(3)", "Currency of the list price."},
        {"updated_at", "TIMESTAMP_TZ", "Last change in the shop."},
        {"_dlt_loaded_at", "TIMESTAMP_TZ", "When dlt loaded the row."},
        {"_dlt_id", "VARCHAR", "dlt's row id."}}},
      {"dlt", "exchange_rates", "dlt", "_dlt_loaded_at", 26, 50, "finance-data@acme.example",
       "Daily exchange rates from the rates REST API, loaded by dlt at 01:00 UTC.",
       {"dlt", "daily", "finance"},
       {{"rate_date", "DATE", "Day the rate applies to."},
        {"base_currency", "VARCHAR(3)", "Always USD."},
        {"quote_currency", "VARCHAR(3)", "The other currency."},
        {"rate", "NUMBER(18,8)", "Units of quote currency per USD."},
        {"_dlt_loaded_at", "TIMESTAMP_TZ", "When dlt loaded the row."}}},
      {"snowpipe", "exchange_rate_files", "snowpipe", "_loaded_at", 26, 50,
       "finance-data@acme.example",
       "The treasury's reference GBP rates, one CSV file a day in S3, loaded by Snowpipe.",
       {"snowpipe", "daily", "finance"},
       {{"file_name", "VARCHAR", "S3 key of the file."},
        {"rate_date", "DATE", "Day the rate applies to."},
        {"currency", "VARCHAR(3)", "Currency quoted against GBP."},
        {"rate_to_gbp", "NUMBER(18,8)", "Units of currency per GBP."},
        {"_loaded_at", "TIMESTAMP_NTZ", "METADATA$START_SCAN_TIME of the load."}}},
      {"airbyte", "hubspot_contacts", "airbyte", "_airbyte_extracted_at", 2, 6,
       "growth-ops@acme.example",
       "HubSpot CRM contacts, synced hourly by Airbyte (incremental, append + dedupe).",
       {"airbyte", "hourly", "pii"},
       {{"id", "VARCHAR", "HubSpot contact id."},
        {"email", "VARCHAR", "Primary email."},
        {"firstname", "VARCHAR", "First name."},
        {"lastname", "VARCHAR", "Last name."},
        {"country", "VARCHAR", "Country from the contact's address."},
        {"lifecyclestage", "VARCHAR", "HubSpot lifecycle stage."},
        {"createdat", "TIMESTAMP_TZ", "Created in HubSpot."},
        {"_airbyte_extracted_at", "TIMESTAMP_TZ", "When Airbyte read the record."}}},
  };
  return kSources;
}

std::string SourceId(const SourceSpec& s) {
  return std::string("source.") + kProject + "." + s.source_name + "." + s.table;
}
std::string ModelId(std::string_view name) {
  return std::string("model.") + kProject + "." + std::string(name);
}
std::string SourceIdByTable(std::string_view table) {
  for (const SourceSpec& s : Sources()) {
    if (table == s.table) return SourceId(s);
  }
  return {};
}

const std::vector<ModelSpec>& Models() {
  static const std::vector<ModelSpec> kModels = {
      {"stg_streaming__purchases", "staging", "view", "sales_analytics",
       "Purchases, one row per purchase, typed and de-duplicated on purchase_id.",
       {"staging"}, {SourceIdByTable("purchases")},
       {{"purchase_id", "VARCHAR", "The purchase's key."},
        {"customer_email", "VARCHAR", "Lower-cased checkout email."},
        {"product_id", "NUMBER(38,0)", "The product bought."},
        {"quantity", "NUMBER(38,0)", "Units bought."},
        {"amount", "NUMBER(14,2)", "quantity * unit_price, in `currency`."},
        {"currency", "VARCHAR(3)", "ISO 4217 code."},
        {"purchased_at", "TIMESTAMP_TZ", "When the customer paid."}},
       2.1, 0.0},
      {"stg_dlt__products", "staging", "view", "sales_analytics",
       "Products, one row per product, without dlt's bookkeeping columns.",
       {"staging"}, {SourceIdByTable("products")},
       {{"product_id", "NUMBER(38,0)", "The product's key."},
        {"name", "VARCHAR", "Display name."},
        {"category", "VARCHAR", "Merchandising category."},
        {"list_price", "NUMBER(12,2)", "Current list price."},
        {"currency", "VARCHAR(3)", "Currency of the list price."},
        {"updated_at", "TIMESTAMP_TZ", "Last change in the shop."}},
       1.4, 0.0},
      {"stg_dlt__exchange_rates", "staging", "view", "finance",
       "USD-based daily rates from the API, reconciled with the treasury's GBP files.",
       {"staging", "finance"},
       {SourceIdByTable("exchange_rates"), SourceIdByTable("exchange_rate_files")},
       {{"rate_date", "DATE", "Day the rate applies to."},
        {"currency", "VARCHAR(3)", "Quote currency."},
        {"usd_rate", "NUMBER(18,8)", "Units per USD."},
        {"gbp_rate", "NUMBER(18,8)", "Units per GBP (treasury file when present)."}},
       1.7, 0.0},
      {"stg_airbyte__contacts", "staging", "view", "growth",
       "HubSpot contacts, latest version of each, emails lower-cased.",
       {"staging", "pii"}, {SourceIdByTable("hubspot_contacts")},
       {{"contact_id", "VARCHAR", "HubSpot contact id."},
        {"email", "VARCHAR", "Primary email, lower-cased."},
        {"full_name", "VARCHAR", "First and last name."},
        {"country", "VARCHAR", "Country."},
        {"lifecycle_stage", "VARCHAR", "HubSpot lifecycle stage."},
        {"created_at", "TIMESTAMP_TZ", "Created in HubSpot."}},
       1.9, 0.0},
      {"fct_purchases", "marts", "incremental", "sales_analytics",
       "One row per purchase with its product and customer keys; loads the previous day.",
       {"marts", "daily"}, {ModelId("stg_streaming__purchases")},
       {{"purchase_id", "VARCHAR", "The purchase's key."},
        {"customer_id", "VARCHAR", "dim_customers key (HubSpot id) matched on email."},
        {"product_id", "NUMBER(38,0)", "dim_products key."},
        {"purchased_at", "TIMESTAMP_TZ", "When the customer paid."},
        {"amount", "NUMBER(14,2)", "Amount in `currency`."},
        {"currency", "VARCHAR(3)", "ISO 4217 code."}},
       21.0, 0.06},
      {"dim_products", "marts", "table", "sales_analytics",
       "Products with their category, for the sales report and the product dashboard.",
       {"marts", "daily"}, {ModelId("stg_dlt__products")},
       {{"product_id", "NUMBER(38,0)", "The product's key."},
        {"product_name", "VARCHAR", "Display name."},
        {"category", "VARCHAR", "Merchandising category."},
        {"list_price", "NUMBER(12,2)", "Current list price."},
        {"currency", "VARCHAR(3)", "Currency of the list price."}},
       5.8, 0.0},
      {"fct_exchange_rates", "marts", "incremental", "finance",
       "Daily USD and GBP rates per currency.", {"marts", "daily", "finance"},
       {ModelId("stg_dlt__exchange_rates")},
       {{"rate_date", "DATE", "Day the rate applies to."},
        {"currency", "VARCHAR(3)", "Currency."},
        {"usd_rate", "NUMBER(18,8)", "Units per USD."},
        {"gbp_rate", "NUMBER(18,8)", "Units per GBP."}},
       3.2, 0.0},
      {"dim_customers", "marts", "table", "growth",
       "Customers: HubSpot contacts that have bought at least once.", {"marts", "daily", "pii"},
       {ModelId("stg_airbyte__contacts")},
       {{"customer_id", "VARCHAR", "HubSpot contact id."},
        {"email", "VARCHAR", "Primary email."},
        {"full_name", "VARCHAR", "Name."},
        {"country", "VARCHAR", "Country."},
        {"first_seen_at", "TIMESTAMP_TZ", "Created in HubSpot."}},
       11.5, 0.02},
      {"sales", "reporting", "table", "sales_analytics",
       "Customer totals in GBP and USD: the sales team's source of truth.",
       {"reporting", "daily", "tier:gold"},
       {ModelId("fct_purchases"), ModelId("dim_products"), ModelId("fct_exchange_rates"),
        ModelId("dim_customers")},
       {{"customer_id", "VARCHAR", "dim_customers key."},
        {"email", "VARCHAR", "Customer email."},
        {"purchases", "NUMBER(38,0)", "Number of purchases."},
        {"top_category", "VARCHAR", "Category the customer spent most on."},
        {"total_usd", "NUMBER(18,2)", "Lifetime spend in USD."},
        {"total_gbp", "NUMBER(18,2)", "Lifetime spend in GBP."}},
       34.0, 0.3},
  };
  return kModels;
}

const ModelSpec* FindModel(std::string_view name) {
  for (const ModelSpec& m : Models()) {
    if (name == m.name) return &m;
  }
  return nullptr;
}

std::vector<TestSpec> Tests() {
  return {
      {"not_null", SourceIdByTable("purchases"), "purchase_id"},
      {"unique", SourceIdByTable("products"), "product_id"},
      {"not_null", SourceIdByTable("hubspot_contacts"), "id"},
      {"unique", ModelId("fct_purchases"), "purchase_id"},
      {"not_null", ModelId("fct_purchases"), "customer_id", "WARN"},
      {"relationships", ModelId("fct_purchases"), "product_id"},
      {"unique", ModelId("dim_products"), "product_id"},
      {"not_null", ModelId("dim_products"), "category"},
      {"accepted_values", ModelId("fct_exchange_rates"), "currency"},
      {"unique", ModelId("dim_customers"), "customer_id"},
      {"not_null", ModelId("dim_customers"), "email"},
      {"not_null", ModelId("sales"), "total_gbp"},
  };
}

std::string TestedName(const std::string& id) { return id.substr(id.rfind('.') + 1); }

std::string TestId(const TestSpec& t) {
  std::string name = std::string(t.kind) + "_" + TestedName(t.attached) + "_" + t.column;
  if (std::string_view(t.kind) == "relationships") {
    name = "relationships_fct_purchases_product_id__product_id__ref_dim_products_";
  }
  char hash[12];
  std::snprintf(hash, sizeof hash, "%010llx",
                static_cast<unsigned long long>(Fnv1a(name) & 0xffffffffffull));
  return std::string("test.") + kProject + "." + name + "." + hash;
}

struct Exposure {
  const char* name;
  const char* label;
  const char* owner_name;
  const char* owner_email;
  const char* maturity;
  const char* url_path;
  const char* description;
  std::vector<std::string> depends_on;
};

const std::vector<Exposure>& Exposures() {
  static const std::vector<Exposure> kExposures = {
      {"sales_overview", "Sales overview", "Priya Natarajan", "priya@acme.example", "high",
       "dashboards/3f1c2a9e/view", "Revenue by customer and country in GBP and USD; the "
       "Monday sales meeting's dashboard.",
       {ModelId("sales")}},
      {"customer_360", "Customer 360", "Tom Becker", "tom@acme.example", "medium",
       "dashboards/8b7d41c0/view", "Everything about one customer: contact, purchases, spend.",
       {ModelId("dim_customers"), ModelId("sales")}},
      {"product_performance", "Product performance", "Priya Natarajan", "priya@acme.example",
       "medium", "dashboards/c2e9f7d4/view", "Units and revenue per product and category.",
       {ModelId("fct_purchases"), ModelId("dim_products")}},
  };
  return kExposures;
}

std::string Relation(std::string_view db, std::string_view schema, std::string_view table) {
  return "\"" + std::string(db) + "\".\"" + std::string(schema) + "\".\"" + std::string(table) +
         "\"";
}

json ColumnsJson(const std::vector<ColumnSpec>& cols, bool declare_types) {
  json out = json::object();
  for (const ColumnSpec& c : cols) {
    out[c.name] = {{"name", c.name}, {"description", c.description}, {"meta", json::object()},
                   {"data_type", declare_types ? json(c.type) : json(nullptr)},
                   {"constraints", json::array()}, {"quote", nullptr}, {"tags", json::array()},
                   {"granularity", nullptr}};
  }
  return out;
}

json FreshnessRule(int warn_hours, int error_hours) {
  return {{"warn_after", {{"count", warn_hours}, {"period", "hour"}}},
          {"error_after", {{"count", error_hours}, {"period", "hour"}}},
          {"filter", nullptr}};
}

json Manifest(const Timeline& t) {
  json m;
  m["metadata"] = {{"dbt_schema_version", kManifestSchema},
                   {"dbt_version", kDbtVersion},
                   {"generated_at", Iso(t.start + hours(6))},
                   {"invocation_id", StableUuid("manifest")},
                   {"env", json::object()},
                   {"project_name", kProject},
                   {"project_id", "2f9cf0f0c1b6a8f5d1e5c0d4b7a3e9aa"},
                   {"user_id", nullptr},
                   {"send_anonymous_usage_stats", false},
                   {"adapter_type", "snowflake"}};
  json nodes = json::object();
  std::map<std::string, std::vector<std::string>> parents;
  for (const ModelSpec& s : Models()) {
    std::string id = ModelId(s.name);
    json tags = s.tags;
    nodes[id] = {
        {"database", "analytics"},
        {"schema", s.layer},
        {"name", s.name},
        {"resource_type", "model"},
        {"package_name", kProject},
        {"path", std::string(s.layer) + "/" + s.name + ".sql"},
        {"original_file_path", std::string("models/") + s.layer + "/" + s.name + ".sql"},
        {"unique_id", id},
        {"fqn", {kProject, s.layer, s.name}},
        {"alias", s.name},
        {"checksum", {{"name", "sha256"}, {"checksum", StableUuid(id)}}},
        {"config",
         {{"enabled", true}, {"alias", nullptr}, {"schema", s.layer}, {"database", nullptr},
          {"tags", tags}, {"meta", json::object()}, {"group", s.group},
          {"materialized", s.materialized},
          {"incremental_strategy",
           std::string_view(s.materialized) == "incremental" ? json("merge") : json(nullptr)},
          {"persist_docs", json::object()}, {"quoting", json::object()},
          {"column_types", json::object()}, {"full_refresh", nullptr},
          {"unique_key", nullptr}, {"on_schema_change", "fail"},
          {"on_configuration_change", "apply"}, {"grants", json::object()},
          {"packages", json::array()}, {"docs", {{"show", true}, {"node_color", nullptr}}},
          {"contract", {{"enforced", false}, {"alias_types", true}}}, {"access", "protected"}}},
        {"tags", tags},
        {"description", s.description},
        {"columns", ColumnsJson(s.columns, false)},
        {"meta", json::object()},
        {"group", s.group},
        {"docs", {{"show", true}, {"node_color", nullptr}}},
        {"patch_path", std::string(kProject) + "://models/" + s.layer + "/_" + s.layer + ".yml"},
        {"build_path", nullptr},
        {"unrendered_config", {{"materialized", s.materialized}}},
        {"created_at", 1760000000.0},
        {"relation_name", Relation("analytics", s.layer, s.name)},
        {"raw_code", "-- see models/" + std::string(s.layer) + "/" + s.name + ".sql"},
        {"language", "sql"},
        {"refs", json::array()},
        {"sources", json::array()},
        {"metrics", json::array()},
        {"depends_on", {{"macros", json::array()}, {"nodes", s.depends_on}}},
        {"compiled_path", nullptr},
        {"contract", {{"enforced", false}, {"alias_types", true}, {"checksum", nullptr}}},
        {"access", "protected"},
        {"constraints", json::array()},
        {"version", nullptr},
        {"latest_version", nullptr},
        {"deprecation_date", nullptr}};
    parents[id] = s.depends_on;
  }
  for (const TestSpec& ts : Tests()) {
    std::string id = TestId(ts);
    std::string tested = TestedName(ts.attached);
    bool on_source = ts.attached.rfind("source.", 0) == 0;
    std::string model_arg = on_source
                                ? "{{ get_where_subquery(source('" +
                                      ts.attached.substr(ts.attached.find('.', 7) + 1,
                                                         ts.attached.rfind('.') -
                                                             ts.attached.find('.', 7) - 1) +
                                      "', '" + tested + "')) }}"
                                : "{{ get_where_subquery(ref('" + tested + "')) }}";
    json kwargs = {{"column_name", ts.column}, {"model", model_arg}};
    std::vector<std::string> deps = {ts.attached};
    if (std::string_view(ts.kind) == "relationships") {
      kwargs["to"] = "ref('dim_products')";
      kwargs["field"] = "product_id";
      deps.push_back(ModelId("dim_products"));
    } else if (std::string_view(ts.kind) == "accepted_values") {
      kwargs["values"] = {"EUR", "GBP", "JPY", "CHF", "SEK", "USD"};
    }
    std::string name = id.substr(std::string("test.").size() + std::string(kProject).size() + 1);
    name = name.substr(0, name.rfind('.'));
    nodes[id] = {{"database", "analytics"},
                 {"schema", "dbt_test__audit"},
                 {"name", name},
                 {"resource_type", "test"},
                 {"package_name", kProject},
                 {"unique_id", id},
                 {"alias", name.substr(0, 63)},
                 {"config",
                  {{"enabled", true}, {"materialized", "test"},
                   {"severity", ts.severity}, {"tags", json::array()}, {"meta", json::object()},
                   {"warn_if", "!= 0"}, {"error_if", "!= 0"}}},
                 {"tags", json::array()},
                 {"description", ""},
                 {"columns", json::object()},
                 {"meta", json::object()},
                 {"column_name", ts.column},
                 {"file_key_name", on_source ? "sources." + ts.attached.substr(ts.attached.find('.', 7) + 1,
                                                         ts.attached.rfind('.') - ts.attached.find('.', 7) - 1)
                                             : "models." + tested},
                 {"attached_node", on_source ? json(nullptr) : json(ts.attached)},
                 {"test_metadata",
                  {{"name", ts.kind}, {"kwargs", kwargs}, {"namespace", nullptr}}},
                 {"depends_on",
                  {{"macros", {std::string("macro.dbt.test_") + ts.kind}}, {"nodes", deps}}}};
    parents[id] = deps;
  }
  m["nodes"] = std::move(nodes);

  json sources = json::object();
  for (const SourceSpec& s : Sources()) {
    std::string id = SourceId(s);
    sources[id] = {
        {"database", "raw"},
        {"schema", s.source_name},
        {"name", s.table},
        {"resource_type", "source"},
        {"package_name", kProject},
        {"path", "models/staging/_sources.yml"},
        {"original_file_path", "models/staging/_sources.yml"},
        {"unique_id", id},
        {"fqn", {kProject, "staging", s.source_name, s.table}},
        {"source_name", s.source_name},
        {"source_description", ""},
        {"loader", s.loader},
        {"identifier", s.table},
        {"quoting", json::object()},
        {"loaded_at_field", s.loaded_at_field},
        {"freshness", FreshnessRule(s.warn_hours, s.error_hours)},
        {"external", nullptr},
        {"description", s.description},
        {"columns", ColumnsJson(s.columns, true)},
        {"meta", {{"owner", s.owner}}},
        {"source_meta", json::object()},
        {"tags", s.tags},
        {"config",
         {{"enabled", true}, {"event_time", nullptr},
          {"freshness", FreshnessRule(s.warn_hours, s.error_hours)},
          {"loaded_at_field", s.loaded_at_field}}},
        {"patch_path", nullptr},
        {"unrendered_config", json::object()},
        {"relation_name", Relation("raw", s.source_name, s.table)},
        {"created_at", 1760000000.0},
        {"unrendered_database", nullptr},
        {"unrendered_schema", nullptr}};
    parents[id] = {};
  }
  m["sources"] = std::move(sources);
  m["macros"] = json::object();
  m["docs"] = json::object();

  json exposures = json::object();
  for (const Exposure& e : Exposures()) {
    std::string id = std::string("exposure.") + kProject + "." + e.name;
    exposures[id] = {
        {"name", e.name},
        {"resource_type", "exposure"},
        {"package_name", kProject},
        {"path", "exposures/lightdash.yml"},
        {"original_file_path", "models/exposures/lightdash.yml"},
        {"unique_id", id},
        {"fqn", {kProject, "exposures", e.name}},
        {"type", "dashboard"},
        {"owner", {{"email", e.owner_email}, {"name", e.owner_name}}},
        {"description", e.description},
        {"label", e.label},
        {"maturity", e.maturity},
        {"meta", {{"tool", "lightdash"}}},
        {"tags", {"lightdash"}},
        {"config", {{"enabled", true}, {"tags", {"lightdash"}}, {"meta", {{"tool", "lightdash"}}}}},
        {"unrendered_config", json::object()},
        {"url", std::string("https://lightdash.acme.example/projects/2b1e/") + e.url_path},
        {"depends_on", {{"macros", json::array()}, {"nodes", e.depends_on}}},
        {"refs", json::array()},
        {"sources", json::array()},
        {"metrics", json::array()},
        {"created_at", 1760000000.0}};
    parents[id] = e.depends_on;
  }
  m["exposures"] = std::move(exposures);
  m["metrics"] = json::object();
  m["groups"] = {
      {"group.acme_sales.sales_analytics",
       {{"name", "sales_analytics"}, {"resource_type", "group"}, {"package_name", kProject},
        {"path", "models/_groups.yml"}, {"original_file_path", "models/_groups.yml"},
        {"unique_id", "group.acme_sales.sales_analytics"},
        {"owner", {{"name", "Analytics Engineering"}, {"email", "analytics@acme.example"},
                   {"slack", "#data-sales"}}}}},
      {"group.acme_sales.finance",
       {{"name", "finance"}, {"resource_type", "group"}, {"package_name", kProject},
        {"path", "models/_groups.yml"}, {"original_file_path", "models/_groups.yml"},
        {"unique_id", "group.acme_sales.finance"},
        {"owner", {{"name", "Finance Data"}, {"email", "finance-data@acme.example"}}}}},
      {"group.acme_sales.growth",
       {{"name", "growth"}, {"resource_type", "group"}, {"package_name", kProject},
        {"path", "models/_groups.yml"}, {"original_file_path", "models/_groups.yml"},
        {"unique_id", "group.acme_sales.growth"},
        {"owner", {{"name", "Growth Ops"}, {"email", "growth-ops@acme.example"}}}}}};
  m["selectors"] = json::object();
  m["disabled"] = json::object();
  json parent_map = json::object(), child_map = json::object();
  for (const auto& [id, ps] : parents) {
    parent_map[id] = ps;
    if (!child_map.contains(id)) child_map[id] = json::array();
    for (const std::string& p : ps) child_map[p].push_back(id);
  }
  m["parent_map"] = std::move(parent_map);
  m["child_map"] = std::move(child_map);
  m["group_map"] = json::object();
  m["saved_queries"] = json::object();
  m["semantic_models"] = json::object();
  m["unit_tests"] = json::object();
  return m;
}

// ---- dbt build results, day by day -------------------------------------------------------

// Model-level facts of day d's 06:00 build.
struct BuildFacts {
  std::map<std::string, std::string> status;    // unique_id -> success/error/skipped/pass/fail
  std::map<std::string, double> seconds;        // execution time
  std::map<std::string, double> rows;           // rows_affected (tables only)
  std::map<std::string, Timestamp> completed;   // completion time
  std::map<std::string, long long> failures;    // tests
  std::map<std::string, std::string> message;
  Timestamp started, ended;
};

double ModelRows(const Timeline& t, const HourlyTotals& h, const std::string& name, int d) {
  Timestamp day = t.Day(d);
  if (name == "fct_purchases") {
    // The previous day's purchases; the first build of the history loads its own day's.
    Timestamp from = d == 0 ? day : day - days(1);
    return h.PurchasesAt(t, from + days(1)) - h.PurchasesAt(t, from);
  }
  if (name == "dim_products") return ProductsOnDay(t, d);
  if (name == "fct_exchange_rates") return RatesFromApi(t, d);
  if (name == "dim_customers") return std::round(0.58 * h.ContactsAt(t, day + hours(6)));
  if (name == "sales") return std::round(0.58 * h.ContactsAt(t, day + hours(6)));
  return -1;
}

BuildFacts Build(const Timeline& t, const HourlyTotals& h, int d) {
  BuildFacts f;
  const bool last_day = d == t.days - 1;
  Timestamp clock = t.Day(d) + hours(6) + seconds(4);
  f.started = clock;
  Rng rng("build", DayIndex(t.Day(d)));
  std::set<std::string> failed;  // errors and skips propagate downstream
  auto upstream_failed = [&](const std::vector<std::string>& deps) {
    for (const std::string& dep : deps) {
      if (failed.count(dep)) return true;
    }
    return false;
  };
  auto run_tests_of = [&](const std::string& attached) {
    for (const TestSpec& ts : Tests()) {
      // A relationships test runs once both ends are built.
      bool rel = std::string_view(ts.kind) == "relationships";
      if (rel ? attached != ModelId("dim_products") : ts.attached != attached) continue;
      std::string id = TestId(ts);
      double secs = 0.6 + 0.3 * rng.Uniform();
      if (failed.count(attached) || (rel && failed.count(ModelId("dim_products")))) {
        f.status[id] = "skipped";
        f.seconds[id] = 0;
        continue;
      }
      clock += std::chrono::duration_cast<seconds>(std::chrono::duration<double>(secs));
      f.status[id] = "pass";
      f.failures[id] = 0;
      f.seconds[id] = secs;
      f.completed[id] = clock;
      if (last_day && attached == ModelId("dim_customers") &&
          std::string_view(ts.column) == "email") {
        f.status[id] = "fail";
        f.failures[id] = 14;
        f.message[id] = "Got 14 results, configured to fail if != 0";
      }
    }
  };
  for (const SourceSpec& s : Sources()) run_tests_of(SourceId(s));
  for (const ModelSpec& m : Models()) {
    std::string id = ModelId(m.name);
    if (upstream_failed(m.depends_on)) {
      f.status[id] = "skipped";
      f.seconds[id] = 0;
      f.message[id] = "SKIP relation analytics." + std::string(m.layer) + "." + m.name +
                      " due to ephemeral model error";
      failed.insert(id);
      run_tests_of(id);
      continue;
    }
    double secs = (m.base_seconds + m.growth_seconds * d) * (1.0 + 0.06 * rng.Normal());
    secs = std::max(secs, 0.3);
    clock += std::chrono::duration_cast<seconds>(std::chrono::duration<double>(secs)) +
             seconds(1);
    f.seconds[id] = std::round(secs * 1000) / 1000;
    f.completed[id] = clock;
    if (last_day && std::string_view(m.name) == "dim_products") {
      f.status[id] = "error";
      f.message[id] =
          "Database Error in model dim_products (models/marts/dim_products.sql)\n  000904 "
          "(42000): SQL compilation error: error line 14 at position 8\n  invalid identifier "
          "'STG_DLT__PRODUCTS.CATEGORY'\n  compiled code at "
          "target/run/acme_sales/models/marts/dim_products.sql";
      f.seconds[id] = 0.9;
      failed.insert(id);
      run_tests_of(id);
      continue;
    }
    f.status[id] = "success";
    double rows = ModelRows(t, h, m.name, d);
    if (rows >= 0) f.rows[id] = rows;
    f.message[id] = std::string_view(m.materialized) == "view" ? "SUCCESS 1"
                                                                 : "SUCCESS " +
                                                                       std::to_string(
                                                                           static_cast<long long>(
                                                                               std::max(rows, 0.0)));
    run_tests_of(id);
  }
  f.ended = clock + seconds(1);
  return f;
}

json RunResults(const Timeline& t, const HourlyTotals& h, int d) {
  BuildFacts f = Build(t, h, d);
  json results = json::array();
  auto add = [&](const std::string& id, const std::string& relation) {
    const std::string& status = f.status[id];
    json r;
    r["status"] = status;
    json timing = json::array();
    if (auto it = f.completed.find(id); it != f.completed.end()) {
      Timestamp done = it->second;
      Timestamp begin = done - std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::duration<double>(f.seconds[id]));
      timing.push_back({{"name", "compile"}, {"started_at", Iso(begin - seconds(0))},
                        {"completed_at", Iso(begin)}});
      timing.push_back(
          {{"name", "execute"}, {"started_at", Iso(begin)}, {"completed_at", Iso(done)}});
    }
    r["timing"] = timing;
    r["thread_id"] = "Thread-" + std::to_string(1 + results.size() % 4);
    r["execution_time"] = f.seconds[id];
    json adapter = json::object();
    if (status == "success" || status == "pass" || status == "fail") {
      adapter = {{"_message", f.message.count(id) ? f.message[id] : "SUCCESS 1"},
                 {"code", "SUCCESS"},
                 {"query_id", StableUuid(id + std::to_string(d))}};
      if (auto it = f.rows.find(id); it != f.rows.end()) {
        adapter["rows_affected"] = static_cast<long long>(it->second);
      }
    }
    r["adapter_response"] = adapter;
    r["message"] = f.message.count(id) ? json(f.message[id]) : json(nullptr);
    r["failures"] = f.failures.count(id) ? json(f.failures[id]) : json(nullptr);
    r["unique_id"] = id;
    r["compiled"] = status != "skipped";
    r["compiled_code"] = status != "skipped" ? json("select ...") : json(nullptr);
    r["relation_name"] = relation.empty() ? json(nullptr) : json(relation);
    r["batch_results"] = nullptr;
    results.push_back(std::move(r));
  };
  for (const SourceSpec& s : Sources()) {
    for (const TestSpec& ts : Tests()) {
      if (ts.attached == SourceId(s)) add(TestId(ts), "");
    }
  }
  for (const ModelSpec& m : Models()) {
    add(ModelId(m.name), Relation("analytics", m.layer, m.name));
    for (const TestSpec& ts : Tests()) {
      if (ts.attached == ModelId(m.name)) add(TestId(ts), "");
    }
  }
  json rr;
  rr["metadata"] = {{"dbt_schema_version", kRunResultsSchema},
                    {"dbt_version", kDbtVersion},
                    {"generated_at", Iso(f.ended)},
                    {"invocation_id", StableUuid("build-" + Iso(t.Day(d)))},
                    {"invocation_started_at", Iso(f.started - seconds(3))},
                    {"env", json::object()}};
  rr["results"] = std::move(results);
  rr["elapsed_time"] =
      std::chrono::duration<double>(f.ended - f.started).count() + 3.0;
  rr["args"] = {{"which", "build"},
                {"target", "prod"},
                {"select", json::array()},
                {"exclude", json::array()},
                {"threads", 4},
                {"project_dir", "/opt/airflow/dags/acme_sales"},
                {"invocation_command", "dbt build --target prod"}};
  return rr;
}

// ---- updates (what freshness sees) ------------------------------------------------------

// The times each source table changed, up to `until` (exclusive), oldest first.
std::vector<Timestamp> SourceUpdates(const Timeline& t, std::string_view table, Timestamp until) {
  std::vector<Timestamp> out;
  if (table == "purchases") {
    for (Timestamp at = t.start; at < t.anchor; at += hours(1)) {
      Rng rng("purchases-flush", HourIndex(at));
      Timestamp u = at + minutes(57) + seconds(static_cast<int>(rng.Uniform() * 120));
      if (u < until) out.push_back(u);
    }
  } else if (table == "hubspot_contacts") {
    for (Timestamp at = t.start; at < t.anchor; at += hours(1)) {
      Rng rng("hubspot-sync", HourIndex(at));
      Timestamp u = at + minutes(15) + seconds(static_cast<int>(rng.Uniform() * 240));
      if (at + minutes(15) > t.stall_from) break;
      if (u < until) out.push_back(u);
    }
  } else {
    int hour = table == "exchange_rate_files" ? 0 : table == "exchange_rates" ? 1 : 2;
    int minute = table == "exchange_rate_files" ? 30 : 0;
    for (int d = 0; d < t.days + 1; ++d) {
      Timestamp day = t.Day(d);
      if (table == "exchange_rates" && IsZeroLoadDay(t, day)) continue;
      Rng rng(table, DayIndex(day));
      Timestamp u = day + hours(hour) + minutes(minute) +
                    seconds(20 + static_cast<int>(rng.Uniform() * 400));
      if (u < until && u < t.anchor) out.push_back(u);
    }
  }
  return out;
}

json SourcesJson(const Timeline& t, Timestamp snapshotted_at, const std::string& label) {
  json results = json::array();
  Timestamp clock = snapshotted_at;
  for (const SourceSpec& s : Sources()) {
    std::vector<Timestamp> updates = SourceUpdates(t, s.table, snapshotted_at);
    clock += std::chrono::milliseconds(700);
    json r;
    r["unique_id"] = SourceId(s);
    json criteria = FreshnessRule(s.warn_hours, s.error_hours);
    if (updates.empty()) {
      r["error"] = "no rows in raw." + std::string(s.source_name) + "." + s.table;
      r["status"] = "runtime error";
    } else {
      double age = std::chrono::duration<double>(snapshotted_at - updates.back()).count();
      r["max_loaded_at"] = Iso(updates.back());
      r["snapshotted_at"] = Iso(snapshotted_at);
      r["max_loaded_at_time_ago_in_s"] = age;
      r["status"] = age > s.error_hours * 3600.0  ? "error"
                    : age > s.warn_hours * 3600.0 ? "warn"
                                                  : "pass";
      r["criteria"] = criteria;
      r["adapter_response"] = json::object();
      r["timing"] = {{{"name", "compile"}, {"started_at", Iso(clock - std::chrono::milliseconds(600))},
                      {"completed_at", Iso(clock - std::chrono::milliseconds(600))}},
                     {{"name", "execute"}, {"started_at", Iso(clock - std::chrono::milliseconds(600))},
                      {"completed_at", Iso(clock)}}};
      r["thread_id"] = "Thread-1";
      r["execution_time"] = 0.6;
    }
    results.push_back(std::move(r));
  }
  json out;
  out["metadata"] = {{"dbt_schema_version", kSourcesSchema},
                     {"dbt_version", kDbtVersion},
                     {"generated_at", Iso(clock + seconds(1))},
                     {"invocation_id", StableUuid("freshness-" + label)},
                     {"invocation_started_at", Iso(snapshotted_at - seconds(2))},
                     {"env", json::object()}};
  out["results"] = std::move(results);
  out["elapsed_time"] = std::chrono::duration<double>(clock - snapshotted_at).count() + 2.0;
  return out;
}

// ---- table stats: row counts by day ------------------------------------------------------

// A daily table's row count observed at 06:20 on day d (-1 when it has none: views).
double DailyRowCount(const Timeline& t, const HourlyTotals& h, std::string_view table, int d) {
  Timestamp day = t.Day(d);
  auto cumulative = [&](double (*per_day)(const Timeline&, int), double base) {
    double total = base;
    for (int i = 0; i <= d; ++i) total += per_day(t, i);
    return total;
  };
  if (table == "products") return ProductsOnDay(t, d);
  if (table == "exchange_rates") return cumulative(&RatesFromApi, 210'000);
  if (table == "exchange_rate_files") return cumulative(&RatesFromFiles, 38'000);
  if (table == "fct_exchange_rates") return cumulative(&RatesFromApi, 205'000);
  if (table == "fct_purchases") return h.PurchasesAt(t, day) - 40'000;
  if (table == "dim_products") {
    return d == t.days - 1 ? ProductsOnDay(t, d - 1) : ProductsOnDay(t, d);
  }
  if (table == "dim_customers" || table == "sales") {
    int built = table == "sales" && d == t.days - 1 ? d - 1 : d;
    return std::round(0.58 * h.ContactsAt(t, t.Day(built) + hours(6)));
  }
  return -1;
}

// ---- catalog.json ----------------------------------------------------------------------

json CatalogJson(const Timeline& t, const HourlyTotals& h, int d) {
  const bool dropped = t.Day(d) + hours(6) > t.drop_at;
  Timestamp at = t.Day(d) + hours(6) + minutes(20);
  auto entry = [&](const std::string& id, std::string_view db, std::string_view schema,
                   std::string_view name, std::string_view type,
                   const std::vector<ColumnSpec>& cols, double rows, double row_bytes) {
    json columns = json::object();
    int index = 0;
    for (const ColumnSpec& c : cols) {
      if (dropped && std::string_view(c.name) == "category" &&
          (name == "products" || name == "stg_dlt__products")) {
        continue;
      }
      std::string upper(c.name);
      for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      columns[upper] = {{"type", c.type}, {"index", ++index}, {"name", upper},
                        {"comment", nullptr}};
    }
    json stats = {{"has_stats", {{"id", "has_stats"}, {"label", "Has Stats?"}, {"value", true},
                                 {"include", false}, {"description", "Indicates whether there are statistics for this table"}}}};
    if (type != "VIEW") {
      if (rows >= 0) {
        stats["row_count"] = {{"id", "row_count"}, {"label", "Row Count"}, {"value", rows},
                              {"include", true},
                              {"description", "An approximate count of rows in this table"}};
        stats["bytes"] = {{"id", "bytes"}, {"label", "Approximate Size"},
                          {"value", std::round(rows * row_bytes)}, {"include", true},
                          {"description", "Approximate size of the table as reported by Snowflake"}};
      }
      stats["last_modified"] = {{"id", "last_modified"}, {"label", "Last Modified"},
                                {"value", Iso(at - minutes(14))}, {"include", true},
                                {"description", "The timestamp for last update/change"}};
    }
    return json{{"metadata", {{"type", type}, {"schema", schema}, {"name", name},
                              {"database", db}, {"comment", nullptr}, {"owner", "TRANSFORMER"}}},
                {"columns", columns},
                {"stats", stats},
                {"unique_id", id}};
  };
  json nodes = json::object(), sources = json::object();
  for (const ModelSpec& m : Models()) {
    bool view = std::string_view(m.materialized) == "view";
    nodes[ModelId(m.name)] =
        entry(ModelId(m.name), "analytics", m.layer, m.name, view ? "VIEW" : "BASE TABLE",
              m.columns, view ? -1 : DailyRowCount(t, h, m.name, d), 96);
  }
  for (const SourceSpec& s : Sources()) {
    // The streaming tables' row counts are observed hourly (below), not at docs time.
    bool hourly = std::string_view(s.table) == "purchases" ||
                  std::string_view(s.table) == "hubspot_contacts";
    sources[SourceId(s)] = entry(SourceId(s), "raw", s.source_name, s.table, "BASE TABLE",
                                 s.columns, hourly ? -1 : DailyRowCount(t, h, s.table, d), 120);
  }
  json out;
  out["metadata"] = {{"dbt_schema_version", kCatalogSchema},
                     {"dbt_version", kDbtVersion},
                     {"generated_at", Iso(at)},
                     {"invocation_id", StableUuid("docs-" + Iso(t.Day(d)))},
                     {"env", json::object()}};
  out["nodes"] = std::move(nodes);
  out["sources"] = std::move(sources);
  out["errors"] = nullptr;
  return out;
}

collector::DbtDocument Doc(std::string name, const json& j) {
  collector::DbtDocument doc;
  doc.name_for_errors = std::move(name);
  std::string text = j.dump(2);
  doc.json_text.reserve(text.size() + collector::kDbtJsonPadding);
  doc.json_text = std::move(text);
  return doc;
}

// ---- warehouse stats written directly ------------------------------------------------------

void AddPoint(catalog::WriteBatch& b, const AssetKey& key, std::string_view metric, Timestamp ts,
              double v) {
  b.AppendMetricPoint({key, std::string(metric), ts, v});
}

catalog::WriteBatch StatsBatch(const Timeline& t, const HourlyTotals& h) {
  catalog::WriteBatch b;
  const AssetKey purchases = DemoKey("purchases"), contacts = DemoKey("hubspot_contacts");
  for (size_t i = 0; i < h.purchases_cum.size(); ++i) {
    Timestamp at = t.start + hours(static_cast<int64_t>(i) + 1);
    AddPoint(b, purchases, model::kMetricRowCount, at, h.purchases_cum[i]);
    AddPoint(b, contacts, model::kMetricRowCount, at, h.contacts_cum[i]);
  }
  for (const SourceSpec& s : Sources()) {
    for (Timestamp u : SourceUpdates(t, s.table, t.anchor)) {
      AddPoint(b, DemoKey(s.table), model::kMetricUpdate, u, 1);
    }
  }
  // dlt and Snowpipe report rows loaded per load (their load info / COPY_HISTORY).
  for (int d = 0; d < t.days; ++d) {
    Timestamp day = t.Day(d);
    Rng rng("load-times", DayIndex(day));
    AddPoint(b, DemoKey("exchange_rates"), model::kMetricRowsAffected,
             day + hours(1) + minutes(7), RatesFromApi(t, d));
    AddPoint(b, DemoKey("exchange_rate_files"), model::kMetricRowsAffected,
             day + minutes(37), RatesFromFiles(t, d));
    if (day + hours(2) + minutes(9) < t.anchor) {
      AddPoint(b, DemoKey("products"), model::kMetricRowsAffected, day + hours(2) + minutes(9),
               ProductsOnDay(t, d));
    }
  }
  // Daily row counts at 06:20 (the same instant and value catalog.json reports on its days).
  for (int d = 0; d < t.days; ++d) {
    Timestamp at = t.Day(d) + hours(6) + minutes(20);
    for (const char* table : {"products", "exchange_rates", "exchange_rate_files",
                              "fct_purchases", "dim_products", "fct_exchange_rates",
                              "dim_customers", "sales"}) {
      AddPoint(b, DemoKey(table), model::kMetricRowCount, at, DailyRowCount(t, h, table, d));
    }
  }
  // Models change when the build writes them: one update per successful build.
  for (int d = 0; d < t.days; ++d) {
    BuildFacts f = Build(t, h, d);
    for (const ModelSpec& m : Models()) {
      std::string id = ModelId(m.name);
      if (f.status[id] == "success") AddPoint(b, DemoKey(m.name), model::kMetricUpdate, f.completed[id], 1);
    }
  }
  return b;
}

// ---- OpenLineage events from the orchestrator ----------------------------------------------

constexpr char kOlProducer[] =
    "https://github.com/apache/airflow/tree/providers-openlineage/1.14.0";
constexpr char kOlSchema[] = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
constexpr char kOlNamespace[] = "airflow://acme-prod";
constexpr char kDag[] = "acme_sales_daily";

json Facet(const char* facet_schema) {
  return {{"_producer", kOlProducer},
          {"_schemaURL", std::string("https://openlineage.io/spec/facets/") + facet_schema}};
}

json OlDataset(std::string_view table, const std::vector<ColumnSpec>* columns, bool dropped) {
  AssetKey key = DemoKey(table);
  json d = {{"namespace", key.ns}, {"name", key.name}, {"facets", json::object()}};
  if (columns) {
    json schema = Facet("1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet");
    schema["fields"] = json::array();
    for (const ColumnSpec& c : *columns) {
      if (dropped && std::string_view(c.name) == "category") continue;
      schema["fields"].push_back({{"name", c.name}, {"type", c.type}});
    }
    d["facets"]["schema"] = std::move(schema);
  }
  return d;
}

const SourceSpec& SourceByTable(std::string_view table) {
  for (const SourceSpec& s : Sources()) {
    if (table == s.table) return s;
  }
  return Sources().front();
}

json OlEvent(const char* type, Timestamp at, const std::string& run_id, const std::string& job,
             const json& run_facets, json inputs, json outputs) {
  return {{"eventType", type},
          {"eventTime", Iso(at)},
          {"run", {{"runId", run_id}, {"facets", run_facets}}},
          {"job", {{"namespace", kOlNamespace}, {"name", job}, {"facets", json::object()}}},
          {"inputs", std::move(inputs)},
          {"outputs", std::move(outputs)},
          {"producer", kOlProducer},
          {"schemaURL", kOlSchema}};
}

}  // namespace

std::string DemoOpenLineageEvents(model::Timestamp now) {
  Timeline t = MakeTimeline(now);
  HourlyTotals h = MakeHourly(t);
  std::string out;
  for (int d = 0; d < t.days; ++d) {
    Timestamp day = t.Day(d);
    std::string dag_run = StableUuid(std::string("dag-") + Iso(day));
    json nominal = Facet("1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet");
    nominal["nominalStartTime"] = Iso(day);
    json dag_facets = {{"nominalTime", nominal}};
    BuildFacts f = Build(t, h, d);
    const bool build_failed = f.status[ModelId("dim_products")] == "error";
    out += OlEvent("START", day + seconds(3), dag_run, kDag, dag_facets, json::array(),
                   json::array()).dump() + "\n";
    auto task = [&](const std::string& name, Timestamp start, Timestamp end, json inputs,
                    json outputs, const char* end_type, const std::string& error) {
      std::string run_id = StableUuid(std::string(kDag) + "." + name + Iso(day));
      json parent = Facet("1-0-1/ParentRunFacet.json#/$defs/ParentRunFacet");
      parent["run"] = {{"runId", dag_run}};
      parent["job"] = {{"namespace", kOlNamespace}, {"name", kDag}};
      json facets = {{"parent", parent}, {"nominalTime", nominal}};
      std::string job = std::string(kDag) + "." + name;
      out += OlEvent("START", start, run_id, job, facets, inputs, json::array()).dump() + "\n";
      if (!error.empty()) {
        json err = Facet("1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet");
        err["message"] = error;
        err["programmingLanguage"] = "SQL";
        facets["errorMessage"] = err;
      }
      out += OlEvent(end_type, end, run_id, job, facets, std::move(inputs), std::move(outputs))
                 .dump() +
             "\n";
    };
    auto stats = [](json dataset, double rows) {
      json st = Facet(
          "1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet");
      st["rowCount"] = static_cast<long long>(rows);
      dataset["outputFacets"] = {{"outputStatistics", st}};
      return dataset;
    };
    const bool dropped = day + hours(2) >= t.drop_at;
    task("snowpipe_exchange_rate_files", day + minutes(30), day + minutes(37),
         json::array({{{"namespace", "s3://acme-treasury-rates"},
                       {"name", "daily/" + Iso(day).substr(0, 10) + ".csv"}}}),
         json::array({stats(OlDataset("exchange_rate_files",
                                      &SourceByTable("exchange_rate_files").columns, false),
                            RatesFromFiles(t, d))}),
         "COMPLETE", "");
    task("dlt_exchange_rates", day + hours(1), day + hours(1) + minutes(7),
         json::array({{{"namespace", "https://api.rates.acme.example"}, {"name", "/v1/daily"}}}),
         json::array({stats(OlDataset("exchange_rates", &SourceByTable("exchange_rates").columns,
                                      false),
                            RatesFromApi(t, d))}),
         "COMPLETE", "");
    task("dlt_products", day + hours(2), day + hours(2) + minutes(9),
         json::array({{{"namespace", "postgres://shop-db.acme.internal:5432"},
                       {"name", "shop.public.products"}}}),
         json::array({stats(OlDataset("products", &SourceByTable("products").columns, dropped),
                            ProductsOnDay(t, d))}),
         "COMPLETE", "");
    json build_in = json::array(), build_out = json::array();
    for (const SourceSpec& s : Sources()) build_in.push_back(OlDataset(s.table, nullptr, false));
    for (const ModelSpec& m : Models()) {
      if (f.status[ModelId(m.name)] == "success") {
        build_out.push_back(OlDataset(m.name, &m.columns, false));
      }
    }
    task("dbt_build", f.started, f.ended, std::move(build_in), std::move(build_out),
         build_failed ? "FAIL" : "COMPLETE",
         build_failed ? f.message[ModelId("dim_products")] : "");
    out += OlEvent(build_failed ? "FAIL" : "COMPLETE", f.ended + seconds(5), dag_run, kDag,
                   dag_facets, json::array(), json::array())
               .dump() +
           "\n";
  }
  return out;
}

model::Timestamp DemoAnchor(model::Timestamp now) { return std::chrono::floor<hours>(now); }

model::AssetKey DemoKey(std::string_view short_name) {
  for (const SourceSpec& s : Sources()) {
    if (short_name == s.table) {
      return {std::string(kDemoNamespace),
              "raw." + std::string(s.source_name) + "." + std::string(s.table)};
    }
  }
  if (const ModelSpec* m = FindModel(short_name)) {
    return {std::string(kDemoNamespace), "analytics." + std::string(m->layer) + "." + m->name};
  }
  return {std::string(kDemoNamespace), "raw.unknown." + std::string(short_name)};
}

std::vector<DemoIncident> DemoIncidents(model::Timestamp now) {
  Timeline t = MakeTimeline(now);
  std::vector<DemoIncident> out;
  out.push_back({"hubspot_stall",
                 "The Airbyte HubSpot sync has stalled: no contacts since " + Iso(t.stall_from),
                 DemoKey("hubspot_contacts"), "update", "freshness", t.stall_from, t.anchor});
  out.push_back({"purchases_halved",
                 "The Kafka Connect sink wrote half of the purchases on " +
                     Iso(t.halved_day).substr(0, 10),
                 DemoKey("purchases"), "row_count", "volume", t.halved_day,
                 t.halved_day + days(1) + hours(4)});
  out.push_back({"exchange_rates_zero",
                 "The exchange-rate API returned no rows on the weekend of " +
                     Iso(t.zero_saturday).substr(0, 10),
                 DemoKey("exchange_rates"), "rows_affected", "volume", t.zero_saturday,
                 t.zero_saturday + days(2)});
  out.push_back({"products_column_dropped",
                 "Column category was dropped from dlt.products; dim_products failed and "
                 "sales was skipped",
                 DemoKey("products"), "schema", "schema", t.drop_at,
                 t.base_day + hours(6) + minutes(21)});
  out.push_back({"dim_customers_test_failed",
                 "not_null_dim_customers_email failed: 14 customers without email",
                 DemoKey("dim_customers"), "dbt_test", "dbt", t.base_day + hours(6),
                 t.base_day + hours(7)});
  return out;
}

std::vector<std::pair<std::string, std::string>> DemoDbtTarget(model::Timestamp now) {
  Timeline t = MakeTimeline(now);
  HourlyTotals h = MakeHourly(t);
  return {{"manifest.json", Manifest(t).dump(2)},
          {"run_results.json", RunResults(t, h, t.days - 1).dump(2)},
          {"sources.json", SourcesJson(t, t.anchor - minutes(10), "latest").dump(2)},
          {"catalog.json", CatalogJson(t, h, t.days - 1).dump(2)}};
}

model::Result<DemoLoadReport> LoadDemoData(catalog::Store& store, model::Timestamp now) {
  const auto wall_start = std::chrono::steady_clock::now();
  Timeline t = MakeTimeline(now);
  HourlyTotals h = MakeHourly(t);
  model::ManualClock clock(t.anchor);
  DemoLoadReport report;
  report.anchor = t.anchor;
  Result<catalog::Checkpoint> stored = store.GetCheckpoint("demo", "anchor");
  if (stored.ok()) {
    if (std::optional<Timestamp> at = model::ParseTimestamp(stored->value); at && *at != t.anchor) {
      report.anchor = *at;
      report.stale = true;
      return report;
    }
  } else if (!stored.status().IsNotFound()) {
    return stored.status();
  }
  {
    catalog::WriteBatch b;
    b.PutCheckpoint({"demo", "anchor", Iso(t.anchor), {}});
    TM_RETURN_IF_ERROR(store.Write(b).status());
  }
  collector::DbtOptions options;
  options.ns = std::string(kDemoNamespace);
  options.clock = &clock;

  auto ingest = [&](collector::DbtArtifacts artifacts) -> model::Status {
    TM_ASSIGN_OR_RETURN(collector::DbtIngestReport r,
                        collector::IngestDbt(store, artifacts, options));
    ++report.dbt_ingests;
    const auto& w = r.write;
    if (w.points_written + w.runs_written + w.node_results_written + w.snapshots_written +
            w.assets_written ==
        0) {
      ++report.dbt_unchanged;
    }
    report.points_written += w.points_written;
    report.points_skipped += w.points_skipped;
    report.snapshots_written += w.snapshots_written;
    report.node_results_written += w.node_results_written;
    report.runs_written += w.runs_written;
    return model::Status::Ok();
  };

  const json manifest = Manifest(t);
  // The project as it was at the start of the history: manifest and the first catalog.
  {
    collector::DbtArtifacts a;
    a.manifest = Doc("demo/manifest.json", manifest);
    a.catalog = Doc("demo/catalog-day0.json", CatalogJson(t, h, 0));
    TM_RETURN_IF_ERROR(ingest(std::move(a)));
  }
  // Every morning: source freshness at 05:50, then the build.
  for (int d = 0; d < t.days; ++d) {
    std::string day = Iso(t.Day(d)).substr(0, 10);
    collector::DbtArtifacts a;
    a.manifest = Doc("demo/manifest.json", manifest);
    a.sources = Doc("demo/" + day + "/sources.json",
                    SourcesJson(t, t.Day(d) + hours(5) + minutes(50), day));
    a.run_results = Doc("demo/" + day + "/run_results.json", RunResults(t, h, d));
    TM_RETURN_IF_ERROR(ingest(std::move(a)));
  }
  // The newest docs and the freshness check of a few minutes ago.
  {
    collector::DbtArtifacts a;
    a.manifest = Doc("demo/manifest.json", manifest);
    a.catalog = Doc("demo/catalog.json", CatalogJson(t, h, t.days - 1));
    a.sources = Doc("demo/sources.json", SourcesJson(t, t.anchor - minutes(10), "latest"));
    TM_RETURN_IF_ERROR(ingest(std::move(a)));
  }
  TM_ASSIGN_OR_RETURN(catalog::WriteSummary w, store.Write(StatsBatch(t, h)));
  report.points_written += w.points_written;
  report.points_skipped += w.points_skipped;
  report.elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_start)
          .count();
  return report;
}

}  // namespace tidemark::pipeline
