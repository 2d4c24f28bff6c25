#include "core/usage.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <string_view>
#include <tuple>

namespace keyward {

namespace {
std::atomic<uint64_t> next_recorder_id{1};
}  // namespace

UsageRecorder::UsageRecorder(size_t max_pending_rows, size_t last_uses_per_drain)
    : id_(next_recorder_id.fetch_add(1, std::memory_order_relaxed)),
      max_pending_rows_(max_pending_rows),
      last_uses_per_drain_(std::max<size_t>(last_uses_per_drain, 1)) {}

UsageRecorder::Buffer& UsageRecorder::ThreadBuffer() {
  // Which buffer this thread has in which recorder. Recorders are found by
  // id, never by address, so an entry of a recorder that is gone matches
  // nothing. Cut short past 8 recorders: one still alive then just gets a
  // second buffer from this thread, which Drain reads like the first.
  struct Entry {
    uint64_t recorder;
    Buffer* buffer;
  };
  thread_local std::vector<Entry> mine;
  for (const Entry& e : mine) {
    if (e.recorder == id_) return *e.buffer;
  }
  auto buffer = std::make_unique<Buffer>();
  Buffer* b = buffer.get();
  {
    MutexLock lock(&buffers_mu_);
    buffers_.push_back(std::move(buffer));
  }
  if (mine.size() >= 8) mine.erase(mine.begin());
  mine.push_back(Entry{id_, b});
  return *b;
}

size_t UsageRecorder::CounterTable::Home(const VerifiableKey* key, int64_t minute, Code code,
                                         size_t mask) {
  uint64_t h = reinterpret_cast<uintptr_t>(key) ^ static_cast<uint64_t>(minute) * 1000003u ^
               static_cast<uint64_t>(code) << 56;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return static_cast<size_t>(h) & mask;
}

void UsageRecorder::CounterTable::Rehash(size_t cells) {
  std::vector<Counter> old(cells);
  old.swap(cells_);
  const size_t mask = cells_.size() - 1;
  for (Counter& c : old) {
    if (!c.key) continue;
    size_t i = Home(c.key.get(), c.minute, c.code, mask);
    while (cells_[i].key) i = (i + 1) & mask;
    cells_[i] = std::move(c);
  }
}

void UsageRecorder::CounterTable::Reserve(size_t n) {
  size_t cells = std::max<size_t>(cells_.size(), 64);
  while (std::max(n, size_) * 4 > cells * 3) cells *= 2;
  if (cells != cells_.size()) Rehash(cells);
}

UsageRecorder::Counter& UsageRecorder::CounterTable::At(const VerifiableKey* key, int64_t minute,
                                                        Code code) {
  if ((size_ + 1) * 4 > cells_.size() * 3) Rehash(std::max<size_t>(cells_.size() * 2, 64));
  const size_t mask = cells_.size() - 1;
  for (size_t i = Home(key, minute, code, mask);; i = (i + 1) & mask) {
    Counter& c = cells_[i];
    if (!c.key) {
      c.key = KeyRef(key);
      c.minute = minute;
      c.code = code;
      ++size_;
      return c;
    }
    if (c.key.get() == key && c.minute == minute && c.code == code) return c;
  }
}

void UsageRecorder::Record(const VerifiableKey* key, Code code, Timestamp now, int64_t credits) {
  if (key == nullptr) return;
  Buffer& buffer = ThreadBuffer();
  MutexLock lock(&buffer.mu);
  Counter& c = buffer.counters.At(key, now / kMillisPerMinute, code);
  ++c.count;
  c.credits += credits;
  if (code == Code::kValid && key->NoteUse(now)) buffer.used.emplace_back(key);
}

UsageBatch UsageRecorder::Drain(Timestamp now) {
  MutexLock drain(&drain_mu_);
  // A collection is written whole before the next is made.
  bool collect = collecting_.empty() && (!uses_taken_ || now - uses_taken_at_ >= kLastUsesEvery);
  if (!collect && collecting_.empty()) {
    size_t waiting = 0;
    MutexLock lock(&buffers_mu_);
    for (const auto& b : buffers_) {
      MutexLock buffer_lock(&b->mu);
      waiting += b->used.size();
    }
    collect = waiting <= kEagerLastUses;
  }
  if (collect) {
    uses_taken_ = true;
    uses_taken_at_ = now;
  }
  return DrainBuffers(collect, last_uses_per_drain_);
}

UsageBatch UsageRecorder::DrainAll() {
  MutexLock drain(&drain_mu_);
  return DrainBuffers(/*collect=*/true, SIZE_MAX);
}

UsageBatch UsageRecorder::DrainBuffers(bool collect, size_t max_uses) {
  std::vector<Buffer*> buffers;
  {
    MutexLock lock(&buffers_mu_);
    for (const auto& b : buffers_) buffers.push_back(b.get());
  }
  // Each buffer's counters (and records with a use to write), swapped out
  // under its lock; the records they hold stay alive (and their ids valid)
  // until the batch is built.
  std::vector<CounterTable> taken(buffers.size());
  std::vector<std::vector<KeyRef>> listed(collect ? buffers.size() : 0);
  for (size_t i = 0; i < buffers.size(); ++i) {
    // The table the thread counts into next, as large as what the last
    // drain took and allocated here, outside its lock: under a steady load
    // no request grows it.
    CounterTable fresh;
    fresh.Reserve(buffers[i]->drained);
    MutexLock lock(&buffers[i]->mu);
    taken[i].swap(buffers[i]->counters);
    buffers[i]->counters.swap(fresh);
    buffers[i]->drained = taken[i].size();
    if (collect) listed[i].swap(buffers[i]->used);
  }
  if (collect) {
    for (auto& records : listed) {
      collecting_.insert(collecting_.end(), std::make_move_iterator(records.begin()),
                         std::make_move_iterator(records.end()));
      std::vector<KeyRef>().swap(records);
    }
  }
  // This drain's chunk, oldest first; the rest wait for the next drains.
  const size_t n_uses = std::min(max_uses, collecting_.size());
  std::vector<KeyRef> chunk(std::make_move_iterator(collecting_.begin()),
                            std::make_move_iterator(collecting_.begin() + n_uses));
  collecting_.erase(collecting_.begin(), collecting_.begin() + n_uses);
  // A light entry per counter (the ids stay in the records, which the
  // taken counters keep alive until the rows are built), sorted by key id,
  // minute and code, then merged: the counters of one key from several
  // threads, or from two records of it (a key recompiled after an
  // invalidation), become one row. No map and no string per counter: a
  // drain of a million counters builds only the rows it writes.
  struct Entry {
    const VerifiableKey* key;
    int64_t minute;
    Code code;
    int64_t count;
    int64_t credits;
    auto Order() const {
      return std::tuple<std::string_view, int64_t, Code>(key->id(), minute, code);
    }
  };
  std::vector<Entry> entries;
  size_t counted = 0;
  for (const auto& counters : taken) counted += counters.size();
  entries.reserve(counted);
  for (const auto& counters : taken) {
    for (const Counter& c : counters.cells()) {
      if (c.key) entries.push_back(Entry{c.key.get(), c.minute, c.code, c.count, c.credits});
    }
  }
  // In one order, so that two nodes writing the same rows lock them alike.
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.Order() < b.Order(); });
  // Per key id too: two records of one key may both wait.
  std::unordered_map<std::string_view, Timestamp> last_used;
  for (const KeyRef& key : chunk) {
    const Timestamp at = key->TakeUse();
    Timestamp& t = last_used[key->id()];
    if (at > t) t = at;
  }
  UsageBatch batch;
  {
    MutexLock lock(&restored_mu_);
    batch = std::move(restored_);
    restored_ = {};
  }
  batch.rows.reserve(batch.rows.size() + entries.size());
  for (size_t i = 0; i < entries.size();) {
    const Entry& first = entries[i];
    UsageRow row{std::string(first.key->id()),
                 std::string(first.key->workspace_id()),
                 first.minute,
                 first.code,
                 0,
                 0};
    for (; i < entries.size() && entries[i].Order() == first.Order(); ++i) {
      row.count += entries[i].count;
      row.credits += entries[i].credits;
    }
    batch.rows.push_back(std::move(row));
  }
  std::vector<std::pair<std::string, Timestamp>> used;
  used.reserve(last_used.size());
  for (const auto& [id, at] : last_used) used.emplace_back(std::string(id), at);
  std::sort(used.begin(), used.end());
  for (auto& u : used) batch.last_used.push_back(std::move(u));
  return batch;
}

