// Moving keys in and out: POST /v1/api-keys/import takes a batch of keys made
// elsewhere (by hash or plaintext, core/key_import.h), and GET
// /v1/api-keys/export gives every key's hash and metadata in the same shape,
// so that an operator can always leave with its keys. Root keys only.
// Thread-safe: handlers run on any serving thread at once.
#include "core/key_import.h"

#include "core/key_service.h"
#include "core/sha256.h"
#include "core/time_format.h"
#include "server/api.h"
#include "server/auth.h"
#include "server/routes/routes.h"

namespace keyward {
namespace {

// One row of the batch as the service takes it; a row that cannot be read
// is kept, with why, so that the answer still names it by its index.
KeyImportRow ReadRow(const Json& j) {
  KeyImportRow row;
  if (!j.is_object()) {
    row.unreadable = Status::InvalidRequest("each key must be a JSON object");
    return row;
  }
  FieldReader f(j);
  std::optional<std::string> workspace_id, environment, meta;
  std::optional<std::vector<std::string>> scopes, ips, referrers, endpoints;
  std::optional<std::optional<Timestamp>> created, expires, last_used, revoked;
  std::optional<std::optional<RateLimit>> rate;
  std::optional<bool> disabled;
  Status s = f.OnlyFields({"id", "workspace_id", "environment", "hash", "key", "short_prefix",
                           "name", "scopes", "ip_allowlist", "referrer_allowlist",
                           "endpoint_allowlist", "rate_limit", "meta", "created_at", "expires_at",
                           "last_used_at", "revoked_at", "disabled"});
  if (s.ok()) s = f.String("id", &row.id);
  if (s.ok()) s = f.String("workspace_id", &workspace_id);
  if (s.ok()) s = f.String("environment", &environment);
  if (s.ok()) s = f.String("key", &row.key);
  if (s.ok()) s = f.String("short_prefix", &row.short_prefix);
  if (s.ok()) s = f.String("name", &row.name);
  if (s.ok()) s = f.StringList("scopes", &scopes);
  if (s.ok()) s = f.StringList("ip_allowlist", &ips);
  if (s.ok()) s = f.StringList("referrer_allowlist", &referrers);
  if (s.ok()) s = f.StringList("endpoint_allowlist", &endpoints);
  if (s.ok()) s = f.NullableRateLimit("rate_limit", &rate);
  if (s.ok()) s = f.Object("meta", &meta);
  if (s.ok()) s = f.NullableTime("created_at", &created);
  if (s.ok()) s = f.NullableTime("expires_at", &expires);
  if (s.ok()) s = f.NullableTime("last_used_at", &last_used);
  if (s.ok()) s = f.NullableTime("revoked_at", &revoked);
  if (s.ok()) s = f.Bool("disabled", &disabled);
  if (s.ok() && j.contains("hash")) {
    const Json& h = j["hash"];
    if (!h.is_object()) {
      s = Status::InvalidRequest(
          "hash must be an object: {\"algorithm\": \"sha256\", \"encoding\": \"hex\"|\"base64\", "
          "\"value\": …}");
    } else {
      FieldReader hf(h);
      ImportHash hash;
      s = hf.OnlyFields({"algorithm", "encoding", "value"});
      if (s.ok()) s = hf.RequiredString("algorithm", &hash.algorithm);
      if (s.ok()) s = hf.RequiredString("encoding", &hash.encoding);
      if (s.ok()) s = hf.RequiredString("value", &hash.value);
      if (s.ok()) row.hash = std::move(hash);
    }
  }
  if (!s.ok()) {
    row.key.reset();
    row.unreadable = s;
    return row;
  }
  if (workspace_id) row.workspace_id = std::move(*workspace_id);
  if (environment) row.environment = std::move(*environment);
  if (scopes) row.scopes = std::move(*scopes);
  if (ips) row.ip_allowlist = std::move(*ips);
  if (referrers) row.referrer_allowlist = std::move(*referrers);
  if (endpoints) row.endpoint_allowlist = std::move(*endpoints);
  if (rate) row.rate_limit = *rate;
  if (meta) row.meta_json = std::move(*meta);
  if (created) row.created_at = *created;
  if (expires) row.expires_at = *expires;
  if (last_used) row.last_used_at = *last_used;
  if (revoked) row.revoked_at = *revoked;
  if (disabled) row.disabled = *disabled;
  return row;
}

void ImportKeys(Call& call, const RouteContext& ctx) {
  // Not WriteBody: this body holds keys on purpose, and they are hashed,
  // never stored. Names and meta are still checked for keys, row by row.
  auto body = call.Body(false);
  if (!body) return;
  FieldReader f(*body);
  std::optional<bool> dry_run;
  if (!call.Check(f.OnlyFields({"keys", "dry_run"})) || !call.Check(f.Bool("dry_run", &dry_run))) {
    return;
  }
  const auto keys = body->find("keys");
  if (keys == body->end() || !keys->is_array()) {
    return call.Error(Code::kInvalidRequest,
                      "keys is required: an array of up to " + std::to_string(kMaxImportBatch) +
                          " keys, each with workspace_id, environment and a hash or the key");
  }
  std::vector<KeyImportRow> rows;
  rows.reserve(keys->size());
  for (const Json& j : *keys) rows.push_back(ReadRow(j));
  // The plaintext keys are read: drop the parsed body that still holds them.
  body.reset();
  auto result = ctx.service->ImportKeys(std::move(rows), dry_run.value_or(false), call.actor());
  if (!result.ok()) return call.Fail(result.status());
  Json results = Json::array();
  for (const auto& r : result->rows) {
    Json row = {{"index", r.index}, {"status", ImportRowStatusName(r.status)}};
    if (!r.key_id.empty()) row["id"] = r.key_id;
    if (r.status != ImportRowStatus::kRejected) {
      row["short_prefix"] = r.short_prefix;
      if (r.revoked) row["revoked"] = true;
    } else {
      row["error"] = r.error;
      row["message"] = r.message;
    }
    results.push_back(std::move(row));
  }
  Json over = Json::array();
  for (const auto& w : result->over_limit) {
    over.push_back({{"workspace_id", w.workspace_id},
                    {"active_keys", w.active_keys},
                    {"max_active_keys", w.max_active_keys}});
  }
  call.SendJson(200, {{"dry_run", result->dry_run},
                      {"batch_id", result->batch_id},
                      {"imported", result->imported},
                      {"unchanged", result->unchanged},
                      {"rejected", result->rejected},
                      {"results", std::move(results)},
                      {"over_limit", std::move(over)}});
}

// A key as an import row: what export gives and import takes.
Json ExportRow(const ApiKey& k) {
  Json meta = Json::parse(k.meta_json, nullptr, false);
  if (!meta.is_object()) meta = Json::object();
  Json row = {{"id", k.id},
              {"workspace_id", k.workspace_id},
              {"environment", k.environment},
              {"hash", {{"algorithm", "sha256"}, {"encoding", "hex"}, {"value", ToHex(k.hash)}}},
              {"name", k.name},
              {"scopes", k.scopes},
              {"ip_allowlist", k.ip_allowlist},
              {"referrer_allowlist", k.referrer_allowlist},
              {"endpoint_allowlist", k.endpoint_allowlist},
              {"rate_limit", RateLimitJson(k.rate_limit)},
              {"meta", std::move(meta)},
              {"created_at", FormatRfc3339(k.created_at)},
              {"expires_at", TimeOrNull(k.expires_at)},
              {"last_used_at", TimeOrNull(k.last_used_at)},
              {"revoked_at", TimeOrNull(k.revoked_at)},
              {"disabled", k.disabled}};
  if (!k.short_prefix.empty()) row["short_prefix"] = k.short_prefix;
  return row;
}

void ExportKeys(Call& call, const RouteContext& ctx) {
  QueryParams q;
  PageRequest page;
  if (!call.Query({"workspace_id", "environment", "include_revoked", "cursor", "limit"}, &q) ||
      !call.Page(q, &page)) {
    return;
  }
  KeyFilter filter;
  bool include_revoked = false;
  for (const auto& [k, v] : q) {
    if (k == "workspace_id") filter.workspace_id = v;
    if (k == "environment") filter.environment = v;
    if (k == "include_revoked") {
      if (v != "true" && v != "false") {
        return call.Error(Code::kInvalidRequest, "include_revoked must be true or false");
      }
      include_revoked = v == "true";
    }
  }
  if (page.cursor.empty()) {
    // Every key's hash leaving: the first page is on the record.
    if (auto s = ctx.service->AuditKeyExport(call.actor(), filter.workspace_id); !s.ok()) {
      return call.Fail(s);
    }
  }
  auto list = ctx.service->ListKeys(filter, page);
  if (!list.ok()) return call.Fail(list.status());
  Json data = Json::array();
  for (const auto& k : list->items) {
    if (k.revoked_at && !include_revoked) continue;
    data.push_back(ExportRow(k));
  }
  call.SendJson(200, ListBody(std::move(data), list->next_cursor));
}

}  // namespace

void RegisterKeyImportRoutes(RouteTable& table) {
  table.Add({"POST", "/v1/api-keys/import", "importApiKeys", Access::kRoot, ImportKeys});
  table.Add({"GET", "/v1/api-keys/export", "exportApiKeys", Access::kRoot, ExportKeys});
}

}  // namespace keyward
