#include "lineage_walk.h"

#include <algorithm>
#include <unordered_map>

namespace tidemark::catalog {
namespace {

// Ids per read: bounded so that one statement's parameter stays small on both stores.
constexpr size_t kChunk = 4096;

}  // namespace

model::Result<LineageSubgraph> RunLineageWalk(const std::vector<model::AssetKey>& starts,
                                              Direction direction, int depth, size_t max_nodes,
                                              LineageReader& reader) {
  const bool upstream = direction == Direction::kUpstream;
  LineageSubgraph out;
  std::unordered_map<std::int64_t, std::uint32_t> index;
  std::vector<std::int64_t> ids, frontier;
  auto add = [&](std::int64_t id) -> std::optional<std::uint32_t> {
    auto it = index.find(id);
    if (it != index.end()) return it->second;
    if (ids.size() >= max_nodes) {
      out.truncated = true;
      return std::nullopt;
    }
    const auto i = static_cast<std::uint32_t>(ids.size());
    index.emplace(id, i);
    ids.push_back(id);
    frontier.push_back(id);
    return i;
  };
  TM_ASSIGN_OR_RETURN(auto start_ids, reader.IdsOf(starts));
  for (const std::optional<std::int64_t>& id : start_ids) {
    if (id) add(*id);
  }
  for (int hop = 0; hop < depth && !frontier.empty(); ++hop) {
    std::vector<std::int64_t> level;
    level.swap(frontier);
    for (size_t at = 0; at < level.size(); at += kChunk) {
      std::vector<std::int64_t> chunk(level.begin() + static_cast<std::ptrdiff_t>(at),
                                      level.begin() + static_cast<std::ptrdiff_t>(
                                                          std::min(level.size(), at + kChunk)));
      TM_ASSIGN_OR_RETURN(auto rows, reader.TableEdges(chunk, upstream));
      for (const auto& [from_id, to_id] : rows) {
        auto from = index.find(from_id);
        if (from == index.end() || to_id == from_id) continue;
        std::optional<std::uint32_t> to = add(to_id);
        if (!to) continue;
        out.edges.emplace_back(upstream ? *to : from->second, upstream ? from->second : *to);
      }
    }
  }
  std::sort(out.edges.begin(), out.edges.end());
  out.edges.erase(std::unique(out.edges.begin(), out.edges.end()), out.edges.end());
  out.keys.resize(ids.size());
  out.kinds.resize(ids.size());
  out.names.resize(ids.size());
  for (size_t at = 0; at < ids.size(); at += kChunk) {
    std::vector<std::int64_t> chunk(ids.begin() + static_cast<std::ptrdiff_t>(at),
                                    ids.begin() + static_cast<std::ptrdiff_t>(
                                                      std::min(ids.size(), at + kChunk)));
    TM_ASSIGN_OR_RETURN(std::vector<NodeRow> nodes, reader.NodeNames(chunk));
    for (NodeRow& n : nodes) {
      auto it = index.find(n.id);
      if (it == index.end()) continue;
      out.keys[it->second] = std::move(n.key);
      out.kinds[it->second] = std::move(n.kind);
      out.names[it->second] = std::move(n.name);
    }
  }
  return out;
}

}  // namespace tidemark::catalog
