// Rate limits shared by every keyward node, kept in Redis (hiredis). Each
// decision is one round trip: a Lua script runs GCRA on the key's stored
// theoretical arrival time, with Redis's own TIME as the clock (so nodes
// whose clocks are skewed agree) and a TTL that ends when the bucket is full
// again (so Redis holds no stale state). Answers are those MemoryRateLimiter
// gives for the same sequence and the same limit.
//
// When Redis cannot be reached or answers an error, the failure mode decides:
// kFailOpen asks the in-memory fallback (each node enforces its own limits;
// nothing is refused because Redis is away), kFailClosed refuses with
// retry_after_seconds = 1. After a failure Redis is tried again at most once
// per retry_interval; until then requests are answered without it, at once.
// The callback hears once when an outage begins and once when it ends.
// Neither its text nor any Status carries the Redis password.
//
// Owns its connections; does not own the fallback, which must outlive it.
// Thread-safe: hiredis contexts are not, so each call borrows one from a
// small pool (or opens one) and returns it when done.
#ifndef KEYWARD_LIMITS_REDIS_REDIS_RATE_LIMITER_H_
#define KEYWARD_LIMITS_REDIS_REDIS_RATE_LIMITER_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/mutex.h"
#include "core/rate_limiter.h"
#include "core/status.h"
#include "limits/redis/redis_url.h"

namespace keyward {

enum class RedisFailureMode {
  kFailOpen,    // decide with the in-memory fallback
  kFailClosed,  // refuse
};

// "fail_open" or "fail_closed", as the configuration spells them.
Result<RedisFailureMode> ParseRedisFailureMode(std::string_view name);

struct RedisRateLimiterOptions {
  // redis://[[user]:password@]host[:port][/db] or
  // unix://[[user]:password@]/path/to/redis.sock[?db=N] (see redis_url.h).
  std::string url;
  RedisFailureMode failure_mode = RedisFailureMode::kFailOpen;
  // Prepended to the key's 16 hex digits. Two limiters that must not share
  // buckets (per-key limits, per-address failures) need different prefixes.
  std::string key_prefix = "kw:rl:";
  // Decides while Redis is away under kFailOpen; required there, unused under
  // kFailClosed. Not owned.
  MemoryRateLimiter* fallback = nullptr;
  // Bounds connecting and each command: this is on the request path.
  std::chrono::milliseconds timeout{50};
  // After a failure, how long requests are answered without trying Redis.
  std::chrono::milliseconds retry_interval{500};
  // Connections kept open between calls; more are opened under load and
  // closed when returned to a full pool.
  size_t max_idle_connections = 16;
  // Called once when Redis becomes unreachable (up = false) and once when it
  // answers again (up = true). `why` names the server by its redacted URL.
  // Called on a serving thread, outside any lock of the limiter; keep it short.
  std::function<void(bool up, const std::string& why)> on_state_change;
  // For a limit asked before every verification (the failed-verification
  // budget per address): WouldAdmit asks Redis only about keys this node
  // has called Take for within their period (an address that failed here)
  // and answers the rest from memory, so a good key from an address that
  // never failed costs no round trip. An address over budget through
  // failures on other nodes alone is refused here from its first failure
  // here on.
  bool peek_from_refusals = false;
  // For tests only: run GCRA on the `now` passed to Take and WouldAdmit
  // instead of Redis's TIME, so a test can move time.
  bool use_caller_clock = false;
};

struct RedisRateLimiterStats {
  uint64_t decisions = 0;           // Take and WouldAdmit calls answered
  uint64_t fallback_decisions = 0;  // of those, answered without Redis
  uint64_t errors = 0;              // failed connections, commands and replies
  bool up = true;                   // whether the last attempt reached Redis
};

class RedisRateLimiter final : public RateLimiter {
 public:
  // Checks the options (the URL's form, a fallback under kFailOpen); does
  // not connect. InvalidRequest when they cannot work.
  static Result<std::unique_ptr<RedisRateLimiter>> Create(RedisRateLimiterOptions options);
  ~RedisRateLimiter() override;
  RedisRateLimiter(const RedisRateLimiter&) = delete;
  RedisRateLimiter& operator=(const RedisRateLimiter&) = delete;

