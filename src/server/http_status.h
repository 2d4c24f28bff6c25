// The one mapping from keyward's Code to an HTTP status.
// Thread-safe: pure function.
#ifndef KEYWARD_SERVER_HTTP_STATUS_H_
#define KEYWARD_SERVER_HTTP_STATUS_H_

#include "core/code.h"

namespace keyward {

// 401 for the credential codes, 403 for the restriction codes, 429 for
// limits, and the fitting status for each API error.
int HttpStatusFor(Code code);

}  // namespace keyward

#endif  // KEYWARD_SERVER_HTTP_STATUS_H_
