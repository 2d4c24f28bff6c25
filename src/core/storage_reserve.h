// StorageReserve: the contract of the space an engine holds back for
// revocations on a full disk. The store guard (store/guard/) uses it.
#ifndef KEYWARD_CORE_STORAGE_RESERVE_H_
#define KEYWARD_CORE_STORAGE_RESERVE_H_

#include <cstdint>

#include "core/status.h"

namespace keyward {

// Space held back so that revocations can still commit when storage is
// full: released for a revocation that meets a full disk, filled again once
// there is room. Each engine has its own (SQLite: a ballast file beside the
// database, store/guard/disk_reserve.h; PostgreSQL: a table in the
// database's tablespace, store/postgres/pg_reserve.h).
// Thread-safe: every implementation, from any thread.
class StorageReserve {
 public:
  virtual ~StorageReserve() = default;
  // Holds size() bytes; Ok when it already does, the fault (kStorageFull)
  // when there is no room, and then nothing is held.
  virtual Status Fill() = 0;
  // Frees what is held, at once. True when something was.
  virtual bool Release() = 0;
  // Whether a Fill now would leave room for writes after it (the disk has
  // the reserve's size and as much again), when that can be known.
  virtual bool RoomToRefill() const = 0;
  // Forgets what it held (the storage was restored or remounted): the next
  // Fill makes sure again.
  virtual void Forget() = 0;
  virtual uint64_t size() const = 0;
  virtual uint64_t held() const = 0;
};

}  // namespace keyward

#endif  // KEYWARD_CORE_STORAGE_RESERVE_H_
