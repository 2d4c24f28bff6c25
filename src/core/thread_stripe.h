// ThreadStripe: a number for the calling thread, handed out in turn on each
// thread's first call, so that counters kept in N cache-line-apart copies
// give each of up to N threads a copy of its own (ThreadStripe() % N).
// Thread-safe; the number stays the thread's for its life.
#ifndef KEYWARD_CORE_THREAD_STRIPE_H_
#define KEYWARD_CORE_THREAD_STRIPE_H_

#include <atomic>
#include <cstddef>

namespace keyward {

inline size_t ThreadStripe() {
  static std::atomic<size_t> next{0};
  thread_local const size_t mine = next.fetch_add(1, std::memory_order_relaxed);
  return mine;
}

}  // namespace keyward

#endif  // KEYWARD_CORE_THREAD_STRIPE_H_
