#include "server/json_codec.h"

#include <algorithm>

#include "core/redact.h"
#include "core/rotation_policy.h"
#include "core/time_format.h"

namespace keyward {

namespace {

// Whether j, a string or any string or member name inside it, holds a NUL.
// Bounded by kMaxJsonDepth, checked before.
bool HoldsNul(const Json& j) {
  if (j.is_string()) return j.get_ref<const std::string&>().find('\0') != std::string::npos;
  if (j.is_array()) return std::any_of(j.begin(), j.end(), HoldsNul);
  if (!j.is_object()) return false;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key().find('\0') != std::string::npos || HoldsNul(it.value())) return true;
  }
  return false;
}

// The request's own field names are short words; anything else is not echoed.
std::string FieldName(const std::string& name) {
  const bool plain = !name.empty() && name.size() <= 64 &&
                     std::all_of(name.begin(), name.end(),
                                 [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
  return plain ? name : "a field";
}

}  // namespace

Result<Json> ParseJsonObject(std::string_view body, bool allow_empty) {
  size_t start = body.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) {
    if (allow_empty) return Json::object();
    return Status(Code::kInvalidJson, "the request body must be a JSON object");
  }
  // Depth check over brackets outside strings.
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) {
        return Status(Code::kInvalidJson, "the request body nests deeper than " +
                                              std::to_string(kMaxJsonDepth) + " levels");
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  // JSON text never holds a raw NUL (inside strings it must be escaped), and
  // the parser would take one for the end of the input, accepting whatever
  // follows it unread.
  if (body.find('\0') != std::string_view::npos) {
    return Status(Code::kInvalidJson, "the request body is not valid JSON: it contains a NUL byte");
  }
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Status(Code::kInvalidJson, "the request body is not valid JSON (UTF-8)");
  }
  if (!j.is_object()) return Status(Code::kInvalidJson, "the request body must be a JSON object");
  // Nor may it hold one escaped (\u0000), in a value or a member's name:
  // stored, it would cut a name short in C and in logs, and PostgreSQL
  // refuses it in text and JSONB.
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key().find('\0') != std::string::npos || HoldsNul(it.value())) {
      return Status::InvalidRequest(FieldName(it.key()) +
                                    " holds a NUL character (\\u0000), which no field may hold");
    }
  }
  return j;
}

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

namespace {

Status FieldError(const char* name, const std::string& what) {
  return Status::InvalidRequest(std::string(name) + " " + what);
}

}  // namespace

Status FieldReader::OnlyFields(std::initializer_list<std::string_view> allowed) const {
  for (auto it = obj_.begin(); it != obj_.end(); ++it) {
    bool ok = false;
    for (auto a : allowed) ok = ok || a == it.key();
    if (!ok) {
      std::string list;
      for (auto a : allowed) {
        if (!list.empty()) list += ", ";
        list += a;
      }
      return Status::InvalidRequest("unknown field \"" + it.key() + "\"; expected: " + list);
    }
  }
  return Status::Ok();
}

const Json* FieldReader::Find(const char* name) const {
  auto it = obj_.find(name);
  return it == obj_.end() ? nullptr : &*it;
}

Status FieldReader::String(const char* name, std::optional<std::string>* out) const {
  const Json* v = Find(name);
  if (!v) return Status::Ok();
  if (!v->is_string()) return FieldError(name, "must be a string");
  *out = v->get<std::string>();
  return Status::Ok();
}

Status FieldReader::RequiredString(const char* name, std::string* out) const {
  std::optional<std::string> v;
  KEYWARD_RETURN_IF_ERROR(String(name, &v));
  if (!v) return FieldError(name, "is required");
  *out = std::move(*v);
  return Status::Ok();
}

Status FieldReader::StringList(const char* name,
                               std::optional<std::vector<std::string>>* out) const {
  const Json* v = Find(name);
  if (!v) return Status::Ok();
  if (!v->is_array()) return FieldError(name, "must be an array of strings");
  std::vector<std::string> list;
  for (const auto& e : *v) {
    if (!e.is_string()) return FieldError(name, "must be an array of strings");
    list.push_back(e.get<std::string>());
  }
  *out = std::move(list);
  return Status::Ok();
}

