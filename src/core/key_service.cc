#include "core/key_service.h"

#include <nlohmann/json.hpp>

#include "core/glob.h"
#include "core/random.h"
#include "core/rotation_policy.h"
#include "core/self_service.h"
#include "core/sha256.h"
#include "core/time_format.h"

namespace keyward {
namespace {

using nlohmann::json;

bool HasControlChar(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

Status CheckListSize(const std::vector<std::string>& v, const char* field,
                     size_t limit = kMaxListEntries) {
  if (v.size() > limit) {
    return Status::InvalidRequest(std::string(field) + " has more than " + std::to_string(limit) +
                                  " entries");
  }
  return Status::Ok();
}

// Runs attempt(&stale) until it is not stale: an optimistic change (read,
// change, write if nothing changed meanwhile) redone on what is stored now,
// so racing changes all land, in some order.
template <typename Attempt>
auto UntilNotStale(std::string_view id, const char* what, Attempt attempt)
    -> decltype(attempt(nullptr)) {
  constexpr int kAttempts = 16;
  for (int n = 1;; ++n) {
    bool stale = false;
    auto result = attempt(&stale);
    if (!stale) return result;
    if (n == kAttempts) {
      return Status::Conflict("API key " + std::string(id) + " keeps changing under this " + what +
                              "; try again");
    }
  }
}

json RateLimitJson(const std::optional<RateLimit>& r) {
  if (!r) return nullptr;
  return {{"limit", r->limit}, {"period_seconds", r->period_seconds}};
}

}  // namespace

Status ValidateName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return Status::InvalidRequest("name must be 1-" + std::to_string(kMaxNameLength) + " bytes");
  }
  if (HasControlChar(name))
    return Status::InvalidRequest("name must not contain control characters");
  return Status::Ok();
}

Status ValidateScopes(const std::vector<std::string>& scopes) {
  KEYWARD_RETURN_IF_ERROR(CheckListSize(scopes, "scopes"));
  for (const auto& s : scopes) {
    bool ok = !s.empty() && s.size() <= 64;
    for (char c : s) {
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == ':' || c == '.' || c == '_' || c == '-' || c == '*');
    }
    if (!ok) {
      return Status::InvalidRequest("scope \"" + s +
                                    "\" must be 1-64 characters of letters, digits and : . _ - *");
    }
  }
  return Status::Ok();
}

Status ValidateIpAllowlist(std::vector<std::string>* entries) {
  KEYWARD_RETURN_IF_ERROR(CheckListSize(*entries, "ip_allowlist"));
  for (auto& e : *entries) {
    auto block = CidrBlock::Parse(e);
    if (!block.ok()) return Status::InvalidRequest("ip_allowlist: " + block.status().message());
    e = block->ToString();
  }
  return Status::Ok();
}

Status ValidateReferrerAllowlist(const std::vector<std::string>& entries) {
  KEYWARD_RETURN_IF_ERROR(CheckListSize(entries, "referrer_allowlist", kMaxPatternsPerKey));
  for (const auto& e : entries) {
    auto p = ReferrerPattern::Parse(e);
    if (!p.ok()) return Status::InvalidRequest("referrer_allowlist: " + p.status().message());
  }
  return Status::Ok();
}

Status ValidateEndpointAllowlist(const std::vector<std::string>& entries) {
  KEYWARD_RETURN_IF_ERROR(CheckListSize(entries, "endpoint_allowlist", kMaxPatternsPerKey));
  for (const auto& e : entries) {
    auto p = EndpointPattern::Parse(e);
    if (!p.ok()) return Status::InvalidRequest("endpoint_allowlist: " + p.status().message());
  }
  return Status::Ok();
}

Status ValidateRateLimit(const RateLimit& r) {
  if (r.limit < 1 || r.limit > 1'000'000'000) {
    return Status::InvalidRequest("rate_limit.limit must be between 1 and 1000000000");
  }
  if (r.period_seconds < 1 || r.period_seconds > 31 * 86400) {
    return Status::InvalidRequest(
        "rate_limit.period_seconds must be between 1 and 2678400 (31 days)");
  }
  return Status::Ok();
}

