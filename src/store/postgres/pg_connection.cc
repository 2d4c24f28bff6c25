#include "store/postgres/pg_connection.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <cstring>

#include "core/utf8.h"

namespace keyward {
namespace pg_internal {
namespace {

// msg with every occurrence of the password replaced.
std::string Clean(std::string msg, const std::string& password) {
  if (password.empty()) return msg;
  for (size_t at = msg.find(password); at != std::string::npos; at = msg.find(password, at + 3)) {
    msg.replace(at, password.size(), "***");
  }
  return msg;
}

std::string TrimNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  return s;
}

bool IsConnectionLoss(std::string_view sqlstate) {
  return sqlstate.starts_with("08") || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03" || sqlstate == "53300" || sqlstate == "25006";
}

constexpr char kHex[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether PostgreSQL can hold text as a parameter: UTF-8 (the database's
// encoding) with no NUL byte, which libpq would take for the end.
bool Storable(const std::string& text) {
  return text.find('\0') == std::string::npos && IsValidUtf8(text);
}

}  // namespace

Result<ConnInfo> ParseConnInfo(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (opts == nullptr) {
    std::string why = err ? TrimNewlines(err) : "out of memory";
    PQfreemem(err);
    // libpq's message may quote a part of the string, which may hold a password.
    if (conninfo.find('@') != std::string::npos || conninfo.find("password") != std::string::npos) {
      why = "check its syntax";
    }
    return Status::InvalidRequest("database: not a PostgreSQL connection string libpq can read: " +
                                  why);
  }
  ConnInfo info;
  info.conninfo = conninfo;
  std::string user, host, port, dbname;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string_view k = o->keyword;
    if (k == "password") info.password = o->val;
    if (k == "user") user = o->val;
    if (k == "host") host = o->val;
    if (k == "hostaddr" && host.empty()) host = o->val;
    if (k == "port") port = o->val;
    if (k == "dbname") dbname = o->val;
  }
  PQconninfoFree(opts);
  info.display = "postgres://" + (user.empty() ? std::string() : user + "@") +
                 (host.empty() ? std::string("localhost") : host) +
                 (port.empty() ? std::string() : ":" + port) + "/" + dbname;
  info.display = Clean(info.display, info.password);
  return info;
}

Params& Params::Bind(const KeyHash& h) {
  std::string v = "\\x";
  for (uint8_t b : h) {
    v += kHex[b >> 4];
    v += kHex[b & 15];
  }
  values_.emplace_back(std::move(v));
  return *this;
}

bool Row::Present(int col) const {
  return r_ != nullptr && row_ < PQntuples(r_) && col < PQnfields(r_);
}

std::string Row::Text(int col) const {
  if (!Present(col)) return std::string();
  return std::string(PQgetvalue(r_, row_, col), static_cast<size_t>(PQgetlength(r_, row_, col)));
}

int64_t Row::Int(int col) const {
  if (!Present(col) || PQgetisnull(r_, row_, col)) return 0;
  const char* v = PQgetvalue(r_, row_, col);
  if (v[0] == 't') return 1;  // a boolean
  if (v[0] == 'f') return 0;
  return std::strtoll(v, nullptr, 10);
}

std::optional<int64_t> Row::OptInt(int col) const {
  if (!Present(col) || PQgetisnull(r_, row_, col)) return std::nullopt;
  return Int(col);
}

bool Row::IsNull(int col) const { return !Present(col) || PQgetisnull(r_, row_, col) != 0; }

KeyHash Row::Hash(int col) const {
  KeyHash h{};
  if (!Present(col)) return h;
  const char* v = PQgetvalue(r_, row_, col);
  const size_t n = static_cast<size_t>(PQgetlength(r_, row_, col));
  // bytea in hex output: \x and two digits a byte.
  if (n != 2 + 2 * h.size() || v[0] != '\\' || v[1] != 'x') return h;
  for (size_t i = 0; i < h.size(); ++i) {
    const int hi = HexValue(v[2 + 2 * i]), lo = HexValue(v[3 + 2 * i]);
    if (hi < 0 || lo < 0) return KeyHash{};
    h[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return h;
}

PgRows::~PgRows() { PQclear(r_); }

int PgRows::rows() const { return r_ ? PQntuples(r_) : 0; }

int64_t PgRows::affected() const {
  const char* n = r_ ? PQcmdTuples(r_) : "";
  return n[0] ? std::strtoll(n, nullptr, 10) : 0;
}

PgConnection::~PgConnection() { PQfinish(conn_); }

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const ConnInfo& info) {
  // Ours first, so that the configured string's own values win.
  // A commit is on disk before it is answered, whatever the server's
  // default says (an `options` in the configured string replaces this).
  const char* keys[] = {"connect_timeout", "application_name", "options", "dbname", nullptr};
  const char* values[] = {"5", "keyward", "-c synchronous_commit=on", info.conninfo.c_str(),
                          nullptr};
  pg_conn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) {
    return Status::Storage(StorageFault::kUnreachable,
                           "cannot connect to the database: out of memory");
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = Clean(TrimNewlines(PQerrorMessage(conn)), info.password);
    PQfinish(conn);
    return Status::Storage(StorageFault::kUnreachable,
                           "cannot connect to the database " + info.display + ": " + why);
  }
  std::unique_ptr<PgConnection> c(new PgConnection(conn, &info));
  // Times in the connection's zone are never read; keep its notices quiet.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return c;
}

bool PgConnection::healthy() const {
  return !broken_ && PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

Status PgConnection::ErrorOf(pg_result* res, const char* sql) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state ? state : "";
  std::string msg = res ? PQresultErrorMessage(res) : "";
  if (msg.empty()) msg = PQerrorMessage(conn_);
  msg = Clean(TrimNewlines(msg), info_->password);
  if (res) PQclear(res);
  // Every error the server sends has a SQLSTATE; one without is libpq's own
  // (the connection broke), even when PQstatus has not caught up yet.
  if (PQstatus(conn_) != CONNECTION_OK || last_sqlstate_.empty() ||
      IsConnectionLoss(last_sqlstate_)) {
    if (last_sqlstate_.empty()) last_sqlstate_ = "08006";
    broken_ = true;  // never lent out again
    return Status::Storage(StorageFault::kUnreachable, "the database is unreachable: " + msg);
  }
  if (last_sqlstate_ == "23505") return Status::Conflict(msg);
  if (last_sqlstate_ == "23503") return Status::NotFound(msg);
  if (IsRetryable(last_sqlstate_)) return Status::Unavailable("the database is busy: " + msg);
  if (const StorageFault fault = ClassifySqlState(last_sqlstate_); fault != StorageFault::kNone) {
    return Status::Storage(fault, "postgres: " + msg);
  }
  (void)sql;
  return Status::Internal("postgres: " + msg);
}

Result<PgRows> PgConnection::Query(const char* sql, const Params& params) {
  last_sqlstate_.clear();
  const auto& v = params.values();
  for (const auto& value : v) {
    if (!value || Storable(*value)) continue;
    // No stored text equals a value that cannot be stored: a read finds
    // nothing (as SQLite's would); a write is refused, before libpq could
    // cut the value short at a NUL byte.
    if (std::string_view(sql).starts_with("SELECT")) return PgRows(nullptr);
    return Status::InvalidRequest("text must be UTF-8 without NUL bytes");
  }
  std::vector<const char*> values(v.size());
  for (size_t i = 0; i < v.size(); ++i) values[i] = v[i] ? v[i]->c_str() : nullptr;
  pg_result* res = PQexecParams(conn_, sql, static_cast<int>(v.size()), nullptr, values.data(),
                                nullptr, nullptr, /*resultFormat=*/0);
  const auto st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return PgRows(res);
  return ErrorOf(res, sql);
}

Status PgConnection::Exec(const char* sql, const Params& params) {
  auto r = Query(sql, params);
  return r.ok() ? Status::Ok() : r.status();
}

StorageFault ClassifySqlState(std::string_view sqlstate) {
  if (sqlstate == "53100") return StorageFault::kFull;     // disk_full
  if (sqlstate == "58030") return StorageFault::kIoError;  // io_error
  // data_corrupted, index_corrupted
  if (sqlstate == "XX001" || sqlstate == "XX002") return StorageFault::kCorrupt;
  return StorageFault::kNone;
}

bool IsRetryable(std::string_view sqlstate) { return sqlstate == "40001" || sqlstate == "40P01"; }

PgPool::PgPool(ConnInfo info, int size) : info_(std::move(info)), size_(size < 1 ? 1 : size) {}

PgPool::~PgPool() {
  MutexLock lock(&mu_);
  idle_.clear();
}

PgPool::Lease::~Lease() {
  if (conn_) pool_->Release(std::move(conn_));
}

Result<PgPool::Lease> PgPool::Acquire() {
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  mu_.Lock();
  while (true) {
    if (!idle_.empty()) {
      std::unique_ptr<PgConnection> c = std::move(idle_.back());
      idle_.pop_back();
      if (c->healthy()) {
        mu_.Unlock();
        return Lease(this, std::move(c));
      }
      --open_;
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    if (open_ < size_) {
      if (now < down_until_) {
        std::string why = down_reason_;
        mu_.Unlock();
        return Status::Storage(StorageFault::kUnreachable, why);
      }
      ++open_;
      mu_.Unlock();
      auto c = PgConnection::Connect(info_);
      mu_.Lock();
      if (!c.ok()) {
        --open_;
        down_until_ = std::chrono::steady_clock::now() + kRetryAfter;
        down_reason_ = c.status().message();
        cv_.notify_all();
        mu_.Unlock();
        return c.status();
      }
      down_until_ = {};
      mu_.Unlock();
      return Lease(this, std::move(*c));
    }
    if (now >= deadline) {
      mu_.Unlock();
      return Status::Unavailable("all " + std::to_string(size_) +
                                 " database connections stayed busy; raise database_pool_size");
    }
    cv_.wait_until(mu_, deadline);
  }
}

void PgPool::Release(std::unique_ptr<PgConnection> conn) {
  MutexLock lock(&mu_);
  if (conn->healthy()) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
  cv_.notify_one();
}

}  // namespace pg_internal
}  // namespace keyward
