#include "core/thread_stripe.h"

#include <functional>
#include <queue>
#include <vector>

#include "core/mutex.h"

namespace keyward::internal {
namespace {

struct Pool {
  Mutex mu;
  // Numbers given back, smallest first; past them, next.
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> free GUARDED_BY(mu);
  size_t next GUARDED_BY(mu) = 0;
};

Pool& ThePool() {
  static Pool* pool = new Pool();  // never destroyed: threads end after static destructors
  return *pool;
}

}  // namespace

size_t TakeStripe() {
  Pool& p = ThePool();
  MutexLock lock(&p.mu);
  if (p.free.empty()) return p.next++;
  const size_t n = p.free.top();
  p.free.pop();
  return n;
}

void GiveBackStripe(size_t n) {
  Pool& p = ThePool();
  MutexLock lock(&p.mu);
  p.free.push(n);
}

}  // namespace keyward::internal
