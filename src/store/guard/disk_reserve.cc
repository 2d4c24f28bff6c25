#include "store/guard/disk_reserve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace keyward {
namespace {

// Allocates [0, bytes) of fd: posix_fallocate, or zeros written where the
// file system cannot allocate without writing.
int Allocate(int fd, uint64_t bytes) {
  int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes));
  if (rc != EOPNOTSUPP && rc != EINVAL) return rc;
  std::vector<char> zeros(1 << 16, 0);
  for (uint64_t off = 0; off < bytes;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), bytes - off));
    const ssize_t w = ::pwrite(fd, zeros.data(), n, static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    off += static_cast<uint64_t>(w);
  }
  return 0;
}

}  // namespace

uint64_t DiskReserve::Allocated() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return 0;
  return std::min<uint64_t>(static_cast<uint64_t>(st.st_blocks) * 512, bytes_);
}

Status DiskReserve::Fill() {
  MutexLock lock(&mu_);
  if (bytes_ == 0 || Allocated() >= bytes_) return Status::Ok();
  const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    return Status::Storage(
        err == ENOSPC || err == EDQUOT ? StorageFault::kFull
        : err == ENOENT                ? StorageFault::kMissing
                                       : StorageFault::kReadOnly,
        "cannot create the storage reserve " + path_ + ": " + std::strerror(err));
  }
  struct stat before {};
  (void)::fstat(fd, &before);
  int err = Allocate(fd, bytes_);
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (err != 0) {
    // What this try added would take space that writes need: given back.
    // What was held before stays held (a smaller reserve another process
    // made, such as the server's when the command line asks for more).
    (void)::ftruncate(fd, before.st_size);
    ::close(fd);
    return Status::Storage(
        err == ENOSPC || err == EDQUOT ? StorageFault::kFull : StorageFault::kIoError,
        "cannot fill the storage reserve " + path_ + ": " + std::strerror(err));
  }
  ::close(fd);
  return Status::Ok();
}

bool DiskReserve::Release() {
  MutexLock lock(&mu_);
  if (Allocated() == 0) return false;
  // Truncating frees the blocks at once; the name stays for the next Fill.
  return ::truncate(path_.c_str(), 0) == 0;
}

void DiskReserve::Forget() {}

uint64_t DiskReserve::FreeBytes() const {
  struct statvfs st {};
  const std::string dir = std::filesystem::path(path_).parent_path().string();
  if (::statvfs(dir.empty() ? "." : dir.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

uint64_t DiskReserve::held() const { return Allocated(); }

}  // namespace keyward
