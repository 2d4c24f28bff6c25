#include "server/config.h"

#include "core/cidr.h"

#include <toml++/toml.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/cidr.h"
#include "core/key_format.h"
#include "core/key_service.h"
#include "core/rotation_policy.h"
#include "server/config_toml.h"
#include "server/http_server.h"

namespace keyward {
namespace {

using namespace config_toml;  // NOLINT: the readers every part shares

Status ParseInt(const std::string& text, const std::string& where, const std::string& key,
                int64_t* out) {
  int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return Bad(where, key, "must be an integer, not \"" + text + "\"");
  }
  *out = v;
  return Status::Ok();
}

bool IsPlanName(std::string_view name) {
  if (name.empty() || name.size() > 40) return false;
  for (char ch : name) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-')) {
      return false;
    }
  }
  return true;
}

// [plans]: default = "<name>", and [plans.<name>] tables.
// [[keys.legacy]]: an array of tables, each {pattern, environment,
// short_prefix_length?}.
Status ReadLegacyFormats(const toml::node& v, const std::string& path, Config* c) {
  const toml::array* entries = v.as_array();
  if (entries == nullptr || !entries->is_array_of_tables()) {
    return Bad(path, "keys.legacy",
               "must be an array of tables: one [[keys.legacy]] per format, with pattern and "
               "environment");
  }
  for (const toml::node& entry : *entries) {
    const std::string name = "keys.legacy[" + std::to_string(c->legacy_formats.size()) + "]";
    LegacyFormatSpec spec;
    bool has_pattern = false;
    bool has_environment = false;
    for (auto&& [k, fv] : *entry.as_table()) {
      const std::string field(k.str());
      if (field == "pattern") {
        KEYWARD_RETURN_IF_ERROR(ReadString(fv, path, name + ".pattern", &spec.pattern));
        has_pattern = true;
      } else if (field == "environment") {
        KEYWARD_RETURN_IF_ERROR(ReadString(fv, path, name + ".environment", &spec.environment));
        has_environment = true;
      } else if (field == "short_prefix_length") {
        int64_t n = 0;
        KEYWARD_RETURN_IF_ERROR(ReadInt(fv, path, name + ".short_prefix_length", &n));
        if (n < 0 || n > kMaxLegacyShortPrefixLength) {
          return Bad(path, name + ".short_prefix_length",
                     "must be between 0 and " + std::to_string(kMaxLegacyShortPrefixLength));
        }
        spec.short_prefix_length = static_cast<int>(n);
      } else {
        return Status::InvalidRequest(path + ": unknown configuration key \"" + name + "." + field +
                                      "\" (pattern, environment, short_prefix_length)");
      }
    }
    if (!has_pattern || !has_environment) {
      return Bad(path, name,
                 "needs a pattern (an anchored regular expression) and an environment (a name, or "
                 "$N for a capture group)");
    }
    c->legacy_formats.push_back(std::move(spec));
  }
  return Status::Ok();
}

