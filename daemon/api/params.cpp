#include "api/params.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace hotalloc::api {

using nlohmann::json;

std::string quote_start(std::string_view s) {
  constexpr size_t kMax = 64;
  return s.size() <= kMax ? fmt::format("\"{}\"", s) : fmt::format("\"{}…\"", s.substr(0, kMax));
}

std::expected<std::optional<uint64_t>, ApiError> uint_param(const Request& r, const char* name) {
  auto it = r.params.find(name);
  if (it == r.params.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0))
    return reject(ErrorCode::invalid_params, fmt::format("\"{}\" must be a non-negative integer", name));
  return it->get<uint64_t>();
}

std::expected<size_t, ApiError> limit_param(const Request& r, size_t fallback) {
  auto limit = uint_param(r, "limit");
  if (!limit) return std::unexpected(limit.error());
  return std::min<uint64_t>(limit->value_or(fallback), kMaxLimit);
}

std::expected<std::optional<std::string>, ApiError> string_param(const Request& r, const char* name) {
  auto it = r.params.find(name);
  if (it == r.params.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return reject(ErrorCode::invalid_params, fmt::format("\"{}\" must be a string", name));
  return it->get<std::string>();
}

std::expected<Selection, ApiError> select(const model::Snapshot& s, const std::optional<std::string>& wanted,
                                          bool need_one) {
  Selection sel;
  sel.named = wanted.has_value();
  json names = json::array();
  for (const auto& t : s.targets) {
    names.push_back(t.name);
    if (wanted ? t.name == *wanted : true) {
      sel.ids.push_back(t.id);
      if (sel.name.empty()) sel.name = t.name;
      else if (!wanted && sel.name != t.name && need_one)
        return reject(ErrorCode::invalid_params, "several targets are traced: name one with \"target\"",
                      json{{"targets", names}});
    }
  }
  if (wanted && sel.ids.empty())
    return reject(ErrorCode::target_not_found, fmt::format("no target named {}", quote_start(*wanted)),
                  json{{"targets", names}});
  return sel;
}

std::vector<const model::TargetView*> Scope::views() const {
  std::vector<const model::TargetView*> out;
  for (const auto& t : snap->targets)
    if (std::ranges::find(sel.ids, t.id) != sel.ids.end()) out.push_back(&t);
  return out;
}

std::expected<Scope, ApiError> scope(Backend& backend, const Request& r, bool need_one) {
  auto target = string_param(r, "target");
  if (!target) return std::unexpected(target.error());
  auto snap = backend.snapshot(Handler::kMaxAge);
  if (!snap) return reject(ErrorCode::internal, "the daemon has not collected anything yet");
  auto sel = select(*snap, *target, need_one);
  if (!sel) return std::unexpected(sel.error());
  return Scope{std::move(snap), std::move(*sel)};
}

namespace {

// The entry for `id` in a per-target map of maps or slices, which may be absent.
template <typename T>
const T* target_entry(const std::map<uint32_t, T>* targets, uint32_t id) {
  if (!targets) return nullptr;
  auto it = targets->find(id);
  return it == targets->end() ? nullptr : &it->second;
}

}  // namespace

const model::TargetMaps* target_maps(const model::Snapshot& s, uint32_t id) {
  return target_entry(s.maps ? &s.maps->targets : nullptr, id);
}

const model::TargetSlices* target_slices(const model::Snapshot& s, uint32_t id) {
  return target_entry(s.slices ? &s.slices->targets : nullptr, id);
}

}  // namespace hotalloc::api
