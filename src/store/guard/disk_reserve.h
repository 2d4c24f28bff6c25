// DiskReserve: a ballast file in the data directory (keyward.reserve),
// space held back so that revocations can still commit when the disk is
// full. The store guard releases it when a revocation meets a full disk and
// fills it again once the disk has room for it and more. The file is the
// truth about what is held (its allocated blocks), so the server and the
// command line, which may both release it, never disagree.
// Thread-safe: Fill and Release take the reserve's own mutex.
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

  // Nothing to forget: what is held is read from the file each time.
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
  // The file's allocated bytes, at most bytes_ (a sparse copy holds none).
  uint64_t Allocated() const;

  const std::string path_;
  const uint64_t bytes_;
  Mutex mu_;
};

}  // namespace keyward

#endif  // KEYWARD_STORE_GUARD_DISK_RESERVE_H_
