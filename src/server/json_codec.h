// JSON in and out of the HTTP API: strict reading of request bodies (unknown
// fields, wrong types and ranges answer invalid_request naming the field),
// and the wire shape of every object.
// Thread-safe: pure functions; a FieldReader is used by one request.
#ifndef KEYWARD_SERVER_JSON_CODEC_H_
#define KEYWARD_SERVER_JSON_CODEC_H_

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/credits.h"
#include "core/model.h"
#include "core/status.h"

namespace keyward {

using Json = nlohmann::json;

inline constexpr int kMaxJsonDepth = 32;

// Parses a request body that must be a JSON object. An empty body reads as
// {} when allow_empty. Refuses nesting deeper than kMaxJsonDepth before
// parsing, so hostile input cannot exhaust the stack.
Result<Json> ParseJsonObject(std::string_view body, bool allow_empty);

// Serialises, replacing invalid UTF-8 rather than throwing.
std::string Dump(const Json& j);

// Reads the fields of one request object.
class FieldReader {
 public:
  explicit FieldReader(const Json& object) : obj_(object) {}

  // InvalidRequest naming the first field not in allowed.
  Status OnlyFields(std::initializer_list<std::string_view> allowed) const;

  Status String(const char* name, std::optional<std::string>* out) const;
  Status RequiredString(const char* name, std::string* out) const;
  Status StringList(const char* name, std::optional<std::vector<std::string>>* out) const;
  Status Int(const char* name, int64_t min, int64_t max, std::optional<int64_t>* out) const;
  // Absent: out unset. null: out set to nullopt.
  Status NullableInt(const char* name, int64_t min, int64_t max,
                     std::optional<std::optional<int64_t>>* out) const;
  Status NullableTime(const char* name, std::optional<std::optional<Timestamp>>* out) const;
  Status Bool(const char* name, std::optional<bool>* out) const;
  Status NullableRateLimit(const char* name, std::optional<std::optional<RateLimit>>* out) const;
  // {"remaining": n, "refill": {"amount": n, "interval": "daily"|"monthly", "day": d} | null}
  // or null.
  Status NullableKeyCredits(const char* name, std::optional<std::optional<KeyCredits>>* out) const;
  // A string, or null for "" (no plan).
  Status NullablePlanId(const char* name, std::optional<std::string>* out) const;
  // {"METHOD /path": cost, …}
  Status CostRules(const char* name, std::optional<std::vector<CostRule>>* out) const;
  // A JSON object, returned serialised.
  Status Object(const char* name, std::optional<std::string>* out) const;

 private:
  const Json* Find(const char* name) const;
  const Json& obj_;
};

// Wire shapes.
Json TimeOrNull(const std::optional<Timestamp>& t);
Json RateLimitJson(const std::optional<RateLimit>& r);
Json CostRulesJson(const std::vector<CostRule>& rules);  // {"METHOD /path": cost, …}
Json PlanJson(const Plan& plan);
// {"limit", "remaining", "reset"} of a credit balance; reset null when it never resets.
Json CreditStateJson(const CreditState& s);
// counts: valid verifications over the last 24 h and 30 days (0 when null).
// credits: what the key's own credits have left (routes/credits_view.cc);
// shown with its refill when the key has credits. rotate_after_days: the
// rotation policy in force for its workspace (KeyService::RotateAfterDays),
// which rotation_due is reckoned by.
Json KeyJson(const ApiKey& key, Timestamp now, const RequestCounts* counts,
             const std::optional<CreditState>& credits,
             const std::optional<int64_t>& rotate_after_days);
Json WorkspaceJson(const Workspace& ws, int64_t limit_in_force, int64_t active_keys);
Json AuditJson(const AuditEntry& e);
Json RootKeyJson(const RootKey& k);
// {"error": code, "message": message}
std::string ErrorBody(Code code, std::string_view message);

}  // namespace keyward

#endif  // KEYWARD_SERVER_JSON_CODEC_H_
