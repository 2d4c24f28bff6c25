#include "store/sqlite/fault_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "core/mutex.h"

namespace keyward::testing {
namespace {

enum Op { kOpRead, kOpWrite, kOpSync, kOpCount };

Op OpOf(FaultPoint point) {
  switch (point) {
    case FaultPoint::kRead:
      return kOpRead;
    case FaultPoint::kSync:
      return kOpSync;
    case FaultPoint::kWrite:
    case FaultPoint::kWriteFull:
      return kOpWrite;
  }
  return kOpWrite;
}

// One file on disk, as every handle open on it shares it: what was written
// to it since its last successful sync, so that a failed sync can lose it.
struct FileHistory {
  std::string path;
  int handles = 0;
  int64_t synced_size = 0;
  // The bytes each write or truncation replaced, oldest first; only what
  // lay below the file's size then (beyond it, the final truncation to
  // synced_size undoes the growth).
  struct Undo {
    int64_t offset;
    std::string bytes;
  };
  std::vector<Undo> undo;
};

// An open file: SQLite's handle, followed in the same allocation by the
// wrapped VFS's own.
struct ShimFile {
  sqlite3_file base;  // first: SQLite sees a ShimFile as its sqlite3_file
  sqlite3_file* real;
  unsigned kind;
  FileHistory* history;  // null for untracked files; its fields under Shim::mu_
};

constexpr int kRealFileOffset = (sizeof(ShimFile) + 15) & ~15;

// The errno of the last fault injected on this thread, for xGetLastError
// (sqlite3_system_errno); valid while generation matches the shim's.
thread_local int t_injected_errno = 0;
thread_local uint64_t t_injected_generation = 0;

class Shim {
 public:
  sqlite3_vfs* real = nullptr;
  sqlite3_vfs vfs{};
  std::atomic<uint64_t> generation{1};

  // Counts this call of op on a file of kind; true when it is to fail, with
  // *point the armed point and *err the errno to leave (0: the point's).
  bool ShouldFail(Op op, unsigned kind, FaultPoint* point, int* err) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    if ((kind & filter_) == 0) return false;
    ++calls_[op];
    if (!armed_ || OpOf(point_) != op) return false;
    if (skip_ > 0) {
      --skip_;
      return false;
    }
    ++fired_;
    if (repeat_ == FaultVfs::Repeat::kOnce) armed_ = false;
    *point = point_;
    *err = injected_errno_;
    return true;
  }

  void Arm(FaultPoint point, int skip, FaultVfs::Repeat repeat) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    armed_ = true;
    point_ = point;
    skip_ = skip;
    repeat_ = repeat;
    fired_ = 0;
    generation.fetch_add(1);
  }
  void Disarm() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    armed_ = false;
    generation.fetch_add(1);
  }
  int Fired() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return fired_;
  }
  int64_t Calls(Op op) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return calls_[op];
  }
  void ResetCounts() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    for (int64_t& c : calls_) c = 0;
  }
  void SetInjectedErrno(int err) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    injected_errno_ = err;
  }
  void SetFileFilter(unsigned kinds) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    filter_ = kinds;
  }
  void SetSyncFailureLosesWrites(bool loses) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    sync_loses_writes_ = loses;
  }
  bool SyncFailureLosesWrites() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return sync_loses_writes_;
  }
  void SetRealSync(bool real) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    real_sync_ = real;
  }
  bool RealSync() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return real_sync_;
  }

  // The history of path, for one more handle; its synced state is what is
  // on disk when the first handle opens it.
  FileHistory* Attach(const std::string& path, sqlite3_file* real_file) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    FileHistory& h = histories_[path];
    if (h.handles++ == 0) {
      h.path = path;
      h.undo.clear();
      h.synced_size = SizeOf(real_file);
    }
    return &h;
  }
  void Detach(FileHistory* h) EXCLUDES(mu_) {
    if (h == nullptr) return;
    MutexLock lock(&mu_);
    if (--h->handles == 0) histories_.erase(h->path);
  }
  // A deleted file comes back empty.
  void Forget(const std::string& path) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    auto it = histories_.find(path);
    if (it == histories_.end()) return;
    it->second.undo.clear();
    it->second.synced_size = 0;
  }

  // Before a write of n bytes at offset (or, with n < 0, a truncation to
  // offset): keeps what it replaces.
  void RememberBefore(ShimFile* f, int64_t offset, int64_t n) EXCLUDES(mu_) {
    if (f->history == nullptr) return;
    MutexLock lock(&mu_);
    const int64_t size = SizeOf(f->real);
    const int64_t end = n < 0 ? size : std::min(size, offset + n);
    if (offset >= end) return;
    std::string bytes(static_cast<size_t>(end - offset), '\0');
    if (f->real->pMethods->xRead(f->real, bytes.data(), static_cast<int>(bytes.size()), offset) !=
        SQLITE_OK) {
      return;
    }
    f->history->undo.push_back({offset, std::move(bytes)});
  }

  // After a successful sync: what the file holds now is durable.
  void Synced(ShimFile* f) EXCLUDES(mu_) {
    if (f->history == nullptr) return;
    MutexLock lock(&mu_);
    f->history->undo.clear();
    f->history->synced_size = SizeOf(f->real);
  }

  // After a failed sync: the writes since the last good one are lost.
  void LoseUnsyncedWrites(ShimFile* f) EXCLUDES(mu_) {
    if (f->history == nullptr) return;
    MutexLock lock(&mu_);
    FileHistory& h = *f->history;
    for (auto it = h.undo.rbegin(); it != h.undo.rend(); ++it) {
      f->real->pMethods->xWrite(f->real, it->bytes.data(), static_cast<int>(it->bytes.size()),
                                it->offset);
    }
    f->real->pMethods->xTruncate(f->real, h.synced_size);
    h.undo.clear();
  }

 private:
  static int64_t SizeOf(sqlite3_file* real_file) {
    sqlite3_int64 size = 0;
    if (real_file->pMethods->xFileSize(real_file, &size) != SQLITE_OK) return 0;
    return size;
  }

  Mutex mu_;
  int64_t calls_[kOpCount] GUARDED_BY(mu_) = {};
  bool armed_ GUARDED_BY(mu_) = false;
  FaultPoint point_ GUARDED_BY(mu_) = FaultPoint::kWrite;
  int skip_ GUARDED_BY(mu_) = 0;
  FaultVfs::Repeat repeat_ GUARDED_BY(mu_) = FaultVfs::Repeat::kOnce;
  int fired_ GUARDED_BY(mu_) = 0;
  unsigned filter_ GUARDED_BY(mu_) = kAnyFile;
  int injected_errno_ GUARDED_BY(mu_) = 0;
  bool sync_loses_writes_ GUARDED_BY(mu_) = true;
  bool real_sync_ GUARDED_BY(mu_) = true;
  std::map<std::string, FileHistory> histories_ GUARDED_BY(mu_);
};

