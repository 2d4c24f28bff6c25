// The keyward command: `serve`, offline root-key administration on the data
// directory, operator commands over HTTP (KEYWARD_URL, KEYWARD_ROOT_KEY), and
// the secret scanner `scan` (cli/scan.h).
//
// Exit codes (cli/exit_codes.h): 0 done; 1 the server refused the request
// (4xx); 2 bad usage or configuration; 3 keyward could not be reached or
// failed (5xx, a broken transfer); 4 the credential was refused (401/403).
// `scan` answers 1 for "found".
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/app.h"
#include "app/open_store.h"
#include "app/serve.h"
#include "cli/exit_codes.h"
#include "cli/http_client.h"
#include "cli/key_import.h"
#include "cli/scan.h"
#include "cli/usage_export.h"
#include "cli/version.h"
#include "core/clock.h"
#include "core/key_format.h"
#include "core/key_service.h"
#include "core/time_format.h"
#include "server/config.h"
#include "server/json_codec.h"
#include "server/log.h"
#include "store/migrate/sqlite_to_postgres.h"

namespace keyward {
namespace {

using nlohmann::json;

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) out += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    std::cout << out << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

std::string Str(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

std::string JoinList(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_array() || it->empty()) return "-";
  std::string out;
  for (const auto& e : *it)
    out += (out.empty() ? "" : ",") + (e.is_string() ? e.get<std::string>() : e.dump());
  return out;
}

// Runs one API call; on failure prints why and sets *exit_code.
std::optional<json> Request(const std::string& method, const std::string& target, const json& body,
                            int* exit_code) {
  const std::string token = EnvOr("KEYWARD_ROOT_KEY", "");
  if (token.empty()) {
    std::cerr << "keyward: set KEYWARD_ROOT_KEY to a root key (kw_root_…) first\n";
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  auto client = HttpClient::Create(EnvOr("KEYWARD_URL", "http://127.0.0.1:8080"), token);
  if (!client.ok()) {
    std::cerr << "keyward: " << client.status().message() << "\n";
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  auto res = client->Send(method, target, body.is_null() ? "" : body.dump());
  if (!res.ok()) {
    std::cerr << "keyward: " << res.status().message() << "\n";
    *exit_code = kExitUnavailable;
    return std::nullopt;
  }
  json j = json::parse(res->body, nullptr, false);
  if (res->status >= 200 && res->status < 300) {
    *exit_code = kExitOk;
    return j.is_discarded() ? json::object() : j;
  }
  std::cerr << "keyward: " << HttpErrorText(*res) << "\n";
  *exit_code = ExitCodeForHttpStatus(res->status);
  return std::nullopt;
}

// Fetches every page of a list (no silent cap), or at most `max` items.
std::optional<json> CallList(const std::string& path, std::string query, size_t max,
                             int* exit_code) {
  json all = json::array();
  std::string cursor;
  while (true) {
    std::string target = path + "?limit=100" + query;
    if (!cursor.empty()) target += "&cursor=" + UrlEncode(cursor);
    auto page = Request("GET", target, nullptr, exit_code);
    if (!page) return std::nullopt;
    for (auto& item : (*page)["data"]) {
      if (max > 0 && all.size() >= max) return all;
      all.push_back(item);
    }
    if (!page->contains("next_cursor") || (*page)["next_cursor"].is_null()) return all;
    cursor = (*page)["next_cursor"].get<std::string>();
  }
}

// "active", and "active (rotation due)" past its workspace's rotation policy.
std::string KeyStatusText(const json& k) {
  return Str(k, "status") + (k.value("rotation_due", false) ? " (rotation due)" : "");
}

void PrintKey(const json& k) {
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"id", Str(k, "id")},
      {"short_prefix", Str(k, "short_prefix")},
      {"name", Str(k, "name")},
      {"workspace", Str(k, "workspace_id")},
      {"environment", Str(k, "environment")},
      {"status", KeyStatusText(k)},
      {"scopes", JoinList(k, "scopes")},
      {"ip_allowlist", JoinList(k, "ip_allowlist")},
      {"referrer_allowlist", JoinList(k, "referrer_allowlist")},
      {"endpoint_allowlist", JoinList(k, "endpoint_allowlist")},
      {"rate_limit",
       k.contains("rate_limit") && k["rate_limit"].is_object()
           ? Str(k["rate_limit"], "limit") + " per " + Str(k["rate_limit"], "period_seconds") + " s"
           : "-"},
      {"created_at", Str(k, "created_at")},
      {"expires_at", Str(k, "expires_at")},
      {"last_used_at", Str(k, "last_used_at")},
      {"revoked_at", Str(k, "revoked_at")},
  };
  for (const auto& [name, value] : rows) std::printf("%-19s %s\n", name.c_str(), value.c_str());
}

void PrintSecret(const json& k) {
  std::cout << "\n  " << Str(k, "key") << "\n\n"
            << "This is the only time the key is shown. Store it in a secrets manager now.\n";
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{
      "keyward: issue, verify, rotate and revoke API keys.\n"
      "Operator commands talk to a running keyward at KEYWARD_URL (default http://127.0.0.1:8080)\n"
      "with the root key in KEYWARD_ROOT_KEY.",
      "keyward"};
  app.require_subcommand(1);
  app.set_version_flag("--version", VersionText());
  int exit_code = kExitOk;

  // ---- serve ----
  ConfigFlags flags;
  std::string listen, data, database, prefix, envs, accept;
  int threads = 0;
  int64_t max_active = 0;
  auto* serve = app.add_subcommand("serve", "Run the keyward HTTP server");
  serve->add_option("--config,-c", flags.config_file, "TOML configuration file");
  auto* o_listen =
      serve->add_option("--listen", listen, "Address to listen on (default 127.0.0.1:8080)");
  auto* o_threads = serve->add_option("--threads", threads, "Request-serving threads (default 2)");
  auto* o_data = serve->add_option("--data", data, "Data directory for SQLite (default ./data)");
  auto* o_db = serve->add_option("--database", database,
                                 "PostgreSQL connection string (postgres://…) instead of SQLite");
  auto* o_prefix =
      serve->add_option("--product-prefix", prefix, "Key prefix, e.g. asa (default kw)");
  auto* o_envs =
      serve->add_option("--environments", envs, "Comma-separated environments (default live,test)");
  auto* o_accept = serve->add_option("--accept-environments", accept,
                                     "Environments this deployment authenticates (default: all)");
  auto* o_max = serve->add_option("--max-active-per-workspace", max_active,
                                  "Active keys per workspace (default 20)");
  serve->callback([&] {
    if (o_listen->count()) flags.listen = listen;
    if (o_threads->count()) flags.threads = threads;
    if (o_data->count()) flags.data_dir = data;
    if (o_db->count()) flags.database = database;
    if (o_prefix->count()) flags.product_prefix = prefix;
    if (o_envs->count()) flags.environments = SplitCommaList(envs);
    if (o_accept->count()) flags.accept_environments = SplitCommaList(accept);
    if (o_max->count()) flags.max_active_per_workspace = max_active;
    auto config = LoadConfig(flags);
    if (!config.ok()) {
      std::cerr << "keyward: configuration: " << config.status().message() << "\n";
      exit_code = kExitUsage;
      return;
    }
    exit_code = RunServe(*config);
  });

  // ---- root-keys (offline, on the database itself) ----
  auto* rk = app.add_subcommand(
      "root-keys",
      "Manage root keys directly in the database (SQLite data directory or PostgreSQL)");
  rk->require_subcommand(1);
  std::string rk_data, rk_database, rk_config, rk_name, rk_id;
  bool rk_json = false;
  // Which database: --database, else --config's, else KEYWARD_DATABASE,
  // else SQLite in --data (or the configuration's data_dir).
  const auto add_store_options = [&](CLI::App* sub) {
    sub->add_option("--data", rk_data,
                    "SQLite data directory (default ./data or KEYWARD_DATA_DIR)");
    sub->add_option(
        "--database", rk_database,
        "PostgreSQL connection string (default KEYWARD_DATABASE or the configuration's)");
    sub->add_option("--config,-c", rk_config, "The TOML configuration that names the database");
  };
  auto open_service = [&](auto&& fn) {
    LogLine::SetFd(2);  // stdout is the command's answer (a root key, a table)
    ConfigFlags store_flags;
    store_flags.config_file = rk_config;
    if (!rk_data.empty()) store_flags.data_dir = rk_data;
    if (!rk_database.empty()) store_flags.database = rk_database;
    auto config = LoadConfig(store_flags);
    if (!config.ok()) {
      std::cerr << "keyward: configuration: " << config.status().message() << "\n";
      exit_code = kExitUsage;
      return;
    }
    // The program `serve` runs, without serving: its store guard and
    // reserve too, so that a root key is revoked on a full disk as the
    // server would revoke it.
    auto app = App::Open(*config);
    if (!app.ok()) {
      std::cerr << "keyward: " << app.status().message() << "\n";
      exit_code = app.status().code() == Code::kInvalidRequest ? kExitUsage : kExitUnavailable;
      return;
    }
    fn((*app)->service());
  };
  auto* rk_create = rk->add_subcommand("create", "Create a root key; prints it alone on stdout");
  add_store_options(rk_create);
  rk_create->add_option("--name", rk_name, "What the key is for, e.g. ops")->required();
  rk_create->callback([&] {
    open_service([&](KeyService& service) {
      auto created = service.CreateRootKey(rk_name, Actor{"cli", ""});
      if (!created.ok()) {
        std::cerr << "keyward: " << created.status().message() << "\n";
        exit_code =
            created.status().code() == Code::kInvalidRequest ? kExitUsage : kExitUnavailable;
        return;
      }
      std::cout << created->secret << "\n";
      std::cerr << "keyward: created root key " << created->record.id << " ("
                << created->record.short_prefix << "); it will not be shown again\n";
    });
  });
  auto* rk_list = rk->add_subcommand("list", "List root keys (never their secrets)");
  add_store_options(rk_list);
  rk_list->add_flag("--json", rk_json, "Print JSON");
  rk_list->callback([&] {
    open_service([&](KeyService& service) {
      auto keys = service.ListRootKeys();
      if (!keys.ok()) {
        std::cerr << "keyward: " << keys.status().message() << "\n";
        exit_code = kExitUnavailable;
        return;
      }
      json arr = json::array();
      for (const auto& k : *keys) arr.push_back(RootKeyJson(k));
      if (rk_json) {
        std::cout << arr.dump(2) << "\n";
        return;
      }
      std::vector<std::vector<std::string>> rows;
      for (const auto& k : arr) {
        rows.push_back({Str(k, "id"), Str(k, "short_prefix"), Str(k, "name"),
                        k["revoked_at"].is_null() ? "active" : "revoked", Str(k, "created_at")});
      }
      PrintTable({"ID", "PREFIX", "NAME", "STATUS", "CREATED"}, rows);
    });
  });
  auto* rk_revoke = rk->add_subcommand("revoke", "Revoke a root key, immediately and for good");
  add_store_options(rk_revoke);
  rk_revoke->add_option("id", rk_id, "The root key's id (rk_…)")->required();
  rk_revoke->callback([&] {
    open_service([&](KeyService& service) {
      auto revoked = service.RevokeRootKey(rk_id, Actor{"cli", ""});
      if (!revoked.ok()) {
        std::cerr << "keyward: " << revoked.status().message() << "\n";
        exit_code = revoked.status().IsNotFound() ? kExitRefused : kExitUnavailable;
        return;
      }
      std::cout << "revoked " << revoked->id << " at " << FormatRfc3339(*revoked->revoked_at)
                << "\n";
    });
  });

  // ---- migrate (offline: SQLite to PostgreSQL) ----
  std::string mig_from, mig_to;
  auto* mig = app.add_subcommand(
      "migrate",
      "Copy a SQLite deployment (its data directory) into an empty PostgreSQL database, then "
      "verify the copy");
  mig->add_option("--from", mig_from, "The SQLite data directory (holding keyward.db)")->required();
  mig->add_option("--to", mig_to, "The PostgreSQL connection string (postgres://…)")->required();
  mig->callback([&] {
    LogLine::SetFd(2);
    MigrationOptions mo;
    mo.sqlite_path = (std::filesystem::path(mig_from) / "keyward.db").string();
    mo.postgres = mig_to;
    mo.progress = [](const std::string& table, int64_t done, int64_t total) {
      std::cerr << "\rkeyward migrate: " << table << " " << done << "/" << total << " rows"
                << (done == total ? "\n" : "") << std::flush;
    };
    auto report = MigrateSqliteToPostgres(mo);
    if (!report.ok()) {
      std::cerr << "\nkeyward migrate: " << report.status().message() << "\n";
      exit_code = report.status().code() == Code::kInvalidRequest ? kExitRefused : kExitUnavailable;
      return;
    }
    if (report->already_done) {
      std::cerr << "keyward migrate: the target already holds exactly this deployment; nothing "
                   "to do\n";
    }
    std::cout << (report->already_done ? "already migrated" : "migrated") << ", verified:";
    for (const auto& t : report->tables) std::cout << " " << t.name << "=" << t.rows;
    std::cout << " key-hashes-sha256=" << report->key_hash_digest << "\n";
  });

  // ---- workspaces (over HTTP) ----
  auto* ws = app.add_subcommand("workspaces", "Manage workspaces (over HTTP)");
  ws->require_subcommand(1);
  std::string ws_name, ws_id;
  int64_t ws_max = 0;
  size_t list_max = 0;
  bool as_json = false;
  auto* ws_create = ws->add_subcommand("create", "Create a workspace");
  ws_create->add_option("--name", ws_name, "Workspace name")->required();
  auto* o_ws_max = ws_create->add_option("--max-active-keys", ws_max,
                                         "Active-key limit (default: the deployment's)");
  ws_create->add_flag("--json", as_json, "Print JSON");
  ws_create->callback([&] {
    json body = {{"name", ws_name}};
    if (o_ws_max->count()) body["max_active_keys"] = ws_max;
    auto w = Request("POST", "/v1/workspaces", body, &exit_code);
    if (!w) return;
    if (as_json) {
      std::cout << w->dump(2) << "\n";
    } else {
      std::cout << Str(*w, "id") << "\n";
    }
  });
  auto* ws_list = ws->add_subcommand("list", "List workspaces");
  ws_list->add_flag("--json", as_json, "Print JSON");
  ws_list->add_option("--max", list_max, "At most this many (default: all)");
  ws_list->callback([&] {
    auto all = CallList("/v1/workspaces", "", list_max, &exit_code);
    if (!all) return;
    if (as_json) {
      std::cout << all->dump(2) << "\n";
      return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& w : *all) {
      rows.push_back({Str(w, "id"), Str(w, "name"),
                      Str(w, "active_keys") + "/" + Str(w, "max_active_keys"),
                      Str(w, "created_at")});
    }
    PrintTable({"ID", "NAME", "ACTIVE KEYS", "CREATED"}, rows);
  });
  auto* ws_show = ws->add_subcommand("show", "Show one workspace");
  ws_show->add_option("id", ws_id, "Workspace id (ws_…)")->required();
  ws_show->add_flag("--json", as_json, "Print JSON");
  ws_show->callback([&] {
    auto w = Request("GET", "/v1/workspaces/" + UrlEncode(ws_id), nullptr, &exit_code);
    if (!w) return;
    if (as_json) {
      std::cout << w->dump(2) << "\n";
      return;
    }
    for (const char* f : {"id", "name", "max_active_keys", "active_keys", "created_at"}) {
      std::printf("%-16s %s\n", f, Str(*w, f).c_str());
    }
  });

  // ---- keys (over HTTP) ----
  auto* keys = app.add_subcommand("keys", "Manage API keys (over HTTP)");
  keys->require_subcommand(1);
  std::string k_ws, k_env, k_name, k_expires, k_meta, k_rate, k_status, k_id, k_reason;
  std::vector<std::string> k_scopes, k_ips, k_referrers, k_endpoints;
  int64_t k_grace = 0;
  bool quiet = false, k_due = false;
  auto* k_create = keys->add_subcommand("create", "Create an API key; the secret is shown once");
  k_create->add_option("--workspace,-w", k_ws, "Workspace id (ws_…)")->required();
  k_create->add_option("--environment,-e", k_env, "Environment, e.g. live or test")->required();
  k_create->add_option("--name,-n", k_name, "A descriptive name, e.g. production-server")
      ->required();
  k_create->add_option("--scope", k_scopes, "A scope (repeatable)");
  k_create->add_option("--ip", k_ips, "Allowed client CIDR (repeatable)");
  k_create->add_option("--referrer", k_referrers, "Allowed referrer (repeatable)");
  k_create->add_option("--endpoint", k_endpoints,
                       "Allowed endpoint, e.g. \"GET /v1/products/*\" (repeatable)");
  auto* o_k_rate = k_create->add_option("--rate-limit", k_rate, "LIMIT/SECONDS, e.g. 100/60");
  auto* o_k_exp = k_create->add_option("--expires-at", k_expires, "RFC 3339 time");
  auto* o_k_meta = k_create->add_option("--meta", k_meta, "A JSON object");
  k_create->add_flag("--json", as_json, "Print JSON");
  k_create->add_flag("--quiet,-q", quiet, "Print only the key");
  k_create->callback([&] {
    json body = {{"workspace_id", k_ws}, {"environment", k_env}, {"name", k_name}};
    if (!k_scopes.empty()) body["scopes"] = k_scopes;
    if (!k_ips.empty()) body["ip_allowlist"] = k_ips;
    if (!k_referrers.empty()) body["referrer_allowlist"] = k_referrers;
    if (!k_endpoints.empty()) body["endpoint_allowlist"] = k_endpoints;
    if (o_k_exp->count()) body["expires_at"] = k_expires;
    if (o_k_rate->count()) {
      const size_t slash = k_rate.find('/');
      try {
        if (slash == std::string::npos) throw std::invalid_argument("no slash");
        body["rate_limit"] = {{"limit", std::stoll(k_rate.substr(0, slash))},
                              {"period_seconds", std::stoll(k_rate.substr(slash + 1))}};
      } catch (const std::exception&) {
        std::cerr << "keyward: --rate-limit must look like 100/60 (100 requests per 60 seconds)\n";
        exit_code = kExitUsage;
        return;
      }
    }
    if (o_k_meta->count()) {
      json meta = json::parse(k_meta, nullptr, false);
      if (!meta.is_object()) {
        std::cerr << "keyward: --meta must be a JSON object, like '{\"team\":\"payments\"}'\n";
        exit_code = kExitUsage;
        return;
      }
      body["meta"] = meta;
    }
    auto k = Request("POST", "/v1/api-keys", body, &exit_code);
    if (!k) return;
    if (as_json) {
      std::cout << k->dump(2) << "\n";
    } else if (quiet) {
      std::cout << Str(*k, "key") << "\n";
    } else {
      PrintKey(*k);
      PrintSecret(*k);
    }
  });
  auto* k_list = keys->add_subcommand("list", "List API keys (every page)");
  k_list->add_option("--workspace,-w", k_ws, "Only this workspace");
  k_list->add_option("--environment,-e", k_env, "Only this environment");
  k_list->add_option("--status", k_status, "active, revoked, expired or disabled");
  k_list->add_flag("--rotation-due", k_due,
                   "Only keys due for rotation by their workspace's policy");
  k_list->add_option("--max", list_max, "At most this many (default: all)");
  k_list->add_flag("--json", as_json, "Print JSON");
  k_list->callback([&] {
    std::string q;
    if (!k_ws.empty()) q += "&workspace_id=" + UrlEncode(k_ws);
    if (!k_env.empty()) q += "&environment=" + UrlEncode(k_env);
    if (!k_status.empty()) q += "&status=" + UrlEncode(k_status);
    if (k_due) q += "&rotation_due=true";
    auto all = CallList("/v1/api-keys", q, list_max, &exit_code);
    if (!all) return;
    if (as_json) {
      std::cout << all->dump(2) << "\n";
      return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& k : *all) {
      rows.push_back({Str(k, "id"), Str(k, "short_prefix"), Str(k, "name"), Str(k, "environment"),
                      KeyStatusText(k), Str(k, "last_used_at"), Str(k, "created_at")});
    }
    PrintTable({"ID", "PREFIX", "NAME", "ENV", "STATUS", "LAST USED", "CREATED"}, rows);
  });
  auto* k_show = keys->add_subcommand("show", "Show one API key");
  k_show->add_option("id", k_id, "Key id (key_…)")->required();
  k_show->add_flag("--json", as_json, "Print JSON");
  k_show->callback([&] {
    auto k = Request("GET", "/v1/api-keys/" + UrlEncode(k_id), nullptr, &exit_code);
    if (!k) return;
    if (as_json) {
      std::cout << k->dump(2) << "\n";
    } else {
      PrintKey(*k);
    }
  });
  auto* k_revoke = keys->add_subcommand("revoke", "Revoke an API key now and for good");
  k_revoke->add_option("id", k_id, "Key id (key_…)")->required();
  k_revoke->add_option("--reason", k_reason, "Why, for the audit log");
  k_revoke->add_flag("--json", as_json, "Print JSON");
  k_revoke->callback([&] {
    json body = json::object();
    if (!k_reason.empty()) body["reason"] = k_reason;
    auto r = Request("DELETE", "/v1/api-keys/" + UrlEncode(k_id), body, &exit_code);
    if (!r) return;
    if (as_json) {
      std::cout << r->dump(2) << "\n";
    } else {
      std::cout << "revoked " << Str(*r, "id") << " at " << Str(*r, "revoked_at") << "\n";
    }
  });
  auto* k_rotate =
      keys->add_subcommand("rotate", "Replace an API key; the old one works for --grace seconds");
  k_rotate->add_option("id", k_id, "Key id (key_…)")->required();
  k_rotate->add_option("--grace", k_grace, "Seconds the old key stays valid (default 0)");
  k_rotate->add_flag("--json", as_json, "Print JSON");
  k_rotate->add_flag("--quiet,-q", quiet, "Print only the new key");
  k_rotate->callback([&] {
    auto k = Request("POST", "/v1/api-keys/" + UrlEncode(k_id) + "/rotate",
                     json{{"grace_seconds", k_grace}}, &exit_code);
    if (!k) return;
    if (as_json) {
      std::cout << k->dump(2) << "\n";
    } else if (quiet) {
      std::cout << Str(*k, "key") << "\n";
    } else {
      PrintKey(*k);
      std::cout << "old key " << Str((*k)["old_key"], "id") << " expires at "
                << Str((*k)["old_key"], "expires_at") << "\n";
      PrintSecret(*k);
    }
  });

  // ---- usage (over HTTP) ----
  auto* usage = app.add_subcommand("usage", "Usage and billing exports (over HTTP)");
  usage->require_subcommand(1);
  UsageExportOptions ux;
  auto* u_export = usage->add_subcommand(
      "export",
      "Export usage per key and day (CSV or JSON), streamed to --output (written as "
      "FILE.partial, renamed once complete) or to stdout");
  u_export->add_option("--workspace,-w", ux.workspace_id, "Workspace id (ws_…)")->required();
  u_export->add_option("--from", ux.from, "Start, YYYY-MM-DD or RFC 3339 (default: the server's)");
  u_export->add_option("--to", ux.to, "End, YYYY-MM-DD or RFC 3339 (default: the server's)");
  u_export->add_option("--format", ux.format, "csv or json (default csv)")
      ->check(CLI::IsMember({"csv", "json"}));
  u_export->add_option("--environment,-e", ux.environment, "Only this environment, e.g. live");
  u_export->add_option("--output,-o", ux.output, "The file to write (default: stdout)");
  u_export->callback([&] {
    ux.url = EnvOr("KEYWARD_URL", "http://127.0.0.1:8080");
    ux.root_key = EnvOr("KEYWARD_ROOT_KEY", "");
    exit_code = RunUsageExport(ux, stdout, std::cerr, ::isatty(2) == 1);
  });

  // ---- moving keys in and out (over HTTP) ----
  ImportOptions im;
  std::vector<std::string> maps;
  auto* imp = app.add_subcommand(
      "import",
      "Import existing keys from a CSV or JSON-lines file, by hash or plaintext, in batches; "
      "resumes where an interrupted run stopped");
  imp->add_option("--file,-f", im.file,
                  "The file: CSV (a header line, then one key per line) or JSON lines (one "
                  "import row per line). Plaintext keys are read from here only")
      ->required();
  imp->add_option("--format", im.format, "csv or jsonl (default: by the file's extension)")
      ->check(CLI::IsMember({"csv", "jsonl"}));
  imp->add_option("--map", maps,
                  "FIELD=COLUMN: the CSV column that holds a field (repeatable), e.g. "
                  "--map hash=key_sha256 --map workspace_id=customer");
  imp->add_option("--workspace,-w", im.workspace_id, "Workspace for rows that name none");
  imp->add_option("--environment,-e", im.environment, "Environment for rows that name none");
  imp->add_option("--hash-encoding", im.hash_encoding,
                  "How the CSV's hash column is written: hex (default) or base64")
      ->check(CLI::IsMember({"hex", "base64"}));
  imp->add_option("--batch-size", im.batch_size, "Rows per request, 1-1000 (default 1000)");
  imp->add_flag("--dry-run", im.dry_run, "Check every row on the server and write nothing");
  imp->add_option("--rejects", im.rejects,
                  "Where rejected rows go, with line numbers and reasons (default "
                  "FILE.rejected.csv)");
  imp->add_flag("--restart", im.restart, "Ignore FILE.import-state and start from the first row");
  imp->callback([&] {
    im.url = EnvOr("KEYWARD_URL", "http://127.0.0.1:8080");
    im.root_key = EnvOr("KEYWARD_ROOT_KEY", "");
    for (const auto& m : maps) {
      const size_t eq = m.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == m.size()) {
        std::cerr << "keyward: --map " << m << ": must be FIELD=COLUMN\n";
        exit_code = kExitUsage;
        return;
      }
      im.columns[m.substr(0, eq)] = m.substr(eq + 1);
    }
    exit_code = RunImport(im, std::cerr, ::isatty(2) == 1);
  });

  ExportHashesOptions ex;
  auto* exh = app.add_subcommand(
      "export-hashes",
      "Export every key's hash and metadata as JSON lines, the shape `keyward import` takes: "
      "your keys can always leave");
  exh->add_option("--output,-o", ex.output,
                  "The file to write (written as FILE.partial, renamed once complete; default: "
                  "stdout)");
  exh->add_option("--workspace,-w", ex.workspace_id, "Only this workspace's keys");
  exh->add_option("--environment,-e", ex.environment, "Only this environment's keys");
  exh->add_flag("--include-revoked", ex.include_revoked, "Revoked keys too (they import revoked)");
  exh->callback([&] {
    ex.url = EnvOr("KEYWARD_URL", "http://127.0.0.1:8080");
    ex.root_key = EnvOr("KEYWARD_ROOT_KEY", "");
    exit_code = RunExportHashes(ex, stdout, std::cerr, ::isatty(2) == 1);
  });

  // ---- scan (offline: files, directories, git history) ----
  AddScanCommand(app, &exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  return exit_code;
}

}  // namespace keyward

int main(int argc, char** argv) { return keyward::Main(argc, argv); }