Status ReadPlans(const toml::node& v, const std::string& path, Config* c) {
  const toml::table* plans = v.as_table();
  if (!plans) return Bad(path, "plans", "must be a table ([plans])");
  c->plans.clear();
  for (auto&& [pk, pv] : *plans) {
    const std::string sub(pk.str());
    if (sub == "default") {
      KEYWARD_RETURN_IF_ERROR(ReadString(pv, path, "plans.default", &c->default_plan));
      continue;
    }
    const std::string where = "plans." + sub;
    const toml::table* table = pv.as_table();
    if (!table) return Bad(path, where, "must be a table ([" + where + "])");
    if (!IsPlanName(sub)) {
      return Bad(path, where, "a plan's name is 1-40 of a-z, 0-9, _ and - (its id is plan_<name>)");
    }
    Plan plan;
    plan.id = "plan_" + sub;
    plan.name = sub;
    std::optional<int64_t> rate, period;
    for (auto&& [fk, fv] : *table) {
      const std::string field(fk.str());
      const std::string name = where + "." + field;
      int64_t n = 0;
      if (field == "name") {
        KEYWARD_RETURN_IF_ERROR(ReadString(fv, path, name, &plan.name));
      } else if (field == "monthly_credits") {
        KEYWARD_RETURN_IF_ERROR(ReadInt(fv, path, name, &n));
        plan.monthly_credits = n;
      } else if (field == "max_active_keys") {
        KEYWARD_RETURN_IF_ERROR(ReadInt(fv, path, name, &n));
        plan.max_active_keys = n;
      } else if (field == "rate_limit") {
        KEYWARD_RETURN_IF_ERROR(ReadInt(fv, path, name, &n));
        rate = n;
      } else if (field == "rate_period_seconds") {
        KEYWARD_RETURN_IF_ERROR(ReadInt(fv, path, name, &n));
        period = n;
      } else if (field == "costs") {
        const toml::table* costs = fv.as_table();
        if (!costs) {
          return Bad(path, name,
                     "must be a table of \"METHOD /path\" = cost, like "
                     "\"GET /v1/search\" = 5");
        }
        for (auto&& [ck, cv] : *costs) {
          KEYWARD_RETURN_IF_ERROR(
              ReadInt(cv, path, name + ".\"" + std::string(ck.str()) + "\"", &n));
          plan.cost_rules.push_back({std::string(ck.str()), n});
        }
      } else {
        return Status::InvalidRequest(path + ": unknown configuration key \"" + name + "\"");
      }
    }
    if (period && !rate) return Bad(path, where + ".rate_period_seconds", "needs rate_limit");
    if (rate) plan.rate_limit = RateLimit{*rate, period.value_or(60)};
    if (Status s = ValidatePlan(plan); !s.ok()) {
      return Status::InvalidRequest(path + ": " + where + ": " + s.message());
    }
    c->plans.push_back(std::move(plan));
  }
  return Status::Ok();
}

