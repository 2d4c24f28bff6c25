// StorageFault: what is wrong with storage when a write or read cannot be
// done, named so that a client, /readyz, /metrics and the log can all say
// the same thing. Engines classify their own errors into these (SQLite by
// its error code and errno, PostgreSQL by SQLSTATE); the store guard
// (store/guard/) acts on them. The messages are for a person and name the
// cause, never a path or a host.
// Thread-safe: plain values and constant tables.
#ifndef KEYWARD_CORE_STORAGE_FAULT_H_
#define KEYWARD_CORE_STORAGE_FAULT_H_

#include <cstdint>
#include <string_view>

namespace keyward {

enum class StorageFault : uint8_t {
  kNone,
  kFull,         // no space left (ENOSPC, SQLITE_FULL, SQLSTATE 53100)
  kReadOnly,     // the data directory or file system became read-only
  kIoError,      // the disk reported an I/O error (a failed write, fsync or read)
  kMissing,      // the database file was deleted or moved away
  kCorrupt,      // the database file cannot be read as a database
  kUnreachable,  // the database server does not answer
};

inline constexpr int kStorageFaultCount = static_cast<int>(StorageFault::kUnreachable) + 1;

// "full", "read_only", "io_error", "missing", "corrupt", "unreachable"; "none".
std::string_view StorageFaultName(StorageFault fault);

// What a client reads in the error body and /readyz: the cause and what
// still works.
std::string_view StorageFaultMessage(StorageFault fault);

}  // namespace keyward

#endif  // KEYWARD_CORE_STORAGE_FAULT_H_
