#include "cli/progress.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>

namespace keyward {

std::string ErrnoText() { return std::strerror(errno); }

Status OpenOutput(const std::string& output, std::FILE* out, std::optional<PartialFile>* partial,
                  std::FILE** sink) {
  *sink = out;
  if (output.empty()) return Status::Ok();
  partial->emplace(output);
  KEYWARD_RETURN_IF_ERROR((*partial)->Open());
  *sink = (*partial)->get();
  return Status::Ok();
}

Status FinishOutput(std::optional<PartialFile>& partial, std::FILE* out) {
  if (partial) return partial->Commit();
  if (std::fflush(out) != 0) return Status::Internal("cannot write stdout: " + ErrnoText());
  return Status::Ok();
}

std::string FormatCount(uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string FormatBytes(uint64_t n) {
  if (n < 1000) return std::to_string(n) + (n == 1 ? " byte" : " bytes");
  static constexpr const char* kUnits[] = {"kB", "MB", "GB", "TB"};
  double value = static_cast<double>(n) / 1000;
  size_t unit = 0;
  while (value >= 999.95 && unit + 1 < std::size(kUnits)) {
    value /= 1000;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f %s", value, kUnits[unit]);
  return text;
}

}  // namespace keyward
