// CreditLedger: spending credits on the verification path, exactly on one
// node and never past the limit on many.
//
// A balance (a workspace's environment for its billing period, or a key's
// lineage for its refill period; see CreditBalanceId) is spent from leases:
// the node asks the store for a block of the balance's credits
// (KeyStore::LeaseCredits, one transaction that never grants past the
// limit), spends it from memory, and reports what it spent with the usage
// flush, which moves it from the lease to the balance's spent, durably. So:
//  - one node spends exactly the limit and no more: a spend checks and
//    takes under the balance's lock, and the store grants only what no one
//    holds;
//  - several nodes together never pass the limit; a request may be refused
//    while other nodes still hold part of the last credits, until they spend
//    them or give them back (idle leases are given back after kIdleMillis,
//    and a dead node's lease lapses after lease_ttl);
//  - a SIGKILL loses what was spent since the last flush (at most one flush
//    interval's worth is given back to the customer), never more.
// Lease sizes adapt: a balance spent fast gets larger blocks (fewer store
// round trips), and the store halves what it grants as the balance runs
// low, so the last credits are shared.
//
// Thread-safe: each balance has its own lock; a spend locks its balances in
// the order given (callers always pass a key's balance before its
// workspace's), and holds them across a lease round trip to the store.
#ifndef KEYWARD_CORE_CREDITS_H_
#define KEYWARD_CORE_CREDITS_H_

#include <array>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/key_store.h"
#include "core/model.h"
#include "core/mutex.h"
#include "core/status.h"

namespace keyward {

// One balance a request spends from, as the verifier describes it. The
// views must outlive the call they are passed to.
struct CreditCharge {
  std::string_view balance;  // its name (see CreditBalanceId)
  Timestamp period_start = 0;
  int64_t limit = 0;
  Timestamp reset = 0;  // when the period ends (0: never)
  // A workspace balance names its workspace and environment (for the
  // thresholds); a key balance leaves them empty.
  std::string_view workspace_id;
  std::string_view environment;
};

// What a balance has left, as this node knows it: exact on one node; on
// several, what is left minus what other nodes hold.
struct CreditState {
  int64_t limit = 0;
  int64_t remaining = 0;
  Timestamp reset = 0;         // when the period ends (0: never)
  Timestamp period_start = 0;  // when it began
};

enum class SpendOutcome { kSpent, kExhausted, kUnavailable };

struct CreditLedgerOptions {
  KeyStore* store = nullptr;
  const Clock* clock = nullptr;
  std::string node_id;  // unique per process
  Timestamp lease_ttl_millis = 10'000;
  int64_t min_lease = 16;
  int64_t max_lease = 1 << 20;
};

class CreditLedger {
 public:
  explicit CreditLedger(CreditLedgerOptions options) : options_(std::move(options)) {}

  // Takes cost from every balance in charges, or from none: kExhausted when
  // one has less than cost left, kUnavailable when the store could not be
  // asked for more. states[i] is filled for charges[i] either way. A cost of
  // 0 only reads.
  SpendOutcome Spend(std::span<const CreditCharge> charges, int64_t cost,
                     std::span<CreditState> states);

  // What a balance has left, for reads (an API key's or a workspace's
  // credits); from memory when this node spends from it, else from the store.
  Result<CreditState> Peek(const CreditCharge& charge);

  // The credits spent since the last drain, for the usage flush, and the
  // renewal of this node's leases to go with them (node_id and
  // lease_expires_at of batch).
  void DrainInto(UsageBatch* batch);
  // After the flush: Ok (the leases now count until renewed_at +
  // lease_ttl/2, by the monotonic clock) or not (the spends go back).
  void FlushDone(const UsageBatch& batch, bool ok, Timestamp drained_at_monotonic);
  // Gives back leases not spent from for kIdleMillis, and forgets balances
  // with nothing held or pending. Called by the maintenance thread after a
  // flush.
  void ReleaseIdle();
  // Gives back every lease (a graceful stop, after the last flush).
  void ReleaseAll();

  const std::string& node_id() const { return options_.node_id; }
  static constexpr Timestamp kIdleMillis = 5'000;

 private:
  struct Entry {
    Mutex mu;
    CreditBalanceId id;
    int64_t held GUARDED_BY(mu) = 0;       // leased and not yet spent
    int64_t available GUARDED_BY(mu) = 0;  // no one held it at the last lease
    bool known GUARDED_BY(mu) = false;     // asked the store at least once
    int64_t unflushed GUARDED_BY(mu) = 0;  // spent, not yet drained
    int64_t in_flight GUARDED_BY(mu) = 0;  // drained, flush not yet done
    int64_t limit GUARDED_BY(mu) = 0;
    std::string workspace_id GUARDED_BY(mu), environment GUARDED_BY(mu);
    Timestamp valid_until GUARDED_BY(mu) = 0;  // monotonic; held counts until then
    Timestamp last_used GUARDED_BY(mu) = 0;    // monotonic
    Timestamp last_lease GUARDED_BY(mu) = 0;   // monotonic
    int64_t last_grant GUARDED_BY(mu) = 0;
    bool dead GUARDED_BY(mu) = false;  // forgotten by ReleaseIdle: look it up again
  };
  struct BalanceKey {
    std::string balance;
    Timestamp period_start;
  };
  // Looked up without building a key (no allocation on the request path).
  struct BalanceRef {
    std::string_view balance;
    Timestamp period_start;
  };
  struct BalanceKeyHash {
    using is_transparent = void;
    size_t operator()(const BalanceRef& k) const noexcept {
      return std::hash<std::string_view>{}(k.balance) ^ static_cast<size_t>(k.period_start);
    }
    size_t operator()(const BalanceKey& k) const noexcept {
      return (*this)(BalanceRef{k.balance, k.period_start});
    }
  };
  struct BalanceKeyEq {
    using is_transparent = void;
    static BalanceRef Ref(const BalanceKey& k) { return {k.balance, k.period_start}; }
    static BalanceRef Ref(const BalanceRef& k) { return k; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const noexcept {
      return Ref(a).balance == Ref(b).balance && Ref(a).period_start == Ref(b).period_start;
    }
  };
  static constexpr size_t kShards = 16;
  static constexpr size_t kMaxCharges = 4;  // a spend's balances (the verifier uses two)
  struct Shard {
    Mutex mu;
    std::unordered_map<BalanceKey, std::shared_ptr<Entry>, BalanceKeyHash, BalanceKeyEq> entries
        GUARDED_BY(mu);
  };

  std::shared_ptr<Entry> Find(std::string_view balance, Timestamp period_start, bool create);
  // Makes e hold at least need (leasing from the store); false with *error
  // when the store failed. e.mu held.
  bool Lease(Entry& e, const CreditCharge& charge, int64_t need, Timestamp mono, Status* error)
      REQUIRES(e.mu);
  std::vector<std::shared_ptr<Entry>> All();
  // Not spent from or leased for kIdleMillis, and nothing waits to be written.
  static bool Idle(const Entry& e, Timestamp mono) REQUIRES(e.mu);

  CreditLedgerOptions options_;
  std::array<Shard, kShards> shards_;
};

// "ws/<workspace>/<environment>" and "key/<lineage>": the balances' names
// (the verifier builds the first in place, the same way).
std::string WorkspaceBalance(std::string_view workspace_id, std::string_view environment);
std::string KeyBalanceName(std::string_view lineage_id);

}  // namespace keyward

#endif  // KEYWARD_CORE_CREDITS_H_
