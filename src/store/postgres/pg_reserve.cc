#include "store/postgres/pg_reserve.h"

#include <string>

namespace keyward {

using pg_internal::Params;
using pg_internal::PgConnection;

PgReserve::PgReserve(PgStore* store, uint64_t bytes)
    : store_(store), chunks_((bytes + kChunkBytes - 1) / kChunkBytes) {}

Status PgReserve::Fill() {
  MutexLock lock(&mu_);
  if (chunks_ == 0 || held_ == size()) return Status::Ok();
  Status s = store_->Transact([this](PgConnection& c) -> Status {
    // One node at a time; chunks already there (a restart, another node)
    // count and only the missing ones are written. Uncompressed (STORAGE
    // EXTERNAL), so each chunk takes its size on disk. No index: releasing
    // must not need a single new page.
    KEYWARD_RETURN_IF_ERROR(c.Exec("SELECT pg_advisory_xact_lock(7349012)"));
    KEYWARD_RETURN_IF_ERROR(
        c.Exec("CREATE TABLE IF NOT EXISTS storage_reserve (id INTEGER NOT NULL, filler BYTEA)"));
    KEYWARD_RETURN_IF_ERROR(
        c.Exec("ALTER TABLE storage_reserve ALTER COLUMN filler SET STORAGE EXTERNAL"));
    Params p;
    p.Bind(static_cast<int64_t>(chunks_)).Bind(static_cast<int64_t>(kChunkBytes));
    return c.Exec(
        "INSERT INTO storage_reserve (id, filler) "
        "SELECT g, convert_to(repeat('k', $2::int), 'UTF8') FROM generate_series(1, $1::int) g "
        "WHERE g > (SELECT count(*) FROM storage_reserve)",
        p);
  });
  if (!s.ok()) return s;
  held_ = size();
  return Status::Ok();
}

bool PgReserve::Release() {
  MutexLock lock(&mu_);
  if (held_ == 0) return false;
  // Dropping writes no new page (TRUNCATE would: a fresh file for the
  // TOAST index), and PostgreSQL truncates the dropped files at commit, so
  // the space is free at once. Another node may have dropped it first: the
  // space is free either way.
  Status s = store_->WithConnection(
      [](PgConnection& c) { return c.Exec("DROP TABLE IF EXISTS storage_reserve"); });
  if (!s.ok()) return false;
  held_ = 0;
  return true;
}

void PgReserve::Forget() {
  MutexLock lock(&mu_);
  held_ = 0;
}

uint64_t PgReserve::held() const {
  MutexLock lock(&mu_);
  return held_;
}

}  // namespace keyward
