#include "core/storage_fault.h"

#include <array>

namespace keyward {
namespace {

constexpr std::array<std::string_view, kStorageFaultCount> kNames = {
    "none", "full", "read_only", "io_error", "missing", "corrupt", "unreachable",
};

constexpr std::array<std::string_view, kStorageFaultCount> kMessages = {
    "storage works",
    "storage is full: no space is left for keyward's data. Revocations still work; other "
    "changes are refused until space is freed",
    "storage is unavailable: keyward's data directory has become read-only. Changes are "
    "refused until it is writable again; keys already checked keep verifying",
    "storage is unavailable: the disk reported an I/O error. Changes are refused until it "
    "works again; keys already checked keep verifying",
    "storage is unavailable: keyward's database file was deleted or moved. Changes are "
    "refused until it is restored; keys already checked keep verifying",
    "storage is unavailable: keyward's database file cannot be read (it is damaged). Changes "
    "are refused until it is restored; keys already checked keep verifying",
    "the database cannot be reached right now; try again shortly (keys already checked by "
    "this node keep verifying)",
};

}  // namespace

std::string_view StorageFaultName(StorageFault fault) { return kNames[static_cast<size_t>(fault)]; }

std::string_view StorageFaultMessage(StorageFault fault) {
  return kMessages[static_cast<size_t>(fault)];
}

}  // namespace keyward
