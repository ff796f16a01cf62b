// IngestDbt: artifacts in, one WriteBatch out, applied in one Store::Write.
//
// Change detection. A project's target/ folder is re-ingested after every dbt run, mostly
// unchanged, and a 50k-model manifest is a few hundred MB, so two levels of "nothing new"
// are cheap to detect:
//  1. Artifact: a 64-bit digest of the file's bytes (std::hash over the text, a few GB/s)
//     is kept in a checkpoint per artifact (scope "dbt:<artifact>", key: the project for a
//     manifest, the invocation id for the others). Same digest, same bytes: skipped before
//     parsing. Hashing the bytes rather than trusting metadata.generated_at catches files
//     edited or re-assembled by tools that keep the header. The digest is not cryptographic
//     and need not be: a spurious mismatch (say, another standard library's hash after an
//     upgrade) only costs a re-ingest, which is idempotent; a false match needs a 64-bit
//     collision between two versions of one project's artifact. Only the first 64 KB are
//     parsed to find the checkpoint key (dbt-core writes metadata first).
//  2. Asset: a changed manifest (dbt rewrites generated_at and invocation_id every run) is
//     parsed, and each asset's records (asset, tags, owners, lineage, declared columns) are
//     digested and compared with the previous manifest's, kept in checkpoint
//     "dbt:manifest-assets". Only assets whose digest moved are written, and assets of the
//     previous manifest missing from this one are marked removed.
// DbtOptions::force bypasses both.
//
// Columns. The manifest declares columns (descriptions, tests, declared types) and
// catalog.json observes them (types, order). When one of the two is missing from a call,
// its part is read back from the store, so ingesting a manifest alone does not forget the
// types an earlier catalog.json brought, and the other way round.
//
// Memory. A manifest's text is held by the caller; on top of it the parser's structural
// index (4 bytes per JSON token) lives only during the parse, and each node's columns stay
// unparsed text until the node is mapped, so columns go from the text into the batch one
// node at a time. Peak RSS for a 500 MB manifest is under twice its size (bench/).

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <map>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "dbt_artifacts.h"
#include "dbt_mapping.h"
#include "tidemark/collector/dbt.h"
#include "tidemark/model/metric.h"

namespace tidemark::collector {
namespace {

using namespace dbt;  // NOLINT: this file is the dbt collector's own
using model::AssetKey;
using model::Timestamp;

static_assert(kDbtJsonPadding >= simdjson::SIMDJSON_PADDING);

constexpr char kOrigin[] = "dbt";
constexpr char kSource[] = "dbt";

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// "model.shop.orders" -> "model".
std::string_view PrefixOf(std::string_view unique_id) {
  return unique_id.substr(0, unique_id.find('.'));
}

double EpochSeconds(Timestamp t) { return static_cast<double>(model::ToMicros(t)) / 1e6; }

// One artifact of the call, from its text to its checkpoint.
struct Artifact {
  std::string_view slot;      // "manifest", "run_results", "sources", "catalog"
  std::string_view expected;  // its name in dbt's schema URLs
  int newest_known = 0;       // the newest schema version this code was written against
  std::string scope;          // checkpoint scope
  const DbtDocument* doc = nullptr;
  DbtIngestReport::Artifact* report = nullptr;
  std::unique_ptr<JsonInput> input;
  Metadata metadata;
  std::string digest;
  std::string checkpoint_key;
  bool changed = true;

  bool present() const { return doc && doc->present(); }
};

// What the ingest knows of one dbt unique_id.
struct NodeRef {
  AssetKey key;  // empty for nodes that are not assets
  const Node* node = nullptr;
};

// An asset's records as the manifest defines them, before they go into the batch.
struct AssetRecord {
  std::string unique_id;
  model::Asset asset;
  std::vector<std::string> tags;
  std::vector<OwnerClaim> owners;
  std::vector<AssetKey> upstreams;
  std::vector<DeclaredColumn> columns;
};

class Ingest {
 public:
  Ingest(catalog::Store& store, const DbtOptions& options)
      : store_(store),
        options_(options),
        clock_(options.clock ? *options.clock : model::SystemClock()) {}

  Result<DbtIngestReport> Run(const DbtArtifacts& artifacts) {
    const Timestamp start = clock_.Now();
    Setup(manifest(), "manifest", "manifest", 12, &artifacts.manifest, &report_.manifest);
    Setup(run_results(), "run_results", "run-results", 6, &artifacts.run_results,
          &report_.run_results);
    Setup(sources(), "sources", "sources", 3, &artifacts.sources, &report_.sources);
    Setup(catalog(), "catalog", "catalog", 1, &artifacts.catalog, &report_.catalog);
    bool any = false;
    for (Artifact& a : artifacts_) {
      if (!a.present()) continue;
      any = true;
      TM_RETURN_IF_ERROR(Open(a));
    }
    if (!any) return Status::InvalidArgument("no dbt artifact given", "dbt");
    TM_RETURN_IF_ERROR(CheckInvocation());
    bool all_unchanged = true;
    for (Artifact& a : artifacts_) {
      if (!a.present()) continue;
      TM_RETURN_IF_ERROR(DetectChange(a));
      all_unchanged = all_unchanged && !a.changed;
    }
    if (!all_unchanged) {
      TM_RETURN_IF_ERROR(Map());
      ReleaseMapped();
      TM_ASSIGN_OR_RETURN(report_.write, store_.Write(batch_));
    }
    report_.project = project_;
    report_.ns = ns_;
    for (const auto& [kind, n] : kind_counts_) report_.assets_by_kind.emplace_back(kind, n);
    if (report_.warnings_total > report_.warnings.size()) {
      report_.warnings.push_back(
          {"", std::to_string(report_.warnings_total - report_.warnings.size()) +
                   " more warnings not shown"});
    }
    report_.elapsed_ms = std::chrono::duration<double, std::milli>(clock_.Now() - start).count();
    return std::move(report_);
  }