Status ValidateKeyCredits(const KeyCredits& c) {
  constexpr int64_t kMaxCredits = 1'000'000'000'000;
  if (c.remaining < 0 || c.remaining > kMaxCredits) {
    return Status::InvalidRequest("credits.remaining must be between 0 and 1000000000000");
  }
  if (c.refill) {
    if (c.refill->amount < 1 || c.refill->amount > kMaxCredits) {
      return Status::InvalidRequest("credits.refill.amount must be between 1 and 1000000000000");
    }
    if (c.refill->day < 1 || c.refill->day > 31) {
      return Status::InvalidRequest("credits.refill.day must be between 1 and 31");
    }
  }
  return Status::Ok();
}

KeyService::KeyService(KeyServiceOptions options)
    : options_(std::move(options)),
      store_(options_.store),
      root_format_(std::move(KeyFormat::Create("kw", {"root"})).value()) {}

void KeyService::AddObserver(KeyChangeObserver* observer) {
  MutexLock lock(&observers_mu_);
  observers_.push_back(observer);
}

void KeyService::Notify(const ApiKey& key) {
  MutexLock lock(&observers_mu_);
  for (auto* o : observers_) o->OnKeyChanged(key);
}

void KeyService::NotifyPolicy() {
  MutexLock lock(&observers_mu_);
  for (auto* o : observers_) o->OnPolicyChanged();
}

AuditEntry KeyService::MakeAudit(const Actor& actor, std::string action, std::string target,
                                 std::string workspace_id, std::string details_json) const {
  return MakeAuditEntry(actor, options_.clock->Now(), std::move(action), std::move(target),
                        std::move(workspace_id), std::move(details_json));
}

// ---- API keys ----

Status KeyService::ValidateKeyFields(const ApiKey& key) const {
  KEYWARD_RETURN_IF_ERROR(ValidateName(key.name));
  KEYWARD_RETURN_IF_ERROR(ValidateScopes(key.scopes));
  KEYWARD_RETURN_IF_ERROR(ValidateReferrerAllowlist(key.referrer_allowlist));
  KEYWARD_RETURN_IF_ERROR(ValidateEndpointAllowlist(key.endpoint_allowlist));
  if (key.rate_limit) KEYWARD_RETURN_IF_ERROR(ValidateRateLimit(*key.rate_limit));
  if (key.credits) KEYWARD_RETURN_IF_ERROR(ValidateKeyCredits(*key.credits));
  if (key.meta_json.size() > kMaxMetaBytes) {
    return Status::InvalidRequest("meta must be at most " + std::to_string(kMaxMetaBytes) +
                                  " bytes of JSON");
  }
  return Status::Ok();
}

