#include "store/sqlite/statement.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace keyward {
namespace sqlite_internal {

StorageFault ClassifySqliteError(int extended_code, int system_errno) {
  switch (extended_code & 0xff) {
    case SQLITE_FULL:
      return StorageFault::kFull;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StorageFault::kCorrupt;
    case SQLITE_READONLY:
      // The file was unlinked or renamed under the open connection.
      if (extended_code == SQLITE_READONLY_DBMOVED) return StorageFault::kMissing;
      return StorageFault::kReadOnly;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      switch (system_errno) {
        case ENOSPC:
        case EDQUOT:
          return StorageFault::kFull;
        case EROFS:
        case EACCES:
        case EPERM:
          return StorageFault::kReadOnly;
        case ENOENT:
          return StorageFault::kMissing;
        default:
          return StorageFault::kIoError;
      }
    default:
      return StorageFault::kNone;
  }
}

bool DirectoryIsReadOnly(sqlite3* db) {
  // A file system that turned read-only under an open file (ext4's
  // errors=remount-ro) fails a commit as an I/O error, and SQLite may not
  // keep the EROFS; nor does every kernel flag such a file system in
  // statvfs. Creating a file beside the database tells. (Never opening
  // the database file itself: closing any descriptor of it would drop
  // SQLite's locks.)
  const char* file = sqlite3_db_filename(db, "main");
  if (file == nullptr || *file == '\0') return false;
  const std::string probe = std::string(file) + ".rw-probe";
  const int fd = ::open(probe.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    ::unlink(probe.c_str());
    return false;
  }
  return errno == EROFS;
}

bool DatabaseMoved(sqlite3* db) {
  int moved = 0;
  return sqlite3_file_control(db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK &&
         moved != 0;
}

Status SqliteError(sqlite3* db, const char* what) {
  const int code = sqlite3_extended_errcode(db);
  std::string msg = std::string(what) + ": " + sqlite3_errmsg(db);
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) {
    return Status::Unavailable("database is busy: " + msg);
  }
  StorageFault fault = ClassifySqliteError(code, sqlite3_system_errno(db));
  if ((code & 0xff) == SQLITE_IOERR && fault != StorageFault::kFull) {
    // SQLite does not refresh the errno for a failure at COMMIT (it may be
    // an earlier error's): what the files say now decides.
    if (DatabaseMoved(db)) {
      fault = StorageFault::kMissing;
    } else if (DirectoryIsReadOnly(db)) {
      fault = StorageFault::kReadOnly;
    } else {
      fault = StorageFault::kIoError;
    }
  }
  if (fault != StorageFault::kNone) return Status::Storage(fault, msg);
  if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return Status::Conflict(msg);
  }
  if (TransactionLost(db)) {
    // SQLite rolled the transaction back after an earlier storage error,
    // which was answered then; what came since (a statement refused, a
    // stale error code) must not be taken for success, nor be a 500.
    return Status::Storage(StorageFault::kIoError,
                           msg + " (the transaction was rolled back by an earlier storage error)");
  }
  return Status::Internal(msg);
}

Result<int64_t> CursorSeq(sqlite3* db, const char* table, const std::string& cursor,
                          std::initializer_list<CursorScope> scope) {
  if (cursor.empty()) return int64_t{0};
  std::string sql = std::string("SELECT seq FROM ") + table + " WHERE id = ?";
  for (const auto& c : scope) {
    if (!c.value.empty()) sql += std::string(" AND ") + c.column + " = ?";
  }
  Stmt s(db, sql.c_str());
  KEYWARD_RETURN_IF_ERROR(s.PrepareStatus());
  s.Bind(cursor);
  for (const auto& c : scope) {
    if (!c.value.empty()) s.Bind(c.value);
  }
  const int rc = s.Step();
  if (rc == SQLITE_ROW) return s.Int(0);
  if (rc == SQLITE_DONE)
    return Status::InvalidRequest("cursor \"" + cursor + "\" is not from this list");
  return SqliteError(db, "read");
}

}  // namespace sqlite_internal
}  // namespace keyward
