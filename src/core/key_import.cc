// KeyService's import of keys made elsewhere: each row checked on its own
// (a bad row is rejected with its reason, the others go on), then the batch
// in one store transaction, idempotent by hash.
// Thread-safe: as KeyService.
#include "core/key_import.h"

#include <openssl/crypto.h>

#include <map>
#include <nlohmann/json.hpp>

#include "core/key_service.h"
#include "core/random.h"
#include "core/redact.h"
#include "core/sha256.h"

namespace keyward {
namespace {

using nlohmann::json;

constexpr size_t kMaxImportedKeyLength = 512;
constexpr size_t kMaxShortPrefixLength = 48;
constexpr size_t kMaxKeyIdLength = 64;
constexpr const char* kImportedName = "Imported key";

// Why a row is rejected: a machine-readable reason and a message.
struct RowError {
  std::string error;
  std::string message;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

bool PrintableNoSpace(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

bool ValidKeyId(std::string_view id) {
  if (!id.starts_with("key_") || id.size() <= 4 || id.size() > kMaxKeyIdLength) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  }
  return true;
}

void Forget(std::string* secret) {
  OPENSSL_cleanse(secret->data(), secret->size());
  secret->clear();
}

}  // namespace

std::string_view ImportRowStatusName(ImportRowStatus s) {
  switch (s) {
    case ImportRowStatus::kImported:
      return "imported";
    case ImportRowStatus::kUnchanged:
      return "unchanged";
    case ImportRowStatus::kRejected:
      return "rejected";
  }
  return "rejected";
}

Result<KeyHash> DecodeImportHash(const ImportHash& h) {
  if (h.algorithm != "sha256") {
    return Status::InvalidRequest(
        "hash.algorithm must be \"sha256\": keyward verifies a key by "
        "the SHA-256 of the whole key");
  }
  KeyHash out{};
  if (h.encoding == "hex") {
    if (h.value.size() != 64) {
      return Status::InvalidRequest("hash.value must be 64 hex digits for a SHA-256, not " +
                                    std::to_string(h.value.size()) + " characters");
    }
    for (size_t i = 0; i < 32; ++i) {
      const int hi = HexValue(h.value[2 * i]);
      const int lo = HexValue(h.value[2 * i + 1]);
      if (hi < 0 || lo < 0) return Status::InvalidRequest("hash.value is not hex");
      out[i] = static_cast<uint8_t>(hi * 16 + lo);
    }
    return out;
  }
  if (h.encoding == "base64") {
    std::string_view v = h.value;
    while (!v.empty() && v.back() == '=') v.remove_suffix(1);
    if (v.size() != 43) {
      return Status::InvalidRequest(
          "hash.value must be 44 base64 characters (43 without padding) for a SHA-256");
    }
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (char c : v) {
      const int d = Base64Value(c);
      if (d < 0) return Status::InvalidRequest("hash.value is not base64");
      acc = (acc << 6) | static_cast<uint32_t>(d);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out[n++] = static_cast<uint8_t>(acc >> bits);
        acc &= (1u << bits) - 1;
      }
    }
    if (n != 32 || acc != 0) return Status::InvalidRequest("hash.value is not a base64 SHA-256");
    return out;
  }
  return Status::InvalidRequest("hash.encoding must be \"hex\" or \"base64\"");
}

Result<KeyImportResult> KeyService::ImportKeys(std::vector<KeyImportRow> rows, bool dry_run,
                                               const Actor& actor) {
  if (rows.empty()) return Status::InvalidRequest("keys must hold at least one key to import");
  if (rows.size() > kMaxImportBatch) {
    return Status::InvalidRequest("at most " + std::to_string(kMaxImportBatch) +
                                  " keys per import batch; split the file (keyward import does)");
  }
  const Timestamp now = options_.clock->Now();
  KeyImportResult result;
  result.dry_run = dry_run;
  result.batch_id = NewId("imp");
  result.rows.resize(rows.size());
  std::vector<ImportKeyRow> keys;
  std::vector<size_t> index_of;  // keys[j] is row index_of[j]
  keys.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    result.rows[i].index = i;
    auto key = PrepareImport(rows[i], now, actor);
    if (!key.ok()) {
      // "reason: message", as PrepareImport makes it.
      const std::string& m = key.status().message();
      const size_t colon = m.find(": ");
      result.rows[i].error = m.substr(0, colon);
      result.rows[i].message = colon == std::string::npos ? m : m.substr(colon + 2);
      continue;
    }
    keys.push_back(std::move(*key));
    index_of.push_back(i);
  }