 private:
  Artifact& manifest() { return artifacts_[0]; }
  Artifact& run_results() { return artifacts_[1]; }
  Artifact& sources() { return artifacts_[2]; }
  Artifact& catalog() { return artifacts_[3]; }

  // The newest schema versions this code was written against: manifest v12, run-results v6,
  // sources v3, catalog v1.
  static void Setup(Artifact& a, std::string_view slot, std::string_view expected, int newest_known,
                    const DbtDocument* doc, DbtIngestReport::Artifact* report) {
    a.slot = slot;
    a.expected = expected;
    a.newest_known = newest_known;
    a.scope = "dbt:" + std::string(slot);
    a.doc = doc;
    a.report = report;
  }

  void Warn(std::string where, std::string message) {
    ++report_.warnings_total;
    if (report_.warnings.size() < kMaxWarnings) {
      report_.warnings.push_back({std::move(where), std::move(message)});
    }
  }

  std::string NodeWhere(std::string_view resource_type, const std::string& unique_id) {
    return manifest().input->name() + ", at /" + std::string(SectionOf(resource_type)) + "/" +
           unique_id;
  }

  // ---- opening and change detection ---------------------------------------------------------

  Status Open(Artifact& a) {
    const DbtDocument& doc = *a.doc;
    std::string name = doc.name_for_errors.empty() ? std::string(a.slot) : doc.name_for_errors;
    a.input = std::make_unique<JsonInput>(name, doc.json_text, doc.json_text.capacity());
    a.report->present = true;
    if (std::optional<Metadata> quick = ReadLeadingMetadata(name, doc.json_text)) {
      a.metadata = std::move(*quick);
    } else {
      TM_ASSIGN_OR_RETURN(a.metadata, ReadMetadata(*a.input));
    }
    const Metadata& m = a.metadata;
    a.report->schema_version = m.VersionLabel();
    if (!m.artifact.empty() && m.artifact != a.expected) {
      return Status::InvalidArgument(
          "expected a dbt " + std::string(a.expected) + " artifact, got " + m.VersionLabel(),
          name + ", at /metadata/dbt_schema_version");
    }
    if (m.artifact.empty()) {
      Warn(name, "no recognisable metadata.dbt_schema_version; read as a " +
                     std::string(a.expected) + " of the newest known shape");
    } else if (m.version > a.newest_known) {
      Warn(name, m.VersionLabel() + " is newer than this version of tidemark knows (v" +
                     std::to_string(a.newest_known) + "); read leniently");
    }
    a.digest = DigestHex(doc.json_text);
    if (&a == &manifest()) {
      project_ = !options_.project.empty() ? options_.project : m.project_name;
      ns_ = !options_.ns.empty() ? options_.ns : (!m.adapter_type.empty() ? m.adapter_type : "dbt");
      std::string project = !options_.project.empty() ? options_.project
                            : !m.project_id.empty()   ? m.project_id
                            : !m.project_name.empty() ? m.project_name
                                                      : "default";
      a.checkpoint_key = ns_ + "|" + project;
      // Options that change the mapping change the result: they are part of the digest.
      a.digest = DigestHex(a.digest + "\x1f" + options_.ns + "\x1f" + options_.project);
    } else {
      a.checkpoint_key = !m.invocation_id.empty() ? m.invocation_id : "digest:" + a.digest;
    }
    return Status::Ok();
  }

  Status CheckInvocation() {
    Artifact& r = run_results();
    if (options_.expected_invocation_id.empty() || !r.present()) return Status::Ok();
    if (r.metadata.invocation_id != options_.expected_invocation_id) {
      return Status::InvalidArgument("run_results.json is for invocation '" +
                                         r.metadata.invocation_id + "', not the expected '" +
                                         options_.expected_invocation_id + "'",
                                     r.input->name() + ", at /metadata/invocation_id");
    }
    return Status::Ok();
  }

  Status DetectChange(Artifact& a) {
    a.changed = true;
    if (options_.force) return Status::Ok();
    Result<catalog::Checkpoint> cp = store_.GetCheckpoint(a.scope, a.checkpoint_key);
    if (!cp.ok()) return cp.status().IsNotFound() ? Status::Ok() : cp.status();
    nlohmann::json value = nlohmann::json::parse(cp->value, nullptr, false);
    if (value.is_object() && value.value("digest", std::string()) == a.digest) {
      a.changed = false;
      a.report->unchanged = true;
    }
    return Status::Ok();
  }

  void PutArtifactCheckpoint(const Artifact& a) {
    nlohmann::json value = {{"digest", a.digest},
                            {"bytes", a.doc->json_text.size()},
                            {"schema_version", a.metadata.VersionLabel()},
                            {"generated_at", a.metadata.generated_at_text},
                            {"invocation_id", a.metadata.invocation_id}};
    if (&a == &manifest()) value["project"] = project_;
    batch_.PutCheckpoint({a.scope, a.checkpoint_key, Dump(value), {}});
  }

  // ---- mapping ------------------------------------------------------------------------------

  // Everything mapped is in the batch: the parsed artifacts and their indexes go before the
  // write, whose page cache and search index build can reuse some of that memory (the peak
  // RSS of a large first ingest is during the write; 50k models: 20 MB lower).
  void ReleaseMapped() {
    index_ = {};
    tests_ = {};
    tests_by_target_ = {};
    resolved_ = {};
    column_scratch_ = {};
    // Freed on a thread of its own too: this thread's malloc cache would otherwise hand
    // the freed chunks back to the write.
    std::thread([this] { manifest_.reset(); }).join();
#ifdef __GLIBC__
    malloc_trim(0);  // the manifest's arena, now free, goes back to the system
#endif
  }