Status ApplyToml(std::string_view text, const std::string& path, Config* c, bool* accept_set) {
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(path));
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return Status::InvalidRequest(path + ":" + std::to_string(where.line) + ":" +
                                  std::to_string(where.column) + ": " +
                                  std::string(e.description()));
  } catch (const std::exception& e) {
    return Status::InvalidRequest(path + ": " + e.what());
  }
  for (auto&& [k, v] : root) {
    const std::string key(k.str());
    if (key == "listen") {
      KEYWARD_RETURN_IF_ERROR(ReadString(v, path, key, &c->listen));
    } else if (key == "threads") {
      int64_t n;
      KEYWARD_RETURN_IF_ERROR(ReadInt(v, path, key, &n));
      if (n < 1 || n > 1024) return Bad(path, key, "must be between 1 and 1024");
      c->threads = static_cast<int>(n);
    } else if (key == "data_dir") {
      KEYWARD_RETURN_IF_ERROR(ReadString(v, path, key, &c->data_dir));
    } else if (key == "database") {
      KEYWARD_RETURN_IF_ERROR(ReadString(v, path, key, &c->database));
    } else if (key == "database_pool_size") {
      KEYWARD_RETURN_IF_ERROR(ReadInt(v, path, key, &c->database_pool_size));
    } else if (key == "redis") {
      KEYWARD_RETURN_IF_ERROR(ReadString(v, path, key, &c->redis));
    } else if (key == "redis_failure_mode") {
      KEYWARD_RETURN_IF_ERROR(ReadString(v, path, key, &c->redis_failure_mode));
    } else if (key == "trusted_proxies") {
      KEYWARD_RETURN_IF_ERROR(ReadList(v, path, key, &c->trusted_proxies));
    } else if (key == "public_url") {
      KEYWARD_RETURN_IF_ERROR(ReadString(v, path, key, &c->public_url));
    } else if (key == "portal") {
      const toml::table* table = v.as_table();
      if (!table) return Bad(path, key, "must be a table ([portal])");
      for (auto&& [kk, kv] : *table) {
        const std::string sub(kk.str());
        const std::string name = "portal." + sub;
        std::string* text = sub == "product_name"   ? &c->portal_product_name
                            : sub == "logo_url"     ? &c->portal_logo_url
                            : sub == "accent_color" ? &c->portal_accent_color
                            : sub == "support_url"  ? &c->portal_support_url
                                                    : nullptr;
        int64_t* number = sub == "code_ttl_seconds"      ? &c->portal_code_ttl_seconds
                          : sub == "session_ttl_seconds" ? &c->portal_session_ttl_seconds
                                                         : nullptr;
        if (text != nullptr) {
          KEYWARD_RETURN_IF_ERROR(ReadString(kv, path, name, text));
        } else if (number != nullptr) {
          KEYWARD_RETURN_IF_ERROR(ReadInt(kv, path, name, number));
        } else if (sub == "frame_ancestors") {
          KEYWARD_RETURN_IF_ERROR(ReadList(kv, path, name, &c->portal_frame_ancestors));
        } else {
          return Status::InvalidRequest(path + ": unknown configuration key \"" + name + "\"");
        }
      }
    } else if (key == "webhooks" || key == "leaks") {
      KEYWARD_RETURN_IF_ERROR(ReadNotificationTable(key, v, path, c));
    } else if (key == "usage_retention_days") {
      KEYWARD_RETURN_IF_ERROR(ReadInt(v, path, key, &c->usage_retention_days));
    } else if (key == "usage_buffer_rows") {
      KEYWARD_RETURN_IF_ERROR(ReadInt(v, path, key, &c->usage_buffer_rows));
    } else if (key == "limits" || key == "cache" || key == "storage") {
      const toml::table* table = v.as_table();
      if (!table) return Bad(path, key, "must be a table ([" + key + "])");
      for (auto&& [kk, kv] : *table) {
        const std::string name = key + "." + std::string(kk.str());
        int64_t* target = name == "limits.rate_limit"            ? &c->default_rate_limit
                          : name == "limits.rate_period_seconds" ? &c->default_rate_period_seconds
                          : name == "limits.failed_verifications_per_ip"
                              ? &c->failed_verifications_per_ip
                          : name == "cache.max_keys"        ? &c->cache_max_keys
                          : name == "storage.reserve_bytes" ? &c->storage_reserve_bytes
                                                            : nullptr;
        if (target == nullptr) {
          return Status::InvalidRequest(path + ": unknown configuration key \"" + name + "\"");
        }
        KEYWARD_RETURN_IF_ERROR(ReadInt(kv, path, name, target));
      }
    } else if (key == "plans") {
      KEYWARD_RETURN_IF_ERROR(ReadPlans(v, path, c));
    } else if (key == "keys") {
      const toml::table* keys = v.as_table();
      if (!keys) return Bad(path, key, "must be a table ([keys])");
      for (auto&& [kk, kv] : *keys) {
        const std::string sub(kk.str());
        const std::string name = "keys." + sub;
        if (sub == "product_prefix") {
          KEYWARD_RETURN_IF_ERROR(ReadString(kv, path, name, &c->product_prefix));
        } else if (sub == "environments") {
          KEYWARD_RETURN_IF_ERROR(ReadList(kv, path, name, &c->environments));
        } else if (sub == "accept_environments") {
          KEYWARD_RETURN_IF_ERROR(ReadList(kv, path, name, &c->accept_environments));
          *accept_set = true;
        } else if (sub == "max_active_per_workspace") {
          KEYWARD_RETURN_IF_ERROR(ReadInt(kv, path, name, &c->max_active_per_workspace));
        } else if (sub == "rotate_after_days" || sub == "max_key_lifetime_days") {
          int64_t days = 0;
          KEYWARD_RETURN_IF_ERROR(ReadInt(kv, path, name, &days));
          (sub == "rotate_after_days" ? c->rotate_after_days : c->max_key_lifetime_days) = days;
        } else if (sub == "legacy") {
          KEYWARD_RETURN_IF_ERROR(ReadLegacyFormats(kv, path, c));
        } else {
          return Status::InvalidRequest(path + ": unknown configuration key \"" + name + "\"");
        }
      }
    } else {
      return Status::InvalidRequest(path + ": unknown configuration key \"" + key + "\"");
    }
  }
  return Status::Ok();
}

