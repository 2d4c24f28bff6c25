#include "app/open_store.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "server/log.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"

namespace keyward {
namespace {

Result<std::unique_ptr<KeyStore>> OpenSqlite(const std::string& data_dir) {
  // Everything keyward creates (the directory, the database, its WAL and
  // shared-memory files) is its owner's alone, from the first byte.
  ::umask(077);
  std::error_code ec;
  if (!std::filesystem::exists(data_dir, ec)) {
    if (::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::Unavailable("cannot create data directory " + data_dir + ": " +
                                 std::strerror(errno));
    }
  } else if (struct stat st; ::stat(data_dir.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 0777));
    LogLine("warn", "the data directory is open to other users; chmod 700 it")
        .Str("data_dir", data_dir)
        .Str("mode", mode)
        .Emit();
  }
  auto store = SqliteStore::Open((std::filesystem::path(data_dir) / "keyward.db").string());
  if (!store.ok()) return store.status();
  return std::unique_ptr<KeyStore>(std::move(*store));
}

}  // namespace

Result<std::unique_ptr<KeyStore>> OpenStore(const Config& config) {
  if (config.database.empty()) return OpenSqlite(config.data_dir);
  auto store = PgStore::Open(config.database, static_cast<int>(config.database_pool_size));
  if (!store.ok()) return store.status();
  return std::unique_ptr<KeyStore>(std::move(*store));
}

std::string StoreDisplayName(const Config& config) {
  if (config.database.empty()) return "sqlite " + config.data_dir;
  auto info = pg_internal::ParseConnInfo(config.database);
  return info.ok() ? info->display : "postgres";
}

}  // namespace keyward