  // The manifest is parsed on a thread of its own. glibc's malloc gives a new thread its own
  // arena, so the parsed manifest (about a kilobyte a node) is not interleaved with the
  // batch that mapping builds on this thread, and ReleaseMapped returns it to the system
  // instead of leaving it as scattered free chunks that the write's page cache cannot use
  // (50k models: peak RSS, reached during the write, 1101 -> 1000 MB). For the same reason
  // nothing of the manifest is freed on this thread while mapping: glibc's per-thread cache
  // would recycle its chunks into the batch, and a few surviving strings a node pin nearly
  // every page of the arena (BuildRecord copies from the nodes instead of moving).
  static Result<Manifest> ParseManifestApart(JsonInput& in) {
    std::optional<Result<Manifest>> parsed;
    std::thread([&] { parsed.emplace(ParseManifest(in)); }).join();
    return std::move(*parsed);
  }

  Status Map() {
    // The manifest is read whenever anything changed: it says what the other artifacts'
    // unique_ids are (which table a test tests, which relation a model builds).
    if (manifest().present()) {
      TM_ASSIGN_OR_RETURN(Manifest m, ParseManifestApart(*manifest().input));
      manifest().input->Release();  // its text stays: columns are read from it when mapped
      manifest_ = std::move(m);
      ChooseProject();
      IndexManifest();
      AttachTests();
    }
    // The catalog before the manifest's assets, so each asset's declared and observed
    // columns are merged as it is mapped.
    if (catalog().present() && catalog().changed) {
      TM_ASSIGN_OR_RETURN(Catalog c, ParseCatalog(*catalog().input));
      catalog().input->Release();
      TM_RETURN_IF_ERROR(MapCatalog(std::move(c)));
      PutArtifactCheckpoint(catalog());
    }
    if (manifest().present()) {
      TM_RETURN_IF_ERROR(MapManifest(/*write_assets=*/manifest().changed));
      if (manifest().changed) PutArtifactCheckpoint(manifest());
    }
    TM_RETURN_IF_ERROR(MapObservedOnly());
    if (run_results().present() && run_results().changed) {
      TM_ASSIGN_OR_RETURN(RunResults r, ParseRunResults(*run_results().input));
      run_results().input->Release();
      TM_RETURN_IF_ERROR(MapRunResults(r));
      PutArtifactCheckpoint(run_results());
    }
    if (sources().present() && sources().changed) {
      TM_ASSIGN_OR_RETURN(SourceFreshness s, ParseSources(*sources().input));
      sources().input->Release();
      TM_RETURN_IF_ERROR(MapSources(s));
      PutArtifactCheckpoint(sources());
    }
    return Status::Ok();
  }

  // The project name: given, or the manifest's, or (dbt < 1.6 wrote only project_id, the MD5
  // of the name) the package whose MD5 matches, or the package owning most nodes.
  void ChooseProject() {
    const Metadata& m = manifest_->metadata;
    if (!options_.project.empty()) {
      project_ = options_.project;
    } else if (!m.project_name.empty()) {
      project_ = m.project_name;
    } else {
      for (const std::string& pkg : manifest_->packages) {
        if (!m.project_id.empty() && Md5Hex(pkg) == m.project_id) project_ = pkg;
      }
      if (project_.empty()) {
        std::map<std::string, size_t> count;
        for (const Node& n : manifest_->nodes) ++count[n.package_name];
        size_t best = 0;
        for (const auto& [pkg, c] : count) {
          if (c > best && !pkg.empty()) best = c, project_ = pkg;
        }
      }
      if (project_.empty()) project_ = "dbt";
    }
  }

  void IndexManifest() {
    index_.reserve(manifest_->nodes.size() + manifest_->tests.size());
    for (const Node& n : manifest_->nodes) {
      NodeRef ref;
      ref.node = &n;
      if (AssetKindOf(n)) {
        ref.key = IsDataset(n) ? AssetKey{ns_, DatasetName(n)}
                               : AssetKey{"dbt://" + project_, n.unique_id};
      }
      index_.emplace(n.unique_id, std::move(ref));
    }
    for (const TestInfo& t : manifest_->tests) tests_.emplace(t.unique_id, &t);
  }

  // The asset node a test tests: attached_node (dbt >= 1.5), else the parent named in the
  // test's model argument, else its first parent that is an asset.
  const NodeRef* TestTarget(const TestInfo& t) {
    auto asset = [&](const std::string& id) -> const NodeRef* {
      auto it = index_.find(id);
      return it != index_.end() && !it->second.key.empty() ? &it->second : nullptr;
    };
    if (!t.attached_node.empty()) {
      if (const NodeRef* r = asset(t.attached_node)) return r;
    }
    if (!t.tested_name.empty()) {
      for (const std::string& dep : t.depends_on) {
        const NodeRef* r = asset(dep);
        if (r && r->node->name == t.tested_name) return r;
      }
    }
    for (const std::string& dep : t.depends_on) {
      if (const NodeRef* r = asset(dep)) return r;
    }
    return nullptr;
  }

  // The assets `node` reads from, through any chain of ephemeral models, without repeats.
  std::vector<AssetKey> Upstreams(const Node& node) {
    std::vector<AssetKey> out;
    std::unordered_set<std::string> seen_keys;
    std::unordered_set<const Node*> visiting{&node};
    std::vector<const Node*> stack{&node};
    while (!stack.empty()) {
      const Node* n = stack.back();
      stack.pop_back();
      for (const std::string& dep : n->depends_on) {
        auto it = index_.find(dep);
        if (it == index_.end()) {
          if (!tests_.count(dep) && PrefixOf(dep) != "macro") {
            Warn(NodeWhere(node.resource_type, node.unique_id),
                 "depends on '" + dep + "', which the manifest does not define (or disables)");
          }
          continue;
        }
        const NodeRef& ref = it->second;
        if (!ref.key.empty()) {
          if (ref.node != &node && seen_keys.insert(ref.key.ToString()).second) {
            out.push_back(ref.key);
          }
        } else if (ref.node->ephemeral() && visiting.insert(ref.node).second) {
          stack.push_back(ref.node);  // lineage runs through ephemeral models
        }
      }
    }
    return out;
  }

