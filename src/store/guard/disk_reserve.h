// DiskReserve: a ballast file in the data directory (keyward.reserve),
// space held back so that revocations can still commit when the disk is
// full. The store guard releases it when a revocation meets a full disk and
// fills it again once the disk has room for it and more.
// Thread-safe: every method takes the reserve's own mutex.
#ifndef KEYWARD_STORE_GUARD_DISK_RESERVE_H_
#define KEYWARD_STORE_GUARD_DISK_RESERVE_H_

#include <cstdint>
#include <string>

#include "core/mutex.h"
#include "core/status.h"
#include "core/storage_reserve.h"

namespace keyward {

class DiskReserve final : public StorageReserve {
 public:
  // path: the ballast file; bytes: its size (0 holds nothing back).
  DiskReserve(std::string path, uint64_t bytes) : path_(std::move(path)), bytes_(bytes) {}

  // Makes the file hold `bytes` of allocated blocks and syncs it. Ok when
  // it already does; kStorageFull when the disk has no room for it, and
  // then nothing is held (the partial file is released again).
  Status Fill() override;
  // Frees the space, for a revocation to use. True when something was
  // held.
  bool Release() override;

  // Forgets what it held (the data directory was restored or remounted, and
  // the file found there may be sparse): the next Fill allocates again.
  void Forget() override;
  // FreeBytes() holds twice size().
  bool RoomToRefill() const override { return FreeBytes() >= 2 * bytes_; }

  // Bytes free to keyward on the file system of the data directory (what
  // statvfs calls available to an unprivileged user), or 0 when unknown.
  uint64_t FreeBytes() const;

  uint64_t size() const override { return bytes_; }
  uint64_t held() const override;
  const std::string& path() const { return path_; }

 private:
  const std::string path_;
  const uint64_t bytes_;
  mutable Mutex mu_;
  uint64_t held_ GUARDED_BY(mu_) = 0;
};

}  // namespace keyward

#endif  // KEYWARD_STORE_GUARD_DISK_RESERVE_H_
