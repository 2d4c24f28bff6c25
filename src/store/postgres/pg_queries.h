// Internal to the PostgreSQL engine: the statement builder and the reads
// and writes that several of its files share (the change log, key rows, the
// workspace lock, paging, the webhook outbox). Nothing outside
// store/postgres/ includes it.
// Not thread-safe: each call runs on the caller's connection, in its
// transaction.
#ifndef KEYWARD_STORE_POSTGRES_PG_QUERIES_H_
#define KEYWARD_STORE_POSTGRES_PG_QUERIES_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"
#include "core/webhook_events.h"
#include "store/postgres/pg_connection.h"
#include "store/rules.h"

namespace keyward {
namespace pg_internal {

// Advisory lock ids (fixed 64-bit numbers nothing else uses).
inline constexpr int64_t kMigrationLock = 0x6b6579776172'01;  // "keywar" 01
inline constexpr int64_t kChangeLogLock = 0x6b6579776172'02;  // appends to key_changes
inline constexpr int64_t kFirstRootKeyLock = 0x6b6579776172'03;
// Counting the operator's webhook endpoints (a workspace's: its row's lock).
inline constexpr int64_t kOperatorEndpointsLock = 0x6b6579776172'04;
// The NOTIFY channel of key changes.
inline constexpr const char* kChannel = "keyward_key_changes";

std::string Sql(std::initializer_list<std::string_view> parts);

// sql written for SQLite's `?` placeholders with PostgreSQL's numbered ones,
// from $first on. Only for SQL that has no `?` inside a literal or an
// identifier (store/webhook_rules.h's).
std::string Numbered(std::string_view sql, int first = 1);

// Statement text with numbered parameters added as they are written.
class Builder {
 public:
  // "$n" for v, appended to the parameters.
  template <typename T>
  std::string Arg(const T& v) {
    params.Bind(v);
    return "$" + std::to_string(params.values().size());
  }
  Params params;
};

// {"a","b"} and {1,2}: array literals for unnest($n::text[]) and friends.
std::string ArrayLiteral(const std::vector<std::string>& v);
std::string IntArrayLiteral(const std::vector<int64_t>& v);
// The same for $n::bytea[].
std::string HashArrayLiteral(const std::vector<KeyHash>& v);

// The first row read by read, or NotFound(missing).
template <typename T, typename Read>
Result<T> One(Result<PgRows> rows, Read read, const std::string& missing) {
  if (!rows.ok()) return rows.status();
  if (rows->rows() == 0) return Status::NotFound(missing);
  return read(rows->row(0));
}

// Appends to the change log and tells listening nodes, in c's transaction.
// The advisory lock, held to commit, makes sequences commit in the order
// they are handed out (the contract's ordered change log).
Status LogKeyChange(PgConnection& c, const KeyHash& hash, Timestamp at);
// The same for several hashes, in their order, with one NOTIFY.
Status LogKeyChanges(PgConnection& c, const std::vector<KeyHash>& hashes, Timestamp at);
// Writes a webhook event to the outbox unless one with its dedupe key is
// stored already; *inserted (if given) says which.
Status InsertWebhookEvent(PgConnection& c, const WebhookEvent& e, bool* inserted = nullptr);
// Inserts a key row and logs it as a change.
Status InsertKeyRow(PgConnection& c, const ApiKey& k);
// lock: " FOR UPDATE" to hold the row until the transaction ends.
Result<ApiKey> ReadKey(PgConnection& c, std::string_view id, const char* lock = "");
Result<int64_t> CountActive(PgConnection& c, std::string_view workspace_id, Timestamp now);
// Locks the workspace's row: key counts then hold until commit, on every node.
Status LockWorkspace(PgConnection& c, std::string_view workspace_id);
// Refuses a plan_id that names no plan (empty names none); the plan's row
// is share-locked until commit.
Status CheckPlan(PgConnection& c, const std::string& plan_id);
// What store/rules.h's rules read, on c (counting locks the workspace).
store_rules::Reads ReadsOn(PgConnection& c, std::string workspace_id, Timestamp now);

// The position of a cursor in its list, as store/sqlite's CursorSeq: a
// cursor outside the list's scope answers as an unknown one.
struct CursorScope {
  const char* column;
  std::string_view value;
};
Result<int64_t> CursorSeq(PgConnection& c, const char* table, const std::string& cursor,
                          std::initializer_list<CursorScope> scope = {});

// Runs a page query ending in "LIMIT " (the limit is appended here), one row
// past the page to know whether another follows.
template <typename T, typename Read, typename IdOf>
Result<Page<T>> ReadPage(PgConnection& c, Builder& b, std::string sql, int limit, Read read,
                         IdOf id_of) {
  sql += b.Arg(static_cast<int64_t>(limit) + 1);
  auto rows = c.Query(sql.c_str(), b.params);
  if (!rows.ok()) return rows.status();
  Page<T> page;
  for (int i = 0; i < rows->rows(); ++i) page.items.push_back(read(rows->row(i)));
  if (page.items.size() > static_cast<size_t>(limit)) {
    page.items.pop_back();
    page.next_cursor = id_of(page.items.back());
  }
  return page;
}

}  // namespace pg_internal
}  // namespace keyward

#endif  // KEYWARD_STORE_POSTGRES_PG_QUERIES_H_