  nlohmann::json TestJson(const TestInfo& t, bool with_column) {
    nlohmann::json j = {{"unique_id", t.unique_id}, {"kind", t.kind}};
    if (with_column && !t.column.empty()) j["column"] = t.column;
    if (!t.severity.empty()) j["severity"] = t.severity;
    if (!t.test_name.empty() && t.test_name != t.kind) j["test_name"] = t.test_name;
    return j;
  }

  // Tests by the unique_id of the asset node they test.
  void AttachTests() {
    for (const TestInfo& t : manifest_->tests) {
      const NodeRef* target = TestTarget(t);
      if (!target) {
        Warn(NodeWhere(t.kind == "unit" ? "unit_test" : "test", t.unique_id),
             "test is not attached to any asset of the manifest");
        continue;
      }
      tests_by_target_[target->node->unique_id].push_back(&t);
    }
  }

  const std::vector<const TestInfo*>* TestsOf(const std::string& unique_id) const {
    auto it = tests_by_target_.find(unique_id);
    return it == tests_by_target_.end() ? nullptr : &it->second;
  }

  // The node's columns as the manifest declares them, with the tests naming each.
  Result<std::vector<DeclaredColumn>> DeclaredColumns(const Node& n) {
    std::vector<ColumnDecl>& columns = column_scratch_;  // reused: its capacity stays
    columns.clear();
    const JsonPath root;
    JsonPath section(root, SectionOf(n.resource_type));
    JsonPath node_path(section, n.unique_id);
    TM_RETURN_IF_ERROR(ParseColumns(*manifest().input, n.columns_json, columns_parser_,
                                    JsonPath(node_path, "columns"), &columns));
    std::vector<nlohmann::json> column_tests(columns.size());
    if (const auto* tests = TestsOf(n.unique_id); tests && !columns.empty()) {
      std::unordered_map<std::string, size_t> column_index;
      for (size_t i = 0; i < columns.size(); ++i) column_index[Lower(columns[i].name)] = i;
      for (const TestInfo* t : *tests) {
        if (t->column.empty()) continue;
        auto it = column_index.find(Lower(t->column));
        if (it == column_index.end()) continue;
        column_tests[it->second].push_back(TestJson(*t, false));
      }
    }
    std::vector<DeclaredColumn> out;
    out.reserve(columns.size());
    for (size_t i = 0; i < columns.size(); ++i) {
      ColumnDecl& c = columns[i];
      DeclaredColumn d;
      d.name = std::move(c.name);
      d.description = std::move(c.description);
      d.data_type = std::move(c.data_type);
      d.tags = std::move(c.tags);
      if (c.meta.is_object() && !c.meta.empty()) d.properties["meta"] = std::move(c.meta);
      if (!c.constraints.is_null()) d.properties["constraints"] = std::move(c.constraints);
      if (!column_tests[i].is_null()) d.properties["tests"] = std::move(column_tests[i]);
      out.push_back(std::move(d));
    }
    return out;
  }

  // What the manifest says about one asset. Copies what it takes of `n`, none of whose memory
  // is freed before ReleaseMapped (see ParseManifestApart).
  Result<AssetRecord> BuildRecord(const Node& n, const NodeRef& ref) {
    AssetRecord rec;
    rec.unique_id = n.unique_id;
    TM_ASSIGN_OR_RETURN(rec.columns, DeclaredColumns(n));
    model::Asset& a = rec.asset;
    a.key = ref.key;
    a.kind = *AssetKindOf(n);
    a.name = n.resource_type == "exposure" && !n.label.empty() ? n.label : n.name;
    a.description = n.description;  // copies: see ParseManifestApart
    a.source = kSource;
    if (IsDataset(n)) {
      a.database = n.database;
      a.schema = n.schema;
    }
    a.status = model::AssetStatus::kActive;

    rec.owners = OwnersFromMeta(n.meta);
    for (OwnerClaim& c : OwnersFromPeople(n.owners)) rec.owners.push_back(std::move(c));
    if (!n.group.empty()) {
      auto g = manifest_->groups.find(n.group);
      rec.owners.push_back(
          GroupOwner(n.group, g == manifest_->groups.end() ? nullptr : &g->second));
    }
    std::unordered_set<std::string_view> seen;
    for (const std::string& t : n.tags) {
      if (!t.empty() && seen.insert(t).second) rec.tags.push_back(t);
    }
    rec.upstreams = Upstreams(n);

    nlohmann::json p = {
        {"unique_id", n.unique_id}, {"resource_type", n.resource_type}, {"project", project_}};
    auto put = [&p](const char* k, const std::string& v) {
      if (!v.empty()) p[k] = v;
    };
    put("package_name", n.package_name);
    put("original_file_path", n.original_file_path);
    if (!n.materialized.empty()) p["materialized"] = n.materialized;  // read by Upstreams
    put("access", n.access);
    put("group", n.group);
    put("language", n.language);
    put("label", n.label);
    if (n.meta.is_object() && !n.meta.empty()) p["meta"] = n.meta;
    if (n.contract_enforced) p["contract_enforced"] = *n.contract_enforced;
    if (n.resource_type == "source") {
      put("source_name", n.source_name);
      put("loader", n.loader);
      put("loaded_at_field", n.loaded_at_field);
      if (!n.freshness.is_null()) p["freshness"] = n.freshness;
    } else if (n.resource_type == "exposure") {
      put("exposure_type", n.exposure_type);
      put("url", n.url);
      put("maturity", n.maturity);
    } else if (n.resource_type == "metric") {
      put("metric_type", n.exposure_type);
    }
    if (const auto* tests = TestsOf(n.unique_id)) {
      nlohmann::json list = nlohmann::json::array();
      for (const TestInfo* t : *tests) list.push_back(TestJson(*t, true));
      p["tests"] = std::move(list);
    }
    a.properties = Dump(p);
    return rec;
  }

