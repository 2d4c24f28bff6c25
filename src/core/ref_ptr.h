// RefPtr<T>: a shared pointer whose count lives in the object (T::AddRef and
// T::Release, const), for records held by the million: no control block
// beside each one, and one allocation per record. Used like std::shared_ptr
// (copy, move, get, ->, *, bool, == nullptr); no weak references.
// Thread-safe as std::shared_ptr is: one RefPtr object is not, copies of it
// in different threads are (T's count is atomic).
#ifndef KEYWARD_CORE_REF_PTR_H_
#define KEYWARD_CORE_REF_PTR_H_

#include <cstddef>
#include <utility>

namespace keyward {

template <typename T>
class RefPtr {
 public:
  RefPtr() noexcept = default;
  RefPtr(std::nullptr_t) noexcept {}  // NOLINT: converts like a shared_ptr
  // Takes a new reference to p.
  explicit RefPtr(T* p) noexcept : p_(p) {
    if (p_ != nullptr) p_->AddRef();
  }
  RefPtr(const RefPtr& o) noexcept : RefPtr(o.p_) {}
  RefPtr(RefPtr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  RefPtr& operator=(const RefPtr& o) noexcept {
    RefPtr(o).swap(*this);
    return *this;
  }
  RefPtr& operator=(RefPtr&& o) noexcept {
    RefPtr(std::move(o)).swap(*this);
    return *this;
  }
  ~RefPtr() {
    if (p_ != nullptr) p_->Release();
  }

  // Adopts a reference the caller already counted (no AddRef).
  static RefPtr Adopt(T* p) noexcept {
    RefPtr r;
    r.p_ = p;
    return r;
  }

  void reset() noexcept { RefPtr().swap(*this); }
  void swap(RefPtr& o) noexcept { std::swap(p_, o.p_); }
  T* get() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  T* operator->() const noexcept { return p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  friend bool operator==(const RefPtr& a, std::nullptr_t) noexcept { return a.p_ == nullptr; }
  friend bool operator==(const RefPtr& a, const RefPtr& b) noexcept { return a.p_ == b.p_; }

 private:
  T* p_ = nullptr;
};

}  // namespace keyward

#endif  // KEYWARD_CORE_REF_PTR_H_
