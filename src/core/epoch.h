// Epoch-based reclamation: memory that readers may still be reading is freed
// only once every reader that could have seen it has moved on, so that
// readers take no lock and write nothing shared.
//
// A reader holds an EpochGuard while it uses pointers it read from a shared
// structure. A writer that unlinks an object from that structure hands it to
// Retire instead of freeing it; it is freed (its deleter runs) once every
// guard that was held when it was retired has ended. Entering a guard costs
// a store to the thread's own cache line; nothing is written that another
// thread reads on its fast path.
//
// The fence that must order a reader's announcement before its reads is
// asymmetric where Linux offers membarrier(2): the rare writer that moves
// the epoch on makes every running thread of the process execute a full
// barrier, so the reader needs only a compiler barrier. Elsewhere (no
// membarrier, or refused by a sandbox) the reader fences itself.
//
// How: a global epoch moves on only when every thread inside a guard has
// seen its current value; an object retired at epoch e is freed once the
// epoch reaches e + 2 (no guard can have begun before its unlink then).
//
// One domain serves the whole process (EpochDomain::Get). Guards nest.
// Thread-safe: guards are entered and ended on one thread each (a guard
// moved to another thread must end on the thread that made it); Retire and
// Reclaim may be called from any thread, under any lock that no reader holds.
#ifndef KEYWARD_CORE_EPOCH_H_
#define KEYWARD_CORE_EPOCH_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "core/mutex.h"

namespace keyward {

class EpochDomain;

// While it lives, nothing retired after it began is freed. Movable, not
// copyable; an empty (moved-from or default) guard holds nothing.
class EpochGuard {
 public:
  EpochGuard() = default;
  EpochGuard(EpochGuard&& o) noexcept : slot_(o.slot_) { o.slot_ = nullptr; }
  EpochGuard& operator=(EpochGuard&& o) noexcept {
    if (this != &o) {
      End();
      slot_ = o.slot_;
      o.slot_ = nullptr;
    }
    return *this;
  }
  EpochGuard(const EpochGuard&) = delete;
  EpochGuard& operator=(const EpochGuard&) = delete;
  ~EpochGuard() { End(); }

  bool active() const { return slot_ != nullptr; }

 private:
  friend class EpochDomain;
  struct Slot;
  explicit EpochGuard(Slot* slot) : slot_(slot) {}
  void End();
  Slot* slot_ = nullptr;
};

class EpochDomain {
 public:
  // The process's domain: made on first use and never destroyed, so that
  // objects retired by static destructors are still accepted.
  static EpochDomain& Get();

  // A guard on the calling thread.
  EpochGuard Enter();

  // Frees object with deleter once no guard held now can still see it.
  // Reclaims as it goes: every kReclaimEvery retirements, what is due.
  void Retire(void* object, void (*deleter)(void*));
  template <typename T>
  void RetireObject(T* object) {
    Retire(object, [](void* p) { delete static_cast<T*>(p); });
  }

  // Moves the epoch on when it can and frees what is due; returns how many
  // objects it freed. Cheap when nothing waits.
  size_t Reclaim();

  // Objects retired and not yet freed.
  size_t Pending() const;
  // Thread slots ever made (a thread that ends leaves its slot to the next).
  size_t ThreadSlots() const;
  // Whether readers rely on membarrier(2) instead of their own fence.
  bool asymmetric() const { return asymmetric_; }

  static constexpr size_t kReclaimEvery = 64;

 private:
  friend class EpochGuard;
  struct Retired {
    void* object;
    void (*deleter)(void*);
    uint64_t epoch;
  };
  EpochDomain();
  EpochGuard::Slot* ThreadSlot();
  // A full barrier on every running thread of the process (asymmetric), or
  // on this one; false if membarrier failed, when nothing may be assumed.
  bool HeavyBarrier();
  // Moves the epoch on by one if every thread inside a guard has seen it.
  void TryAdvance();
  // Frees what is due at epoch now: the caller holds retired_mu_ and
  // collects the due objects, deleted after the lock is let go.
  void TakeDue(uint64_t now, std::vector<Retired>* due) REQUIRES(retired_mu_);

  const bool asymmetric_;
  std::atomic<uint64_t> epoch_{1};
  std::atomic<EpochGuard::Slot*> slots_{nullptr};  // every thread's, a list never shrunk
  mutable Mutex retired_mu_;
  std::deque<Retired> retired_ GUARDED_BY(retired_mu_);  // in retirement order
  size_t since_reclaim_ GUARDED_BY(retired_mu_) = 0;
};

// A thread's slot: its own cache line, written only by that thread on the
// fast path.
struct alignas(64) EpochGuard::Slot {
  // 0 outside a guard, else (epoch << 1) | 1.
  std::atomic<uint64_t> state{0};
  uint32_t depth = 0;               // guards held; the owning thread's only
  std::atomic<bool> in_use{false};  // owned by a live thread
  Slot* next = nullptr;             // immutable once published
};

}  // namespace keyward

#endif  // KEYWARD_CORE_EPOCH_H_