  // Everything the manifest says about an asset, as bytes: equal digests, equal records.
  // Keeps each column's properties text for MergeColumns (DeclaredColumn::properties_text).
  static std::string RecordDigest(AssetRecord& r, std::string& buf) {
    buf.clear();
    auto add = [&buf](std::string_view s) {
      buf.append(s);
      buf.push_back('\x1f');
    };
    const model::Asset& a = r.asset;
    add(a.key.ns), add(a.key.name), add(model::AssetKindName(a.kind)), add(a.name);
    add(a.description), add(a.database), add(a.schema), add(a.properties);
    buf.push_back('\x1e');
    for (const std::string& t : r.tags) add(t);
    buf.push_back('\x1e');
    for (const OwnerClaim& o : r.owners) {
      add(o.owner.id), add(o.role), add(o.owner.name), add(o.owner.email);
      add(o.owner.properties);
    }
    buf.push_back('\x1e');
    for (const AssetKey& k : r.upstreams) add(k.ns), add(k.name);
    buf.push_back('\x1e');
    for (DeclaredColumn& c : r.columns) {
      add(c.name), add(c.description), add(c.data_type);
      for (const std::string& t : c.tags) add(t);
      if (!c.properties.is_null()) {
        c.properties_text = Dump(c.properties);
        buf.append(c.properties_text);
      }
      buf.push_back('\x1e');
    }
    return DigestHex(buf);
  }

  // The previous manifest's assets of this project: unique_id -> (key, digest), from the
  // checkpoint MapManifest writes: [[unique_id, namespace, name, digest], ...].
  struct PreviousAsset {
    AssetKey key;
    std::string digest;
  };
  Result<std::unordered_map<std::string, PreviousAsset>> PreviousAssets() {
    std::unordered_map<std::string, PreviousAsset> out;
    Result<catalog::Checkpoint> cp =
        store_.GetCheckpoint("dbt:manifest-assets", manifest().checkpoint_key);
    if (!cp.ok()) {
      if (cp.status().IsNotFound()) return out;
      return cp.status();
    }
    JsonInput in("checkpoint dbt:manifest-assets", cp->value, cp->value.capacity());
    TM_ASSIGN_OR_RETURN(od::value root, in.RootValue());
    std::vector<std::string> row;
    Status read = in.ForEachElement(root, JsonPath(), [&](od::value entry, size_t) -> Status {
      row.clear();
      TM_RETURN_IF_ERROR(in.StringList(entry, JsonPath(), &row));
      if (row.size() == 4) {
        out[row[0]] = {AssetKey{std::move(row[1]), std::move(row[2])}, std::move(row[3])};
      }
      return Status::Ok();
    });
    if (!read.ok()) out.clear();  // unreadable: every asset counts as new (nothing is lost)
    return out;
  }

  // `s` as a JSON string, as Dump writes it: printable ASCII without quotes or backslashes
  // (ids, keys and digests, nearly always) needs no escaping; anything else goes through Dump.
  static void AppendJsonString(std::string& out, std::string_view s) {
    const bool plain = std::all_of(s.begin(), s.end(), [](char c) {
      return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
    });
    if (!plain) {
      out += Dump(nlohmann::json(std::string(s)));
      return;
    }
    out += '"';
    out += s;
    out += '"';
  }

  // Maps every asset of the manifest. With write_assets false (the manifest is unchanged)
  // only the columns of assets catalog.json observed anew are written.
  Status MapManifest(bool write_assets) {
    std::unordered_map<std::string, PreviousAsset> previous;
    if (write_assets) {
      TM_ASSIGN_OR_RETURN(previous, PreviousAssets());
    }
    std::string current = "[";  // the next checkpoint: [[unique_id, ns, name, digest], ...]
    std::unordered_map<std::string, std::string> owner_of_key;  // key -> unique_id
    std::string buf;
    for (Node& n : manifest_->nodes) {
      const NodeRef& ref = index_.at(n.unique_id);
      if (ref.key.empty()) continue;
      auto observed = observed_.find(ref.key.ToString());
      std::optional<std::vector<ObservedColumn>> seen_columns;
      if (observed != observed_.end()) {
        seen_columns = std::move(observed->second.second);
        observed_.erase(observed);
      }
      if (!write_assets) {
        if (!seen_columns) continue;
        TM_ASSIGN_OR_RETURN(std::vector<DeclaredColumn> declared, DeclaredColumns(n));
        TM_RETURN_IF_ERROR(WriteColumns(ref.key, std::move(declared), std::move(seen_columns),
                                        /*known_before=*/true));
        continue;
      }
      std::string key_text = ref.key.ToString();
      auto [first, inserted] = owner_of_key.emplace(key_text, n.unique_id);
      if (!inserted) {
        // A source declaring the table a seed or model builds is one more name of that
        // dataset; two nodes building one table are a conflict worth a warning.
        if (n.resource_type != "source" && PrefixOf(first->second) != "source") {
          Warn(NodeWhere(n.resource_type, n.unique_id), "builds the same dataset '" + key_text +
                                                            "' as '" + first->second +
                                                            "'; recorded as an alias of it");
        }
        batch_.PutAlias(n.unique_id, ref.key);
        continue;
      }
      TM_ASSIGN_OR_RETURN(AssetRecord rec, BuildRecord(n, ref));
      std::string digest = RecordDigest(rec, buf);
      current += current.size() > 1 ? ",[" : "[";
      AppendJsonString(current, n.unique_id), current += ',';
      AppendJsonString(current, ref.key.ns), current += ',';
      AppendJsonString(current, ref.key.name), current += ',';
      AppendJsonString(current, digest), current += ']';
      auto prev = previous.find(n.unique_id);
      const bool known_before = prev != previous.end();
      if (!options_.force && known_before && prev->second.key == ref.key &&
          prev->second.digest == digest) {
        ++report_.assets_unchanged;
        if (seen_columns) {
          TM_RETURN_IF_ERROR(
              WriteColumns(ref.key, std::move(rec.columns), std::move(seen_columns), true));
        }
        continue;
      }
      TM_RETURN_IF_ERROR(Emit(std::move(rec), std::move(seen_columns), known_before));
    }
    if (!write_assets) return Status::Ok();
    current += ']';
    for (const auto& [id, prev] : previous) {
      if (!owner_of_key.count(prev.key.ToString())) {
        batch_.MarkRemoved(prev.key);
        ++report_.assets_removed;
      }
    }
    batch_.PutCheckpoint(
        {"dbt:manifest-assets", manifest().checkpoint_key, std::move(current), {}});
    return Status::Ok();
  }