  // The audit: one entry per workspace the batch reached, naming the batch.
  const size_t batch_rows = rows.size();
  const std::string batch_id = result.batch_id;
  auto audit = [&](const std::vector<ImportedKey>& done) {
    struct Counts {
      size_t imported = 0;
      size_t unchanged = 0;
    };
    std::map<std::string, Counts> per_workspace;
    size_t rejected = batch_rows;
    for (size_t j = 0; j < done.size(); ++j) {
      const ImportOutcome o = done[j].outcome;
      if (o != ImportOutcome::kImported && o != ImportOutcome::kUnchanged) continue;
      --rejected;
      Counts& c = per_workspace[keys[j].key.workspace_id];
      (o == ImportOutcome::kImported ? c.imported : c.unchanged)++;
    }
    std::vector<AuditEntry> entries;
    for (const auto& [ws, c] : per_workspace) {
      const json details = {{"batch", batch_id},
                            {"rows", batch_rows},
                            {"imported", c.imported},
                            {"unchanged", c.unchanged},
                            {"rejected_in_batch", rejected},
                            {"workspaces", per_workspace.size()}};
      entries.push_back(MakeAudit(actor, "key.import", batch_id, ws, details.dump()));
    }
    if (entries.empty()) {
      const json details = {{"batch", batch_id},
                            {"rows", batch_rows},
                            {"imported", 0},
                            {"unchanged", 0},
                            {"rejected_in_batch", rejected}};
      entries.push_back(MakeAudit(actor, "key.import", batch_id, "", details.dump()));
    }
    return entries;
  };
  std::vector<ImportedKey> done;
  if (!keys.empty()) {
    auto imported = store_->ImportKeys(keys, audit, dry_run);
    if (!imported.ok()) return imported.status();
    done = std::move(*imported);
    if (done.size() != keys.size()) return Status::Internal("the store answered for other rows");
  }

  std::map<std::string, int64_t> imported_active;  // per workspace, for the limit
  std::vector<size_t> revoke;                      // rows whose stored key they revoke
  for (size_t j = 0; j < done.size(); ++j) {
    KeyImportRowResult& r = result.rows[index_of[j]];
    const ApiKey& k = keys[j].key;
    r.key_id = done[j].key_id;
    switch (done[j].outcome) {
      case ImportOutcome::kImported:
        r.status = ImportRowStatus::kImported;
        r.short_prefix = k.short_prefix;
        if (k.StatusAt(now) == KeyStatus::kActive) ++imported_active[k.workspace_id];
        if (!dry_run) Notify(k);
        break;
      case ImportOutcome::kUnchanged:
        r.status = ImportRowStatus::kUnchanged;
        r.short_prefix = k.short_prefix;
        // The old system revoked it since it was first imported (a final
        // import at cutover): the revocation carries over, never the reverse.
        if (k.revoked_at) revoke.push_back(index_of[j]);
        break;
      case ImportOutcome::kHashConflict:
        r.error = "hash_conflict";
        r.message = "this hash is already key " + done[j].key_id +
                    (keys[j].id_given ? ", of another workspace, environment or id"
                                      : ", of another workspace or environment") +
                    "; it is never merged";
        break;
      case ImportOutcome::kIdConflict:
        r.error = "id_conflict";
        r.message = "id " + k.id + " is already a key with another hash";
        r.key_id = k.id;
        break;
      case ImportOutcome::kNoWorkspace:
        r.error = "workspace_not_found";
        // Quoted only when it looks like an id: a misplaced column could
        // hold anything, a key included.
        r.message = k.workspace_id.starts_with("ws_") && k.workspace_id.size() <= 40
                        ? "no workspace " + k.workspace_id
                        : "no such workspace";
        r.key_id.clear();
        break;
    }
  }
  for (size_t i : revoke) {
    KeyImportRowResult& r = result.rows[i];
    auto stored = store_->GetKey(r.key_id);
    if (!stored.ok()) return stored.status();
    if (stored->revoked_at) continue;
    r.revoked = true;
    if (dry_run) continue;
    auto revoked = RevokeKey(r.key_id, "revoked before the import", actor);
    if (!revoked.ok()) return revoked.status();
  }
  for (auto& r : result.rows) {
    // A message may quote what the row held: never a key.
    r.message = RedactSecrets(r.message);
    if (r.status == ImportRowStatus::kImported) ++result.imported;
    if (r.status == ImportRowStatus::kUnchanged) ++result.unchanged;
    if (r.status == ImportRowStatus::kRejected) ++result.rejected;
  }

  // Workspaces now over their key limit keep every key, and say so.
  for (const auto& [ws_id, added] : imported_active) {
    auto ws = store_->GetWorkspace(ws_id);
    if (!ws.ok()) return ws.status();
    auto limit = MaxActiveKeys(*ws);
    if (!limit.ok()) return limit.status();
    auto active = store_->CountActiveKeys(ws_id, now);
    if (!active.ok()) return active.status();
    const int64_t count = *active + (dry_run ? added : 0);
    if (count > *limit) result.over_limit.push_back({ws_id, count, *limit});
  }
  return result;
}

