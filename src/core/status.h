// Status and Result<T>: how core/ and store/ report failure. No exception
// crosses these layers; callers test ok() and read code() and message().
// A message is for a person and never contains a secret.
// Thread-safe: plain values.
#ifndef KEYWARD_CORE_STATUS_H_
#define KEYWARD_CORE_STATUS_H_

#include <string>
#include <utility>
#include <variant>

#include "core/code.h"
#include "core/storage_fault.h"

namespace keyward {

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status InvalidRequest(std::string msg) { return {Code::kInvalidRequest, std::move(msg)}; }
  static Status Unprocessable(std::string msg) { return {Code::kUnprocessable, std::move(msg)}; }
  static Status Conflict(std::string msg) { return {Code::kConflict, std::move(msg)}; }
  static Status KeyLimitReached(std::string msg) {
    return {Code::kKeyLimitReached, std::move(msg)};
  }
  static Status KeyRevoked(std::string msg) { return {Code::kKeyRevoked, std::move(msg)}; }
  static Status Forbidden(std::string msg) { return {Code::kForbidden, std::move(msg)}; }
  static Status Internal(std::string msg) { return {Code::kInternal, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }
  // A storage fault: kStorageFull for kFull, else kUnavailable, carrying the
  // fault so that the store guard and the API can name it. msg is for the
  // operator's log (it may name paths); clients read StorageFaultMessage.
  static Status Storage(StorageFault fault, std::string msg) {
    Status s(fault == StorageFault::kFull ? Code::kStorageFull : Code::kUnavailable,
             std::move(msg));
    s.fault_ = fault;
    return s;
  }

  bool ok() const { return code_ == Code::kOk; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // kNone unless made by Status::Storage.
  StorageFault fault() const { return fault_; }
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  StorageFault fault_ = StorageFault::kNone;
  std::string message_;
};

// A value or the Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace keyward

#define KEYWARD_RETURN_IF_ERROR(expr) \
  do {                                \
    ::keyward::Status _st = (expr);   \
    if (!_st.ok()) return _st;        \
  } while (0)

#endif  // KEYWARD_CORE_STATUS_H_
