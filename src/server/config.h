// keyward's configuration: a TOML file, then command-line flags, then
// KEYWARD_* environment variables, each overriding the one before.
// Validated as a whole; an unknown key or a bad value is an error naming it.
// Thread-safe: plain values.
#ifndef KEYWARD_SERVER_CONFIG_H_
#define KEYWARD_SERVER_CONFIG_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/legacy_format.h"
#include "core/model.h"
#include "core/status.h"

namespace keyward {

struct Config {
  std::string listen = "127.0.0.1:8080";
  int threads = 2;
  std::string data_dir = "./data";
  // A PostgreSQL connection string (postgres://… or libpq's key=value
  // pairs) instead of SQLite in data_dir: several nodes share one database.
  std::string database;
  int64_t database_pool_size = 8;  // connections per node
  // redis://[:password@]host:port[/db] or unix:///path[?db=N]: rate limits
  // and the failed-verification limit shared by every node. Empty: each
  // node limits on its own.
  std::string redis;
  // While Redis cannot be reached: "fail_open" (each node limits on its
  // own) or "fail_closed" (refused as rate_limited).
  std::string redis_failure_mode = "fail_open";
  // Peers whose forwarded headers (X-Forwarded-For, X-Real-IP,
  // X-Original-URI, …) count: CIDR blocks, loopback by default.
  std::vector<std::string> trusted_proxies = {"127.0.0.0/8", "::1/128"};
  std::string product_prefix = "kw";
  std::vector<std::string> environments = {"live", "test"};
  std::vector<std::string> accept_environments = {"live", "test"};
  // [[keys.legacy]]: shapes of keys imported from another system.
  std::vector<LegacyFormatSpec> legacy_formats;
  int64_t max_active_per_workspace = 20;
  // Key lifetime policies, in days (core/rotation_policy.h); unset: none.
  // Keys older than rotate_after_days are marked due for rotation (a
  // workspace may set its own); new keys live at most max_key_lifetime_days.
  std::optional<int64_t> rotate_after_days;
  std::optional<int64_t> max_key_lifetime_days;
  int64_t usage_retention_days = 90;
  // Usage rows (a key, a minute, an answer code) kept in memory while
  // storage refuses them; past this, the oldest are dropped and counted in
  // keyward_usage_dropped_total.
  int64_t usage_buffer_rows = 200'000;
  // [limits]
  int64_t default_rate_limit = 0;  // requests per period for keys without their own; 0: none
  int64_t default_rate_period_seconds = 60;
  int64_t failed_verifications_per_ip = 100;  // per minute, then 429; 0: no limit
  // [cache]
  int64_t cache_max_keys = 1'000'000;
  // [storage]: bytes held back so that revocations still commit on a full
  // disk (SQLite: data_dir/keyward.reserve; PostgreSQL: a table); 0: none.
  int64_t storage_reserve_bytes = 8 << 20;
  // [plans]: plans defined here (id "plan_<table name>"; changed here
  // only), and the one new workspaces get ("" or unset: none).
  std::vector<Plan> plans;
  std::string default_plan;  // a table name of [plans], as written
  // The id of default_plan, or "".
  std::string DefaultPlanId() const;
  // Where browsers reach this deployment ("https://keys.example.com"): the
  // origin of portal links and the one origin the pages accept changes
  // from. Empty: http://<listen>.
  std::string public_url;
  // [portal]: the hosted pages' branding and sessions.
  std::string portal_product_name = "API keys";
  std::string portal_logo_url;      // empty: none; https://… or a path on this host
  std::string portal_accent_color;  // "#rrggbb"; empty: keyward's
  std::string portal_support_url;   // empty: none
  // Who may frame the pages (CSP frame-ancestors); empty: nobody.
  std::vector<std::string> portal_frame_ancestors;
  int64_t portal_code_ttl_seconds = 15 * 60;
  int64_t portal_session_ttl_seconds = 24 * 60 * 60;

  // [webhooks] (server/config_webhooks.cc).
  // Whether endpoints may be on loopback, private or link-local addresses
  // (tests, or receivers inside the operator's own network).
  bool webhooks_allow_private_targets = false;
  std::string webhooks_ca_file;  // PEM of CAs to trust for https receivers; empty: the system's
  int64_t webhooks_timeout_seconds = 15;
  int64_t webhooks_workers = 2;         // delivery threads per node
  int64_t webhooks_max_endpoints = 20;  // per owner: the operator, each workspace
  // api_key.unused after this many days without a use; 0: never.
  int64_t webhooks_unused_days = 90;
  // How often the time-based events (expiring, expired, unused,
  // rotation_due) are looked for.
  int64_t webhooks_schedule_seconds = 60;

  // [leaks]: what a reported leak of a live key does ("revoke" or
  // "notify"), and the public keys GitHub signs its secret-scanning alerts
  // with ([[leaks.github_keys]] key_identifier and pem).
  std::string leaks_action = "revoke";
  struct GithubKey {
    std::string key_identifier;
    std::string pem;
  };
  std::vector<GithubKey> leaks_github_keys;

  // public_url, or http://<listen> when it is not set; no trailing slash.
  std::string EffectivePublicUrl() const;
};

// Values given on the command line; unset ones leave the file's.
struct ConfigFlags {
  std::string config_file;  // empty: no file
  std::optional<std::string> listen;
  std::optional<int> threads;
  std::optional<std::string> data_dir;
  std::optional<std::string> database;
  std::optional<std::string> product_prefix;
  std::optional<std::vector<std::string>> environments;
  std::optional<std::vector<std::string>> accept_environments;
  std::optional<int64_t> max_active_per_workspace;
};

// getenv by default; tests pass their own.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;
std::optional<std::string> ProcessEnv(const char* name);

// The effective configuration, or InvalidRequest with a message that names
// the offending key and where it came from.
Result<Config> LoadConfig(const ConfigFlags& flags, const EnvLookup& env = ProcessEnv);

// The configuration a TOML document alone gives, validated as LoadConfig
// validates; source names the document in errors. For tests and the fuzzer.
Result<Config> ParseConfigText(std::string_view toml_text, const std::string& source);

// "a, b,c" -> {"a","b","c"}.
std::vector<std::string> SplitCommaList(std::string_view text);

}  // namespace keyward

#endif  // KEYWARD_SERVER_CONFIG_H_