// Never destroyed: SQLite may still close files at exit.
Shim& TheShim() {
  static Shim* shim = new Shim;
  return *shim;
}

sqlite3_vfs* Real() { return TheShim().real; }

ShimFile* AsShim(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }

// The result of an injected fault, with the errno the failed system call
// would have left: err, unless the test chose another.
int Inject(int rc, int err, int chosen) {
  if (chosen != 0) err = chosen;
  t_injected_errno = err;
  t_injected_generation = TheShim().generation.load();
  errno = err;
  return rc;
}

// The result of the wrapped VFS: after a real failure, its errno is the
// one to report.
int Pass(int rc) {
  if ((rc & 0xff) == SQLITE_IOERR && rc != SQLITE_IOERR_SHORT_READ) t_injected_errno = 0;
  if ((rc & 0xff) == SQLITE_CANTOPEN) t_injected_errno = 0;
  return rc;
}

unsigned KindOf(int flags) {
  if (flags & SQLITE_OPEN_MAIN_DB) return kMainDbFile;
  if (flags & SQLITE_OPEN_WAL) return kWalFile;
  if (flags & (SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_SUBJOURNAL | SQLITE_OPEN_SUPER_JOURNAL |
               SQLITE_OPEN_TEMP_JOURNAL)) {
    return kJournalFile;
  }
  return kOtherFile;
}

// ---- Files ----

int FileClose(sqlite3_file* f) {
  ShimFile* sf = AsShim(f);
  const int rc = sf->real->pMethods->xClose(sf->real);
  TheShim().Detach(sf->history);
  sf->history = nullptr;
  return Pass(rc);
}

int FileRead(sqlite3_file* f, void* buf, int n, sqlite3_int64 offset) {
  ShimFile* sf = AsShim(f);
  FaultPoint point;
  int err = 0;
  if (TheShim().ShouldFail(kOpRead, sf->kind, &point, &err)) {
    return Inject(SQLITE_IOERR_READ, EIO, err);
  }
  return Pass(sf->real->pMethods->xRead(sf->real, buf, n, offset));
}

int FileWrite(sqlite3_file* f, const void* buf, int n, sqlite3_int64 offset) {
  ShimFile* sf = AsShim(f);
  FaultPoint point;
  int err = 0;
  if (TheShim().ShouldFail(kOpWrite, sf->kind, &point, &err)) {
    return point == FaultPoint::kWriteFull ? Inject(SQLITE_FULL, ENOSPC, err)
                                           : Inject(SQLITE_IOERR_WRITE, EIO, err);
  }
  TheShim().RememberBefore(sf, offset, n);
  return Pass(sf->real->pMethods->xWrite(sf->real, buf, n, offset));
}