Result<CreatedKey> KeyService::CreateKey(NewKeyParams p, const Actor& actor) {
  if (!options_.format->HasEnvironment(p.environment)) {
    std::string known;
    for (const auto& e : options_.format->environments()) known += (known.empty() ? "" : ", ") + e;
    return Status::InvalidRequest("environment \"" + p.environment + "\" is not one of: " + known);
  }
  const Timestamp now = options_.clock->Now();
  if (p.expires_at && *p.expires_at <= now) {
    return Status::InvalidRequest("expires_at must be in the future");
  }
  const bool expiry_asked = p.expires_at.has_value();
  KEYWARD_RETURN_IF_ERROR(ValidateIpAllowlist(&p.ip_allowlist));
  auto ws = store_->GetWorkspace(p.workspace_id);
  if (!ws.ok()) return ws.status();

  CreatedKey out;
  out.secret = options_.format->Generate(p.environment);
  ApiKey& k = out.record;
  k.id = NewId("key");
  k.hash = Sha256(out.secret);
  ParsedKey parsed;
  (void)options_.format->Parse(out.secret, &parsed);
  k.short_prefix = std::string(parsed.short_prefix);
  k.workspace_id = std::move(p.workspace_id);
  k.environment = std::move(p.environment);
  k.name = std::move(p.name);
  k.scopes = std::move(p.scopes);
  k.ip_allowlist = std::move(p.ip_allowlist);
  k.referrer_allowlist = std::move(p.referrer_allowlist);
  k.endpoint_allowlist = std::move(p.endpoint_allowlist);
  k.rate_limit = p.rate_limit;
  k.credits = p.credits;
  if (k.credits) k.credits->set_at = now;
  k.meta_json = std::move(p.meta_json);
  k.created_at = now;
  k.created_by = actor.id;
  k.expires_at = p.expires_at;
  KEYWARD_RETURN_IF_ERROR(ValidateKeyFields(k));
  if (const ApiKey* caller = actor.managing_key) {
    // Credits are what the operator sells: a key minted by a key with
    // credits of its own would escape them, and no managing key grants any.
    if (caller->credits) {
      return Status::Forbidden(
          "a managing key with credits of its own cannot create keys; use a root key");
    }
    if (k.credits) return Status::Forbidden("only a root key sets a key's credits");
    // Left out means "as the caller", never "unrestricted".
    if (k.ip_allowlist.empty()) k.ip_allowlist = caller->ip_allowlist;
    if (k.referrer_allowlist.empty()) k.referrer_allowlist = caller->referrer_allowlist;
    if (k.endpoint_allowlist.empty()) k.endpoint_allowlist = caller->endpoint_allowlist;
    if (!k.expires_at) k.expires_at = caller->expires_at;
    if (!k.rate_limit) k.rate_limit = caller->rate_limit;
    auto bound = DefaultRateLimit(*ws);
    if (!bound.ok()) return bound.status();
    KEYWARD_RETURN_IF_ERROR(CheckWithinCaller(*caller, k, *bound));
  }
  // After the caller's bounds: the limit only ever brings an expiry forward.
  KEYWARD_RETURN_IF_ERROR(
      ApplyMaxLifetime(options_.max_key_lifetime_days, now, expiry_asked, &k.expires_at));

  const json details = {{"name", k.name},
                        {"environment", k.environment},
                        {"short_prefix", k.short_prefix},
                        {"scopes", k.scopes}};
  auto max_active = MaxActiveKeys(*ws);
  if (!max_active.ok()) return max_active.status();
  Status inserted = store_->InsertKey(
      k, *max_active, now, MakeAudit(actor, "key.create", k.id, k.workspace_id, details.dump()));
  if (inserted.code() == Code::kKeyLimitReached) RaiseKeyLimitReached(*ws, *max_active, actor);
  KEYWARD_RETURN_IF_ERROR(inserted);
  Notify(k);
  return out;
}

Result<Page<ApiKey>> KeyService::ListKeys(KeyFilter filter, const PageRequest& page) {
  filter.now = options_.clock->Now();
  filter.rotate_after_days = options_.rotate_after_days;
  return store_->ListKeys(filter, page);
}

Result<ApiKey> KeyService::UpdateKey(std::string_view id, const KeyUpdate& u, const Actor& actor) {
  return UntilNotStale(id, "update",
                       [&](bool* stale) { return UpdateKeyOnce(id, u, actor, stale); });
}

