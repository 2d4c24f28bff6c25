#include "limits/redis/redis_rate_limiter.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <utility>

namespace keyward {
namespace {

// GCRA on one bucket, as MemoryRateLimiter computes it (microseconds; the
// bucket's value is its theoretical arrival time, TAT).
// KEYS[1] the bucket. ARGV: limit, period in microseconds, "take" or "peek",
// and the caller's now in microseconds, or "" for Redis's TIME.
// take answers {allowed, remaining, reset_seconds, retry_after_seconds};
// peek answers {would_admit} and writes nothing.
// Lua numbers are doubles: exact for integers below 2^53 (TATs are ~2^51),
// and every division below is of small positive integers, floored.
constexpr std::string_view kScript = R"lua(
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local now
if ARGV[4] ~= '' then
  now = tonumber(ARGV[4])
else
  if redis.replicate_commands then redis.replicate_commands() end
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local interval = math.max(math.floor(period / limit), 1)
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then tat = math.max(tonumber(stored), now) end
local new_tat = tat + interval
if ARGV[3] == 'peek' then
  if new_tat - now <= period then return {1} end
  return {0}
end
if new_tat - now > period then
  local wait = new_tat - period - now
  return {0, 0, math.floor((tat - now + 999999) / 1000000),
          math.max(math.floor((wait + 999999) / 1000000), 1)}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat),
           'PX', math.max(math.ceil((new_tat - now) / 1000), 1))
return {1, math.min(math.floor((period - (new_tat - now)) / interval), limit - 1),
        math.floor((new_tat - now + 999999) / 1000000), 0}
)lua";

int64_t SteadyMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// hiredis writes with write(2): a peer that closed the socket would raise
// SIGPIPE and kill the process. As libpq does, block it on this thread for
// the duration and swallow one that the calls below raised.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~ScopedSigpipeBlock() {
    if (!was_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero{0, 0};
        sigtimedwait(&pipe_, nullptr, &zero);
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

std::string BucketKey(const std::string& prefix, uint64_t key) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016" PRIx64, key);
  return prefix + hex;
}

}  // namespace