  // Sends an asset's records. Empty tag, owner and lineage sets are sent only for assets the
  // previous manifest had (to clear what it said); for new ones they would change nothing.
  Status Emit(AssetRecord rec, std::optional<std::vector<ObservedColumn>> observed,
              bool known_before) {
    const AssetKey key = rec.asset.key;
    ++kind_counts_[std::string(model::AssetKindName(rec.asset.kind))];
    ++report_.assets;
    batch_.PutAsset(std::move(rec.asset));
    batch_.PutAlias(rec.unique_id, key);
    report_.tags += rec.tags.size();
    if (known_before || !rec.tags.empty()) batch_.SetTags(key, std::move(rec.tags));
    std::vector<model::Ownership> ownerships;
    std::set<std::string> owner_ids;
    for (OwnerClaim& c : rec.owners) {
      if (!owner_ids.insert(c.owner.id).second) continue;
      ownerships.push_back({c.owner.id, c.role});
      if (owners_put_.insert(c.owner.id).second) {
        batch_.PutOwner(std::move(c.owner));
        ++report_.owners;
      }
    }
    if (known_before || !ownerships.empty()) {
      batch_.SetOwnerships(key, std::move(ownerships));
    }
    std::vector<model::LineageEdge> edges;
    edges.reserve(rec.upstreams.size());
    for (AssetKey& up : rec.upstreams) {
      model::LineageEdge e;
      e.upstream = std::move(up);
      e.downstream = key;
      e.origin = kOrigin;
      edges.push_back(std::move(e));
    }
    report_.lineage_edges += edges.size();
    if (known_before || !edges.empty()) {
      batch_.ReplaceEdgesInto(key, kOrigin, std::move(edges));
    }
    return WriteColumns(key, std::move(rec.columns), std::move(observed), known_before);
  }

  // Merges and sends an asset's columns. A side missing from this call (declared: no
  // manifest; observed: no catalog entry) is read back from the store when the asset was
  // stored before.
  Status WriteColumns(const AssetKey& key, std::optional<std::vector<DeclaredColumn>> declared,
                      std::optional<std::vector<ObservedColumn>> observed, bool known_before) {
    std::vector<DeclaredColumn> stored_declared;
    std::vector<ObservedColumn> stored_observed;
    const bool need_declared = !declared;
    const bool need_observed = !observed && known_before;
    if (need_declared || need_observed) {
      TM_ASSIGN_OR_RETURN(std::vector<model::Column> stored, store_.GetColumns(key));
      SplitStoredColumns(stored, need_declared ? &stored_declared : nullptr,
                         need_observed ? &stored_observed : nullptr);
    }
    std::vector<std::string> duplicates;
    std::vector<model::Column> columns =
        MergeColumns(declared ? std::move(*declared) : std::move(stored_declared),
                     observed ? std::move(*observed) : std::move(stored_observed), &duplicates);
    for (const std::string& d : duplicates) {
      Warn(key.ToString(), "column '" + d + "' is listed twice; the first is kept");
    }
    report_.columns += columns.size();
    batch_.SetColumns(key, std::move(columns));
    return Status::Ok();
  }

  // ---- resolving ids that the manifest of this call may not define ---------------------------

  // The asset a unique_id names: from this call's manifest, else an alias in the store.
  Result<std::optional<AssetKey>> ResolveNode(const std::string& unique_id) {
    if (auto it = index_.find(unique_id); it != index_.end()) {
      if (it->second.key.empty()) return std::optional<AssetKey>();
      return std::optional<AssetKey>(it->second.key);
    }
    if (auto it = resolved_.find(unique_id); it != resolved_.end()) return it->second;
    Result<AssetKey> key = store_.Resolve(unique_id);
    std::optional<AssetKey> out;
    if (key.ok()) {
      out = std::move(*key);
    } else if (!key.status().IsNotFound()) {
      return key.status();
    }
    resolved_.emplace(unique_id, out);
    return out;
  }

  // The node kind ("model", "test", ...) and asset of a result's unique_id. Tests map to the
  // asset they test. Warns when the id is known neither to the manifest nor to the store.
  Result<std::pair<std::string, AssetKey>> ResultTarget(const std::string& unique_id,
                                                        const std::string& where) {
    if (auto t = tests_.find(unique_id); t != tests_.end()) {
      const NodeRef* target = TestTarget(*t->second);
      std::string kind = t->second->kind == "unit" ? "unit_test" : "test";
      return std::make_pair(kind, target ? target->key : AssetKey{});
    }
    if (auto it = index_.find(unique_id); it != index_.end()) {
      return std::make_pair(it->second.node->resource_type, it->second.key);
    }
    std::string kind(PrefixOf(unique_id));
    if (kind == "operation" || kind == "sql_operation") return std::make_pair(kind, AssetKey{});
    TM_ASSIGN_OR_RETURN(std::optional<AssetKey> key, ResolveNode(unique_id));
    if (!key) {
      Warn(where, "'" + unique_id +
                      "' is not in the manifest nor known to the catalog; "
                      "its result is stored without an asset");
      return std::make_pair(kind, AssetKey{});
    }
    return std::make_pair(kind, std::move(*key));
  }

