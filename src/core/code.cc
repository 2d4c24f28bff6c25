#include "core/code.h"

#include <array>

namespace keyward {
namespace {

constexpr std::array<std::string_view, kCodeCount> kNames = {
    "ok",
    "valid",
    "missing",
    "malformed",
    "invalid",
    "revoked",
    "expired",
    "disabled",
    "wrong_environment",
    "ip_not_allowed",
    "referrer_not_allowed",
    "endpoint_not_allowed",
    "insufficient_scope",
    "rate_limited",
    "quota_exceeded",
    "unauthorized",
    "invalid_json",
    "invalid_request",
    "not_found",
    "method_not_allowed",
    "conflict",
    "key_limit_reached",
    "key_revoked",
    "payload_too_large",
    "unsupported_media_type",
    "unprocessable",
    "forbidden",
    "session_expired",
    "internal",
    "storage_full",
    "storage_unavailable",
};

}  // namespace

std::string_view CodeName(Code code) { return kNames[static_cast<size_t>(code)]; }

std::optional<Code> CodeFromName(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<Code>(i);
  }
  return std::nullopt;
}

}  // namespace keyward
