// ThreadStripe: a small number for the calling thread, so that counters
// kept in N cache-line-apart copies give each of up to N live threads a copy
// of its own (ThreadStripe() % N). A thread takes the smallest number no
// live thread holds on its first call and gives it back as it ends: live
// threads never share a number, however many threads came and went before
// (a thread pool that replaces its threads, or a benchmark that starts new
// ones for every run, would otherwise wrap around onto a live thread's copy
// and share its cache line).
// Thread-safe; the number stays the thread's for its life.
#ifndef KEYWARD_CORE_THREAD_STRIPE_H_
#define KEYWARD_CORE_THREAD_STRIPE_H_

#include <cstddef>

namespace keyward {

namespace internal {
// The numbers' pool (core/thread_stripe.cc); a mutex, taken once per thread.
size_t TakeStripe();
void GiveBackStripe(size_t n);
}  // namespace internal

inline size_t ThreadStripe() {
  struct Holder {
    const size_t n = internal::TakeStripe();
    ~Holder() { internal::GiveBackStripe(n); }
  };
  thread_local const Holder holder;
  return holder.n;
}

}  // namespace keyward

#endif  // KEYWARD_CORE_THREAD_STRIPE_H_
