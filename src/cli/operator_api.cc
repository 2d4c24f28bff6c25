#include "cli/operator_api.h"

#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "cli/exit_codes.h"
#include "cli/http_client.h"

namespace keyward {

using nlohmann::json;

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::string OperatorUrl() { return EnvOr("KEYWARD_URL", "http://127.0.0.1:8080"); }

std::optional<json> ApiCall(const std::string& method, const std::string& target, const json& body,
                            int* exit_code) {
  const std::string token = EnvOr("KEYWARD_ROOT_KEY", "");
  if (token.empty()) {
    std::cerr << "keyward: set KEYWARD_ROOT_KEY to a root key (kw_root_…) first; `keyward "
                 "root-keys create` makes one\n";
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  auto client = HttpClient::Create(OperatorUrl(), token);
  if (!client.ok()) {
    std::cerr << "keyward: " << client.status().message() << "\n";
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  auto res = client->Send(method, target, body.is_null() ? "" : body.dump());
  if (!res.ok()) {
    std::cerr << "keyward: " << res.status().message() << "\n";
    *exit_code = kExitUnavailable;
    return std::nullopt;
  }
  json j = json::parse(res->body, nullptr, false);
  if (res->status >= 200 && res->status < 300) {
    *exit_code = kExitOk;
    return j.is_discarded() ? json::object() : j;
  }
  std::cerr << "keyward: " << HttpErrorText(*res) << "\n";
  *exit_code = ExitCodeForHttpStatus(res->status);
  return std::nullopt;
}

std::optional<json> ApiList(const std::string& path, const std::string& query, size_t max,
                            int* exit_code) {
  json all = json::array();
  std::string cursor;
  while (true) {
    std::string target = path + "?limit=100" + query + QueryParam("cursor", cursor);
    auto page = ApiCall("GET", target, nullptr, exit_code);
    if (!page) return std::nullopt;
    for (auto& item : (*page)["data"]) {
      if (max > 0 && all.size() >= max) return all;
      all.push_back(item);
    }
    if (!page->contains("next_cursor") || !(*page)["next_cursor"].is_string()) return all;
    cursor = (*page)["next_cursor"].get<std::string>();
  }
}

std::string QueryParam(const char* name, const std::string& value) {
  if (value.empty()) return "";
  return std::string("&") + name + "=" + UrlEncode(value);
}

std::optional<std::string> ReadSecretLine(const char* what, int* exit_code) {
  const bool tty = ::isatty(0) == 1;
  termios saved{};
  if (tty) {
    std::cerr << "Paste " << what << ", then press Enter (it is not shown): " << std::flush;
    if (::tcgetattr(0, &saved) == 0) {
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(0, TCSANOW, &quiet);
    }
  }
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  if (tty) {
    ::tcsetattr(0, TCSANOW, &saved);
    std::cerr << "\n";
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (!got || line.empty()) {
    std::cerr << "keyward: no " << what << " on standard input (it is never taken from the "
              << "command line, where shell history and ps would keep it)\n";
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  return line;
}

}  // namespace keyward
