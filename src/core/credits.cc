#include "core/credits.h"

#include <algorithm>
#include <array>

namespace keyward {

std::string WorkspaceBalance(std::string_view workspace_id, std::string_view environment) {
  std::string out;
  out.reserve(4 + workspace_id.size() + environment.size());
  out.append("ws/").append(workspace_id).append("/").append(environment);
  return out;
}

std::string KeyBalanceName(std::string_view lineage_id) {
  return std::string("key/").append(lineage_id);
}

std::shared_ptr<CreditLedger::Entry> CreditLedger::Find(std::string_view balance,
                                                        Timestamp period_start, bool create) {
  const BalanceRef ref{balance, period_start};
  Shard& shard = shards_[BalanceKeyHash{}(ref) % kShards];
  MutexLock lock(&shard.mu);
  if (auto it = shard.entries.find(ref); it != shard.entries.end()) return it->second;
  if (!create) return nullptr;
  auto e = std::make_shared<Entry>();
  e->id = CreditBalanceId{std::string(balance), period_start};
  shard.entries.emplace(BalanceKey{std::string(balance), period_start}, e);
  return e;
}

std::vector<std::shared_ptr<CreditLedger::Entry>> CreditLedger::All() {
  std::vector<std::shared_ptr<Entry>> out;
  for (auto& shard : shards_) {
    MutexLock lock(&shard.mu);
    for (const auto& [key, e] : shard.entries) out.push_back(e);
  }
  return out;
}

bool CreditLedger::Lease(Entry& e, const CreditCharge& charge, int64_t need, Timestamp mono,
                         Status* error) {
  if (e.held > 0 && mono >= e.valid_until) {
    // Not renewed in time (flushes failing): the store may have given what
    // this node held to another, so none of it is spent. When nothing spent
    // waits for a flush, the lease goes back too, so that the store's count
    // of what this node holds is true again; otherwise it stays (and counts
    // against the balance) until the spends are written.
    if (e.unflushed == 0 && e.in_flight == 0) {
      if (Status s = options_.store->ReleaseCredits(options_.node_id, {e.id}); !s.ok()) {
        *error = s;
        return false;
      }
    }
    e.held = 0;
  }
  if (e.held >= need && e.known) return true;
  // A balance spent fast gets twice the last block; one spent slowly, half.
  int64_t want = 0;
  if (need > e.held) {
    const bool fast = e.last_lease != 0 && mono - e.last_lease < 1000;
    want = e.last_grant == 0 ? options_.min_lease : (fast ? e.last_grant * 2 : e.last_grant / 2);
    want = std::clamp(want, options_.min_lease, options_.max_lease);
    want = std::max(want, need - e.held);
  }
  CreditLeaseRequest r;
  r.id = e.id;
  r.limit = charge.limit;
  r.min = want > 0 ? need - e.held : 0;
  r.want = want;
  r.node_id = options_.node_id;
  r.now = options_.clock->Now();
  r.expires_at = r.now + options_.lease_ttl_millis;
  auto lease = options_.store->LeaseCredits(r);
  if (!lease.ok()) {
    *error = lease.status();
    return false;
  }
  e.known = true;
  e.available = lease->available;
  if (want > 0) {
    e.held += lease->granted;
    e.last_lease = mono;
    e.last_grant = std::max<int64_t>(lease->granted, 1);
    e.valid_until = mono + options_.lease_ttl_millis / 2;
  }
  return true;
}

// Locks a varying number of balances, which the analysis cannot follow.
SpendOutcome CreditLedger::Spend(std::span<const CreditCharge> charges, int64_t cost,
                                 std::span<CreditState> states) NO_THREAD_SAFETY_ANALYSIS {
  const Timestamp mono = options_.clock->Monotonic();
  std::array<std::shared_ptr<Entry>, kMaxCharges> found;
  if (charges.size() > kMaxCharges) return SpendOutcome::kUnavailable;
  const std::span<std::shared_ptr<Entry>> entries(found.data(), charges.size());
  for (;;) {
    for (size_t i = 0; i < charges.size(); ++i)
      entries[i] = Find(charges[i].balance, charges[i].period_start, true);
    for (auto& e : entries) e->mu.Lock();
    bool dead = false;
    for (auto& e : entries) dead = dead || e->dead;
    if (!dead) break;
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) (*it)->mu.Unlock();
  }
  SpendOutcome outcome = SpendOutcome::kSpent;
  for (size_t i = 0; i < charges.size(); ++i) {
    Entry& e = *entries[i];
    if (e.known && charges[i].limit < e.limit) {
      // The allowance was lowered: what is left shrinks by as much at once.
      // Held credits past it stay leased (counted as spent by the store,
      // never spent here) until they are given back.
      const int64_t left =
          std::max<int64_t>(e.available + e.held - (e.limit - charges[i].limit), 0);
      e.held = std::min(e.held, left);
      e.available = left - e.held;
    }
    e.limit = charges[i].limit;
    if (e.workspace_id.empty() && !charges[i].workspace_id.empty()) {
      e.workspace_id = charges[i].workspace_id;
      e.environment = charges[i].environment;
    }
    // Once one balance cannot pay, the others are only read, for their state.
    const int64_t need = outcome == SpendOutcome::kSpent ? cost : 0;
    Status error;
    if (!Lease(e, charges[i], need, mono, &error)) {
      outcome = SpendOutcome::kUnavailable;
      break;
    }
    if (e.held < need) outcome = SpendOutcome::kExhausted;
  }
  if (outcome == SpendOutcome::kSpent && cost > 0) {
    for (auto& e : entries) {
      e->held -= cost;
      e->unflushed += cost;
      e->last_used = mono;
    }
  }
  for (size_t i = 0; i < charges.size(); ++i) {
    const Entry& e = *entries[i];
    states[i] = CreditState{charges[i].limit, std::max<int64_t>(e.available + e.held, 0),
                            charges[i].reset, charges[i].period_start};
  }
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) (*it)->mu.Unlock();
  return outcome;
}

