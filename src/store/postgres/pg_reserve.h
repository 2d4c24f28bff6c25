// PgReserve: the PostgreSQL engine's StorageReserve. Space held back in the
// database's own tablespace as rows of a table (storage_reserve, stored
// uncompressed, made by Fill), so that revocations can still commit when
// the disk under the data files fills: DROP TABLE frees it at once
// (PostgreSQL truncates a dropped file to zero at commit, so the space
// returns even while other sessions hold it open) and needs no new page. It cannot protect the
// write-ahead log: PostgreSQL stops when pg_wal has no space, whatever keyward holds back (README,
// "When storage fails"). Thread-safe: a mutex around what it believes it holds; the database does
// the rest.
#ifndef KEYWARD_STORE_POSTGRES_PG_RESERVE_H_
#define KEYWARD_STORE_POSTGRES_PG_RESERVE_H_

#include <cstdint>

#include "core/mutex.h"
#include "core/storage_reserve.h"
#include "store/postgres/pg_store.h"

namespace keyward {

class PgReserve final : public StorageReserve {
 public:
  // store must outlive the reserve. bytes: rounded up to whole chunks.
  PgReserve(PgStore* store, uint64_t bytes);

  Status Fill() override;
  bool Release() override;
  // The database server's free space cannot be seen from here: try.
  bool RoomToRefill() const override { return true; }
  void Forget() override;
  uint64_t size() const override { return chunks_ * kChunkBytes; }
  uint64_t held() const override;

  static constexpr uint64_t kChunkBytes = 256 * 1024;

 private:
  PgStore* store_;
  const uint64_t chunks_;
  mutable Mutex mu_;
  uint64_t held_ GUARDED_BY(mu_) = 0;
};

}  // namespace keyward

#endif  // KEYWARD_STORE_POSTGRES_PG_RESERVE_H_
