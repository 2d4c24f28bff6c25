// FaultVfs: an SQLite VFS for tests that wraps the default ("unix") VFS and
// fails a chosen xWrite, xSync or xRead, so that a test can prove a failed
// write, fsync or read is never answered as a success. Install() registers
// it as the process's default VFS, so every connection opened afterwards
// (SqliteStore's writer and readers alike) goes through it unchanged. The
// shim owns its counters, the armed fault and an undo log per file; SQLite
// owns the files. Linked into tests only (keyward_testing_fault_vfs), never
// into the keyward binary.
//
// A failed fsync is modelled as Linux behaves ("fsyncgate"): what was
// written to a file since its last successful sync is lost, so the shim
// puts the file back as it was at that sync before it returns the error.
//
// Thread-safe: one mutex over the counters, the armed fault and the undo
// logs.
#ifndef KEYWARD_STORE_SQLITE_FAULT_VFS_H_
#define KEYWARD_STORE_SQLITE_FAULT_VFS_H_

#include <cstdint>

namespace keyward::testing {

enum class FaultPoint {
  kWrite,      // xWrite fails: SQLITE_IOERR_WRITE, errno EIO
  kSync,       // xSync fails: SQLITE_IOERR_FSYNC, errno EIO (unsynced writes lost)
  kRead,       // xRead fails: SQLITE_IOERR_READ, errno EIO
  kWriteFull,  // xWrite fails as on a full disk: SQLITE_FULL, errno ENOSPC
};

// "write", "sync", "read", "write_full": for test names and messages.
const char* FaultPointName(FaultPoint point);

// The files that are counted and may fail, by what SQLite opens them as.
// A bit set; kAnyFile by default.
enum FileKind : unsigned {
  kMainDbFile = 1u << 0,
  kWalFile = 1u << 1,
  kJournalFile = 1u << 2,  // rollback and statement journals
  kOtherFile = 1u << 3,    // temporary files and the like
  kAnyFile = kMainDbFile | kWalFile | kJournalFile | kOtherFile,
};

class FaultVfs {
 public:
  enum class Repeat {
    kOnce,    // only the chosen call fails
    kSticky,  // the chosen call and every later one, until Disarm
  };

  // Registers the shim as the default VFS on the first call; every call
  // returns the same shim. Connections opened before the first call keep
  // the VFS they were opened with.
  static FaultVfs& Install();

  // Fails the (skip+1)-th call of point, counted from now, on files of the
  // kinds SetFileFilter allows. Replaces any fault armed before.
  void Arm(FaultPoint point, int skip, Repeat repeat = Repeat::kOnce);
  // No fault from now on; what sqlite3_system_errno reports is no longer
  // the injected errno.
  void Disarm();
  // Faults injected since the last Arm.
  int Fired() const;

  // Calls of point since the last ResetCounts, on the files the filter
  // allows. kWrite and kWriteFull count the same calls (xWrite).
  int64_t Calls(FaultPoint point) const;
  void ResetCounts();

  // The errno an injected fault leaves (what xGetLastError, and so
  // sqlite3_system_errno, reports); 0, the default, for the point's own
  // (EIO, or ENOSPC for kWriteFull). The code returned stays the point's.
  void SetInjectedErrno(int err);

  // Which files are counted and may fail (FileKind bits).
  void SetFileFilter(unsigned kinds);

  // Whether a failed sync loses the writes made since the file's last
  // successful sync (true, the default: Linux may drop those dirty pages
  // and mark them clean), or keeps them in the file (as a page cache that
  // still holds them would show them to the next reader).
  void SetSyncFailureLosesWrites(bool loses);

  // Whether a successful xSync also syncs the file on disk (true, the
  // default). Tests whose durability is the shim's own model (a failed
  // sync loses what the undo log says; a crash is a copy of the files)
  // may skip the real fsync, which is most of their time on a real disk.
  void SetRealSync(bool real);

  FaultVfs(const FaultVfs&) = delete;
  FaultVfs& operator=(const FaultVfs&) = delete;

 private:
  FaultVfs() = default;
};

}  // namespace keyward::testing

#endif  // KEYWARD_STORE_SQLITE_FAULT_VFS_H_