Result<ApiKey> KeyService::UpdateKeyOnce(std::string_view id, const KeyUpdate& u,
                                         const Actor& actor, bool* stale) {
  auto key = store_->GetKey(id);
  if (!key.ok()) return key;
  if (key->revoked_at)
    return Status::KeyRevoked("API key " + key->id + " is revoked; it cannot change");
  ApiKey& k = *key;
  const ApiKey* caller = actor.managing_key;
  if (caller != nullptr && caller->id == k.id &&
      (u.scopes || u.ip_allowlist || u.referrer_allowlist || u.endpoint_allowlist || u.rate_limit ||
       u.expires_at || u.enabled)) {
    return Status::Forbidden(
        "a managing key cannot change its own scopes, allow-lists, rate limit, expiry or "
        "enabled state; use a root key");
  }
  if (caller != nullptr && u.credits) {
    return Status::Forbidden("only a root key sets a key's credits");
  }
  if (caller != nullptr && u.enabled && *u.enabled && k.disabled && k.disabled_by != caller->id) {
    return Status::Forbidden("API key " + k.id + " was disabled by " +
                             (k.disabled_by.empty() ? std::string("the operator") : k.disabled_by) +
                             "; a managing key can enable only a key it disabled itself");
  }
  json changed = json::object();
  if (u.name) {
    k.name = *u.name;
    changed["name"] = k.name;
  }
  if (u.scopes) {
    k.scopes = *u.scopes;
    changed["scopes"] = k.scopes;
  }
  if (u.ip_allowlist) {
    k.ip_allowlist = *u.ip_allowlist;
    KEYWARD_RETURN_IF_ERROR(ValidateIpAllowlist(&k.ip_allowlist));
    changed["ip_allowlist"] = k.ip_allowlist;
  }
  if (u.referrer_allowlist) {
    k.referrer_allowlist = *u.referrer_allowlist;
    changed["referrer_allowlist"] = k.referrer_allowlist;
  }
  if (u.endpoint_allowlist) {
    k.endpoint_allowlist = *u.endpoint_allowlist;
    changed["endpoint_allowlist"] = k.endpoint_allowlist;
  }
  if (u.rate_limit) {
    k.rate_limit = *u.rate_limit;
    changed["rate_limit"] = RateLimitJson(k.rate_limit);
  }
  if (u.credits) {
    k.credits = *u.credits;
    if (k.credits) k.credits->set_at = options_.clock->Now();
    changed["credits"] = k.credits ? json{{"remaining", k.credits->remaining},
                                          {"refill", k.credits->refill.has_value()}}
                                   : json(nullptr);
  }
  if (u.meta_json) {
    k.meta_json = *u.meta_json;
    changed["meta"] = true;  // which fields changed, not their values: meta may be sensitive
  }
  if (u.enabled) {
    if (*u.enabled) {
      k.disabled_by.clear();
    } else if (!k.disabled || actor.managing_key == nullptr) {
      // The operator disabling a key makes it the operator's to enable,
      // even when a managing key had disabled it first.
      k.disabled_by = actor.id;
    }
    k.disabled = !*u.enabled;
    changed["enabled"] = *u.enabled;
  }
  if (u.expires_at) {
    k.expires_at = *u.expires_at;
    if (k.expires_at && *k.expires_at <= options_.clock->Now()) {
      return Status::InvalidRequest("expires_at must be in the future");
    }
    KEYWARD_RETURN_IF_ERROR(CheckMaxLifetime(options_.max_key_lifetime_days, k, k.expires_at));
    changed["expires_at"] = k.expires_at ? json(FormatRfc3339(*k.expires_at)) : json(nullptr);
  }
  KEYWARD_RETURN_IF_ERROR(ValidateKeyFields(k));
  // Which key, for the audit log and api_key.updated.
  changed["short_prefix"] = k.short_prefix;
  changed["environment"] = k.environment;
  auto ws = store_->GetWorkspace(k.workspace_id);
  if (!ws.ok()) return ws.status();
  if (caller != nullptr) {
    auto bound = DefaultRateLimit(*ws);
    if (!bound.ok()) return bound.status();
    KEYWARD_RETURN_IF_ERROR(CheckWithinCaller(*caller, k, *bound));
  }
  auto max_active = MaxActiveKeys(*ws);
  if (!max_active.ok()) return max_active.status();
  KEYWARD_RETURN_IF_ERROR(store_->UpdateKey(
      k, *max_active, options_.clock->Now(),
      MakeAudit(actor, "key.update", k.id, k.workspace_id, changed.dump()), stale));
  ++k.version;
  Notify(k);
  return key;
}

Result<ApiKey> KeyService::RevokeKey(std::string_view id, std::string reason, const Actor& actor) {
  if (reason.size() > 500 || HasControlChar(reason)) {
    return Status::InvalidRequest("reason must be at most 500 bytes with no control characters");
  }
  auto existing = store_->GetKey(id);
  if (!existing.ok()) return existing;
  if (existing->revoked_at) return existing;
  const json details = {{"short_prefix", existing->short_prefix},
                        {"environment", existing->environment},
                        {"reason", reason}};
  auto revoked = store_->RevokeKey(
      id, options_.clock->Now(), actor.id, reason,
      MakeAudit(actor, "key.revoke", existing->id, existing->workspace_id, details.dump()));
  if (revoked.ok()) Notify(*revoked);
  return revoked;
}

Result<CreatedKey> KeyService::RotateKey(std::string_view id, int64_t grace_seconds,
                                         std::optional<std::optional<Timestamp>> new_expires_at,
                                         const Actor& actor) {
  // A rotation made from a read that a change overtook is made again.
  return UntilNotStale(id, "rotation", [&](bool* stale) {
    return RotateKeyOnce(id, grace_seconds, new_expires_at, actor, stale);
  });
}

