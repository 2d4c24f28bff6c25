#include "cli/command_options.h"

#include <charconv>
#include <iostream>

#include "cli/exit_codes.h"

namespace keyward {

using nlohmann::json;

namespace {

bool ParseWhole(std::string_view text, int64_t* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::nullopt_t Refuse(const std::string& why, int* exit_code) {
  std::cerr << "keyward: " << why << "\n";
  *exit_code = kExitUsage;
  return std::nullopt;
}

}  // namespace

std::optional<json> ParseRateLimitArg(const std::string& text, int* exit_code) {
  if (text == "none") return json(nullptr);
  const size_t slash = text.find('/');
  int64_t limit = 0, period = 0;
  if (slash == std::string::npos || !ParseWhole(std::string_view(text).substr(0, slash), &limit) ||
      !ParseWhole(std::string_view(text).substr(slash + 1), &period)) {
    return Refuse(
        "--rate-limit " + text + ": must look like 100/60 (100 requests per 60 seconds), or none",
        exit_code);
  }
  return json{{"limit", limit}, {"period_seconds", period}};
}

std::optional<json> ParseObjectArg(const char* flag, const std::string& text, int* exit_code) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) {
    return Refuse(std::string(flag) + " must be a JSON object, like '{\"team\":\"payments\"}'",
                  exit_code);
  }
  return j;
}

std::optional<json> ParseRefillArg(const std::string& text, int* exit_code) {
  if (text == "none") return json(nullptr);
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t slash = text.find('/', start);
    parts.push_back(text.substr(start, slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  int64_t amount = 0, day = 0;
  const bool shape_ok = (parts.size() == 2 && (parts[1] == "daily" || parts[1] == "monthly")) ||
                        (parts.size() == 3 && parts[1] == "monthly" && ParseWhole(parts[2], &day));
  if (!shape_ok || !ParseWhole(parts[0], &amount)) {
    return Refuse("--refill " + text +
                      ": must look like 1000/daily, 1000/monthly or 1000/monthly/15, or none",
                  exit_code);
  }
  json refill = {{"amount", amount}, {"interval", parts[1]}};
  if (parts.size() == 3) refill["day"] = day;
  return refill;
}

bool AddCostRule(const std::string& text, json* costs, int* exit_code) {
  const size_t eq = text.rfind('=');
  int64_t cost = 0;
  if (eq == std::string::npos || eq == 0 ||
      !ParseWhole(std::string_view(text).substr(eq + 1), &cost)) {
    Refuse("--cost " + text + ": must look like \"POST /v1/search=5\" (an endpoint, =, credits)",
           exit_code);
    return false;
  }
  (*costs)[text.substr(0, eq)] = cost;
  return true;
}

CLI::Option* AddClearOption(CLI::App* cmd, std::vector<std::string>* into,
                            const std::vector<std::string>& fields) {
  return cmd
      ->add_option("--clear", *into,
                   "Set a field back (repeatable): a list to empty, a limit to none or to what "
                   "the plan or the deployment says")
      ->check(CLI::IsMember(fields));
}

void ApplyClears(const std::vector<std::string>& fields, json* body) {
  for (const auto& f : fields) {
    if (f == "scopes" || f.ends_with("allowlist")) {
      (*body)[f] = json::array();
    } else if (f == "meta") {
      (*body)[f] = json::object();
    } else {
      (*body)[f] = nullptr;
    }
  }
}

void AddJsonFlag(CLI::App* cmd, bool* into) {
  cmd->add_flag("--json", *into, "Print the answer as JSON");
}

}  // namespace keyward
