// Status and Result<T>: errors as values, each carrying a one-line message naming file, node or tensor.
#pragma once

#include <fmt/format.h>

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace ortool {

// kInvalid: bad input or usage (exit 2). kCheckFailed: a check the user asked for failed (exit 1).
enum class StatusCode { kOk = 0, kInvalid, kUnsupported, kNotFound, kIo, kCheckFailed, kResourceLimit, kInternal };

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with context ("model.onnx: node 'conv1': ...").
  Status with_context(std::string_view prefix) const {
    if (is_ok()) return *this;
    return Status(code_, fmt::format("{}: {}", prefix, message_));
  }
  // Exit code of the CLI for this status (DESIGN.md: 0 ok, 1 failed check, 2 bad input).
  int exit_code() const {
    if (is_ok()) return 0;
    return code_ == StatusCode::kCheckFailed ? 1 : 2;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename... Args>
Status invalid(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kInvalid, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status unsupported(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kUnsupported, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status io_error(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kIo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status internal_error(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kInternal, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status check_failed(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kCheckFailed, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status resource_limit(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kResourceLimit, fmt::format(f, std::forward<Args>(args)...));
}

// Result<T>: a value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Status status) : v_(std::move(status)) {}  // NOLINT
  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const {
    static const Status ok_status;
    return is_ok() ? ok_status : std::get<Status>(v_);
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

}  // namespace ortool

#define ORTOOL_CONCAT_INNER(a, b) a##b
#define ORTOOL_CONCAT(a, b) ORTOOL_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` is not ok.
#define TRY(expr)                          \
  do {                                     \
    ::ortool::Status _st = (expr);         \
    if (!_st.is_ok()) return _st;          \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, f());` declares x from a Result or returns its Status.
#define ASSIGN_OR_RETURN(lhs, expr) ASSIGN_OR_RETURN_IMPL(ORTOOL_CONCAT(_res_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.is_ok()) return tmp.status();      \
  lhs = std::move(tmp).value()
