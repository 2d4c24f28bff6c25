// Where a Redis server is and how to sign in to it, parsed from a URL:
//   redis://[[user]:password@]host[:port][/db]     (port 6379, db 0 by default)
//   unix://[[user]:password@]/path/to/redis.sock[?db=N]
// User and password may be percent-encoded. What is not one of these forms
// (rediss://, other query parameters, a path after the db) is refused rather
// than guessed at. Error messages and Redacted() never carry the password.
// Thread-safe: plain values.
#ifndef KEYWARD_LIMITS_REDIS_REDIS_URL_H_
#define KEYWARD_LIMITS_REDIS_REDIS_URL_H_

#include <string>
#include <string_view>

#include "core/status.h"

namespace keyward {

struct RedisUrl {
  enum class Transport { kTcp, kUnix };
  Transport transport = Transport::kTcp;
  std::string host;         // kTcp; an IPv6 address without its brackets
  int port = 6379;          // kTcp
  std::string socket_path;  // kUnix
  std::string user;         // empty: the default user (AUTH <password>)
  std::string password;     // empty: no AUTH
  int db = 0;

  static Result<RedisUrl> Parse(std::string_view url);

  // The URL with the password replaced by "***", for logs and messages.
  std::string Redacted() const;
};

}  // namespace keyward

#endif  // KEYWARD_LIMITS_REDIS_REDIS_URL_H_
