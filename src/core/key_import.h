// Importing keys made elsewhere (KeyService::ImportKeys): what a row of an
// import says, and what became of it. A row names its key by the SHA-256
// of the key (as the operator's old system stored it) or by the key itself,
// which is hashed on arrival and then forgotten: never stored, logged or
// answered. An import is idempotent by hash.
// Thread-safe: plain values.
#ifndef KEYWARD_CORE_KEY_IMPORT_H_
#define KEYWARD_CORE_KEY_IMPORT_H_

#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace keyward {

inline constexpr size_t kMaxImportBatch = 1000;

// A key's hash as an import gives it: {algorithm, encoding, value}.
struct ImportHash {
  std::string algorithm;  // "sha256"
  std::string encoding;   // "hex" or "base64" (standard or URL-safe, padding optional)
  std::string value;
};

struct KeyImportRow {
  std::optional<std::string> id;  // keep this id ("key_…"); unset: a new one
  std::string workspace_id;
  std::string environment;
  // Exactly one of the two.
  std::optional<ImportHash> hash;
  std::optional<std::string> key;  // the plaintext: hashed, then forgotten
  std::optional<std::string> short_prefix;
  std::optional<std::string> name;
  std::vector<std::string> scopes;
  std::vector<std::string> ip_allowlist;
  std::vector<std::string> referrer_allowlist;
  std::vector<std::string> endpoint_allowlist;
  std::optional<RateLimit> rate_limit;
  std::string meta_json = "{}";
  std::optional<Timestamp> created_at;
  std::optional<Timestamp> expires_at;
  std::optional<Timestamp> last_used_at;
  std::optional<Timestamp> revoked_at;  // imported as revoked, for good
  bool disabled = false;
  // Set when the row could not even be read (a field of the wrong type):
  // it is rejected with this, and nothing else about it is looked at.
  std::optional<Status> unreadable;
};

enum class ImportRowStatus { kImported, kUnchanged, kRejected };
std::string_view ImportRowStatusName(ImportRowStatus s);

struct KeyImportRowResult {
  size_t index = 0;  // the row's place in the batch, from 0
  ImportRowStatus status = ImportRowStatus::kRejected;
  std::string key_id;        // imported or unchanged: the key; a conflict: the other key
  std::string short_prefix;  // imported or unchanged
  std::string error;         // rejected: a machine-readable reason
  std::string message;       // rejected: what is wrong, for a person; never the key
  // Unchanged, but the row says the key was revoked and the stored key was
  // not: the import revoked it (or, in a dry run, would).
  bool revoked = false;
};

// A workspace that holds more active keys than its limit after the import:
// it keeps them all, and creating a key there is refused until it is back
// under the limit.
struct WorkspaceOverLimit {
  std::string workspace_id;
  int64_t active_keys = 0;
  int64_t max_active_keys = 0;
};

struct KeyImportResult {
  bool dry_run = false;
  std::string batch_id;  // "imp_…", in the audit entries
  size_t imported = 0;
  size_t unchanged = 0;
  size_t rejected = 0;
  std::vector<KeyImportRowResult> rows;  // one per row, in order
  std::vector<WorkspaceOverLimit> over_limit;
};

// The 32 bytes of a SHA-256 given as hex (64 digits, either case) or
// base64; InvalidRequest saying what is wrong.
Result<KeyHash> DecodeImportHash(const ImportHash& hash);

}  // namespace keyward

#endif  // KEYWARD_CORE_KEY_IMPORT_H_
