#include "tidemark/model/asset.h"

namespace tidemark::model {

std::string AssetKey::ToString() const {
  std::string out;
  out.reserve(ns.size() + 1 + name.size());
  out += ns;
  out += '/';
  out += name;
  return out;
}

std::optional<AssetKey> AssetKey::Parse(std::string_view text) {
  // "postgres://db:5432/analytics.marts.orders": the namespace keeps its scheme and authority,
  // so the split is at the first '/' after "://". Without a scheme, at the first '/'.
  size_t from = 0;
  if (size_t scheme = text.find("://"); scheme != std::string_view::npos) from = scheme + 3;
  size_t slash = text.find('/', from);
  if (slash == std::string_view::npos || slash + 1 >= text.size()) return std::nullopt;
  return AssetKey{std::string(text.substr(0, slash)), std::string(text.substr(slash + 1))};
}

}  // namespace tidemark::model