int FileTruncate(sqlite3_file* f, sqlite3_int64 size) {
  ShimFile* sf = AsShim(f);
  TheShim().RememberBefore(sf, size, -1);
  return Pass(sf->real->pMethods->xTruncate(sf->real, size));
}

int FileSync(sqlite3_file* f, int flags) {
  ShimFile* sf = AsShim(f);
  FaultPoint point;
  int err = 0;
  if (TheShim().ShouldFail(kOpSync, sf->kind, &point, &err)) {
    if (TheShim().SyncFailureLosesWrites()) TheShim().LoseUnsyncedWrites(sf);
    return Inject(SQLITE_IOERR_FSYNC, EIO, err);
  }
  const int rc = TheShim().RealSync() ? sf->real->pMethods->xSync(sf->real, flags) : SQLITE_OK;
  if (rc == SQLITE_OK) TheShim().Synced(sf);
  return Pass(rc);
}

int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  ShimFile* sf = AsShim(f);
  return Pass(sf->real->pMethods->xFileSize(sf->real, size));
}

int FileLock(sqlite3_file* f, int level) {
  return AsShim(f)->real->pMethods->xLock(AsShim(f)->real, level);
}
int FileUnlock(sqlite3_file* f, int level) {
  return AsShim(f)->real->pMethods->xUnlock(AsShim(f)->real, level);
}
int FileCheckReservedLock(sqlite3_file* f, int* out) {
  return AsShim(f)->real->pMethods->xCheckReservedLock(AsShim(f)->real, out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return AsShim(f)->real->pMethods->xFileControl(AsShim(f)->real, op, arg);
}
int FileSectorSize(sqlite3_file* f) {
  return AsShim(f)->real->pMethods->xSectorSize(AsShim(f)->real);
}
int FileDeviceCharacteristics(sqlite3_file* f) {
  return AsShim(f)->real->pMethods->xDeviceCharacteristics(AsShim(f)->real);
}
int FileShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return AsShim(f)->real->pMethods->xShmMap(AsShim(f)->real, region, size, extend, out);
}
int FileShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return AsShim(f)->real->pMethods->xShmLock(AsShim(f)->real, offset, n, flags);
}
void FileShmBarrier(sqlite3_file* f) { AsShim(f)->real->pMethods->xShmBarrier(AsShim(f)->real); }
int FileShmUnmap(sqlite3_file* f, int delete_flag) {
  return AsShim(f)->real->pMethods->xShmUnmap(AsShim(f)->real, delete_flag);
}
// Never maps: every page read goes through xRead, where it can fail.
int FileFetch(sqlite3_file*, sqlite3_int64, int, void** out) {
  *out = nullptr;
  return SQLITE_OK;
}
int FileUnfetch(sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; }

const sqlite3_io_methods kFileMethods = {
    3,
    FileClose,
    FileRead,
    FileWrite,
    FileTruncate,
    FileSync,
    FileSize,
    FileLock,
    FileUnlock,
    FileCheckReservedLock,
    FileControl,
    FileSectorSize,
    FileDeviceCharacteristics,
    FileShmMap,
    FileShmLock,
    FileShmBarrier,
    FileShmUnmap,
    FileFetch,
    FileUnfetch,
};

// ---- The VFS ----

int VfsOpen(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  ShimFile* sf = AsShim(f);
  sf->base.pMethods = nullptr;  // SQLite reads it even when the open fails
  sf->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kRealFileOffset);
  sf->real->pMethods = nullptr;
  sf->kind = KindOf(flags);
  sf->history = nullptr;
  const int rc = Real()->xOpen(Real(), name, sf->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (sf->real->pMethods != nullptr) sf->real->pMethods->xClose(sf->real);
    return Pass(rc);
  }
  if (name != nullptr && sf->kind != kOtherFile) {
    sf->history = TheShim().Attach(name, sf->real);
  }
  sf->base.pMethods = &kFileMethods;
  return SQLITE_OK;
}

