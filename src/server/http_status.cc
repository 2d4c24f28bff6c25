#include "server/http_status.h"

namespace keyward {

int HttpStatusFor(Code code) {
  switch (code) {
    case Code::kOk:
    case Code::kValid:
      return 200;
    case Code::kMissing:
    case Code::kMalformed:
    case Code::kInvalid:
    case Code::kRevoked:
    case Code::kExpired:
    case Code::kDisabled:
    case Code::kWrongEnvironment:
    case Code::kUnauthorized:
    case Code::kSessionExpired:
      return 401;
    case Code::kIpNotAllowed:
    case Code::kReferrerNotAllowed:
    case Code::kEndpointNotAllowed:
    case Code::kInsufficientScope:
    case Code::kForbidden:
      return 403;
    case Code::kRateLimited:
    case Code::kQuotaExceeded:
      return 429;
    case Code::kInvalidJson:
    case Code::kInvalidRequest:
      return 400;
    case Code::kNotFound:
      return 404;
    case Code::kMethodNotAllowed:
      return 405;
    case Code::kConflict:
    case Code::kKeyLimitReached:
    case Code::kKeyRevoked:
      return 409;
    case Code::kPayloadTooLarge:
      return 413;
    case Code::kUnsupportedMediaType:
      return 415;
    case Code::kUnprocessable:
      return 422;
    case Code::kInternal:
      return 500;
    case Code::kStorageFull:
    case Code::kUnavailable:
      return 503;
  }
  return 500;
}

}  // namespace keyward