  RateLimitDecision Take(uint64_t key, const RateLimit& limit, Timestamp now) override;
  // Read-only: the same script in a mode that writes nothing.
  bool WouldAdmit(uint64_t key, const RateLimit& limit, Timestamp now) const override;
  // Redis expires the buckets itself (the fallback is pruned by its owner).
  // Forgets refusals whose retry time has passed (peek_from_refusals).
  void Prune(Timestamp now) override;
  size_t TrackedKeys() const override { return 0; }

  // One round trip now, regardless of the retry interval: OK when Redis
  // answers, Unavailable (without the password) otherwise. Updates up and
  // the callback as any call does. For a check at start-up.
  Status Ping();

  RedisRateLimiterStats Stats() const;
  // The server's URL without its password.
  const std::string& redacted_url() const { return redacted_url_; }

 private:
  class Connection;
  enum class Mode { kTake, kPeek };
  struct ScriptReply {
    int64_t values[4] = {0, 0, 0, 0};  // allowed, remaining, reset, retry_after
  };

  RedisRateLimiter(RedisRateLimiterOptions options, RedisUrl url);

  // Runs the script when Redis may be tried now; a Status (never holding the
  // password) when it was not, or failed.
  Result<ScriptReply> Run(Mode mode, uint64_t key, const RateLimit& limit, Timestamp now) const;
  // Calls f on a pooled or new connection (once more on a new one when a
  // pooled one turns out dead), and marks Redis up or down by the outcome.
  Status WithConnection(const std::function<Status(Connection&)>& f) const;
  // Whether this call may use Redis: yes while up; while down, for one
  // caller once retry_interval has passed since the last failure.
  bool MayTry() const;
  std::unique_ptr<Connection> Borrow(bool* reused) const EXCLUDES(mu_);
  void Return(std::unique_ptr<Connection> conn) const EXCLUDES(mu_);
  void DropIdle() const EXCLUDES(mu_);
  Result<std::unique_ptr<Connection>> Connect() const;
  void MarkUp() const;
  void MarkDown(const std::string& why) const EXCLUDES(mu_);
  std::string Scrub(std::string text) const;

  const RedisRateLimiterOptions options_;
  const RedisUrl url_;
  const std::string redacted_url_;

  mutable Mutex mu_;
  mutable std::vector<std::unique_ptr<Connection>> idle_ GUARDED_BY(mu_);

  // peek_from_refusals: what this node knows of a key, sharded so that the
  // check before every verification does not serialise serving threads.
  struct Seen {
    Timestamp refused_until = 0;  // a Take was refused: no need to ask
    Timestamp taken_until = 0;    // a Take was made here: ask Redis until then
  };
  void NoteTake(uint64_t key, Timestamp now, const RateLimit& limit, const RateLimitDecision& d);
  Seen Lookup(uint64_t key) const;
  struct RefusalShard {
    mutable Mutex mu;
    std::unordered_map<uint64_t, Seen> until GUARDED_BY(mu);
  };
  static constexpr size_t kRefusalShards = 16;
  std::array<RefusalShard, kRefusalShards> refusals_;

  mutable std::atomic<bool> up_{true};
  // Steady-clock microseconds before which a down Redis is not tried again.
  mutable std::atomic<int64_t> retry_at_us_{0};
  mutable std::atomic<uint64_t> decisions_{0};
  mutable std::atomic<uint64_t> fallback_decisions_{0};
  mutable std::atomic<uint64_t> errors_{0};
  // fallback_decisions_ when the current outage began, for the "up" message.
  mutable std::atomic<uint64_t> fallback_at_outage_{0};
};

}  // namespace keyward

#endif  // KEYWARD_LIMITS_REDIS_REDIS_RATE_LIMITER_H_