Status LoadFile(const std::string& path, Config* c, bool* accept_set) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Status::InvalidRequest(path + ": is a directory, not a configuration file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidRequest(path + ": cannot read the file: " + std::strerror(errno));
  std::string text;
  try {
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } catch (const std::exception& e) {
    return Status::InvalidRequest(path + ": cannot read the file: " + e.what());
  }
  return ApplyToml(text, path, c, accept_set);
}

// An absolute http(s) URL: scheme, a host, and nothing a header could not hold.
bool IsHttpUrl(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return false;
  }
  if (rest.empty() || rest.front() == '/') return false;
  for (unsigned char ch : url) {
    if (ch <= 0x20 || ch == 0x7f || ch == '"' || ch == '\'' || ch == '<' || ch == '>' ||
        ch == '\\' || ch == ';') {
      return false;
    }
  }
  return true;
}

Status ValidatePortal(const Config& c) {
  if (!c.public_url.empty()) {
    const std::string_view u = c.public_url;
    const size_t host = u.find("://");
    const size_t after = host == std::string_view::npos ? 0 : host + 3;
    const size_t slash = u.find('/', after);
    if (!IsHttpUrl(u) || u.find_first_of("?#@", after) != std::string_view::npos ||
        (slash != std::string_view::npos && slash + 1 != u.size())) {
      return Status::InvalidRequest(
          "public_url: must be an origin, http:// or https:// and a host, like "
          "https://keys.example.com, with no path, query, fragment or user info (the pages are "
          "served at /portal and /console)");
    }
  }
  if (c.portal_product_name.empty() || c.portal_product_name.size() > 80) {
    return Status::InvalidRequest("portal.product_name: must be 1 to 80 characters");
  }
  for (unsigned char ch : c.portal_product_name) {
    if (ch < 0x20 || ch == 0x7f)
      return Status::InvalidRequest("portal.product_name: holds a control character");
  }
  if (!c.portal_logo_url.empty() && !IsHttpUrl(c.portal_logo_url) &&
      !(c.portal_logo_url.front() == '/' && c.portal_logo_url.find("//") != 0 &&
        IsHttpUrl("http://h" + c.portal_logo_url))) {
    return Status::InvalidRequest(
        "portal.logo_url: must be an http(s) URL or a path on this host, like /logo.svg");
  }
  if (!c.portal_support_url.empty() && !IsHttpUrl(c.portal_support_url) &&
      !c.portal_support_url.starts_with("mailto:")) {
    return Status::InvalidRequest("portal.support_url: must be an http(s) or mailto: URL");
  }
  if (!c.portal_accent_color.empty()) {
    const std::string& a = c.portal_accent_color;
    bool ok = a.size() == 7 && a[0] == '#';
    for (size_t i = 1; ok && i < a.size(); ++i)
      ok = std::isxdigit(static_cast<unsigned char>(a[i]));
    if (!ok) return Status::InvalidRequest("portal.accent_color: must be #rrggbb, like #4f46e5");
  }
  for (const auto& f : c.portal_frame_ancestors) {
    if (!(f == "'self'" || IsHttpUrl(f))) {
      return Status::InvalidRequest("portal.frame_ancestors: \"" + f +
                                    "\" must be 'self' or an http(s) origin like "
                                    "https://app.example.com");
    }
  }
  if (c.portal_code_ttl_seconds < 1 || c.portal_code_ttl_seconds > 7 * 86400) {
    return Status::InvalidRequest("portal.code_ttl_seconds: must be between 1 and 604800");
  }
  if (c.portal_session_ttl_seconds < 1 || c.portal_session_ttl_seconds > 30 * 86400) {
    return Status::InvalidRequest("portal.session_ttl_seconds: must be between 1 and 2592000");
  }
  return Status::Ok();
}