  // ---- catalog.json -----------------------------------------------------------------------

  // Schema snapshots and stats now; observed columns kept for MapManifest to merge with the
  // declared ones (or MapObservedOnly, for tables this call's manifest does not define).
  Status MapCatalog(Catalog c) {
    const std::string& name = catalog().input->name();
    Timestamp observed_at = c.metadata.generated_at.value_or(clock_.Now());
    for (CatalogEntry& e : c.entries) {
      TM_ASSIGN_OR_RETURN(std::optional<AssetKey> key, ResolveNode(e.unique_id));
      if (!key) {
        if (!index_.count(e.unique_id)) {
          Warn(name + ", at /" +
                   std::string(e.unique_id.rfind("source.", 0) == 0 ? "sources/" : "nodes/") +
                   e.unique_id,
               "not in the manifest nor known to the catalog; its columns and stats are skipped");
        }
        continue;
      }
      // One observation per table: a source and the seed that loads it name one table.
      std::string key_text = key->ToString();
      if (observed_.count(key_text)) continue;
      model::SchemaSnapshot snap;
      snap.asset = *key;
      snap.observed_at = observed_at;
      snap.source = "dbt-catalog";
      std::vector<ObservedColumn> observed;
      int ordinal = 0;
      for (CatalogColumn& col : e.columns) {
        ++ordinal;
        const int position = col.index > 0 ? col.index : ordinal;
        model::Column sc;
        sc.name = col.name;
        sc.position = position;
        sc.data_type = col.type;
        snap.columns.push_back(std::move(sc));
        observed.push_back(
            {std::move(col.name), std::move(col.type), std::move(col.comment), position});
      }
      batch_.PutSchemaSnapshot(std::move(snap));
      ++report_.schema_snapshots;
      for (const CatalogStat& stat : e.stats) {
        if (auto point = StatMetric(stat)) {
          batch_.AppendMetricPoint({*key, point->metric, observed_at, point->value});
          ++report_.metric_points;
        }
      }
      observed_.emplace(std::move(key_text), std::make_pair(*key, std::move(observed)));
    }
    return Status::Ok();
  }

  // Columns of catalog tables this call's manifest does not define: merged with what the
  // store holds.
  Status MapObservedOnly() {
    for (auto& [key_text, entry] : observed_) {
      TM_RETURN_IF_ERROR(WriteColumns(entry.first, std::nullopt, std::move(entry.second), true));
    }
    observed_.clear();
    return Status::Ok();
  }

  // ---- run_results.json -------------------------------------------------------------------

  static bool Failed(std::string_view status) {
    return status == "error" || status == "fail" || status == "runtime error";
  }

  Status MapRunResults(RunResults& r) {
    const std::string& name = run_results().input->name();
    model::Run run;
    run.id = !r.metadata.invocation_id.empty() ? r.metadata.invocation_id
                                               : "dbt-run-" + run_results().digest;
    run.source = kSource;
    run.state = model::RunState::kComplete;
    nlohmann::json props = nlohmann::json::object();
    if (!r.metadata.dbt_version.empty()) props["dbt_version"] = r.metadata.dbt_version;
    if (r.elapsed_time) props["elapsed_time"] = *r.elapsed_time;
    if (r.args.is_object()) {
      // --vars may carry credentials, and invocation_command repeats them: neither is kept.
      r.args.erase("vars");
      r.args.erase("invocation_command");
      if (auto which = r.args.find("which"); which != r.args.end() && which->is_string()) {
        props["command"] = *which;
      }
      props["args"] = std::move(r.args);
    }
    for (size_t i = 0; i < r.results.size(); ++i) {
      NodeRun& nr = r.results[i];
      std::string where = name + ", at /results/" + std::to_string(i);
      TM_ASSIGN_OR_RETURN(auto target, ResultTarget(nr.unique_id, where));
      auto& [kind, asset] = target;
      if (nr.first_started_at && (!run.started_at || *nr.first_started_at < *run.started_at)) {
        run.started_at = nr.first_started_at;
      }
      if (nr.last_completed_at && (!run.ended_at || *nr.last_completed_at > *run.ended_at)) {
        run.ended_at = nr.last_completed_at;
      }
      if (Failed(nr.status) && run.state != model::RunState::kFail) {
        run.state = model::RunState::kFail;
        run.error_message = nr.unique_id + ": " + nr.message;
      }
      const bool builds_data = kind == "model" || kind == "seed" || kind == "snapshot";
      if (builds_data && !asset.empty() && nr.status == "success") {
        Timestamp at = nr.completed_at.value_or(r.metadata.generated_at.value_or(clock_.Now()));
        if (nr.execution_time) {
          batch_.AppendMetricPoint(
              {asset, std::string(model::kMetricDuration), at, *nr.execution_time});
          ++report_.metric_points;
        }
        if (nr.rows_affected) {
          batch_.AppendMetricPoint({asset, std::string(model::kMetricRowsAffected), at,
                                    static_cast<double>(*nr.rows_affected)});
          ++report_.metric_points;
        }
      }
      model::NodeResult result;
      result.run_id = run.id;
      result.node_id = std::move(nr.unique_id);
      result.asset = std::move(asset);
      result.node_kind = std::move(kind);
      result.status = std::move(nr.status);
      result.started_at = nr.started_at;
      result.completed_at = nr.completed_at;
      result.execution_time_s = nr.execution_time;
      result.rows_affected = nr.rows_affected;
      result.failures = nr.failures;
      result.message = std::move(nr.message);
      result.thread = std::move(nr.thread);
      nlohmann::json rp = nlohmann::json::object();
      if (!nr.adapter_response.is_null()) rp["adapter_response"] = std::move(nr.adapter_response);
      if (!nr.relation_name.empty()) rp["relation_name"] = nr.relation_name;
      if (!rp.empty()) result.properties = Dump(rp);
      node_results_.push_back(std::move(result));
    }
    run.event_time = r.metadata.generated_at.value_or(run.ended_at.value_or(clock_.Now()));
    run.properties = Dump(props);
    batch_.PutRun(std::move(run));
    ++report_.runs;
    FlushNodeResults();
    return Status::Ok();
  }

