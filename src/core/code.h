// keyward's one protocol-neutral code: every verification answer and every
// API error carries exactly one of these. Their names are the machine-readable
// strings clients see ("revoked", "key_limit_reached"); the mapping to HTTP
// status lives in exactly one place, server/http_status.cc.
// Thread-safe: plain values.
#ifndef KEYWARD_CORE_CODE_H_
#define KEYWARD_CORE_CODE_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace keyward {

enum class Code : uint8_t {
  kOk,
  // Verification answers, in the order the verifier checks them.
  kValid,
  kMissing,
  kMalformed,
  kInvalid,
  kRevoked,
  kExpired,
  kDisabled,
  kWrongEnvironment,
  kIpNotAllowed,
  kReferrerNotAllowed,
  kEndpointNotAllowed,
  kInsufficientScope,
  kRateLimited,
  kQuotaExceeded,
  // API errors.
  kUnauthorized,
  kInvalidJson,
  kInvalidRequest,
  kNotFound,
  kMethodNotAllowed,
  kConflict,
  kKeyLimitReached,
  kKeyRevoked,
  kPayloadTooLarge,
  kUnsupportedMediaType,
  kUnprocessable,
  // A managing key asked for more than it holds itself (a wider allow-list,
  // a later expiry, a higher rate limit, its own restrictions changed).
  kForbidden,
  // A browser session (portal or console) that expired or was ended.
  kSessionExpired,
  kInternal,
  // Storage has no space left: changes are refused, revocations still work.
  kStorageFull,
  // Storage cannot be used (unreachable, read-only, an I/O error, deleted,
  // unreadable); the wire name is "storage_unavailable".
  kUnavailable,
};

inline constexpr int kCodeCount = static_cast<int>(Code::kUnavailable) + 1;

// The wire name of a code: "valid", "wrong_environment", "key_limit_reached".
std::string_view CodeName(Code code);

// The code for a wire name; nullopt when the name is unknown.
std::optional<Code> CodeFromName(std::string_view name);

// True for the codes a verification may answer (kValid .. kQuotaExceeded).
constexpr bool IsVerifyCode(Code code) {
  return code >= Code::kValid && code <= Code::kQuotaExceeded;
}

}  // namespace keyward

#endif  // KEYWARD_CORE_CODE_H_