Status Validate(const Config& c) {
  KEYWARD_RETURN_IF_ERROR(ValidateNotifications(c));
  if (!c.default_plan.empty()) {
    bool found = false;
    for (const auto& p : c.plans) found = found || p.id == c.DefaultPlanId();
    if (!found) {
      return Status::InvalidRequest("plans.default: \"" + c.default_plan +
                                    "\" names no plan; define it as [plans." + c.default_plan +
                                    "]");
    }
  }
  std::string host;
  uint16_t port;
  if (Status s = ParseListenAddress(c.listen, &host, &port); !s.ok()) {
    return Status::InvalidRequest("listen: " + s.message());
  }
  if (c.threads < 1 || c.threads > 1024)
    return Status::InvalidRequest("threads: must be between 1 and 1024");
  if (c.database.empty() && c.data_dir.empty())
    return Status::InvalidRequest("data_dir: must not be empty");
  // The values are never quoted back: they may hold passwords.
  if (!c.database.empty() && !c.database.starts_with("postgres://") &&
      !c.database.starts_with("postgresql://") && c.database.find('=') == std::string::npos) {
    return Status::InvalidRequest(
        "database: must be a PostgreSQL connection string (postgres://user:password@host:port/db "
        "or libpq's key=value pairs); leave it out for SQLite in data_dir");
  }
  if (c.database_pool_size < 1 || c.database_pool_size > 1000) {
    return Status::InvalidRequest("database_pool_size: must be between 1 and 1000");
  }
  if (!c.redis.empty() && !c.redis.starts_with("redis://") && !c.redis.starts_with("unix://")) {
    return Status::InvalidRequest(
        "redis: must be redis://[:password@]host:port[/db] or unix:///path/to/redis.sock");
  }
  if (c.redis_failure_mode != "fail_open" && c.redis_failure_mode != "fail_closed") {
    return Status::InvalidRequest("redis_failure_mode: must be \"fail_open\" or \"fail_closed\"");
  }
  if (!KeyFormat::IsValidName(c.product_prefix)) {
    return Status::InvalidRequest(
        "keys.product_prefix: \"" + c.product_prefix +
        "\" must be 1-16 characters of a-z and 0-9, starting with a letter");
  }
  auto format = KeyFormat::Create(c.product_prefix, c.environments);
  if (!format.ok())
    return Status::InvalidRequest("keys.environments: " + format.status().message());
  for (const auto& spec : c.legacy_formats) {
    if (auto legacy = LegacyFormat::Create(spec, c.environments); !legacy.ok()) {
      return legacy.status();
    }
  }
  if (c.product_prefix == "kw") {
    for (const auto& e : c.environments) {
      if (e == "root" || e == "code" || e == "sess") {
        return Status::InvalidRequest("keys.environments: \"" + e +
                                      "\" is taken by keyward's own secrets (kw_root_…, "
                                      "kw_code_…, kw_sess_…)");
      }
    }
  }
  if (c.accept_environments.empty()) {
    return Status::InvalidRequest("keys.accept_environments: name at least one environment");
  }
  for (const auto& e : c.accept_environments) {
    if (!format->HasEnvironment(e)) {
      return Status::InvalidRequest("keys.accept_environments: \"" + e +
                                    "\" is not in keys.environments");
    }
  }
  if (c.max_active_per_workspace < 1 || c.max_active_per_workspace > 100000) {
    return Status::InvalidRequest("keys.max_active_per_workspace: must be between 1 and 100000");
  }
  KEYWARD_RETURN_IF_ERROR(ValidatePolicyDays(c.rotate_after_days, "keys.rotate_after_days"));
  KEYWARD_RETURN_IF_ERROR(
      ValidatePolicyDays(c.max_key_lifetime_days, "keys.max_key_lifetime_days"));
  if (c.usage_retention_days < 1 || c.usage_retention_days > 3650) {
    return Status::InvalidRequest("usage_retention_days: must be between 1 and 3650");
  }
  if (c.default_rate_limit < 0 || c.default_rate_limit > 1'000'000'000) {
    return Status::InvalidRequest("limits.rate_limit: must be between 0 (none) and 1000000000");
  }
  if (c.default_rate_period_seconds < 1 || c.default_rate_period_seconds > 31 * 86400) {
    return Status::InvalidRequest("limits.rate_period_seconds: must be between 1 and 2678400");
  }
  if (c.failed_verifications_per_ip < 0 || c.failed_verifications_per_ip > 1'000'000'000) {
    return Status::InvalidRequest(
        "limits.failed_verifications_per_ip: must be between 0 (off) and 1000000000");
  }
  for (const auto& t : c.trusted_proxies) {
    if (auto block = CidrBlock::Parse(t); !block.ok()) {
      return Status::InvalidRequest("trusted_proxies: " + block.status().message());
    }
  }
  if (c.cache_max_keys < 64 || c.cache_max_keys > 1'000'000'000) {
    return Status::InvalidRequest("cache.max_keys: must be between 64 and 1000000000");
  }
  if (c.storage_reserve_bytes < 0 || c.storage_reserve_bytes > (int64_t{1} << 40)) {
    return Status::InvalidRequest(
        "storage.reserve_bytes: must be between 0 (no reserve) and 1099511627776");
  }
  if (c.usage_buffer_rows < 1000 || c.usage_buffer_rows > 100'000'000) {
    return Status::InvalidRequest("usage_buffer_rows: must be between 1000 and 100000000");
  }
  return ValidatePortal(c);
}

}  // namespace

