#include "app/maintenance.h"

#include <pthread.h>

#include "server/log.h"

namespace keyward {

Maintenance::Maintenance(KeyStore* store, ChangeFollower* follower, UsageRecorder* usage,
                         CreditLedger* credits, std::vector<RateLimiter*> limiters,
                         int64_t retention_days, const Clock* clock, const Clock* wall_source,
                         std::function<void()> check_storage)
    : store_(store),
      follower_(follower),
      usage_(usage),
      credits_(credits),
      limiters_(std::move(limiters)),
      retention_days_(retention_days),
      clock_(clock),
      check_storage_(std::move(check_storage)),
      jumps_(wall_source) {
  // Named (at most 15 characters) so that `top -H`, perf and
  // bench/scale.sh tell them from the serving threads.
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "kw-maintenance");
    Loop();
  });
  follower_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "kw-follower");
    FollowLoop();
  });
  usage_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "kw-usage-flush");
    UsageLoop();
  });
}

void Maintenance::UsageLoop() {
  // A flush of a busy node's usage can take most of a second: on a thread
  // of its own it delays neither the access log nor the storage probe.
  // (Running it below the serving threads' priority, at nice 10, changed
  // neither req/s nor p99 over 50,000 random keys: docs/performance.md.)
  while (true) {
    {
      MutexLock lock(&mu_);
      if (!stop_) usage_cv_.wait_for(mu_, std::chrono::seconds(1));
      if (stop_) break;
    }
    FlushUsage(/*everything=*/false);
    if (credits_ != nullptr) credits_->ReleaseIdle();
  }
}

void Maintenance::WakeFollower() {
  {
    MutexLock lock(&mu_);
    follow_now_ = true;
  }
  follow_cv_.notify_all();
}

void Maintenance::FollowLoop() {
  while (true) {
    {
      MutexLock lock(&mu_);
      if (!stop_ && !follow_now_) follow_cv_.wait_for(mu_, std::chrono::milliseconds(200));
      if (stop_) break;
      follow_now_ = false;
    }
    Report("reading the key change log", follower_->Poll(), &follower_failing_);
  }
}

void Maintenance::Report(const char* job, const Status& s, bool* failing) {
  if (!s.ok() && !*failing) {
    LogLine("warn", std::string(job) + " failed; retrying until it works")
        .Str("error", s.ToString())
        .Emit();
  } else if (s.ok() && *failing) {
    LogLine("info", std::string(job) + " works again").Emit();
  }
  *failing = !s.ok();
}

void Maintenance::Stop() {
  {
    MutexLock lock(&mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  follow_cv_.notify_all();
  usage_cv_.notify_all();
  thread_.join();
  follower_thread_.join();
  usage_thread_.join();
  FlushUsage();
  // What this node leased and did not spend goes back for other nodes.
  if (credits_ != nullptr) credits_->ReleaseAll();
}

void Maintenance::Loop() {
  using Steady = std::chrono::steady_clock;
  auto next_prune = Steady::now();
  auto next_limiter_prune = Steady::now() + std::chrono::minutes(1);
  while (true) {
    {
      MutexLock lock(&mu_);
      if (!stop_) cv_.wait_for(mu_, std::chrono::milliseconds(200));
      if (stop_) break;
    }
    LogLine::Flush();
    if (const auto jump = jumps_.Poll()) {
      clock_jumps_.fetch_add(1, std::memory_order_relaxed);
      LogLine("warn", *jump > 0 ? "the wall clock jumped forward" : "the wall clock jumped back")
          .Num("seconds", static_cast<double>(*jump < 0 ? -*jump : *jump) / 1000.0)
          .Str("effect", *jump > 0 ? "keys whose expiry fell inside the jump are expired now"
                                   : "expiry holds still until the clock catches up; no "
                                     "expired key comes back")
          .Emit();
    }
    if (check_storage_) check_storage_();
    const auto now = Steady::now();
    if (now >= next_limiter_prune) {
      for (RateLimiter* l : limiters_) {
        if (l != nullptr) l->Prune(clock_->Monotonic());
      }
      next_limiter_prune = now + std::chrono::minutes(1);
    }
    if (now >= next_prune) {
      Prune();
      next_prune = now + std::chrono::hours(1);
    }
  }
}

Status FlushUsageOnce(KeyStore* store, UsageRecorder* usage, CreditLedger* credits,
                      const Clock* clock, bool everything) {
  UsageBatch batch = everything ? usage->DrainAll() : usage->Drain(clock->Monotonic());
  // Credits spent go with the counts, in one transaction, and renew this
  // node's leases.
  const Timestamp drained_at = clock->Monotonic();
  if (credits != nullptr) credits->DrainInto(&batch);
  if (batch.empty() && batch.node_id.empty()) return Status::Ok();
  Status s = store->RecordUsage(batch);
  // Kept in memory for the next try (up to its bound, past which what is
  // dropped is counted): counts are never dropped silently.
  if (!s.ok()) usage->Restore(batch);
  if (credits != nullptr) credits->FlushDone(batch, s.ok(), drained_at);
  return s;
}

void Maintenance::FlushUsage(bool everything) {
  MutexLock lock(&flush_mu_);
  const Status s = FlushUsageOnce(store_, usage_, credits_, clock_, everything);
  // A storage fault is logged once by the guard, as it begins and ends.
  if (s.fault() == StorageFault::kNone) Report("writing usage", s, &usage_failing_);
}

void Maintenance::Prune() {
  const Timestamp now = clock_->Now();
  // Followers poll every 200 ms; an hour of change log is plenty to catch up.
  Status a = store_->PruneKeyChanges(now - 3600 * kMillisPerSecond);
  Status b = store_->PruneUsage(now / kMillisPerMinute - retention_days_ * 24 * 60);
  // A week past its end, a browser session can no longer even say "expired".
  Status c = store_->PruneSessions(now - 7 * 24 * 3600 * kMillisPerSecond);
  for (const Status* s : {&a, &b, &c}) {
    if (!s->ok()) LogLine("warn", "pruning failed").Str("error", s->ToString()).Emit();
  }
}

}  // namespace keyward
