// Internal to the PostgreSQL engine: connections (libpq), statements with
// parameters, result rows, a connection pool that reconnects on its own, and
// the one place that maps PostgreSQL errors to Status. Nothing outside
// store/postgres/ includes it.
//
// A PgConnection is not thread-safe: one thread uses it at a time, through a
// PgPool::Lease. PgPool is thread-safe.
#ifndef KEYWARD_STORE_POSTGRES_PG_CONNECTION_H_
#define KEYWARD_STORE_POSTGRES_PG_CONNECTION_H_

#include <chrono>
#include <condition_variable>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"
#include "core/mutex.h"
#include "core/status.h"

struct pg_conn;
struct pg_result;

namespace keyward {
namespace pg_internal {

// What a connection string names, with its password (if any) kept apart so
// that messages can be cleaned of it.
struct ConnInfo {
  std::string conninfo;  // as configured: a postgres:// URI or key=value pairs
  std::string password;  // empty: none in the string
  std::string display;   // "postgres://user@host:port/db", never the password
};
// Parses conninfo with libpq's own parser; InvalidRequest (naming nothing
// secret) when libpq cannot read it.
Result<ConnInfo> ParseConnInfo(const std::string& conninfo);

// Statement parameters, sent as text. Bind and BindNullableText are named
// as SQLite's Stmt has them, so store/rules.h binds a row for both engines.
class Params {
 public:
  Params& Bind(std::string_view v) {
    values_.emplace_back(std::string(v));
    return *this;
  }
  Params& Bind(const char* v) { return Bind(std::string_view(v)); }
  Params& Bind(const std::string& v) { return Bind(std::string_view(v)); }
  Params& Bind(int64_t v) {
    values_.emplace_back(std::to_string(v));
    return *this;
  }
  Params& Bind(int v) { return Bind(static_cast<int64_t>(v)); }
  Params& Bind(const std::optional<int64_t>& v) {
    if (!v) {
      values_.emplace_back(std::nullopt);
      return *this;
    }
    return Bind(*v);
  }
  Params& Bind(const KeyHash& h);  // bytea, as \x<hex>
  Params& BindNullableText(std::string_view v) {
    if (v.empty()) {
      values_.emplace_back(std::nullopt);
      return *this;
    }
    return Bind(v);
  }
  const std::vector<std::optional<std::string>>& values() const { return values_; }

 private:
  std::vector<std::optional<std::string>> values_;
};

// One row of a result: the accessors store/rules.h's row readers use.
class Row {
 public:
  Row(const pg_result* r, int row) : r_(r), row_(row) {}
  std::string Text(int col) const;
  int64_t Int(int col) const;
  std::optional<int64_t> OptInt(int col) const;
  KeyHash Hash(int col) const;
  bool IsNull(int col) const;

 private:
  // Whether the cell exists (a read of a missing one answers empty or 0).
  bool Present(int col) const;
  const pg_result* r_;
  int row_;
};

// A query's result; owns the PGresult.
class PgRows {
 public:
  explicit PgRows(pg_result* r) : r_(r) {}
  ~PgRows();
  PgRows(PgRows&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  PgRows& operator=(PgRows&&) = delete;
  PgRows(const PgRows&) = delete;

  int rows() const;
  Row row(int i) const { return Row(r_, i); }
  int64_t affected() const;  // rows an INSERT/UPDATE/DELETE touched

 private:
  pg_result* r_;
};

// One libpq connection.
class PgConnection {
 public:
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Connects; Unavailable (the password cleaned out) when it cannot.
  static Result<std::unique_ptr<PgConnection>> Connect(const ConnInfo& info);

  // Runs sql with params; rows for a query, none for a command.
  Result<PgRows> Query(const char* sql, const Params& params = Params());
  Status Exec(const char* sql, const Params& params = Params());

  // The SQLSTATE of the last failure ("40001"), empty when none.
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  // Whether the connection still works (false after the server went away).
  bool healthy() const;
  pg_conn* raw() { return conn_; }
  const ConnInfo& info() const { return *info_; }

 private:
  PgConnection(pg_conn* conn, const ConnInfo* info) : conn_(conn), info_(info) {}
  Status ErrorOf(pg_result* res, const char* sql);

  pg_conn* conn_;
  const ConnInfo* info_;
  std::string last_sqlstate_;
  bool broken_ = false;  // lost the server: the pool drops it
};

// SQLSTATEs that mean "run the transaction again".
bool IsRetryable(std::string_view sqlstate);

// The storage fault a SQLSTATE stands for (53100 disk_full, 58030 io_error,
// XX001/XX002 corruption); kNone for the rest.
StorageFault ClassifySqlState(std::string_view sqlstate);

// A fixed number of connections, made when first needed and remade after a
// failure, so that the database can go away and come back with no restart.
// While the database cannot be reached, callers are answered Unavailable at
// once for a short while (kRetryAfter) instead of each waiting to connect.
class PgPool {
 public:
  PgPool(ConnInfo info, int size);
  ~PgPool();

  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConnection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& o) noexcept = default;
    ~Lease();
    PgConnection* operator->() { return conn_.get(); }
    PgConnection& operator*() { return *conn_; }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  // A connection for one call; waits for a free one up to kWait.
  Result<Lease> Acquire();
  const ConnInfo& info() const { return info_; }

  static constexpr std::chrono::milliseconds kRetryAfter{500};
  static constexpr std::chrono::seconds kWait{10};

 private:
  void Release(std::unique_ptr<PgConnection> conn);

  const ConnInfo info_;
  const int size_;
  Mutex mu_;
  std::condition_variable_any cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_ GUARDED_BY(mu_);
  int open_ GUARDED_BY(mu_) = 0;  // leased or idle
  std::chrono::steady_clock::time_point down_until_ GUARDED_BY(mu_){};
  std::string down_reason_ GUARDED_BY(mu_);
};

}  // namespace pg_internal
}  // namespace keyward

#endif  // KEYWARD_STORE_POSTGRES_PG_CONNECTION_H_
