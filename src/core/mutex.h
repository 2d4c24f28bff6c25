// A mutex clang's thread-safety analysis understands (std::mutex is not
// annotated in libstdc++), and its scoped lock. Also BasicLockable
// (lock/unlock), so std::condition_variable_any can wait on it.
// Thread-safe: it is the lock.
#ifndef KEYWARD_CORE_MUTEX_H_
#define KEYWARD_CORE_MUTEX_H_

#include <mutex>

#include "core/thread_annotations.h"

namespace keyward {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  // For std::condition_variable_any.
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

}  // namespace keyward

#endif  // KEYWARD_CORE_MUTEX_H_