Status FieldReader::Int(const char* name, int64_t min, int64_t max,
                        std::optional<int64_t>* out) const {
  const Json* v = Find(name);
  if (!v) return Status::Ok();
  if (!v->is_number_integer()) return FieldError(name, "must be an integer");
  int64_t n;
  if (v->is_number_unsigned()) {
    const uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(max)) {
      return FieldError(name,
                        "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    n = static_cast<int64_t>(u);
  } else {
    n = v->get<int64_t>();
  }
  if (n < min || n > max) {
    return FieldError(name,
                      "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  *out = n;
  return Status::Ok();
}

Status FieldReader::NullableInt(const char* name, int64_t min, int64_t max,
                                std::optional<std::optional<int64_t>>* out) const {
  const Json* v = Find(name);
  if (!v) return Status::Ok();
  if (v->is_null()) {
    *out = std::optional<int64_t>();
    return Status::Ok();
  }
  std::optional<int64_t> n;
  KEYWARD_RETURN_IF_ERROR(Int(name, min, max, &n));
  *out = n;
  return Status::Ok();
}

Status FieldReader::NullableTime(const char* name,
                                 std::optional<std::optional<Timestamp>>* out) const {
  const Json* v = Find(name);
  if (!v) return Status::Ok();
  if (v->is_null()) {
    *out = std::optional<Timestamp>();
    return Status::Ok();
  }
  if (!v->is_string())
    return FieldError(name, "must be an RFC 3339 time like 2026-01-31T00:00:00Z");
  auto t = ParseRfc3339(v->get<std::string>());
  if (!t) return FieldError(name, "must be an RFC 3339 time like 2026-01-31T00:00:00Z");
  *out = t;
  return Status::Ok();
}

Status FieldReader::Bool(const char* name, std::optional<bool>* out) const {
  const Json* v = Find(name);
  if (!v) return Status::Ok();
  if (!v->is_boolean()) return FieldError(name, "must be true or false");
  *out = v->get<bool>();
  return Status::Ok();
}

Status FieldReader::NullableRateLimit(const char* name,
                                      std::optional<std::optional<RateLimit>>* out) const {
  const Json* v = Find(name);
  if (!v) return Status::Ok();
  if (v->is_null()) {
    *out = std::optional<RateLimit>();
    return Status::Ok();
  }
  if (!v->is_object())
    return FieldError(name, "must be {\"limit\": n, \"period_seconds\": s} or null");
  FieldReader inner(*v);
  KEYWARD_RETURN_IF_ERROR(inner.OnlyFields({"limit", "period_seconds"}));
  std::optional<int64_t> limit, period;
  KEYWARD_RETURN_IF_ERROR(inner.Int("limit", 1, 1'000'000'000, &limit));
  KEYWARD_RETURN_IF_ERROR(inner.Int("period_seconds", 1, 31 * 86400, &period));
  if (!limit || !period) return FieldError(name, "needs both limit and period_seconds");
  *out = RateLimit{*limit, *period};
  return Status::Ok();
}

Status FieldReader::NullableKeyCredits(const char* name,
                                       std::optional<std::optional<KeyCredits>>* out) const {
  const Json* v = Find(name);
  if (!v) return Status::Ok();
  if (v->is_null()) {
    *out = std::optional<KeyCredits>();
    return Status::Ok();
  }
  constexpr const char* kShape =
      "must be {\"remaining\": n, \"refill\": {\"amount\": n, \"interval\": "
      "\"daily\"|\"monthly\", \"day\": d}} or null";
  if (!v->is_object()) return FieldError(name, kShape);
  FieldReader inner(*v);
  KEYWARD_RETURN_IF_ERROR(inner.OnlyFields({"remaining", "refill"}));
  std::optional<int64_t> remaining;
  KEYWARD_RETURN_IF_ERROR(inner.Int("remaining", 0, 1'000'000'000'000, &remaining));
  if (!remaining) return FieldError(name, "needs remaining (" + std::string(kShape) + ")");
  KeyCredits c;
  c.remaining = *remaining;
  const Json* refill = inner.Find("refill");
  if (refill != nullptr && !refill->is_null()) {
    if (!refill->is_object()) return FieldError(name, kShape);
    FieldReader r(*refill);
    KEYWARD_RETURN_IF_ERROR(r.OnlyFields({"amount", "interval", "day"}));
    std::optional<int64_t> amount, day;
    std::optional<std::string> interval;
    KEYWARD_RETURN_IF_ERROR(r.Int("amount", 1, 1'000'000'000'000, &amount));
    KEYWARD_RETURN_IF_ERROR(r.String("interval", &interval));
    KEYWARD_RETURN_IF_ERROR(r.Int("day", 1, 31, &day));
    if (!amount || !interval) {
      return FieldError(name, "refill needs amount and interval (\"daily\" or \"monthly\")");
    }
    KeyCredits::Refill f;
    f.amount = *amount;
    if (*interval == "daily") {
      f.interval = KeyCredits::Interval::kDaily;
      if (day) return FieldError(name, "refill.day applies to a monthly refill only");
    } else if (*interval == "monthly") {
      f.interval = KeyCredits::Interval::kMonthly;
      f.day = static_cast<int>(day.value_or(1));
    } else {
      return FieldError(name, "refill.interval must be \"daily\" or \"monthly\"");
    }
    c.refill = f;
  }
  *out = c;
  return Status::Ok();
}

Status FieldReader::NullablePlanId(const char* name, std::optional<std::string>* out) const {
  const Json* v = Find(name);
  if (!v) return Status::Ok();
  if (v->is_null()) {
    *out = std::string();
    return Status::Ok();
  }
  if (!v->is_string() || v->get<std::string>().empty()) {
    return FieldError(name, "must be a plan id (\"plan_…\") or null for none");
  }
  *out = v->get<std::string>();
  return Status::Ok();
}

Status FieldReader::CostRules(const char* name, std::optional<std::vector<CostRule>>* out) const {
  const Json* v = Find(name);
  if (!v) return Status::Ok();
  if (!v->is_object()) {
    return FieldError(name,
                      "must be an object of \"METHOD /path\": cost, like "
                      "{\"GET /v1/search\": 5}");
  }
  std::vector<CostRule> rules;
  for (const auto& [endpoint, cost] : v->items()) {
    if (!cost.is_number_integer()) {
      return FieldError(name, "the cost of \"" + endpoint + "\" must be an integer");
    }
    rules.push_back({endpoint, cost.get<int64_t>()});
  }
  *out = std::move(rules);
  return Status::Ok();
}

Status FieldReader::Object(const char* name, std::optional<std::string>* out) const {
  const Json* v = Find(name);
  if (!v) return Status::Ok();
  if (!v->is_object()) return FieldError(name, "must be a JSON object");
  *out = Dump(*v);
  return Status::Ok();
}

Json CostRulesJson(const std::vector<CostRule>& rules) {
  Json out = Json::object();
  for (const auto& r : rules) out[r.endpoint] = r.cost;
  return out;
}

Json PlanJson(const Plan& p) {
  return {{"id", p.id},
          {"name", p.name},
          {"monthly_credits", p.monthly_credits ? Json(*p.monthly_credits) : Json(nullptr)},
          {"rate_limit", RateLimitJson(p.rate_limit)},
          {"max_active_keys", p.max_active_keys ? Json(*p.max_active_keys) : Json(nullptr)},
          {"costs", CostRulesJson(p.cost_rules)},
          {"source", p.from_config ? "config" : "api"},
          {"created_at", FormatRfc3339(p.created_at)},
          {"updated_at", FormatRfc3339(p.updated_at)}};
}

Json CreditStateJson(const CreditState& s) {
  return {{"limit", s.limit},
          {"remaining", s.remaining},
          {"reset", s.reset > 0 ? Json(FormatRfc3339(s.reset)) : Json(nullptr)}};
}

Json TimeOrNull(const std::optional<Timestamp>& t) {
  return t ? Json(FormatRfc3339(*t)) : Json(nullptr);
}

Json RateLimitJson(const std::optional<RateLimit>& r) {
  if (!r) return nullptr;
  return {{"limit", r->limit}, {"period_seconds", r->period_seconds}};
}

Json KeyJson(const ApiKey& k, Timestamp now, const RequestCounts* counts,
             const std::optional<CreditState>& credits,
             const std::optional<int64_t>& rotate_after_days) {
  Json meta = Json::parse(k.meta_json, nullptr, false);
  if (!meta.is_object()) meta = Json::object();
  Json credits_json = nullptr;
  if (k.credits) {
    credits_json = credits ? CreditStateJson(*credits) : Json::object();
    Json refill = nullptr;
    if (const auto& r = k.credits->refill) {
      const bool daily = r->interval == KeyCredits::Interval::kDaily;
      refill = {{"amount", r->amount}, {"interval", daily ? "daily" : "monthly"}};
      if (!daily) refill["day"] = r->day;
    }
    credits_json["refill"] = std::move(refill);
  }
  return {
      {"id", k.id},
      {"short_prefix", k.short_prefix},
      {"workspace_id", k.workspace_id},
      {"environment", k.environment},
      {"name", k.name},
      {"status", KeyStatusName(k.StatusAt(now))},
      {"rotation_due", IsRotationDue(k, rotate_after_days, now)},
      {"enabled", !k.disabled},
      {"scopes", k.scopes},
      {"ip_allowlist", k.ip_allowlist},
      {"referrer_allowlist", k.referrer_allowlist},
      {"endpoint_allowlist", k.endpoint_allowlist},
      {"rate_limit", RateLimitJson(k.rate_limit)},
      {"credits", std::move(credits_json)},
      {"meta", std::move(meta)},
      {"created_at", FormatRfc3339(k.created_at)},
      {"created_by", k.created_by},
      {"expires_at", TimeOrNull(k.expires_at)},
      {"last_used_at", TimeOrNull(k.last_used_at)},
      {"revoked_at", TimeOrNull(k.revoked_at)},
      {"revoked_reason", k.revoked_at ? Json(k.revoked_reason) : Json(nullptr)},
      {"rotated_from", k.rotated_from.empty() ? Json(nullptr) : Json(k.rotated_from)},
      {"requests_24h", counts ? counts->last_24h : 0},
      {"requests_30d", counts ? counts->last_30d : 0},
  };
}

Json WorkspaceJson(const Workspace& ws, int64_t limit_in_force, int64_t active_keys) {
  return {
      {"id", ws.id},
      {"name", ws.name},
      {"max_active_keys", limit_in_force},
      {"max_active_keys_override", ws.max_active_keys ? Json(*ws.max_active_keys) : Json(nullptr)},
      {"active_keys", active_keys},
      {"created_at", FormatRfc3339(ws.created_at)},
  };
}

Json AuditJson(const AuditEntry& e) {
  Json details = Json::parse(e.details_json, nullptr, false);
  if (details.is_discarded()) details = Json::object();
  return {
      {"id", e.id},
      {"at", FormatRfc3339(e.at)},
      {"actor", e.actor},
      {"action", e.action},
      {"target", e.target},
      {"workspace_id", e.workspace_id.empty() ? Json(nullptr) : Json(e.workspace_id)},
      {"ip", e.ip.empty() ? Json(nullptr) : Json(e.ip)},
      {"details", std::move(details)},
  };
}

Json RootKeyJson(const RootKey& k) {
  return {
      {"id", k.id},
      {"short_prefix", k.short_prefix},
      {"name", k.name},
      {"created_at", FormatRfc3339(k.created_at)},
      {"created_by", k.created_by},
      {"revoked_at", TimeOrNull(k.revoked_at)},
  };
}

std::string ErrorBody(Code code, std::string_view message) {
  // Messages quote what the client sent; a secret in it is cut to its short
  // prefix, so no error body carries one.
  return Dump(Json{{"error", CodeName(code)}, {"message", RedactSecrets(message)}});
}

}  // namespace keyward