Result<ImportKeyRow> KeyService::PrepareImport(KeyImportRow& row, Timestamp now,
                                               const Actor& actor) const {
  // Errors are "reason: message"; ImportKeys splits them.
  auto reject = [](const char* reason, const std::string& message) {
    return Status::InvalidRequest(std::string(reason) + ": " + message);
  };
  if (row.unreadable) return reject("invalid_row", row.unreadable->message());
  ImportKeyRow out;
  ApiKey& k = out.key;
  if (row.id) {
    if (!ValidKeyId(*row.id)) {
      return reject("invalid_row",
                    "id must be \"key_\" and up to 60 letters, digits or underscores");
    }
    k.id = *row.id;
    out.id_given = true;
  } else {
    k.id = NewId("key");
  }
  if (row.workspace_id.empty()) return reject("invalid_row", "workspace_id is required");
  if (!options_.format->HasEnvironment(row.environment)) {
    std::string known;
    for (const auto& e : options_.format->environments()) known += (known.empty() ? "" : ", ") + e;
    return reject("unknown_environment",
                  row.environment.empty() ? "environment is required (one of: " + known + ")"
                  : KeyFormat::IsValidName(row.environment)
                      ? "environment \"" + row.environment + "\" is not one of: " + known
                      : "the environment is not one of: " + known);
  }
  if (row.key.has_value() == row.hash.has_value()) {
    return reject("invalid_row", "give the key's hash or the key itself, exactly one of them");
  }
  if (row.short_prefix &&
      (row.short_prefix->size() > kMaxShortPrefixLength || !PrintableNoSpace(*row.short_prefix))) {
    return reject("invalid_short_prefix",
                  "short_prefix must be 1-48 printable characters without spaces");
  }
  if (row.key) {
    std::string secret = std::move(*row.key);
    row.key.reset();
    ParsedKey parsed;
    const bool parses = secret.size() <= kMaxImportedKeyLength &&
                        options_.format->Parse(secret, &parsed) == KeyParseError::kNone;
    if (!parses) {
      Forget(&secret);
      return reject("unknown_key_format",
                    "the key has neither this deployment's format (" + options_.format->product() +
                        "_<environment>_…) nor a [[keys.legacy]] one, so it could never be "
                        "verified; describe its shape in [[keys.legacy]] first");
    }
    if (parsed.environment != row.environment) {
      const std::string says(parsed.environment);
      Forget(&secret);
      return reject("environment_mismatch", "the key's own text says environment \"" + says +
                                                "\", the row \"" + row.environment + "\"");
    }
    const std::string derived(parsed.short_prefix);
    k.hash = Sha256(secret);
    Forget(&secret);
    if (row.short_prefix && *row.short_prefix != derived) {
      return reject("invalid_short_prefix",
                    "short_prefix is taken from the key itself; leave it out or give the same");
    }
    k.short_prefix = derived;
  } else {
    auto hash = DecodeImportHash(*row.hash);
    if (!hash.ok()) return reject("invalid_hash", hash.status().message());
    k.hash = *hash;
    if (row.short_prefix) {
      // A short prefix identifies a key; it must never be one.
      if (options_.format->Parse(*row.short_prefix, nullptr) == KeyParseError::kNone ||
          HasSecretShape(*row.short_prefix)) {
        return reject("invalid_short_prefix",
                      "short_prefix looks like a whole key; give only its first characters");
      }
      k.short_prefix = *row.short_prefix;
    }
  }
  k.workspace_id = row.workspace_id;
  k.environment = row.environment;
  k.name = row.name ? *row.name : kImportedName;
  k.scopes = std::move(row.scopes);
  k.ip_allowlist = std::move(row.ip_allowlist);
  k.referrer_allowlist = std::move(row.referrer_allowlist);
  k.endpoint_allowlist = std::move(row.endpoint_allowlist);
  k.rate_limit = row.rate_limit;
  k.meta_json = std::move(row.meta_json);
  if (auto s = ValidateIpAllowlist(&k.ip_allowlist); !s.ok()) {
    return reject("invalid_row", s.message());
  }
  if (auto s = ValidateKeyFields(k); !s.ok()) return reject("invalid_row", s.message());
  // A key pasted into a name or meta would be stored and listed in full.
  if (FindKeyIn(k.name) || FindKeyIn(k.meta_json)) {
    return reject("invalid_row", "the name or meta holds an API key; keys are never stored there");
  }
  // Times from the old system; none of them may lie in the future, except
  // the expiry (which may also have passed: the key then answers expired).
  constexpr Timestamp kSkewMillis = 5 * 60 * 1000;
  for (const auto& [field, at] :
       {std::pair{"created_at", row.created_at}, std::pair{"last_used_at", row.last_used_at},
        std::pair{"revoked_at", row.revoked_at}}) {
    if (at && *at > now + kSkewMillis) {
      return reject("invalid_row", std::string(field) + " is in the future");
    }
  }
  k.created_at = row.created_at.value_or(now);
  k.created_by = actor.id;
  k.expires_at = row.expires_at;
  k.last_used_at = row.last_used_at;
  if (row.revoked_at) {
    k.revoked_at = row.revoked_at;
    k.revoked_by = actor.id;
    k.revoked_reason = "revoked before the import";
  }
  k.disabled = row.disabled;
  if (k.disabled) k.disabled_by = actor.id;
  return out;
}

Status KeyService::AuditKeyExport(const Actor& actor, std::string_view workspace_id) {
  const json details = {
      {"workspace_id", workspace_id.empty() ? json(nullptr) : json(workspace_id)}};
  return store_->AppendAudit(
      MakeAudit(actor, "key.export", "", std::string(workspace_id), details.dump()));
}

}  // namespace keyward
