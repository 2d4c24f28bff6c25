// Keeps secrets out of text that echoes what a client sent (error messages,
// log fields): every run of 32 or more base62 characters, the random part of
// any key keyward issues (40) or a secret's likely shape elsewhere, is cut
// to its first 12 characters and "…". A key "sk_live_<40>" so becomes its
// short prefix and "…", which is all that may ever be shown of it.
// Keys of legacy formats (core/legacy_format.h), which may be shorter, are
// cut too once their formats are registered with RedactLegacyKeys.
// Thread-safe: every function, from any thread.
#ifndef KEYWARD_CORE_REDACT_H_
#define KEYWARD_CORE_REDACT_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/legacy_format.h"

namespace keyward {

inline constexpr size_t kRedactMinRun = 32;

std::string RedactSecrets(std::string_view text);

// Whether RedactSecrets would change text.
bool HasSecretShape(std::string_view text);

// From now on, RedactSecrets also cuts every key of these shapes, in this
// process, to its short prefix. Shapes add up (a process may hold more than
// one deployment, in tests) and are never forgotten: redacting more is safe.
void RedactLegacyKeys(const std::vector<LegacyFormat>& formats);

}  // namespace keyward

#endif  // KEYWARD_CORE_REDACT_H_