void UsageRecorder::Restore(const UsageBatch& batch) {
  MutexLock lock(&restored_mu_);
  // Merged per key, minute and code: a flush that fails every second for
  // an hour holds one row per counter, not one per try.
  std::map<std::tuple<std::string, int64_t, Code>, UsageRow> rows;
  for (const UsageBatch* b : {static_cast<const UsageBatch*>(&restored_), &batch}) {
    for (const UsageRow& r : b->rows) {
      auto [it, inserted] = rows.try_emplace({r.key_id, r.minute, r.code}, r);
      if (!inserted) {
        it->second.count += r.count;
        it->second.credits += r.credits;
      }
    }
  }
  std::map<std::string, Timestamp> last_used;
  for (const UsageBatch* b : {static_cast<const UsageBatch*>(&restored_), &batch}) {
    for (const auto& [id, at] : b->last_used) {
      Timestamp& t = last_used[id];
      if (at > t) t = at;
    }
  }
  UsageBatch merged;
  merged.rows.reserve(rows.size());
  for (auto& [k, r] : rows) merged.rows.push_back(std::move(r));
  if (merged.rows.size() > max_pending_rows_) {
    // The oldest minutes go first: the newest are what an operator looks at.
    std::stable_sort(merged.rows.begin(), merged.rows.end(),
                     [](const UsageRow& a, const UsageRow& b) { return a.minute < b.minute; });
    const size_t drop = merged.rows.size() - max_pending_rows_;
    for (size_t i = 0; i < drop; ++i) dropped_ += static_cast<uint64_t>(merged.rows[i].count);
    dropped_rows_ += drop;
    merged.rows.erase(merged.rows.begin(), merged.rows.begin() + static_cast<ptrdiff_t>(drop));
  }
  // One entry per key: bounded by the keys that were used, as the cache is.
  for (auto& [id, at] : last_used) merged.last_used.emplace_back(id, at);
  restored_ = std::move(merged);
}

UsageStats UsageRecorder::Stats() const {
  MutexLock lock(&restored_mu_);
  return UsageStats{restored_.rows.size(), dropped_, dropped_rows_};
}

}  // namespace keyward
