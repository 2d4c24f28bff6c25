// The [webhooks] and [leaks] tables of keyward.toml.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "server/config_toml.h"

namespace keyward {

using namespace config_toml;  // NOLINT: the readers every part shares

namespace {

Status ReadWebhooks(const toml::table& table, const std::string& path, Config* c) {
  for (auto&& [k, v] : table) {
    const std::string sub(k.str());
    const std::string name = "webhooks." + sub;
    int64_t* number = sub == "timeout_seconds"    ? &c->webhooks_timeout_seconds
                      : sub == "workers"          ? &c->webhooks_workers
                      : sub == "max_endpoints"    ? &c->webhooks_max_endpoints
                      : sub == "unused_days"      ? &c->webhooks_unused_days
                      : sub == "schedule_seconds" ? &c->webhooks_schedule_seconds
                                                  : nullptr;
    if (number != nullptr) {
      KEYWARD_RETURN_IF_ERROR(ReadInt(v, path, name, number));
    } else if (sub == "allow_private_targets") {
      KEYWARD_RETURN_IF_ERROR(ReadBool(v, path, name, &c->webhooks_allow_private_targets));
    } else if (sub == "ca_file") {
      KEYWARD_RETURN_IF_ERROR(ReadString(v, path, name, &c->webhooks_ca_file));
    } else {
      return Status::InvalidRequest(path + ": unknown configuration key \"" + name + "\"");
    }
  }
  return Status::Ok();
}

Status ReadLeaks(const toml::table& table, const std::string& path, Config* c) {
  for (auto&& [k, v] : table) {
    const std::string sub(k.str());
    const std::string name = "leaks." + sub;
    if (sub == "action") {
      KEYWARD_RETURN_IF_ERROR(ReadString(v, path, name, &c->leaks_action));
    } else if (sub == "github_keys") {
      const toml::array* arr = v.as_array();
      if (!arr) return Bad(path, name, "must be an array of tables ([[leaks.github_keys]])");
      for (const auto& entry : *arr) {
        const toml::table* t = entry.as_table();
        if (!t) return Bad(path, name, "must be an array of tables ([[leaks.github_keys]])");
        Config::GithubKey key;
        for (auto&& [fk, fv] : *t) {
          const std::string field(fk.str());
          if (field == "key_identifier") {
            KEYWARD_RETURN_IF_ERROR(
                ReadString(fv, path, name + ".key_identifier", &key.key_identifier));
          } else if (field == "pem") {
            KEYWARD_RETURN_IF_ERROR(ReadString(fv, path, name + ".pem", &key.pem));
          } else {
            return Status::InvalidRequest(path + ": unknown configuration key \"" + name + "." +
                                          field + "\"");
          }
        }
        c->leaks_github_keys.push_back(std::move(key));
      }
    } else {
      return Status::InvalidRequest(path + ": unknown configuration key \"" + name + "\"");
    }
  }
  return Status::Ok();
}

// Whether pem is an EC public key on P-256.
bool IsP256PublicKey(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return false;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (!key) return false;
  return EVP_PKEY_is_a(key.get(), "EC") && EVP_PKEY_get_bits(key.get()) == 256;
}

}  // namespace

Status ReadNotificationTable(const std::string& key, const toml::node& v, const std::string& path,
                             Config* c) {
  const toml::table* table = v.as_table();
  if (!table) return Bad(path, key, "must be a table ([" + key + "])");
  return key == "webhooks" ? ReadWebhooks(*table, path, c) : ReadLeaks(*table, path, c);
}

Status ValidateNotifications(const Config& c) {
  if (c.webhooks_timeout_seconds < 1 || c.webhooks_timeout_seconds > 60) {
    return Status::InvalidRequest("webhooks.timeout_seconds: must be between 1 and 60");
  }
  if (c.webhooks_workers < 1 || c.webhooks_workers > 64) {
    return Status::InvalidRequest("webhooks.workers: must be between 1 and 64");
  }
  if (c.webhooks_max_endpoints < 1 || c.webhooks_max_endpoints > 1000) {
    return Status::InvalidRequest("webhooks.max_endpoints: must be between 1 and 1000");
  }
  if (c.webhooks_unused_days < 0 || c.webhooks_unused_days > 3650) {
    return Status::InvalidRequest("webhooks.unused_days: must be between 0 (off) and 3650");
  }
  if (c.webhooks_schedule_seconds < 1 || c.webhooks_schedule_seconds > 86400) {
    return Status::InvalidRequest("webhooks.schedule_seconds: must be between 1 and 86400");
  }
  if (c.leaks_action != "revoke" && c.leaks_action != "notify") {
    return Status::InvalidRequest("leaks.action: must be \"revoke\" or \"notify\"");
  }
  for (size_t i = 0; i < c.leaks_github_keys.size(); ++i) {
    const auto& k = c.leaks_github_keys[i];
    const std::string where = "leaks.github_keys[" + std::to_string(i) + "]";
    if (k.key_identifier.empty()) {
      return Status::InvalidRequest(where + ".key_identifier: must not be empty");
    }
    if (!IsP256PublicKey(k.pem)) {
      return Status::InvalidRequest(where +
                                    ".pem: must be an ECDSA P-256 public key in PEM "
                                    "(-----BEGIN PUBLIC KEY-----)");
    }
  }
  return Status::Ok();
}

}  // namespace keyward