Result<CreditState> CreditLedger::Peek(const CreditCharge& charge) {
  if (auto e = Find(charge.balance, charge.period_start, false)) {
    MutexLock lock(&e->mu);
    if (e->known) {
      return CreditState{charge.limit, std::max<int64_t>(e->available + e->held, 0), charge.reset,
                         charge.period_start};
    }
  }
  CreditLeaseRequest r;
  r.id = CreditBalanceId{std::string(charge.balance), charge.period_start};
  r.limit = charge.limit;
  r.node_id = options_.node_id;
  r.now = options_.clock->Now();
  auto lease = options_.store->LeaseCredits(r);  // want 0: a read
  if (!lease.ok()) return lease.status();
  return CreditState{charge.limit, std::max<int64_t>(lease->available + lease->held, 0),
                     charge.reset, charge.period_start};
}

void CreditLedger::DrainInto(UsageBatch* batch) {
  bool holds = false;
  for (const auto& e : All()) {
    MutexLock lock(&e->mu);
    holds = holds || e->held > 0;
    if (e->unflushed == 0) continue;
    CreditSpend s;
    s.id = e->id;
    s.amount = e->unflushed;
    if (!e->workspace_id.empty()) {
      s.limit = e->limit;
      s.workspace_id = e->workspace_id;
      s.environment = e->environment;
    }
    e->in_flight += e->unflushed;
    e->unflushed = 0;
    batch->credits.push_back(std::move(s));
  }
  if (holds || !batch->credits.empty()) {
    batch->node_id = options_.node_id;
    batch->lease_expires_at = options_.clock->Now() + options_.lease_ttl_millis;
  }
}

void CreditLedger::FlushDone(const UsageBatch& batch, bool ok, Timestamp drained_at_monotonic) {
  for (const auto& s : batch.credits) {
    auto e = Find(s.id.balance, s.id.period_start, true);
    MutexLock lock(&e->mu);
    e->in_flight -= s.amount;
    if (!ok) e->unflushed += s.amount;  // tried again at the next flush
  }
  if (!ok || batch.node_id.empty()) return;
  for (const auto& e : All()) {
    MutexLock lock(&e->mu);
    // Renewed in the store until drained-at + ttl by its wall clock; counted
    // here for half of that, so a clock that differs between nodes or a slow
    // flush never lets this node spend what the store let go.
    if (e->held > 0) {
      e->valid_until =
          std::max(e->valid_until, drained_at_monotonic + options_.lease_ttl_millis / 2);
    }
  }
}

bool CreditLedger::Idle(const Entry& e, Timestamp mono) {
  return mono - std::max(e.last_used, e.last_lease) >= kIdleMillis && e.unflushed == 0 &&
         e.in_flight == 0;
}

void CreditLedger::ReleaseIdle() {
  const Timestamp mono = options_.clock->Monotonic();
  // Give back what idle balances hold, each under its own lock (a spend on
  // it waits, and then leases anew).
  for (const auto& e : All()) {
    MutexLock lock(&e->mu);
    if (e->held == 0 || !Idle(*e, mono)) continue;
    if (!options_.store->ReleaseCredits(options_.node_id, {e->id}).ok()) continue;
    e->held = 0;
    e->known = false;
  }
  // Forget idle balances that hold nothing; a spend that found one just
  // before sees it dead and looks again.
  // The map's reference may be the last: each entry is kept alive here
  // until its lock is released.
  std::vector<std::shared_ptr<Entry>> forgotten;
  for (auto& shard : shards_) {
    MutexLock lock(&shard.mu);
    for (auto it = shard.entries.begin(); it != shard.entries.end();) {
      std::shared_ptr<Entry> keep = it->second;
      MutexLock entry_lock(&keep->mu);
      if (keep->held != 0 || !Idle(*keep, mono)) {
        ++it;
        continue;
      }
      keep->dead = true;
      it = shard.entries.erase(it);
      forgotten.push_back(keep);
    }
  }
}

void CreditLedger::ReleaseAll() {
  for (auto& shard : shards_) {
    MutexLock lock(&shard.mu);
    shard.entries.clear();
  }
  (void)options_.store->ReleaseCredits(options_.node_id, {});
}

}  // namespace keyward