std::string Config::DefaultPlanId() const {
  return default_plan.empty() ? std::string() : "plan_" + default_plan;
}

std::string Config::EffectivePublicUrl() const {
  std::string url = public_url.empty() ? "http://" + listen : public_url;
  while (url.size() > 8 && url.back() == '/') url.pop_back();
  return url;
}

std::optional<std::string> ProcessEnv(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::vector<std::string> SplitCommaList(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= text.size()) {
    size_t comma = text.find(',', i);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view part = text.substr(i, comma - i);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) out.emplace_back(part);
    i = comma + 1;
  }
  return out;
}

namespace {

// What every source leaves to the end: defaults that follow other values,
// then validation of the whole.
Result<Config> Finish(Config c, bool accept_set) {
  // A deployment accepts every environment it knows unless told otherwise.
  if (!accept_set) c.accept_environments = c.environments;
  KEYWARD_RETURN_IF_ERROR(Validate(c));
  return c;
}

}  // namespace

Result<Config> LoadConfig(const ConfigFlags& flags, const EnvLookup& env) {
  Config c;
  bool accept_set = false;
  std::string file = flags.config_file;
  if (auto f = env("KEYWARD_CONFIG")) file = *f;
  if (!file.empty()) KEYWARD_RETURN_IF_ERROR(LoadFile(file, &c, &accept_set));

  if (flags.listen) c.listen = *flags.listen;
  if (flags.threads) c.threads = *flags.threads;
  if (flags.data_dir) c.data_dir = *flags.data_dir;
  if (flags.database) c.database = *flags.database;
  if (flags.product_prefix) c.product_prefix = *flags.product_prefix;
  if (flags.environments) c.environments = *flags.environments;
  if (flags.accept_environments) {
    c.accept_environments = *flags.accept_environments;
    accept_set = true;
  }
  if (flags.max_active_per_workspace) c.max_active_per_workspace = *flags.max_active_per_workspace;

  const std::string where = "environment";
  if (auto v = env("KEYWARD_LISTEN")) c.listen = *v;
  if (auto v = env("KEYWARD_THREADS")) {
    int64_t n;
    KEYWARD_RETURN_IF_ERROR(ParseInt(*v, where, "KEYWARD_THREADS", &n));
    if (n < 1 || n > 1024) return Bad(where, "KEYWARD_THREADS", "must be between 1 and 1024");
    c.threads = static_cast<int>(n);
  }
  if (auto v = env("KEYWARD_DATA_DIR")) c.data_dir = *v;
  if (auto v = env("KEYWARD_DATABASE")) c.database = *v;
  if (auto v = env("KEYWARD_REDIS")) c.redis = *v;
  if (auto v = env("KEYWARD_REDIS_FAILURE_MODE")) c.redis_failure_mode = *v;
  if (auto v = env("KEYWARD_TRUSTED_PROXIES")) c.trusted_proxies = SplitCommaList(*v);
  if (auto v = env("KEYWARD_PUBLIC_URL")) c.public_url = *v;
  if (auto v = env("KEYWARD_KEYS_PRODUCT_PREFIX")) c.product_prefix = *v;
  if (auto v = env("KEYWARD_KEYS_ENVIRONMENTS")) c.environments = SplitCommaList(*v);
  if (auto v = env("KEYWARD_KEYS_ACCEPT_ENVIRONMENTS")) {
    c.accept_environments = SplitCommaList(*v);
    accept_set = true;
  }
  if (auto v = env("KEYWARD_KEYS_MAX_ACTIVE_PER_WORKSPACE")) {
    KEYWARD_RETURN_IF_ERROR(
        ParseInt(*v, where, "KEYWARD_KEYS_MAX_ACTIVE_PER_WORKSPACE", &c.max_active_per_workspace));
  }
  for (auto [name, target] : {std::pair{"KEYWARD_KEYS_ROTATE_AFTER_DAYS", &c.rotate_after_days},
                              {"KEYWARD_KEYS_MAX_KEY_LIFETIME_DAYS", &c.max_key_lifetime_days}}) {
    if (auto v = env(name)) {
      int64_t days = 0;
      KEYWARD_RETURN_IF_ERROR(ParseInt(*v, where, name, &days));
      *target = days;
    }
  }
  const std::pair<const char*, int64_t*> ints[] = {
      {"KEYWARD_USAGE_RETENTION_DAYS", &c.usage_retention_days},
      {"KEYWARD_LIMITS_RATE_LIMIT", &c.default_rate_limit},
      {"KEYWARD_LIMITS_RATE_PERIOD_SECONDS", &c.default_rate_period_seconds},
      {"KEYWARD_LIMITS_FAILED_VERIFICATIONS_PER_IP", &c.failed_verifications_per_ip},
      {"KEYWARD_CACHE_MAX_KEYS", &c.cache_max_keys},
      {"KEYWARD_STORAGE_RESERVE_BYTES", &c.storage_reserve_bytes},
      {"KEYWARD_USAGE_BUFFER_ROWS", &c.usage_buffer_rows},
      {"KEYWARD_DATABASE_POOL_SIZE", &c.database_pool_size},
  };
  for (const auto& [name, target] : ints) {
    if (auto v = env(name)) KEYWARD_RETURN_IF_ERROR(ParseInt(*v, where, name, target));
  }
  return Finish(std::move(c), accept_set);
}

Result<Config> ParseConfigText(std::string_view toml_text, const std::string& source) {
  Config c;
  bool accept_set = false;
  KEYWARD_RETURN_IF_ERROR(ApplyToml(toml_text, source, &c, &accept_set));
  return Finish(std::move(c), accept_set);
}

}  // namespace keyward
