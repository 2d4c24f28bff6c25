// Internal to the SQLite engine: prepared statements, transactions, the
// mapping of SQLite errors to Status, and the paging helpers that every
// table's queries share. Not part of the store contract; nothing outside
// store/sqlite/ includes it.
// Not thread-safe: a Stmt or Transaction belongs to one connection, used
// under that connection's mutex.
#ifndef KEYWARD_STORE_SQLITE_STATEMENT_H_
#define KEYWARD_STORE_SQLITE_STATEMENT_H_

#include <sqlite3.h>

#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"
#include "core/status.h"
#include "store/rules.h"

namespace keyward {
namespace sqlite_internal {

// A SQLite failure as a Status: busy as Unavailable, a storage fault (full,
// read-only, I/O error, moved, corrupt) as Status::Storage, a unique
// violation as Conflict, anything else as Internal.
Status SqliteError(sqlite3* db, const char* what);

// The storage fault an SQLite error code (extended) and the errno of the
// system call that failed stand for; kNone for errors that are not one.
StorageFault ClassifySqliteError(int extended_code, int system_errno);

// The connection whose Transaction is open on this thread, if any.
inline thread_local sqlite3* tls_transaction_db = nullptr;

// Whether db has a Transaction open on this thread that SQLite has rolled
// back by itself (it does after SQLITE_IOERR, SQLITE_FULL and the like):
// the connection is back in autocommit mode.
inline bool TransactionLost(sqlite3* db) {
  return db == tls_transaction_db && sqlite3_get_autocommit(db) != 0;
}

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  // Uses a statement prepared once and kept by its connection.
  Stmt(sqlite3* db, sqlite3_stmt* borrowed)
      : db_(db), stmt_(borrowed), rc_(SQLITE_OK), owned_(false) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  ~Stmt() {
    if (owned_) {
      sqlite3_finalize(stmt_);
    } else {
      sqlite3_reset(stmt_);
    }
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool prepared() const { return rc_ == SQLITE_OK; }
  Status PrepareStatus() const { return prepared() ? Status::Ok() : SqliteError(db_, "prepare"); }

  Stmt& Bind(std::string_view v) {
    sqlite3_bind_text(stmt_, ++n_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(const char* v) { return Bind(std::string_view(v)); }
  Stmt& Bind(const std::string& v) { return Bind(std::string_view(v)); }
  Stmt& Bind(int64_t v) {
    sqlite3_bind_int64(stmt_, ++n_, v);
    return *this;
  }
  Stmt& Bind(const std::optional<int64_t>& v) {
    if (v) return Bind(*v);
    sqlite3_bind_null(stmt_, ++n_);
    return *this;
  }
  Stmt& Bind(const KeyHash& h) {
    sqlite3_bind_blob(stmt_, ++n_, h.data(), static_cast<int>(h.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindNullableText(std::string_view v) {
    if (v.empty()) {
      sqlite3_bind_null(stmt_, ++n_);
      return *this;
    }
    return Bind(v);
  }

  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    n_ = 0;
  }

  // SQLITE_ROW, SQLITE_DONE or an error code.
  // Inside a Transaction that SQLite has already rolled back (after an I/O
  // error or a full disk), no statement runs: it would commit on its own,
  // outside the transaction.
  int Step() {
    if (TransactionLost(db_)) return SQLITE_ABORT_ROLLBACK;
    return sqlite3_step(stmt_);
  }
  Status Run() {
    const int rc = Step();
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? Status::Ok() : SqliteError(db_, "write");
  }

  std::string Text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::optional<int64_t> OptInt(int col) const {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int64(stmt_, col);
  }
  KeyHash Hash(int col) const {
    KeyHash h{};
    const void* p = sqlite3_column_blob(stmt_, col);
    if (p && sqlite3_column_bytes(stmt_, col) == static_cast<int>(h.size())) {
      std::memcpy(h.data(), p, h.size());
    }
    return h;
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
  bool owned_ = true;
  int n_ = 0;
};

// Whether the directory of db's database file refuses new files because its
// file system is read-only (EROFS).
bool DirectoryIsReadOnly(sqlite3* db);

// Whether the database file of db was unlinked or renamed since it was
// opened (a deleted data directory): a write would land in a file that no
// one will ever open again.
bool DatabaseMoved(sqlite3* db);

// A write transaction; rolls back unless Commit() succeeded. Refuses to
// begin on a database file that was deleted or moved.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db), outer_(tls_transaction_db) {
    moved_ = DatabaseMoved(db_);
    rc_ = moved_ ? SQLITE_READONLY_DBMOVED
                 : sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    if (rc_ == SQLITE_OK) tls_transaction_db = db_;
  }
  ~Transaction() {
    tls_transaction_db = outer_;
    if (rc_ == SQLITE_OK && !done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Status BeginStatus() const {
    if (moved_) {
      return Status::Storage(StorageFault::kMissing, "the database file was deleted or moved");
    }
    return rc_ == SQLITE_OK ? Status::Ok() : SqliteError(db_, "begin");
  }
  Status Commit() {
    if (TransactionLost(db_)) return SqliteError(db_, "commit");
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return SqliteError(db_, "commit");
    }
    done_ = true;
    tls_transaction_db = outer_;
    return Status::Ok();
  }

 private:
  sqlite3* db_;
  sqlite3* outer_;  // the transaction open before this one, if any
  int rc_;
  bool moved_ = false;
  bool done_ = false;
};

using store_rules::CheckLimit;
using store_rules::FromJsonArray;
using store_rules::ToJsonArray;

// Runs a page query whose SQL ends in "LIMIT ?" (already bound but for the
// limit), reading rows with read; fetches one extra row to know if there is
// a next page.
template <typename T, typename ReadRow, typename IdOf>
Result<Page<T>> ReadPage(sqlite3* db, Stmt& s, int limit, ReadRow read, IdOf id_of) {
  s.Bind(static_cast<int64_t>(limit) + 1);
  Page<T> page;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) page.items.push_back(read(s));
  if (rc != SQLITE_DONE) return SqliteError(db, "read");
  if (page.items.size() > static_cast<size_t>(limit)) {
    page.items.pop_back();
    page.next_cursor = id_of(page.items.back());
  }
  return page;
}

// Resolves a cursor (an object id) to its seq in table; 0 when empty.
// The position of a cursor in a list. A cursor outside the list's scope
// (another workspace, another environment) answers exactly as an unknown
// one, so a cursor never tells whether an id exists elsewhere.
struct CursorScope {
  const char* column;
  std::string_view value;  // empty: no constraint
};

Result<int64_t> CursorSeq(sqlite3* db, const char* table, const std::string& cursor,
                          std::initializer_list<CursorScope> scope = {});

}  // namespace sqlite_internal
}  // namespace keyward

#endif  // KEYWARD_STORE_SQLITE_STATEMENT_H_
