// Reading keyward.toml's values: the helpers every part of the
// configuration reader shares (server/config.cc, server/config_webhooks.cc),
// each answering InvalidRequest that names the file and the key.
// Internal to server/. Thread-safe: pure functions.
#ifndef KEYWARD_SERVER_CONFIG_TOML_H_
#define KEYWARD_SERVER_CONFIG_TOML_H_

#include <toml++/toml.h>

#include <string>
#include <vector>

#include "core/status.h"
#include "server/config.h"

namespace keyward {
namespace config_toml {

inline Status Bad(const std::string& where, const std::string& key, const std::string& what) {
  return Status::InvalidRequest(where + ": " + key + " " + what);
}

inline Status ReadString(const toml::node& v, const std::string& where, const std::string& key,
                         std::string* out) {
  if (!v.is_string()) return Bad(where, key, "must be a string");
  *out = *v.value<std::string>();
  return Status::Ok();
}

inline Status ReadInt(const toml::node& v, const std::string& where, const std::string& key,
                      int64_t* out) {
  if (!v.is_integer()) return Bad(where, key, "must be an integer");
  *out = *v.value<int64_t>();
  return Status::Ok();
}

inline Status ReadList(const toml::node& v, const std::string& where, const std::string& key,
                       std::vector<std::string>* out) {
  const toml::array* arr = v.as_array();
  if (!arr) return Bad(where, key, "must be an array of strings");
  out->clear();
  for (const auto& e : *arr) {
    if (!e.is_string()) return Bad(where, key, "must be an array of strings");
    out->push_back(*e.value<std::string>());
  }
  return Status::Ok();
}

inline Status ReadBool(const toml::node& v, const std::string& where, const std::string& key,
                       bool* out) {
  if (!v.is_boolean()) return Bad(where, key, "must be true or false");
  *out = *v.value<bool>();
  return Status::Ok();
}

}  // namespace config_toml

// Reads the [webhooks] or [leaks] table (key) of a configuration file
// (server/config_webhooks.cc).
Status ReadNotificationTable(const std::string& key, const toml::node& v, const std::string& path,
                             Config* c);
// Checks what they hold once everything is read.
Status ValidateNotifications(const Config& c);

}  // namespace keyward

#endif  // KEYWARD_SERVER_CONFIG_TOML_H_