  void FlushNodeResults() {
    report_.node_results += node_results_.size();
    for (model::NodeResult& n : node_results_) batch_.PutNodeResult(std::move(n));
    node_results_.clear();
  }

  // ---- sources.json -----------------------------------------------------------------------

  Status MapSources(SourceFreshness& s) {
    const std::string& name = sources().input->name();
    model::Run run;
    run.id = !s.metadata.invocation_id.empty() ? s.metadata.invocation_id
                                               : "dbt-sources-" + sources().digest;
    run.source = kSource;
    run.state = model::RunState::kComplete;
    nlohmann::json props = {{"command", "source freshness"}};
    if (!s.metadata.dbt_version.empty()) props["dbt_version"] = s.metadata.dbt_version;
    if (s.elapsed_time) props["elapsed_time"] = *s.elapsed_time;
    for (size_t i = 0; i < s.results.size(); ++i) {
      FreshnessResult& fr = s.results[i];
      std::string where = name + ", at /results/" + std::to_string(i);
      TM_ASSIGN_OR_RETURN(auto target, ResultTarget(fr.unique_id, where));
      AssetKey& asset = target.second;
      if (fr.started_at && (!run.started_at || *fr.started_at < *run.started_at)) {
        run.started_at = fr.started_at;
      }
      if (fr.completed_at && (!run.ended_at || *fr.completed_at > *run.ended_at)) {
        run.ended_at = fr.completed_at;
      }
      if ((fr.status == "error" || fr.status == "runtime error") &&
          run.state != model::RunState::kFail) {
        run.state = model::RunState::kFail;
        run.error_message = fr.unique_id + ": " + (fr.error.empty() ? fr.status : fr.error);
      }
      if (!asset.empty() && fr.snapshotted_at) {
        if (fr.max_loaded_at) {
          batch_.AppendMetricPoint({asset, std::string(model::kMetricLastModified),
                                    *fr.snapshotted_at, EpochSeconds(*fr.max_loaded_at)});
          ++report_.metric_points;
        }
        if (fr.age_s) {
          batch_.AppendMetricPoint({asset, "freshness_lag_s", *fr.snapshotted_at, *fr.age_s});
          ++report_.metric_points;
        }
      }
      model::NodeResult result;
      result.run_id = run.id;
      result.node_id = fr.unique_id;
      result.asset = std::move(asset);
      result.node_kind = "source";
      result.status = fr.status;
      result.started_at = fr.started_at;
      result.completed_at = fr.completed_at ? fr.completed_at : fr.snapshotted_at;
      result.execution_time_s = fr.execution_time;
      result.message = fr.error;
      result.thread = fr.thread;
      nlohmann::json rp = nlohmann::json::object();
      if (fr.max_loaded_at) rp["max_loaded_at"] = model::FormatTimestamp(*fr.max_loaded_at);
      if (fr.snapshotted_at) rp["snapshotted_at"] = model::FormatTimestamp(*fr.snapshotted_at);
      if (fr.age_s) rp["max_loaded_at_time_ago_in_s"] = *fr.age_s;
      if (!fr.criteria.is_null()) rp["criteria"] = std::move(fr.criteria);
      result.properties = Dump(rp);
      node_results_.push_back(std::move(result));
    }
    run.event_time = s.metadata.generated_at.value_or(run.ended_at.value_or(clock_.Now()));
    run.properties = Dump(props);
    batch_.PutRun(std::move(run));
    ++report_.runs;
    FlushNodeResults();
    return Status::Ok();
  }

  catalog::Store& store_;
  const DbtOptions& options_;
  const model::Clock& clock_;
  DbtIngestReport report_;
  catalog::WriteBatch batch_;
  std::array<Artifact, 4> artifacts_;
  std::string ns_;
  std::string project_;
  std::optional<Manifest> manifest_;
  // Keyed by views of the nodes' own unique_id (the deques holding them never move them).
  std::unordered_map<std::string_view, NodeRef> index_;
  od::parser columns_parser_;  // reads each node's columns in turn
  std::vector<ColumnDecl> column_scratch_;  // each node's columns as read, in turn
  std::unordered_map<std::string_view, const TestInfo*> tests_;
  std::unordered_map<std::string, std::optional<AssetKey>> resolved_;
  std::unordered_map<std::string_view, std::vector<const TestInfo*>> tests_by_target_;
  // Catalog columns by asset key text, until merged with the declared ones.
  std::unordered_map<std::string, std::pair<AssetKey, std::vector<ObservedColumn>>> observed_;
  std::set<std::string> owners_put_;
  std::map<std::string, size_t> kind_counts_;
  std::vector<model::NodeResult> node_results_;
};

}  // namespace

Result<DbtIngestReport> IngestDbt(catalog::Store& store, const DbtArtifacts& artifacts,
                                  const DbtOptions& options) {
  return Ingest(store, options).Run(artifacts);
}

}  // namespace tidemark::collector
