#include "server/call.h"

#include "server/api.h"
#include "server/http_status.h"

#include <boost/beast/core/string.hpp>

namespace keyward {

constexpr int kDefaultPageLimit = 50;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IEquals(std::string_view a, std::string_view b) {
  // ASCII only, as HTTP's case-insensitive tokens are (Beast's, without
  // libc's locale lookup per byte: header names are compared this way
  // several times on every request).
  return boost::beast::iequals(a, b);
}

static int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The value of a header, or "" when absent.
std::string_view Header(const HttpRequest& req, std::string_view name) {
  auto it = req.find(boost::beast::string_view(name.data(), name.size()));
  if (it == req.end()) return {};
  return std::string_view(it->value().data(), it->value().size());
}

// The token of "Authorization: Bearer <token>", or "" when there is none.
std::string_view BearerToken(const HttpRequest& req) {
  const std::string_view auth = Trim(Header(req, "Authorization"));
  if (auth.size() > 7 && IEquals(auth.substr(0, 7), "Bearer ")) return Trim(auth.substr(7));
  return {};
}

// {"data": [...], "next_cursor": "…" | null}
Json ListBody(Json data, const std::string& next_cursor) {
  return {{"data", std::move(data)},
          {"next_cursor", next_cursor.empty() ? Json(nullptr) : Json(next_cursor)}};
}

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ',' || s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ',' && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

void Call::Send(int status, std::string body) {
  reply.response.status = status;
  reply.response.content_type = "application/json";
  reply.response.body = std::move(body);
}

void Call::SendContent(int status, std::string_view content_type, std::string body) {
  reply.response.status = status;
  reply.response.content_type = std::string(content_type);
  reply.response.body = std::move(body);
}

void Call::Stream(int status, std::string_view content_type, BodyProducer next) {
  reply.response.status = status;
  reply.response.content_type = std::string(content_type);
  reply.response.body.clear();
  reply.response.stream = std::move(next);
}

void Call::Error(Code code, std::string_view message) {
  reply.code = code;
  reply.response.stream = nullptr;
  Send(HttpStatusFor(code), ErrorBody(code, message));
}

void Call::Fail(const Status& st) {
  if (st.code() == Code::kInternal) {
    // The details go to the log, never to the client.
    Error(Code::kInternal, "internal error");
    return;
  }
  if (st.fault() != StorageFault::kNone) {
    // The cause named (a full disk, a read-only directory); the details,
    // which may name paths and hosts, are the operator's, in the log.
    Error(st.code(), StorageFaultMessage(st.fault()));
    return;
  }
  if (st.code() == Code::kUnavailable) {
    // The cause (hosts, sockets, paths) is the operator's, in the server's
    // log; the client learns what to do.
    Error(Code::kUnavailable,
          "the database cannot be reached right now; try again shortly (keys already checked "
          "by this node keep verifying)");
    return;
  }
  Error(st.code(), st.message());
}

bool Call::Check(const Status& st) {
  if (st.ok()) return true;
  Fail(st);
  return false;
}

// Query parameters, refusing any not in allowed.
bool Call::Query(std::initializer_list<std::string_view> allowed, QueryParams* out) {
  std::string_view q = query;
  while (!q.empty()) {
    const size_t amp = q.find('&');
    const std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    std::string name = PercentDecode(part.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : PercentDecode(part.substr(eq + 1));
    bool ok = false;
    for (auto a : allowed) ok = ok || a == name;
    if (!ok) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      Error(Code::kInvalidRequest, "unknown query parameter \"" + name + "\"; expected: " + list);
      return false;
    }
    out->emplace_back(std::move(name), std::move(value));
  }
  return true;
}

// A page request from cursor= and limit=.
bool Call::Page(const QueryParams& q, PageRequest* page) {
  page->limit = kDefaultPageLimit;
  for (const auto& [k, v] : q) {
    if (k == "cursor") page->cursor = v;
    if (k == "limit") {
      int n = 0;
      bool digits = !v.empty() && v.size() <= 6;
      for (char c : v) {
        digits = digits && c >= '0' && c <= '9';
        if (digits) n = n * 10 + (c - '0');
      }
      if (!digits || n < 1 || n > 1000) {
        Error(Code::kInvalidRequest, "limit must be an integer between 1 and 1000");
        return false;
      }
      page->limit = n;
    }
  }
  return true;
}

// The body as a JSON object, checking its content type.
std::optional<Json> Call::Body(bool allow_empty) {
  const std::string_view type = Header(req, "Content-Type");
  if (!type.empty() && !req.body().empty()) {
    const std::string_view media = Trim(type.substr(0, type.find(';')));
    if (!IEquals(media, "application/json")) {
      Error(Code::kUnsupportedMediaType, "send the body as application/json");
      return std::nullopt;
    }
  }
  auto j = ParseJsonObject(req.body(), allow_empty);
  if (!j.ok()) {
    Error(j.status().code(), j.status().message());
    return std::nullopt;
  }
  return std::move(*j);
}

}  // namespace keyward