Result<CreatedKey> KeyService::RotateKeyOnce(std::string_view id, int64_t grace_seconds,
                                             std::optional<std::optional<Timestamp>> new_expires_at,
                                             const Actor& actor, bool* stale) {
  if (grace_seconds < 0 || grace_seconds > 30 * 86400) {
    return Status::InvalidRequest("grace_seconds must be between 0 and 2592000 (30 days)");
  }
  const Timestamp now = options_.clock->Now();
  if (new_expires_at && *new_expires_at && **new_expires_at <= now) {
    return Status::InvalidRequest("expires_at must be in the future");
  }
  auto old = store_->GetKey(id);
  if (!old.ok()) return old.status();
  if (old->revoked_at)
    return Status::KeyRevoked("API key " + old->id + " is revoked; create a new key instead");
  if (old->expires_at && *old->expires_at <= now) {
    return Status::Conflict("API key " + old->id +
                            " has expired; an expired key cannot be rotated, create a new key");
  }
  auto ws = store_->GetWorkspace(old->workspace_id);
  if (!ws.ok()) return ws.status();

  CreatedKey out;
  out.secret = options_.format->Generate(old->environment);
  ApiKey& k = out.record;
  k = *old;  // name, scopes, restrictions, rate limit, meta, disabled, expiry
  k.id = NewId("key");
  k.hash = Sha256(out.secret);
  ParsedKey parsed;
  (void)options_.format->Parse(out.secret, &parsed);
  k.short_prefix = std::string(parsed.short_prefix);
  k.created_at = now;
  k.created_by = actor.id;
  // Expiry is inherited, never escaped: the successor keeps its
  // predecessor's unless the caller sets another.
  if (new_expires_at) {
    if (actor.managing_key != nullptr && old->expires_at &&
        (!*new_expires_at || **new_expires_at > *old->expires_at)) {
      return Status::Forbidden("expires_at must be no later than " +
                               FormatRfc3339(*old->expires_at) + ", when API key " + old->id +
                               " expires: only a root key extends a key's life by rotating it");
    }
    k.expires_at = *new_expires_at;
  }
  // The replacement is a new key: the maximum lifetime counts from now.
  KEYWARD_RETURN_IF_ERROR(ApplyMaxLifetime(options_.max_key_lifetime_days, now,
                                           new_expires_at && *new_expires_at, &k.expires_at));
  if (actor.managing_key != nullptr) {
    auto bound = DefaultRateLimit(*ws);
    if (!bound.ok()) return bound.status();
    KEYWARD_RETURN_IF_ERROR(CheckWithinCaller(*actor.managing_key, k, *bound));
  }
  k.last_used_at.reset();
  k.rotated_from = old->id;
  k.lineage_id = old->lineage_id.empty() ? old->id : old->lineage_id;

  Timestamp old_expires = now + grace_seconds * kMillisPerSecond;
  if (old->expires_at && *old->expires_at < old_expires) old_expires = *old->expires_at;
  const json details = {{"old_short_prefix", old->short_prefix},
                        {"environment", old->environment},
                        {"new_key_id", k.id},
                        {"new_short_prefix", k.short_prefix},
                        {"grace_seconds", grace_seconds}};
  auto max_active = MaxActiveKeys(*ws);
  if (!max_active.ok()) return max_active.status();
  Status rotated = store_->RotateKey(
      k, old->id, old_expires, *max_active, now,
      MakeAudit(actor, "key.rotate", old->id, old->workspace_id, details.dump()), stale);
  if (rotated.code() == Code::kKeyLimitReached) RaiseKeyLimitReached(*ws, *max_active, actor);
  KEYWARD_RETURN_IF_ERROR(rotated);
  k.version = 0;  // the new key's own, as stored
  old->expires_at = old_expires;
  Notify(*old);
  Notify(k);
  return out;
}

void KeyService::RaiseKeyLimitReached(const Workspace& ws, int64_t max_active, const Actor& actor) {
  // Once a day per workspace: a customer retrying at the limit is one
  // piece of news, not one per click. Best effort: the refusal stands
  // whether or not the event could be stored.
  const Timestamp now = options_.clock->Now();
  const json data = {{"workspace_id", ws.id}, {"max_active_keys", max_active}, {"actor", actor.id}};
  (void)store_->InsertWebhookEvents({MakeWebhookEvent(
      "workspace.key_limit_reached", ws.id, now, data.dump(),
      "workspace.key_limit_reached:" + ws.id + ":" + std::to_string(now / 86'400'000))});
}

// ---- Root keys ----

Result<CreatedRootKey> KeyService::CreateRootKey(std::string name, const Actor& actor) {
  return MakeRootKey(std::move(name), actor, /*first=*/false);
}

