#include "core/epoch.h"

#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace keyward {
namespace {

bool RegisterMembarrier() {
#if defined(__linux__) && defined(SYS_membarrier)
  const long commands = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  if (commands < 0 || (commands & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return false;
  return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#else
  return false;
#endif
}

}  // namespace

EpochDomain::EpochDomain() : asymmetric_(RegisterMembarrier()) {}

bool EpochDomain::HeavyBarrier() {
  std::atomic_thread_fence(std::memory_order_seq_cst);
#if defined(__linux__) && defined(SYS_membarrier)
  if (asymmetric_) return syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
#endif
  return true;
}

EpochDomain& EpochDomain::Get() {
  static EpochDomain* domain = new EpochDomain();  // never destroyed: see the header
  return *domain;
}

EpochGuard::Slot* EpochDomain::ThreadSlot() {
  // The slot goes back to the pool as its thread ends (outside any guard).
  struct Holder {
    EpochGuard::Slot* slot = nullptr;
    ~Holder() {
      if (slot != nullptr) slot->in_use.store(false, std::memory_order_release);
    }
  };
  thread_local Holder holder;
  if (holder.slot != nullptr) return holder.slot;
  // A slot a finished thread left, else a new one at the head of the list.
  for (EpochGuard::Slot* s = slots_.load(std::memory_order_acquire); s != nullptr; s = s->next) {
    bool free = false;
    if (!s->in_use.load(std::memory_order_relaxed) &&
        s->in_use.compare_exchange_strong(free, true, std::memory_order_acquire)) {
      holder.slot = s;
      return s;
    }
  }
  auto* s = new EpochGuard::Slot();
  s->in_use.store(true, std::memory_order_relaxed);
  EpochGuard::Slot* head = slots_.load(std::memory_order_relaxed);
  do {
    s->next = head;
  } while (
      !slots_.compare_exchange_weak(head, s, std::memory_order_release, std::memory_order_relaxed));
  holder.slot = s;
  return s;
}

EpochGuard EpochDomain::Enter() {
  EpochGuard::Slot* slot = ThreadSlot();
  if (slot->depth++ == 0) {
    const uint64_t e = epoch_.load(std::memory_order_seq_cst);
    slot->state.store(e << 1 | 1, std::memory_order_relaxed);
    // The announcement is visible before any pointer is read: a writer
    // that unlinks after this reader read sees it in TryAdvance. With
    // membarrier, TryAdvance's barrier does that for this thread.
    if (asymmetric_) {
      std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
      std::atomic_thread_fence(std::memory_order_seq_cst);
    }
  }
  return EpochGuard(slot);
}

void EpochGuard::End() {
  if (slot_ == nullptr) return;
  if (--slot_->depth == 0) slot_->state.store(0, std::memory_order_release);
  slot_ = nullptr;
}

void EpochDomain::TryAdvance() {
  uint64_t e = epoch_.load(std::memory_order_seq_cst);
  // Every reader's announcement made before this point is visible below;
  // a reader that announces after it reads the writes made before it.
  if (!HeavyBarrier()) return;  // cannot know who reads what: free nothing
  for (EpochGuard::Slot* s = slots_.load(std::memory_order_acquire); s != nullptr; s = s->next) {
    const uint64_t state = s->state.load(std::memory_order_acquire);
    if ((state & 1) != 0 && (state >> 1) != e) return;  // a reader has not seen e yet
  }
  epoch_.compare_exchange_strong(e, e + 1, std::memory_order_seq_cst);
}

void EpochDomain::TakeDue(uint64_t now, std::vector<Retired>* due) {
  // Oldest first (epochs are read under the lock, so they never decrease
  // along the queue): a reclaim costs what it frees, however much waits.
  while (!retired_.empty() && retired_.front().epoch + 2 <= now) {
    due->push_back(retired_.front());
    retired_.pop_front();
  }
}

void EpochDomain::Retire(void* object, void (*deleter)(void*)) {
  // After the caller's unlink: a reader that could have seen object
  // announced an epoch no later than the one read below.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  bool reclaim;
  {
    MutexLock lock(&retired_mu_);
    retired_.push_back(Retired{object, deleter, epoch_.load(std::memory_order_seq_cst)});
    reclaim = ++since_reclaim_ >= kReclaimEvery;
    if (reclaim) since_reclaim_ = 0;
  }
  if (reclaim) Reclaim();
}

size_t EpochDomain::Reclaim() {
  {
    MutexLock lock(&retired_mu_);
    if (retired_.empty()) return 0;
  }
  // Twice: with no reader inside a guard, what was retired now is due.
  TryAdvance();
  TryAdvance();
  std::vector<Retired> due;
  {
    MutexLock lock(&retired_mu_);
    TakeDue(epoch_.load(std::memory_order_seq_cst), &due);
  }
  for (const Retired& r : due) r.deleter(r.object);
  return due.size();
}

size_t EpochDomain::ThreadSlots() const {
  size_t n = 0;
  for (EpochGuard::Slot* s = slots_.load(std::memory_order_acquire); s != nullptr; s = s->next) ++n;
  return n;
}

size_t EpochDomain::Pending() const {
  MutexLock lock(&retired_mu_);
  return retired_.size();
}

}  // namespace keyward
