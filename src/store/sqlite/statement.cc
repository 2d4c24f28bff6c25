#include "store/sqlite/statement.h"

namespace keyward {
namespace sqlite_internal {

Status SqliteError(sqlite3* db, const char* what) {
  const int code = sqlite3_extended_errcode(db);
  std::string msg = std::string(what) + ": " + sqlite3_errmsg(db);
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) {
    return Status::Unavailable("database is busy: " + msg);
  }
  if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return Status::Conflict(msg);
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