Result<CreatedRootKey> KeyService::MakeRootKey(std::string name, const Actor& actor, bool first) {
  KEYWARD_RETURN_IF_ERROR(ValidateName(name));
  if (auto prefix = FindKeyIn(name)) {
    return Status::InvalidRequest("the name holds a key (" + *prefix +
                                  "…); keys are secrets and are never stored in names");
  }
  CreatedRootKey out;
  out.secret = root_format_.Generate("root");
  RootKey& r = out.record;
  r.id = NewId("rk");
  r.hash = Sha256(out.secret);
  ParsedKey parsed;
  (void)root_format_.Parse(out.secret, &parsed);
  r.short_prefix = std::string(parsed.short_prefix);
  r.name = std::move(name);
  r.created_at = options_.clock->Now();
  r.created_by = actor.id;
  const json details = {{"name", r.name}, {"short_prefix", r.short_prefix}};
  const AuditEntry audit = MakeAudit(actor, "root_key.create", r.id, "", details.dump());
  KEYWARD_RETURN_IF_ERROR(first ? store_->InsertFirstRootKey(r, audit)
                                : store_->InsertRootKey(r, audit));
  return out;
}

Result<RootKey> KeyService::RevokeRootKey(std::string_view id, const Actor& actor) {
  const json details = json::object();
  auto revoked = store_->RevokeRootKey(
      id, options_.clock->Now(),
      MakeAudit(actor, "root_key.revoke", std::string(id), "", details.dump()));
  if (revoked.ok()) {
    MutexLock lock(&root_mu_);
    root_cache_.erase(revoked->hash);
  }
  return revoked;
}

std::optional<std::string> KeyService::FindKeyIn(std::string_view text) const {
  if (auto found = options_.format->FindKeyIn(text)) return found;
  return root_format_.FindKeyIn(text);
}

Result<RootKey> KeyService::AuthenticateRootKey(std::string_view secret) {
  if (root_format_.Parse(secret, nullptr) != KeyParseError::kNone) {
    return Status(Code::kUnauthorized, "the root key is malformed; check it for a typo");
  }
  const KeyHash hash = Sha256(secret);
  // Freshness is a duration: on the monotonic clock, which setting the wall
  // clock neither stretches nor cuts.
  const Timestamp now = options_.clock->Monotonic();
  {
    MutexLock lock(&root_mu_);
    auto it = root_cache_.find(hash);
    if (it != root_cache_.end() && now - it->second.read_at < kRootKeyFreshMillis) {
      return it->second.key;
    }
  }
  // Unknown and revoked answer alike: a guess learns nothing.
  auto key = store_->FindRootKeyByHash(hash);
  MutexLock lock(&root_mu_);
  if (!key.ok() && !key.status().IsNotFound()) {
    // The store cannot answer: a root key this node accepted before keeps
    // working (verification goes on from the cache), an unseen one cannot.
    auto it = root_cache_.find(hash);
    if (it != root_cache_.end()) return it->second.key;
    return key;
  }
  if (!key.ok() || key->revoked_at) {
    root_cache_.erase(hash);
    return Status(Code::kUnauthorized, "the root key is not valid");
  }
  // Root keys are few; a bound keeps guessed-but-valid floods harmless.
  if (root_cache_.size() >= 1024) root_cache_.clear();
  root_cache_[hash] = CachedRootKey{*key, now};
  return key;
}

Result<std::optional<CreatedRootKey>> KeyService::EnsureRootKey(const Actor& actor) {
  auto keys = store_->ListRootKeys();
  if (!keys.ok()) return keys.status();
  if (!keys->empty()) return std::optional<CreatedRootKey>();
  auto created = MakeRootKey("initial", actor, /*first=*/true);
  if (created.status().code() == Code::kConflict) return std::optional<CreatedRootKey>();
  if (!created.ok()) return created.status();
  return std::optional<CreatedRootKey>(std::move(*created));
}

// ---- Resolver ----

Result<KeyRef> StoreKeyResolver::Resolve(const KeyHash& hash) {
  auto key = store_->FindKeyByHash(hash);
  if (key.status().IsNotFound()) return KeyRef();
  if (!key.ok()) return key.status();
  return VerifiableKey::Compile(std::move(*key));
}

}  // namespace keyward