int VfsDelete(sqlite3_vfs*, const char* name, int sync_dir) {
  TheShim().Forget(name);
  return Pass(Real()->xDelete(Real(), name, sync_dir));
}
int VfsAccess(sqlite3_vfs*, const char* name, int flags, int* out) {
  return Real()->xAccess(Real(), name, flags, out);
}
int VfsFullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return Real()->xFullPathname(Real(), name, n, out);
}
void* VfsDlOpen(sqlite3_vfs*, const char* name) { return Real()->xDlOpen(Real(), name); }
void VfsDlError(sqlite3_vfs*, int n, char* out) { Real()->xDlError(Real(), n, out); }
void (*VfsDlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return Real()->xDlSym(Real(), handle, symbol);
}
void VfsDlClose(sqlite3_vfs*, void* handle) { Real()->xDlClose(Real(), handle); }
int VfsRandomness(sqlite3_vfs*, int n, char* out) { return Real()->xRandomness(Real(), n, out); }
int VfsSleep(sqlite3_vfs*, int micros) { return Real()->xSleep(Real(), micros); }
int VfsCurrentTime(sqlite3_vfs*, double* out) { return Real()->xCurrentTime(Real(), out); }
// What sqlite3_system_errno reports: the injected errno right after an
// injected fault, else the wrapped VFS's (errno).
int VfsGetLastError(sqlite3_vfs*, int n, char* out) {
  if (t_injected_errno != 0 && t_injected_generation == TheShim().generation.load()) {
    if (n > 0 && out != nullptr) std::snprintf(out, static_cast<size_t>(n), "injected fault");
    return t_injected_errno;
  }
  return Real()->xGetLastError != nullptr ? Real()->xGetLastError(Real(), n, out) : 0;
}
int VfsCurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return Real()->xCurrentTimeInt64(Real(), out);
}
int VfsSetSystemCall(sqlite3_vfs*, const char* name, sqlite3_syscall_ptr call) {
  return Real()->xSetSystemCall(Real(), name, call);
}
sqlite3_syscall_ptr VfsGetSystemCall(sqlite3_vfs*, const char* name) {
  return Real()->xGetSystemCall(Real(), name);
}
const char* VfsNextSystemCall(sqlite3_vfs*, const char* name) {
  return Real()->xNextSystemCall(Real(), name);
}

}  // namespace

const char* FaultPointName(FaultPoint point) {
  switch (point) {
    case FaultPoint::kWrite:
      return "write";
    case FaultPoint::kSync:
      return "sync";
    case FaultPoint::kRead:
      return "read";
    case FaultPoint::kWriteFull:
      return "write_full";
  }
  return "?";
}

FaultVfs& FaultVfs::Install() {
  static FaultVfs* const installed = [] {
    sqlite3_initialize();
    Shim& s = TheShim();
    s.real = sqlite3_vfs_find(nullptr);
    sqlite3_vfs& v = s.vfs;
    v.iVersion = s.real->iVersion;
    v.szOsFile = kRealFileOffset + s.real->szOsFile;
    v.mxPathname = s.real->mxPathname;
    v.zName = "keyward-fault";
    v.pAppData = nullptr;
    v.xOpen = VfsOpen;
    v.xDelete = VfsDelete;
    v.xAccess = VfsAccess;
    v.xFullPathname = VfsFullPathname;
    v.xDlOpen = s.real->xDlOpen ? VfsDlOpen : nullptr;
    v.xDlError = s.real->xDlError ? VfsDlError : nullptr;
    v.xDlSym = s.real->xDlSym ? VfsDlSym : nullptr;
    v.xDlClose = s.real->xDlClose ? VfsDlClose : nullptr;
    v.xRandomness = VfsRandomness;
    v.xSleep = VfsSleep;
    v.xCurrentTime = VfsCurrentTime;
    v.xGetLastError = VfsGetLastError;
    if (v.iVersion >= 2) v.xCurrentTimeInt64 = VfsCurrentTimeInt64;
    if (v.iVersion >= 3) {
      v.xSetSystemCall = VfsSetSystemCall;
      v.xGetSystemCall = VfsGetSystemCall;
      v.xNextSystemCall = VfsNextSystemCall;
    }
    sqlite3_vfs_register(&v, /*makeDflt=*/1);
    return new FaultVfs;
  }();
  return *installed;
}

void FaultVfs::Arm(FaultPoint point, int skip, Repeat repeat) {
  TheShim().Arm(point, skip, repeat);
}
void FaultVfs::Disarm() { TheShim().Disarm(); }
int FaultVfs::Fired() const { return TheShim().Fired(); }
int64_t FaultVfs::Calls(FaultPoint point) const { return TheShim().Calls(OpOf(point)); }
void FaultVfs::ResetCounts() { TheShim().ResetCounts(); }
void FaultVfs::SetInjectedErrno(int err) { TheShim().SetInjectedErrno(err); }
void FaultVfs::SetFileFilter(unsigned kinds) { TheShim().SetFileFilter(kinds); }
void FaultVfs::SetSyncFailureLosesWrites(bool loses) { TheShim().SetSyncFailureLosesWrites(loses); }
void FaultVfs::SetRealSync(bool real) { TheShim().SetRealSync(real); }

}  // namespace keyward::testing
