// KeyService::ReportLeaks (core/leaks.h): reported strings checked as keys
// of this deployment, and the keys found revoked or reported.
#include <nlohmann/json.hpp>
#include <set>

#include "core/key_service.h"
#include "core/redact.h"
#include "core/sha256.h"

namespace keyward {

using nlohmann::json;

namespace {

Status CheckLeakField(const std::string& value, const char* field) {
  if (value.size() > kMaxLeakFieldBytes) {
    return Status::InvalidRequest(std::string(field) + " must be at most " +
                                  std::to_string(kMaxLeakFieldBytes) + " bytes");
  }
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) {
      return Status::InvalidRequest(std::string(field) + " must have no control characters");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<LeakResult>> KeyService::ReportLeaks(const std::vector<std::string>& keys,
                                                        const LeakReport& report,
                                                        const Actor& actor) {
  if (keys.empty()) return Status::InvalidRequest("keys must list at least one key");
  if (keys.size() > kMaxLeakReportKeys) {
    return Status::InvalidRequest("keys must list at most " + std::to_string(kMaxLeakReportKeys) +
                                  " keys per report");
  }
  KEYWARD_RETURN_IF_ERROR(CheckLeakField(report.source, "source"));
  KEYWARD_RETURN_IF_ERROR(CheckLeakField(report.url, "url"));
  // Where a key was found may quote the key itself (a paste's URL): what is
  // kept of it is cut to short prefixes.
  const std::string source = RedactSecrets(report.source);
  const std::string url = RedactSecrets(report.url);

  std::vector<LeakResult> out;
  out.reserve(keys.size());
  std::set<std::string> acted;  // key ids already acted on in this report
  for (const std::string& text : keys) {
    LeakResult r;
    r.action = "none";
    ParsedKey parsed;
    if (text.size() > 1024 || options_.format->Parse(text, &parsed) != KeyParseError::kNone) {
      r.reason = "not_a_key";
      out.push_back(std::move(r));
      continue;
    }
    r.short_prefix = std::string(parsed.short_prefix);
    auto key = store_->FindKeyByHash(Sha256(text));
    if (!key.ok()) {
      if (key.status().code() != Code::kNotFound) return key.status();
      r.reason = "unknown_key";
      out.push_back(std::move(r));
      continue;
    }
    r.true_positive = true;
    r.key_id = key->id;
    r.short_prefix = key->short_prefix;
    const Timestamp now = options_.clock->Now();
    if (key->revoked_at) {
      r.reason = "already_revoked";
    } else if (key->expires_at && *key->expires_at <= now) {
      r.reason = "expired";
    } else if (!acted.insert(key->id).second) {
      r.reason = report.policy == LeakPolicy::kRevoke ? "already_revoked" : "already_reported";
    } else if (report.policy == LeakPolicy::kRevoke) {
      const json details = {{"short_prefix", key->short_prefix},
                            {"environment", key->environment},
                            {"reason", "leaked"},
                            {"leak", {{"source", source}, {"url", url}}}};
      auto revoked = store_->RevokeKey(
          key->id, now, actor.id, "leaked",
          MakeAudit(actor, "key.revoke", key->id, key->workspace_id, details.dump()));
      if (!revoked.ok()) return revoked.status();
      Notify(*revoked);
      // A revocation that raced this one answered first: then it was not ours.
      if (revoked->revoked_at == now && revoked->revoked_reason == "leaked") {
        r.action = "revoked";
      } else {
        r.reason = "already_revoked";
      }
    } else {
      AuditFilter f;
      f.target = key->id;
      f.action = "key.leak_report";
      auto earlier = store_->ListAudit(f, {"", 1});
      if (!earlier.ok()) return earlier.status();
      if (!earlier->items.empty()) {
        r.reason = "already_reported";
      } else {
        const json details = {{"short_prefix", key->short_prefix},
                              {"environment", key->environment},
                              {"source", source},
                              {"url", url},
                              {"action", "notified"}};
        KEYWARD_RETURN_IF_ERROR(store_->AppendAudit(
            MakeAudit(actor, "key.leak_report", key->id, key->workspace_id, details.dump())));
        r.action = "notified";
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace keyward
