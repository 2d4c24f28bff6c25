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
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/http_client.h"
#include "cli/key_import.h"
#include "cli/operator_api.h"
#include "cli/output.h"
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

  // ---- operator commands over HTTP (cli/commands/) ----
  AddOperatorCommands(app, &exit_code);

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
    im.url = OperatorUrl();
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
    ex.url = OperatorUrl();
    ex.root_key = EnvOr("KEYWARD_ROOT_KEY", "");
    exit_code = RunExportHashes(ex, stdout, std::cerr, ::isatty(2) == 1);
  });

  // ---- scan (offline: files, directories, git history) ----
  AddScanCommand(app, &exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (ExplainSubcommandError(app, e, args)) return kExitUsage;
    if (e.get_exit_code() == 0) {  // --help, --version
      app.exit(e);
      return kExitOk;
    }
    std::cerr << WithoutSecretArguments(e.what(), args)
              << "\nRun with --help for more information.\n";
    return kExitUsage;
  }
  return exit_code;
}

}  // namespace keyward

int main(int argc, char** argv) { return keyward::Main(argc, argv); }