// One hiredis context and the script's SHA1 as the server reported it.
// Not thread-safe: used by one call at a time, between Borrow and Return.
class RedisRateLimiter::Connection {
 public:
  explicit Connection(redisContext* c) : c_(c) {}
  ~Connection() { redisFree(c_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The reply, or null when the connection failed (and is now unusable).
  Reply Command(const std::vector<std::string_view>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    argv.reserve(args.size());
    lens.reserve(args.size());
    for (std::string_view a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    return Reply(static_cast<redisReply*>(
        redisCommandArgv(c_, static_cast<int>(args.size()), argv.data(), lens.data())));
  }

  bool broken() const { return c_->err != 0; }
  std::string error() const { return c_->err != 0 ? std::string(c_->errstr) : "no reply"; }
  std::string sha;

 private:
  redisContext* c_;
};

Result<RedisFailureMode> ParseRedisFailureMode(std::string_view name) {
  if (name == "fail_open") return RedisFailureMode::kFailOpen;
  if (name == "fail_closed") return RedisFailureMode::kFailClosed;
  return Status::InvalidRequest("redis failure mode: expected fail_open or fail_closed");
}

Result<std::unique_ptr<RedisRateLimiter>> RedisRateLimiter::Create(
    RedisRateLimiterOptions options) {
  auto url = RedisUrl::Parse(options.url);
  if (!url.ok()) return url.status();
  if (options.failure_mode == RedisFailureMode::kFailOpen && options.fallback == nullptr) {
    return Status::InvalidRequest("redis rate limiter: fail_open needs an in-memory fallback");
  }
  if (options.timeout.count() <= 0) {
    return Status::InvalidRequest("redis rate limiter: the timeout must be positive");
  }
  return std::unique_ptr<RedisRateLimiter>(
      new RedisRateLimiter(std::move(options), std::move(*url)));
}

RedisRateLimiter::RedisRateLimiter(RedisRateLimiterOptions options, RedisUrl url)
    : options_(std::move(options)), url_(std::move(url)), redacted_url_(url_.Redacted()) {}

RedisRateLimiter::~RedisRateLimiter() = default;

RateLimitDecision RedisRateLimiter::Take(uint64_t key, const RateLimit& limit, Timestamp now) {
  decisions_.fetch_add(1, std::memory_order_relaxed);
  RateLimitDecision d;
  d.limit = limit.limit;
  if (limit.limit <= 0 || limit.period_seconds <= 0) {
    d.allowed = false;
    d.retry_after_seconds = std::max<int64_t>(limit.period_seconds, 1);
    return d;
  }
  auto reply = Run(Mode::kTake, key, limit, now);
  if (reply.ok()) {
    d.allowed = reply->values[0] == 1;
    d.remaining = reply->values[1];
    d.reset_seconds = reply->values[2];
    d.retry_after_seconds = reply->values[3];
    if (options_.peek_from_refusals) NoteTake(key, now, limit, d);
    return d;
  }
  fallback_decisions_.fetch_add(1, std::memory_order_relaxed);
  if (options_.failure_mode == RedisFailureMode::kFailOpen) {
    return options_.fallback->Take(key, limit, now);
  }
  d.allowed = false;
  d.remaining = 0;
  d.reset_seconds = 1;
  d.retry_after_seconds = 1;
  return d;
}

void RedisRateLimiter::NoteTake(uint64_t key, Timestamp now, const RateLimit& limit,
                                const RateLimitDecision& d) {
  RefusalShard& shard = refusals_[key % kRefusalShards];
  MutexLock lock(&shard.mu);
  // Bounded: entries last a period, and a flood of addresses is pruned.
  if (shard.until.size() >= 65536) shard.until.clear();
  Seen& seen = shard.until[key];
  seen.taken_until = std::max(seen.taken_until, now + limit.period_seconds * 1000);
  if (!d.allowed) {
    seen.refused_until =
        std::max(seen.refused_until, now + std::max<int64_t>(d.retry_after_seconds, 1) * 1000);
  }
}

RedisRateLimiter::Seen RedisRateLimiter::Lookup(uint64_t key) const {
  const RefusalShard& shard = refusals_[key % kRefusalShards];
  MutexLock lock(&shard.mu);
  auto it = shard.until.find(key);
  return it == shard.until.end() ? Seen{} : it->second;
}

void RedisRateLimiter::Prune(Timestamp now) {
  for (RefusalShard& shard : refusals_) {
    MutexLock lock(&shard.mu);
    std::erase_if(shard.until, [now](const auto& e) {
      return e.second.refused_until <= now && e.second.taken_until <= now;
    });
  }
}

bool RedisRateLimiter::WouldAdmit(uint64_t key, const RateLimit& limit, Timestamp now) const {
  if (limit.limit <= 0 || limit.period_seconds <= 0) return false;
  if (options_.peek_from_refusals) {
    const Seen seen = Lookup(key);
    if (now < seen.refused_until) return false;
    if (now >= seen.taken_until) return true;  // never failed here lately: no round trip
  }
  decisions_.fetch_add(1, std::memory_order_relaxed);
  auto reply = Run(Mode::kPeek, key, limit, now);
  if (reply.ok()) return reply->values[0] == 1;
  fallback_decisions_.fetch_add(1, std::memory_order_relaxed);
  if (options_.failure_mode == RedisFailureMode::kFailOpen) {
    return options_.fallback->WouldAdmit(key, limit, now);
  }
  return false;
}

Status RedisRateLimiter::Ping() {
  // Ping tries now, whatever the retry interval says.
  return WithConnection([this](Connection& conn) -> Status {
    Reply reply = conn.Command({"PING"});
    if (!reply) return Status::Unavailable("redis " + redacted_url_ + ": " + Scrub(conn.error()));
    if (reply->type == REDIS_REPLY_ERROR) {
      return Status::Unavailable("redis " + redacted_url_ + ": " + Scrub(reply->str));
    }
    return Status::Ok();
  });
}

RedisRateLimiterStats RedisRateLimiter::Stats() const {
  RedisRateLimiterStats s;
  s.decisions = decisions_.load(std::memory_order_relaxed);
  s.fallback_decisions = fallback_decisions_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  s.up = up_.load(std::memory_order_relaxed);
  return s;
}

Result<RedisRateLimiter::ScriptReply> RedisRateLimiter::Run(Mode mode, uint64_t key,
                                                            const RateLimit& limit,
                                                            Timestamp now) const {
  if (!MayTry()) return Status::Unavailable("redis " + redacted_url_ + ": waiting to retry");
  const std::string bucket = BucketKey(options_.key_prefix, key);
  const std::string limit_arg = std::to_string(limit.limit);
  const std::string period_arg = std::to_string(limit.period_seconds * 1'000'000);
  const std::string now_arg = options_.use_caller_clock ? std::to_string(now * 1000) : "";
  const std::string_view mode_arg = mode == Mode::kTake ? "take" : "peek";
  const size_t expected = mode == Mode::kTake ? 4 : 1;
  ScriptReply out;
  Status st = WithConnection([&](Connection& conn) -> Status {
    Reply reply =
        conn.Command({"EVALSHA", conn.sha, "1", bucket, limit_arg, period_arg, mode_arg, now_arg});
    // The server lost its script cache (a restart, SCRIPT FLUSH): EVAL also
    // stores the script again for the next EVALSHA.
    if (reply && reply->type == REDIS_REPLY_ERROR &&
        std::string_view(reply->str, reply->len).starts_with("NOSCRIPT")) {
      reply =
          conn.Command({"EVAL", kScript, "1", bucket, limit_arg, period_arg, mode_arg, now_arg});
    }
    if (!reply) return Status::Unavailable("redis " + redacted_url_ + ": " + Scrub(conn.error()));
    if (reply->type == REDIS_REPLY_ERROR) {
      return Status::Unavailable("redis " + redacted_url_ + ": " +
                                 Scrub(std::string(reply->str, reply->len)));
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != expected) {
      return Status::Internal("redis " + redacted_url_ + ": unexpected reply to the script");
    }
    for (size_t i = 0; i < expected; ++i) {
      if (reply->element[i]->type != REDIS_REPLY_INTEGER) {
        return Status::Internal("redis " + redacted_url_ + ": unexpected reply to the script");
      }
      out.values[i] = reply->element[i]->integer;
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

Status RedisRateLimiter::WithConnection(const std::function<Status(Connection&)>& f) const {
  ScopedSigpipeBlock no_sigpipe;
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    std::unique_ptr<Connection> conn = Borrow(&reused);
    if (conn == nullptr) {
      auto fresh = Connect();
      if (!fresh.ok()) {
        MarkDown(fresh.status().message());
        return fresh.status();
      }
      conn = std::move(*fresh);
    }
    Status st = f(*conn);
    if (st.ok()) {
      Return(std::move(conn));
      MarkUp();
      return st;
    }
    if (!conn->broken()) {
      // Redis answered, with an error: the connection itself is fine.
      Return(std::move(conn));
    } else if (reused && attempt == 0) {
      // An idle connection died, likely with a restarted server, and so did
      // its siblings: drop them and try once on a new one.
      DropIdle();
      continue;
    }
    MarkDown(st.message());
    return st;
  }
}

bool RedisRateLimiter::MayTry() const {
  if (up_.load(std::memory_order_acquire)) return true;
  int64_t at = retry_at_us_.load(std::memory_order_relaxed);
  const int64_t now = SteadyMicros();
  if (now < at) return false;
  // One caller probes; the others keep answering without Redis meanwhile.
  const int64_t next =
      now + std::chrono::duration_cast<std::chrono::microseconds>(options_.retry_interval).count();
  return retry_at_us_.compare_exchange_strong(at, next, std::memory_order_relaxed);
}

std::unique_ptr<RedisRateLimiter::Connection> RedisRateLimiter::Borrow(bool* reused) const {
  MutexLock lock(&mu_);
  if (idle_.empty()) return nullptr;
  std::unique_ptr<Connection> conn = std::move(idle_.back());
  idle_.pop_back();
  *reused = true;
  return conn;
}

void RedisRateLimiter::Return(std::unique_ptr<Connection> conn) const {
  {
    MutexLock lock(&mu_);
    if (idle_.size() < options_.max_idle_connections) {
      idle_.push_back(std::move(conn));
      return;
    }
  }
  // Closed outside the lock: redisFree closes a socket.
  conn.reset();
}

void RedisRateLimiter::DropIdle() const {
  std::vector<std::unique_ptr<Connection>> dropped;
  MutexLock lock(&mu_);
  dropped.swap(idle_);
}

Result<std::unique_ptr<RedisRateLimiter::Connection>> RedisRateLimiter::Connect() const {
  const auto ms = options_.timeout.count();
  const timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  redisContext* c = url_.transport == RedisUrl::Transport::kUnix
                        ? redisConnectUnixWithTimeout(url_.socket_path.c_str(), tv)
                        : redisConnectWithTimeout(url_.host.c_str(), url_.port, tv);
  if (c == nullptr) return Status::Unavailable("redis " + redacted_url_ + ": out of memory");
  auto conn = std::make_unique<Connection>(c);
  const std::string where = "redis " + redacted_url_ + ": ";
  if (conn->broken()) return Status::Unavailable(where + "cannot connect: " + Scrub(conn->error()));
  if (redisSetTimeout(c, tv) != REDIS_OK) {
    return Status::Unavailable(where + "cannot set a timeout: " + Scrub(conn->error()));
  }
  if (url_.transport == RedisUrl::Transport::kTcp) (void)redisEnableKeepAlive(c);

  // Runs one setup command; a Status (scrubbed) unless it answered as expected.
  auto setup = [&](const std::vector<std::string_view>& args, std::string_view what,
                   int type) -> Result<Reply> {
    Reply reply = conn->Command(args);
    if (!reply) return Status::Unavailable(where + std::string(what) + ": " + Scrub(conn->error()));
    if (reply->type == REDIS_REPLY_ERROR) {
      return Status::Unavailable(where + std::string(what) +
                                 " refused: " + Scrub(std::string(reply->str, reply->len)));
    }
    if (reply->type != type) {
      return Status::Unavailable(where + std::string(what) + ": unexpected reply");
    }
    return reply;
  };
  if (!url_.password.empty()) {
    auto auth = url_.user.empty()
                    ? setup({"AUTH", url_.password}, "AUTH", REDIS_REPLY_STATUS)
                    : setup({"AUTH", url_.user, url_.password}, "AUTH", REDIS_REPLY_STATUS);
    if (!auth.ok()) return auth.status();
  }
  if (url_.db != 0) {
    const std::string db = std::to_string(url_.db);
    auto select = setup({"SELECT", db}, "SELECT", REDIS_REPLY_STATUS);
    if (!select.ok()) return select.status();
  }
  auto load = setup({"SCRIPT", "LOAD", kScript}, "SCRIPT LOAD", REDIS_REPLY_STRING);
  if (!load.ok()) return load.status();
  conn->sha.assign((*load)->str, (*load)->len);
  return conn;
}

void RedisRateLimiter::MarkUp() const {
  if (up_.load(std::memory_order_acquire) || up_.exchange(true, std::memory_order_acq_rel)) return;
  const uint64_t without = fallback_decisions_.load(std::memory_order_relaxed) -
                           fallback_at_outage_.load(std::memory_order_relaxed);
  if (options_.on_state_change) {
    options_.on_state_change(true, "redis " + redacted_url_ + " answers again; " +
                                       std::to_string(without) + " decisions were made without it");
  }
}

void RedisRateLimiter::MarkDown(const std::string& why) const {
  errors_.fetch_add(1, std::memory_order_relaxed);
  retry_at_us_.store(
      SteadyMicros() +
          std::chrono::duration_cast<std::chrono::microseconds>(options_.retry_interval).count(),
      std::memory_order_relaxed);
  DropIdle();
  if (!up_.exchange(false, std::memory_order_acq_rel)) return;
  fallback_at_outage_.store(fallback_decisions_.load(std::memory_order_relaxed),
                            std::memory_order_relaxed);
  if (options_.on_state_change) {
    options_.on_state_change(
        false, why + (options_.failure_mode == RedisFailureMode::kFailOpen
                          ? "; each node enforces its own rate limits until Redis answers"
                          : "; rate-limited requests are refused until Redis answers"));
  }
}

std::string RedisRateLimiter::Scrub(std::string text) const {
  const std::string& secret = url_.password;
  if (secret.empty()) return text;
  for (size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3)) {
    text.replace(pos, secret.size(), "***");
  }
  return text;
}

}  // namespace keyward
