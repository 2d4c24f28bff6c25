// Storage faults at the SQLite seam (FaultVfs): every write of the store
// contract, with each xWrite, xSync and xRead it makes failing in turn, is
// refused with the storage fault and leaves nothing behind: not on the open
// store, not in the files a crash right after it would leave, not after a
// restart; and once the fault clears, the same write succeeds without a
// restart. Every read with a failing xRead answers the fault, never a wrong
// answer.
//
// Each case starts from a copy of one seeded database, so that every call
// index of a point meets the same state. "Cold" cases write the first frame
// of a fresh WAL (its header and the header's sync come first); "warm" ones
// append to a WAL that already holds a committed write.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/key_store.h"
#include "core/sha256.h"
#include "store/sqlite/fault_vfs.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/statement.h"
#include "testing/temp_dir.h"

namespace keyward {
namespace {

namespace fs = std::filesystem;
using keyward::testing::FaultPoint;
using keyward::testing::FaultPointName;
using keyward::testing::FaultVfs;
using keyward::testing::TempDir;

constexpr Timestamp kNow = 1'000'000;
constexpr Timestamp kFar = 1'000'000'000'000;
constexpr const char* kDbName = "keyward.db";

// ---- What a store shows ----

// Long text (a padded meta object) as its length and a digest, so that a
// failure message stays readable.
std::string Text(const std::string& s) {
  if (s.size() <= 80) return s;
  return "<" + std::to_string(s.size()) + " bytes " + ToHex(Sha256(s)).substr(0, 16) + ">";
}

std::string Opt(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "-"; }

std::string List(const std::vector<std::string>& v) {
  std::string out = "[";
  for (const auto& s : v) out += s + ",";
  return out + "]";
}

// "status:storage_unavailable/io_error": a refusal, with its storage fault.
std::string Refusal(Code code, StorageFault fault) {
  return "status:" + std::string(CodeName(code)) + "/" + std::string(StorageFaultName(fault));
}
std::string Show(const Status& s) { return Refusal(s.code(), s.fault()); }

std::string Show(const std::optional<RateLimit>& r) {
  return r ? std::to_string(r->limit) + "/" + std::to_string(r->period_seconds) : "-";
}

std::string Show(const Workspace& w) {
  return w.id + "|" + w.name + "|" + Opt(w.max_active_keys) + "|" + std::to_string(w.created_at) +
         "|" + w.plan_id + "|" + Opt(w.monthly_credits) + "|" + Show(w.rate_limit) + "|" +
         (w.billing_anchor_day ? std::to_string(*w.billing_anchor_day) : "-");
}

std::string Show(const Plan& p) {
  std::string out = p.id + "|" + p.name + "|" + Opt(p.monthly_credits) + "|" + Show(p.rate_limit) +
                    "|" + Opt(p.max_active_keys) + "|";
  for (const auto& r : p.cost_rules) out += r.endpoint + "=" + std::to_string(r.cost) + ",";
  return out + "|" + std::to_string(p.from_config) + "|" + std::to_string(p.created_at) + "|" +
         std::to_string(p.updated_at);
}

std::string Show(const std::optional<KeyCredits>& c) {
  if (!c) return "-";
  std::string out = std::to_string(c->remaining) + "@" + std::to_string(c->set_at);
  if (c->refill) {
    out += "+" + std::to_string(c->refill->amount) +
           (c->refill->interval == KeyCredits::Interval::kDaily ? "/daily" : "/monthly") + "@" +
           std::to_string(c->refill->day);
  }
  return out;
}

std::string Show(const ApiKey& k) {
  std::ostringstream o;
  o << k.id << "|" << ToHex(k.hash) << "|" << k.short_prefix << "|" << k.workspace_id << "|"
    << k.environment << "|" << k.name << "|" << List(k.scopes) << List(k.ip_allowlist)
    << List(k.referrer_allowlist) << List(k.endpoint_allowlist) << "|" << Show(k.rate_limit) << "|"
    << Show(k.credits) << "|" << Text(k.meta_json) << "|" << k.created_at << "|" << k.created_by
    << "|" << Opt(k.expires_at) << "|" << Opt(k.last_used_at) << "|" << Opt(k.revoked_at) << "|"
    << k.revoked_by << "|" << k.revoked_reason << "|" << k.disabled << "|" << k.disabled_by << "|"
    << k.rotated_from << "|" << k.lineage_id << "|v" << k.version;
  return o.str();
}

std::string Show(const RootKey& k) {
  return k.id + "|" + ToHex(k.hash) + "|" + k.short_prefix + "|" + k.name + "|" +
         std::to_string(k.created_at) + "|" + k.created_by + "|" + Opt(k.revoked_at);
}

std::string Show(const AuditEntry& e) {
  return e.id + "|" + std::to_string(e.at) + "|" + e.actor + "|" + e.action + "|" + e.target + "|" +
         e.workspace_id + "|" + e.ip + "|" + e.details_json;
}

std::string Show(const PortalSession& p) {
  return p.id + "|" + p.workspace_id + "|" + p.environment + "|" + List(p.permissions) +
         List(p.scopes) + "|" + p.return_url + "|" + p.member_id + "|" + p.actor + "|" +
         ToHex(p.code_hash) + "|" + std::to_string(p.created_at) + "|" +
         std::to_string(p.code_expires_at) + "|" + Opt(p.code_used_at) + "|" + Opt(p.ended_at);
}

std::string Show(const WebSession& w) {
  return ToHex(w.token_hash) + "|" + w.kind + "|" + w.portal_session_id + "|" + w.root_key_id +
         "|" + std::to_string(w.created_at) + "|" + std::to_string(w.expires_at) + "|" +
         Opt(w.ended_at) + "|" + w.ip;
}

std::string Show(int64_t v) { return std::to_string(v); }

std::string Show(const KeyChange& c) { return std::to_string(c.seq) + ":" + ToHex(c.hash); }

std::string Show(const UsagePoint& p) {
  return std::to_string(p.bucket_minute) + "|" + std::string(CodeName(p.code)) + "|" +
         std::to_string(p.count) + "|" + std::to_string(p.credits);
}

std::string Show(const UsageExportRow& r) {
  return std::to_string(r.day) + "|" + r.key_id + "|" + r.environment + "|" +
         std::string(CodeName(r.code)) + "|" + std::to_string(r.count) + "|" +
         std::to_string(r.credits);
}

std::string Show(const CreditLease& l) {
  return "granted " + std::to_string(l.granted) + " spent " + std::to_string(l.spent) + " held " +
         std::to_string(l.held) + " available " + std::to_string(l.available);
}

template <typename T>
std::string Show(const std::vector<T>& items) {
  std::string out;
  for (const auto& item : items) out += Show(item) + "\n";
  return out;
}

template <typename T>
std::string Show(const Page<T>& page) {
  return Show(page.items) + "next:" + page.next_cursor + "\n";
}

std::string Show(const std::unordered_map<std::string, RequestCounts>& counts) {
  std::map<std::string, RequestCounts> sorted(counts.begin(), counts.end());
  std::string out;
  for (const auto& [id, c] : sorted) {
    out += id + ":" + std::to_string(c.last_24h) + "/" + std::to_string(c.last_30d) + "\n";
  }
  return out;
}

template <typename T>
std::string Show(const Result<T>& r) {
  return r.ok() ? Show(r.value()) : Show(r.status());
}

// Whether two renderings of a state are the same; else the first line where
// they differ.
::testing::AssertionResult SameState(const std::string& got, const std::string& want) {
  if (got == want) return ::testing::AssertionSuccess();
  std::istringstream g(got), w(want);
  std::string gl, wl;
  for (int line = 1;; ++line) {
    const bool more_g = static_cast<bool>(std::getline(g, gl));
    const bool more_w = static_cast<bool>(std::getline(w, wl));
    if (!more_g && !more_w) break;
    if (gl != wl || more_g != more_w) {
      return ::testing::AssertionFailure()
             << "states differ at line " << line << ":\n  got:  " << (more_g ? gl : "<end>")
             << "\n  want: " << (more_w ? wl : "<end>");
    }
  }
  return ::testing::AssertionFailure() << "states differ";
}

// The credit balance the seed and the writes below spend from, and a read
// of it (LeaseCredits with want 0) as a node sees it.
const CreditBalanceId kBalance{"ws/ws_1/live", 1'000};
constexpr int64_t kBalanceLimit = 1'000;

CreditLeaseRequest LeaseRead(const std::string& node) {
  CreditLeaseRequest r;
  r.id = kBalance;
  r.limit = kBalanceLimit;
  r.node_id = node;
  r.now = kNow;
  return r;
}

// ---- The reads: each one call, so that its xRead calls can be counted ----

struct ReadOp {
  const char* name;
  std::function<std::string(KeyStore&)> run;
};

void PrintTo(const ReadOp& op, std::ostream* os) { *os << op.name; }

const std::vector<ReadOp>& ReadOps() {
  static const std::vector<ReadOp> ops = {
      {"GetWorkspace", [](KeyStore& s) { return Show(s.GetWorkspace("ws_1")); }},
      {"ListWorkspaces",
       [](KeyStore& s) {
         return Show(s.ListWorkspaces({}, {"", 100}));
       }},
      {"GetKey", [](KeyStore& s) { return Show(s.GetKey("key_a")); }},
      {"FindKeyByHash", [](KeyStore& s) { return Show(s.FindKeyByHash(Sha256("key_a"))); }},
      {"ListKeys",
       [](KeyStore& s) {
         return Show(s.ListKeys({}, {"", 100}));
       }},
      {"CountActiveKeys", [](KeyStore& s) { return Show(s.CountActiveKeys("ws_1", kNow)); }},
      {"QueryUsage",
       [](KeyStore& s) {
         return Show(s.QueryUsage({"ws_1", "", "", 0, 1'000'000, 1}));
       }},
      {"CountRequests",
       [](KeyStore& s) {
         return Show(s.CountRequests({"key_a", "key_b"}, 20));
       }},
      {"KeyChangesSince", [](KeyStore& s) { return Show(s.KeyChangesSince(0, 1000)); }},
      {"LatestKeyChange", [](KeyStore& s) { return Show(s.LatestKeyChange()); }},
      {"FindRootKeyByHash", [](KeyStore& s) { return Show(s.FindRootKeyByHash(Sha256("rk_1"))); }},
      {"ListRootKeys", [](KeyStore& s) { return Show(s.ListRootKeys()); }},
      {"ListAudit",
       [](KeyStore& s) {
         return Show(s.ListAudit({}, {"", 100}));
       }},
      {"GetPortalSession", [](KeyStore& s) { return Show(s.GetPortalSession("ps_1")); }},
      {"FindWebSession", [](KeyStore& s) { return Show(s.FindWebSession(Sha256("tok_1"))); }},
      {"GetPlan", [](KeyStore& s) { return Show(s.GetPlan("plan_1")); }},
      {"ListPlans", [](KeyStore& s) { return Show(s.ListPlans()); }},
      {"ExportUsage",
       [](KeyStore& s) {
         UsageExportQuery q;
         q.workspace_id = "ws_1";
         q.to_day = 10;
         return Show(s.ExportUsage(q));
       }},
      {"LeaseCredits", [](KeyStore& s) { return Show(s.LeaseCredits(LeaseRead("node_1"))); }},
      {"CreditsSpent", [](KeyStore& s) { return Show(s.CreditsSpent(kBalance)); }},
  };
  return ops;
}

// Everything the store shows through its own reads, including every object
// any write below makes.
std::string Observe(KeyStore& s) {
  std::string out;
  for (const ReadOp& op : ReadOps()) out += std::string(op.name) + ":\n" + op.run(s) + "\n";
  auto keys = s.ListKeys({}, {"", 100});
  if (keys.ok()) {
    for (const ApiKey& k : keys->items) {
      out += "by hash " + k.id + ": " + Show(s.FindKeyByHash(k.hash)) + "\n";
    }
  }
  for (const char* ws : {"ws_new"}) out += std::string(ws) + ": " + Show(s.GetWorkspace(ws)) + "\n";
  for (const char* plan : {"plan_new"}) {
    out += std::string(plan) + ": " + Show(s.GetPlan(plan)) + "\n";
  }
  for (const char* node : {"node_2", "node_3"}) {
    out += std::string(node) + ": " + Show(s.LeaseCredits(LeaseRead(node))) + "\n";
  }
  for (const char* rk : {"rk_new", "rk_first"}) {
    out += std::string(rk) + ": " + Show(s.FindRootKeyByHash(Sha256(rk))) + "\n";
  }
  for (const char* ps : {"ps_old", "ps_new"}) {
    out += std::string(ps) + ": " + Show(s.GetPortalSession(ps)) + "\n";
  }
  for (const char* tok : {"tok_ps", "tok_old", "tok_new", "tok_redeem"}) {
    out += std::string(tok) + ": " + Show(s.FindWebSession(Sha256(tok))) + "\n";
  }
  return out;
}

// Every row of every table, read with a connection of its own: what the
// file holds, including what no read of the store shows. The probe row's
// time is left out (it is the wall clock's).
std::string DumpTables(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return "cannot open";
  }
  std::string out;
  std::vector<std::string> tables;
  {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", -1,
                       &s, nullptr);
    while (sqlite3_step(s) == SQLITE_ROW) {
      tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
    }
    if (sqlite3_errcode(db) != SQLITE_DONE && sqlite3_errcode(db) != SQLITE_OK) {
      out += std::string("error: ") + sqlite3_errmsg(db);
    }
    sqlite3_finalize(s);
  }
  for (const std::string& t : tables) {
    out += "table " + t + "\n";
    const std::string sql =
        t == "write_probe" ? "SELECT id FROM write_probe" : "SELECT * FROM \"" + t + "\"";
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
      out += std::string("error: ") + sqlite3_errmsg(db) + "\n";
      continue;
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(s); ++c) {
        if (sqlite3_column_type(s, c) == SQLITE_BLOB) {
          KeyHash h{};
          const int n = sqlite3_column_bytes(s, c);
          std::memcpy(h.data(), sqlite3_column_blob(s, c),
                      std::min<size_t>(h.size(), static_cast<size_t>(n)));
          out += "x" + ToHex(h);
        } else if (sqlite3_column_type(s, c) == SQLITE_NULL) {
          out += "NULL";
        } else {
          out += Text(reinterpret_cast<const char*>(sqlite3_column_text(s, c)));
        }
        out += "|";
      }
      out += "\n";
    }
    if (rc != SQLITE_DONE) out += std::string("error: ") + sqlite3_errmsg(db) + "\n";
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  return out;
}

// ---- The seeded database ----

AuditEntry Audit(const std::string& id, const std::string& action) {
  AuditEntry e;
  e.id = id;
  e.at = kNow;
  e.actor = "rk_1";
  e.action = action;
  e.target = "t";
  e.workspace_id = "ws_1";
  e.details_json = R"({"why":"test"})";
  return e;
}

ApiKey Key(const std::string& id) {
  ApiKey k;
  k.id = id;
  k.hash = Sha256(id);
  k.short_prefix = "sk_live_" + id;
  k.workspace_id = "ws_1";
  k.environment = "live";
  k.name = "key " + id;
  k.scopes = {"read"};
  k.created_at = 10;
  k.created_by = "rk_1";
  return k;
}

// key with a meta object that fills most of a page: the rows after it are
// on other pages, so reading it is a read of the file of its own.
ApiKey Padded(ApiKey key) {
  key.meta_json = R"({"pad":")" + std::string(6000, 'x') + R"("})";
  return key;
}

// The key id made to replace predecessor.
ApiKey Successor(const std::string& id, const std::string& predecessor) {
  ApiKey k = Key(id);
  k.rotated_from = predecessor;
  k.lineage_id = predecessor;
  return k;
}

RootKey Root(const std::string& id) {
  return RootKey{id, Sha256(id), "kw_root_" + id, "ops " + id, 10, "cli", std::nullopt};
}

PortalSession Portal(const std::string& id, Timestamp code_expires_at) {
  PortalSession ps;
  ps.id = id;
  ps.workspace_id = "ws_1";
  ps.permissions = {"keys:read"};
  ps.return_url = "https://app.example.com/back";
  ps.actor = "member:m_1";
  ps.code_hash = Sha256("code:" + id);
  ps.created_at = 1;
  ps.created_by = "rk_1";
  ps.code_expires_at = code_expires_at;
  return ps;
}

WebSession Browser(const std::string& token, const std::string& portal_session_id) {
  WebSession w;
  w.token_hash = Sha256(token);
  w.kind = portal_session_id.empty() ? "console" : "portal";
  w.portal_session_id = portal_session_id;
  w.root_key_id = portal_session_id.empty() ? "rk_1" : "";
  w.created_at = 1;
  w.expires_at = kFar;
  w.ip = "203.0.113.7";
  return w;
}

Plan MakePlan(const std::string& id, const std::string& name) {
  Plan p;
  p.id = id;
  p.name = name;
  p.monthly_credits = 1'000;
  p.rate_limit = RateLimit{10, 1};
  p.max_active_keys = 20;
  p.cost_rules = {{"GET /v1/search", 5}, {"POST /v1/*", 2}};
  p.created_at = 1;
  p.updated_at = 1;
  return p;
}

Workspace MakeWorkspace(const std::string& id, const std::string& name,
                        std::optional<int64_t> max_active_keys, const std::string& plan_id) {
  Workspace w;
  w.id = id;
  w.name = name;
  w.max_active_keys = max_active_keys;
  w.plan_id = plan_id;
  w.created_at = 1;
  return w;
}

// A workspace with something of everything the writes below change; "" or
// what went wrong.
std::string SeedWithoutRootKey(KeyStore& s) {
  UsageBatch usage;
  usage.rows = {UsageRow{"key_a", "ws_1", 5, Code::kValid, 3, 6},
                UsageRow{"key_a", "ws_1", 6, Code::kRevoked, 1, 0},
                UsageRow{"key_b", "ws_1", 7, Code::kValid, 4, 4}};
  usage.last_used = {{"key_a", 500}};
  // Spent out of node_1's lease, far from a threshold (a threshold's audit
  // entry has a fresh id and the wall clock's time: no two runs agree).
  usage.credits = {CreditSpend{kBalance, 10, kBalanceLimit, "ws_1", "live"}};
  usage.node_id = "node_1";
  usage.lease_expires_at = kNow + 1'000;
  ApiKey with_credits = Key("key_a");
  with_credits.credits =
      KeyCredits{100, KeyCredits::Refill{100, KeyCredits::Interval::kMonthly, 3}, 5};
  CreditLeaseRequest lease = LeaseRead("node_1");
  lease.min = 1;
  lease.want = 50;
  lease.now = 1;
  lease.expires_at = kNow + 1'000;
  CreditLeaseRequest expiring = LeaseRead("node_2");
  expiring.min = 1;
  expiring.want = 20;
  expiring.now = 1;
  expiring.expires_at = 2;  // before kNow: a lease at kNow drops it
  // In order: a braced list is evaluated left to right.
  const Status steps[] = {
      s.InsertPlan(MakePlan("plan_1", "Starter"), Audit("evt_s0", "plan.create")),
      s.CreateWorkspace(MakeWorkspace("ws_1", "Acme", 10, "plan_1"),
                        Audit("evt_s1", "workspace.create")),
      s.InsertKey(with_credits, 10, 10, Audit("evt_s2", "key.create")),
      s.InsertKey(Key("key_b"), 10, 10, Audit("evt_s3", "key.create")),
      // A replacement whose predecessor is revoked: rotating it again reads
      // the predecessor (one grace per slot), from a page of its own.
      s.InsertKey(Padded(Key("key_r1")), 10, 10, Audit("evt_s3r1", "key.create")),
      s.InsertKey(Successor("key_r2", "key_r1"), 10, 10, Audit("evt_s3r2", "key.rotate")),
      s.RevokeKey("key_r1", 20, "rk_1", "rotated", Audit("evt_s3r3", "key.revoke")).status(),
      s.LeaseCredits(lease).status(),
      s.LeaseCredits(expiring).status(),
      s.RecordUsage(usage),
      s.InsertPortalSession(Portal("ps_1", kFar), Audit("evt_s4", "portal_session.create")),
      s.InsertPortalSession(Portal("ps_old", 5), Audit("evt_s5", "portal_session.create")),
      s.InsertWebSession(Browser("tok_1", ""), Audit("evt_s6", "console.sign_in")),
      s.InsertWebSession(Browser("tok_ps", "ps_1"), Audit("evt_s7", "portal.sign_in")),
      s.InsertWebSession(Browser("tok_old", ""), Audit("evt_s8", "console.sign_in")),
      s.EndWebSession(Sha256("tok_old"), 5, Audit("evt_s9", "console.sign_out")),
  };
  for (const Status& st : steps) {
    if (!st.ok()) return "seed: " + st.ToString();
  }
  return "";
}

// ---- The writes ----

enum class Base { kWithRootKey, kWithoutRootKey };

struct WriteOp {
  const char* name;
  std::function<Status(KeyStore&)> run;
  Base base = Base::kWithRootKey;
};

void PrintTo(const WriteOp& op, std::ostream* os) { *os << op.name; }

const std::vector<WriteOp>& WriteOps() {
  static const std::vector<WriteOp> ops = {
      {"InsertPlan",
       [](KeyStore& s) {
         return s.InsertPlan(MakePlan("plan_new", "New"), Audit("evt_op", "plan.create"));
       }},
      {"UpdatePlan",
       [](KeyStore& s) {
         Plan p = MakePlan("plan_1", "Starter+");
         p.monthly_credits.reset();
         p.cost_rules = {{"GET /v1/x", 7}};
         p.updated_at = kNow;
         return s.UpdatePlan(p, Audit("evt_op", "plan.update"));
       }},
      {"CreateWorkspace",
       [](KeyStore& s) {
         Workspace w = MakeWorkspace("ws_new", "New", 5, "plan_1");
         w.monthly_credits = 500;
         w.rate_limit = RateLimit{3, 60};
         w.billing_anchor_day = 15;
         w.created_at = kNow;
         return s.CreateWorkspace(w, Audit("evt_op", "workspace.create"));
       }},
      {"UpdateWorkspace",
       [](KeyStore& s) {
         Workspace w = MakeWorkspace("ws_1", "Renamed", 20, "");
         w.monthly_credits = 2'000;
         w.billing_anchor_day = 31;
         return s.UpdateWorkspace(w, Audit("evt_op", "workspace.update"));
       }},
      {"InsertKey",
       [](KeyStore& s) {
         return s.InsertKey(Key("key_new"), 10, kNow, Audit("evt_op", "key.create"));
       }},
      {"UpdateKey",
       [](KeyStore& s) {
         ApiKey k = Key("key_a");
         k.name = "renamed";
         k.scopes = {"read", "write"};
         k.rate_limit = RateLimit{100, 60};
         k.credits = KeyCredits{7, KeyCredits::Refill{50, KeyCredits::Interval::kDaily, 1}, kNow};
         k.disabled = true;
         k.disabled_by = "rk_1";
         bool stale = false;
         return s.UpdateKey(k, 10, kNow, Audit("evt_op", "key.update"), &stale);
       }},
      {"RevokeKey",
       [](KeyStore& s) {
         return s.RevokeKey("key_a", kNow, "rk_1", "leaked", Audit("evt_op", "key.revoke"))
             .status();
       }},
      {"RotateKey",
       [](KeyStore& s) {
         ApiKey heir = Successor("key_a2", "key_a");
         heir.created_at = kNow;
         heir.credits = KeyCredits{100, std::nullopt, kNow};
         bool stale = false;
         return s.RotateKey(heir, "key_a", kNow + 60'000, 10, kNow, Audit("evt_op", "key.rotate"),
                            &stale);
       }},
      {"RotateKeyAgain",
       [](KeyStore& s) {
         bool stale = false;
         return s.RotateKey(Successor("key_r3", "key_r2"), "key_r2", kNow + 60'000, 10, kNow,
                            Audit("evt_op", "key.rotate"), &stale);
       }},
      {"RecordUsage",
       [](KeyStore& s) {
         UsageBatch b;
         b.rows = {UsageRow{"key_a", "ws_1", 5, Code::kValid, 2},
                   UsageRow{"key_a", "ws_1", 9, Code::kValid, 1},
                   UsageRow{"key_b", "ws_1", 9, Code::kRevoked, 1}};
         b.last_used = {{"key_a", 900}, {"key_b", 901}};
         b.credits = {CreditSpend{kBalance, 15, kBalanceLimit, "ws_1", "live"}};
         b.node_id = "node_1";
         b.lease_expires_at = kNow + 5'000;
         return s.RecordUsage(b);
       }},
      {"RecordUsageRenewOnly",
       [](KeyStore& s) {
         UsageBatch b;
         b.node_id = "node_1";
         b.lease_expires_at = kNow + 5'000;
         return s.RecordUsage(b);
       }},
      {"LeaseCredits",
       [](KeyStore& s) {
         CreditLeaseRequest r = LeaseRead("node_3");
         r.min = 5;
         r.want = 100;
         r.expires_at = kNow + 1'000;
         return s.LeaseCredits(r).status();
       }},
      {"ReleaseCredits", [](KeyStore& s) { return s.ReleaseCredits("node_1", {kBalance}); }},
      {"ReleaseAllCredits", [](KeyStore& s) { return s.ReleaseCredits("node_1", {}); }},
      {"InsertRootKey",
       [](KeyStore& s) { return s.InsertRootKey(Root("rk_new"), Audit("evt_op", "root.create")); }},
      {"InsertFirstRootKey",
       [](KeyStore& s) {
         return s.InsertFirstRootKey(Root("rk_first"), Audit("evt_op", "root.create"));
       },
       Base::kWithoutRootKey},
      {"RevokeRootKey",
       [](KeyStore& s) {
         return s.RevokeRootKey("rk_1", kNow, Audit("evt_op", "root.revoke")).status();
       }},
      {"InsertPortalSession",
       [](KeyStore& s) {
         return s.InsertPortalSession(Portal("ps_new", kFar),
                                      Audit("evt_op", "portal_session.create"));
       }},
      {"RedeemPortalCode",
       [](KeyStore& s) {
         PortalSession found;
         return s.RedeemPortalCode(Sha256("code:ps_1"), kNow, Browser("tok_redeem", ""),
                                   Audit("evt_op", "portal.sign_in"), &found);
       }},
      {"EndPortalSession",
       [](KeyStore& s) {
         return s.EndPortalSession("ps_1", kNow, Audit("evt_op", "portal_session.end"));
       }},
      {"InsertWebSession",
       [](KeyStore& s) {
         return s.InsertWebSession(Browser("tok_new", ""), Audit("evt_op", "console.sign_in"));
       }},
      {"EndWebSession",
       [](KeyStore& s) {
         return s.EndWebSession(Sha256("tok_1"), kNow, Audit("evt_op", "console.sign_out"));
       }},
      {"AppendAudit", [](KeyStore& s) { return s.AppendAudit(Audit("evt_op", "test.append")); }},
      {"PruneUsage", [](KeyStore& s) { return s.PruneUsage(6); }},
      {"PruneKeyChanges", [](KeyStore& s) { return s.PruneKeyChanges(11); }},
      {"PruneSessions", [](KeyStore& s) { return s.PruneSessions(6); }},
      {"ProbeWrite", [](KeyStore& s) { return s.ProbeWrite(); }},
  };
  return ops;
}

// ---- Cases ----

// Durability here is the shim's model, not the disk's: the cases' files go
// to a RAM file system when there is one (TMPDIR unset), so that hundreds of
// small databases made and removed do not wait on the disk's writeback.
// Called before the first TempDir.
TempDir RamTempDir() {
  std::error_code ec;
  if (std::getenv("TMPDIR") == nullptr && fs::is_directory("/dev/shm", ec) &&
      ::access("/dev/shm", W_OK) == 0) {
    ::setenv("TMPDIR", "/dev/shm", 0);
  }
  return TempDir();
}

// The seeded databases, made once per process (each a single file: the
// store that made it was closed, which checkpoints its WAL).
class Seeds {
 public:
  static Seeds& Get() {
    // Destroyed at exit, which removes the directory.
    static Seeds seeds;
    return seeds;
  }
  const std::string& error() const { return error_; }
  std::string Path(Base base) const {
    return dir_.File(base == Base::kWithRootKey ? "with_root.db" : "without_root.db");
  }

 private:
  Seeds() : dir_(RamTempDir()) {
    FaultVfs::Install();
    const std::string db = dir_.File(kDbName);
    {
      auto s = SqliteStore::Open(db);
      if (!s.ok()) {
        error_ = s.status().ToString();
        return;
      }
      error_ = SeedWithoutRootKey(**s);
    }
    if (!error_.empty()) return;
    fs::copy_file(db, Path(Base::kWithoutRootKey));
    {
      auto s = SqliteStore::Open(db);
      if (!s.ok()) {
        error_ = s.status().ToString();
        return;
      }
      Status st = (*s)->InsertRootKey(Root("rk_1"), Audit("evt_s10", "root.create"));
      if (!st.ok()) error_ = st.ToString();
    }
    fs::copy_file(db, Path(Base::kWithRootKey));
  }

  TempDir dir_;
  std::string error_;
};

// One case's data directory, from a seed.
struct Place {
  explicit Place(Base base) { fs::copy_file(Seeds::Get().Path(base), dir.File(kDbName)); }
  std::string db() const { return dir.File(kDbName); }
  TempDir dir;
};

std::unique_ptr<SqliteStore> OpenStore(const std::string& path) {
  auto s = SqliteStore::Open(path);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

// The files a crash now would leave (the database and its WAL; the shared
// memory index is rebuilt from them), copied to a directory of their own.
std::unique_ptr<TempDir> CrashCopy(const std::string& db) {
  auto copy = std::make_unique<TempDir>();
  fs::copy_file(db, copy->File(kDbName));
  if (fs::exists(db + "-wal"))
    fs::copy_file(db + "-wal", copy->File(std::string(kDbName) + "-wal"));
  return copy;
}

// The store of a case; in a warm case, after a first write, so that the WAL
// holds a commit.
std::unique_ptr<SqliteStore> OpenCase(const Place& place, bool warm) {
  auto store = OpenStore(place.db());
  if (store && warm) {
    const Status st = store->AppendAudit(Audit("evt_warm", "test.warm"));
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (!st.ok()) return nullptr;
  }
  return store;
}

Code ExpectedCode(FaultPoint p) {
  return p == FaultPoint::kWriteFull ? Code::kStorageFull : Code::kUnavailable;
}
StorageFault ExpectedFault(FaultPoint p) {
  return p == FaultPoint::kWriteFull ? StorageFault::kFull : StorageFault::kIoError;
}

constexpr FaultPoint kPoints[] = {FaultPoint::kWrite, FaultPoint::kSync, FaultPoint::kWriteFull,
                                  FaultPoint::kRead};

class FaultInjectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vfs_ = &FaultVfs::Install();
    vfs_->Disarm();
    vfs_->SetFileFilter(keyward::testing::kAnyFile);
    vfs_->SetSyncFailureLosesWrites(true);
    // Durability here is the shim's model (a failed sync loses what was
    // written since the last good one; a crash is a copy of the files):
    // the disk's own fsync would only make the cases slow.
    vfs_->SetRealSync(false);
    ASSERT_EQ(Seeds::Get().error(), "");
  }
  void TearDown() override { vfs_->Disarm(); }

  FaultVfs* vfs_ = nullptr;
};

class WriteFaultTest : public FaultInjectionTest, public ::testing::WithParamInterface<WriteOp> {};

TEST_P(WriteFaultTest, IsRefusedAndLeavesNothingBehind) {
  const WriteOp& op = GetParam();
  const auto started = std::chrono::steady_clock::now();
  std::string summary = std::string(op.name) + ":";
  std::set<std::string> answers;
  for (const bool warm : {false, true}) {
    SCOPED_TRACE(warm ? "warm WAL" : "cold WAL");
    // The state before and after the write, and how many calls of each
    // point it makes, without faults.
    std::string before, before_rows, after, after_rows;
    int64_t calls[std::size(kPoints)] = {};
    {
      Place place(op.base);
      auto store = OpenCase(place, warm);
      ASSERT_TRUE(store);
      before = Observe(*store);
      before_rows = DumpTables(place.db());
    }
    {
      Place place(op.base);
      auto store = OpenCase(place, warm);
      ASSERT_TRUE(store);
      vfs_->ResetCounts();
      const Status st = op.run(*store);
      for (size_t p = 0; p < std::size(kPoints); ++p) calls[p] = vfs_->Calls(kPoints[p]);
      ASSERT_TRUE(st.ok()) << st.ToString();
      after = Observe(*store);
      after_rows = DumpTables(place.db());
    }
    ASSERT_NE(after_rows, before_rows) << "the write changes nothing: the test proves nothing";
    summary += warm ? " | warm" : " cold";

    for (size_t p = 0; p < std::size(kPoints); ++p) {
      const FaultPoint point = kPoints[p];
      // A warm WAL differs from a cold one in where frames go, not in how
      // a failed write or sync is answered: its full and read cases would
      // repeat the cold ones.
      if (warm && point != FaultPoint::kWrite && point != FaultPoint::kSync) continue;
      int absorbed = 0;
      for (int64_t i = 0; i < calls[p]; ++i) {
        SCOPED_TRACE(std::string("failing ") + FaultPointName(point) + " call " +
                     std::to_string(i) + " of " + std::to_string(calls[p]));
        Place place(op.base);
        auto store = OpenCase(place, warm);
        ASSERT_TRUE(store);

        vfs_->Arm(point, static_cast<int>(i));
        const Status st = op.run(*store);
        const int fired = vfs_->Fired();
        vfs_->Disarm();
        ASSERT_EQ(fired, 1) << "the fault was not injected: the write made other calls";

        // What a crash right now would leave on disk.
        const auto crashed = CrashCopy(place.db());
        if (st.ok()) {
          // SQLite absorbed the fault (it retried, or the failed call was
          // not needed): allowed only when the write is then wholly and
          // durably there (below).
          ++absorbed;
          EXPECT_TRUE(SameState(Observe(*store), after));
        } else {
          answers.insert(std::string(FaultPointName(point)) + " -> " + Show(st) + " \"" +
                         st.message() + "\"");
          EXPECT_EQ(Show(st), Refusal(ExpectedCode(point), ExpectedFault(point))) << st.ToString();
          // Nothing of it remains on the open store.
          EXPECT_TRUE(SameState(Observe(*store), before));
          EXPECT_TRUE(SameState(DumpTables(place.db()), before_rows));
          // The store recovers without a restart: the same write succeeds.
          const Status again = op.run(*store);
          EXPECT_TRUE(again.ok()) << again.ToString();
          EXPECT_TRUE(SameState(Observe(*store), after));
        }
        // The retried (or absorbed) write is in the file, durably.
        store.reset();
        EXPECT_TRUE(SameState(DumpTables(place.db()), after_rows));
        // A restart right after the failure, from what a crash would have
        // left, finds nothing of it.
        auto restarted = OpenStore(crashed->File(kDbName));
        ASSERT_TRUE(restarted);
        EXPECT_TRUE(SameState(Observe(*restarted), st.ok() ? after : before));
        restarted.reset();
        EXPECT_TRUE(
            SameState(DumpTables(crashed->File(kDbName)), st.ok() ? after_rows : before_rows));
        if (HasFatalFailure()) return;
      }
      summary += std::string(" ") + FaultPointName(point) + "=" + std::to_string(calls[p]);
      if (absorbed > 0) summary += "(" + std::to_string(absorbed) + " absorbed)";
    }
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  std::cout << "[fault cases] " << summary << " in " << ms << " ms\n";
  for (const std::string& a : answers) std::cout << "[fault answers]   " << a << "\n";
}

INSTANTIATE_TEST_SUITE_P(EveryWrite, WriteFaultTest, ::testing::ValuesIn(WriteOps()),
                         [](const ::testing::TestParamInfo<WriteOp>& info) {
                           return std::string(info.param.name);
                         });

class ReadFaultTest : public FaultInjectionTest, public ::testing::WithParamInterface<ReadOp> {};

TEST_P(ReadFaultTest, AnswersTheFaultNeverAWrongAnswer) {
  const ReadOp& op = GetParam();
  std::string expected;
  int64_t reads = 0;
  {
    Place place(Base::kWithRootKey);
    auto store = OpenStore(place.db());
    ASSERT_TRUE(store);
    vfs_->ResetCounts();
    expected = op.run(*store);
    reads = vfs_->Calls(FaultPoint::kRead);
  }
  ASSERT_EQ(expected.rfind("status:", 0), std::string::npos) << expected;
  // A fresh store reads its pages from the file, not from a page cache.
  ASSERT_GT(reads, 0);
  int refused = 0;
  for (int64_t i = 0; i < reads; ++i) {
    SCOPED_TRACE("failing read call " + std::to_string(i) + " of " + std::to_string(reads));
    Place place(Base::kWithRootKey);
    auto store = OpenStore(place.db());
    ASSERT_TRUE(store);
    vfs_->Arm(FaultPoint::kRead, static_cast<int>(i));
    const std::string got = op.run(*store);
    const int fired = vfs_->Fired();
    vfs_->Disarm();
    ASSERT_EQ(fired, 1);
    if (got != expected) {
      ++refused;
      EXPECT_EQ(got, Refusal(Code::kUnavailable, StorageFault::kIoError))
          << "a failed read must answer the fault";
    }
    // The store answers again once the disk does.
    EXPECT_EQ(op.run(*store), expected);
  }
  // Every read of every page failing at once: never an answer.
  {
    Place place(Base::kWithRootKey);
    auto store = OpenStore(place.db());
    ASSERT_TRUE(store);
    vfs_->Arm(FaultPoint::kRead, 0, FaultVfs::Repeat::kSticky);
    const std::string got = op.run(*store);
    vfs_->Disarm();
    EXPECT_EQ(got, Refusal(Code::kUnavailable, StorageFault::kIoError));
    EXPECT_EQ(op.run(*store), expected);
  }
  std::cout << "[fault cases] " << op.name << ": read=" << reads << " (" << refused
            << " refused)\n";
}

INSTANTIATE_TEST_SUITE_P(EveryRead, ReadFaultTest, ::testing::ValuesIn(ReadOps()),
                         [](const ::testing::TestParamInfo<ReadOp>& info) {
                           return std::string(info.param.name);
                         });

// Verification's reads go through a reader connection, whose page cache is
// cold; when every file read fails, the writer (which has the rows cached)
// answers them instead of a refusal, so that a write route that shows a
// policy right after its change never answers 503 for a change it made.
TEST_F(FaultInjectionTest, AVerificationReadWhoseReaderFailsIsAnsweredByTheWriter) {
  Place place(Base::kWithRootKey);
  auto store = OpenStore(place.db());
  ASSERT_TRUE(store);
  const std::string workspace = Show(store->GetWorkspace("ws_1"));  // now in the writer's cache
  const std::string plan = Show(store->GetPlan("plan_1"));
  ASSERT_EQ(workspace.rfind("status:", 0), std::string::npos) << workspace;
  ASSERT_EQ(plan.rfind("status:", 0), std::string::npos) << plan;
  vfs_->Arm(FaultPoint::kRead, 0, FaultVfs::Repeat::kSticky);
  const std::string got_workspace = Show(store->GetWorkspaceToVerify("ws_1"));
  const std::string got_plan = Show(store->GetPlanToVerify("plan_1"));
  const int fired = vfs_->Fired();
  vfs_->Disarm();
  EXPECT_GT(fired, 0) << "the reader did not read the file";
  EXPECT_EQ(got_workspace, workspace);
  EXPECT_EQ(got_plan, plan);
  // And with the disk back, through the reader.
  EXPECT_EQ(Show(store->GetWorkspaceToVerify("ws_1")), workspace);
  EXPECT_EQ(Show(store->GetPlanToVerify("plan_1")), plan);
}

// A failed fsync whose pages the kernel kept (they stay readable until
// evicted, and a process crash leaves them in the file): SQLite still
// refuses the write and its open store shows nothing of it, but the WAL
// holds the refused transaction whole, with a valid commit frame, until the
// next write overwrites it. A crash in between brings it back: the outcome
// of a commit whose fsync failed is then unknown, as with any database.
// What must hold either way is atomicity: all of the write or none of it.
TEST_F(FaultInjectionTest, AFailedSyncThatKeepsItsPagesLeavesAllOrNothing) {
  vfs_->SetSyncFailureLosesWrites(false);
  std::string reappeared;
  for (const WriteOp& op : WriteOps()) {
    SCOPED_TRACE(op.name);
    std::string before, after;
    {
      Place place(op.base);
      auto store = OpenCase(place, /*warm=*/true);
      ASSERT_TRUE(store);
      before = DumpTables(place.db());
      ASSERT_TRUE(op.run(*store).ok());
      after = DumpTables(place.db());
    }
    Place place(op.base);
    auto store = OpenCase(place, /*warm=*/true);
    ASSERT_TRUE(store);
    // A warm WAL: the commit's sync is the write's only one.
    vfs_->Arm(FaultPoint::kSync, 0);
    const Status st = op.run(*store);
    vfs_->Disarm();
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(SameState(DumpTables(place.db()), before));
    const auto crashed = CrashCopy(place.db());
    auto restarted = OpenStore(crashed->File(kDbName));
    ASSERT_TRUE(restarted);
    restarted.reset();
    const std::string survived = DumpTables(crashed->File(kDbName));
    EXPECT_TRUE(survived == before || survived == after) << "a part of the write survived";
    if (survived == after) reappeared += std::string(" ") + op.name;
    // The next write overwrites the refused frames: after it, a crash
    // leaves only what was answered.
    ASSERT_TRUE(store->AppendAudit(Audit("evt_next", "test.next")).ok());
    const auto crashed_later = CrashCopy(place.db());
    restarted = OpenStore(crashed_later->File(kDbName));
    ASSERT_TRUE(restarted);
    EXPECT_EQ(Observe(*restarted).find("evt_op|"), std::string::npos)
        << "the refused write came back after a later one";
  }
  std::cout << "[fault cases] refused, yet back after a crash when the kernel kept the pages:"
            << (reappeared.empty() ? " none" : reappeared) << "\n";
}

// ---- The shim itself ----

// A connection of its own, set up as SqliteStore's writer is (WAL,
// synchronous=FULL), through the shim.
sqlite3* OpenRaw(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK ||
      sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL", nullptr, nullptr,
                   nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return nullptr;
  }
  return db;
}

int Exec(sqlite3* db, const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); }

TEST_F(FaultInjectionTest, SqliteReportsTheInjectedCodeAndErrno) {
  TempDir dir;
  const std::string path = dir.File("raw.db");
  sqlite3* db = OpenRaw(path);
  ASSERT_NE(db, nullptr);
  ASSERT_EQ(Exec(db, "CREATE TABLE t (x)"), SQLITE_OK);
  struct Case {
    FaultPoint point;
    int extended_code;
    StorageFault fault;
  };
  for (const Case& c : {Case{FaultPoint::kWrite, SQLITE_IOERR_WRITE, StorageFault::kIoError},
                        Case{FaultPoint::kSync, SQLITE_IOERR_FSYNC, StorageFault::kIoError},
                        Case{FaultPoint::kWriteFull, SQLITE_FULL, StorageFault::kFull}}) {
    SCOPED_TRACE(FaultPointName(c.point));
    vfs_->Arm(c.point, 0);
    EXPECT_NE(Exec(db, "INSERT INTO t VALUES (1)"), SQLITE_OK);
    vfs_->Disarm();
    EXPECT_EQ(sqlite3_extended_errcode(db), c.extended_code);
    EXPECT_EQ(sqlite_internal::ClassifySqliteError(sqlite3_extended_errcode(db),
                                                   sqlite3_system_errno(db)),
              c.fault);
    EXPECT_EQ(Exec(db, "INSERT INTO t VALUES (2)"), SQLITE_OK) << sqlite3_errmsg(db);
  }
  sqlite3_close(db);

  // A read fails while a statement runs, and SQLite asks the VFS for the
  // errno (xGetLastError): a connection whose cache is cold.
  for (const int err : {EIO, ENOENT}) {
    db = OpenRaw(path);
    ASSERT_NE(db, nullptr);
    vfs_->SetInjectedErrno(err);
    vfs_->Arm(FaultPoint::kRead, 0, FaultVfs::Repeat::kSticky);
    EXPECT_NE(Exec(db, "SELECT count(*) FROM t"), SQLITE_OK);
    vfs_->Disarm();
    vfs_->SetInjectedErrno(0);
    EXPECT_EQ(sqlite3_extended_errcode(db), SQLITE_IOERR_READ);
    EXPECT_EQ(sqlite3_system_errno(db), err);
    EXPECT_EQ(sqlite_internal::ClassifySqliteError(SQLITE_IOERR_READ, sqlite3_system_errno(db)),
              err == EIO ? StorageFault::kIoError : StorageFault::kMissing);
    if (err == ENOENT) {
      // A failure at commit: SQLite 3.40 records no errno for it, so
      // sqlite3_system_errno still says the last statement's.
      vfs_->Arm(FaultPoint::kSync, 0);
      EXPECT_NE(Exec(db, "INSERT INTO t VALUES (3)"), SQLITE_OK);
      vfs_->Disarm();
      EXPECT_EQ(sqlite3_extended_errcode(db), SQLITE_IOERR_FSYNC);
      // The stale errno alone would say "missing"; SqliteError asks the
      // files instead and names what happened.
      EXPECT_EQ(sqlite_internal::ClassifySqliteError(sqlite3_extended_errcode(db),
                                                     sqlite3_system_errno(db)),
                StorageFault::kMissing);
      EXPECT_EQ(sqlite_internal::SqliteError(db, "commit").fault(), StorageFault::kIoError);
    }
    sqlite3_close(db);
  }
}

TEST_F(FaultInjectionTest, AFailedSyncLosesWhatWasWrittenSinceTheLastGoodOne) {
  sqlite3_vfs* vfs = sqlite3_vfs_find("keyward-fault");
  ASSERT_NE(vfs, nullptr);
  for (const bool loses : {true, false}) {
    SCOPED_TRACE(loses ? "pages lost" : "pages kept");
    vfs_->SetSyncFailureLosesWrites(loses);
    TempDir dir;
    // A database file name as SQLite makes them (the VFS may look for URI
    // parameters after it).
    auto name = sqlite3_create_filename(dir.File("file.db").c_str(), "", "", 0, nullptr);
    std::vector<char> mem(static_cast<size_t>(vfs->szOsFile));
    auto* f = reinterpret_cast<sqlite3_file*>(mem.data());
    int out_flags = 0;
    ASSERT_EQ(
        vfs->xOpen(vfs, name, f, SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE,
                   &out_flags),
        SQLITE_OK);
    const sqlite3_io_methods* io = f->pMethods;
    EXPECT_EQ(io->xWrite(f, "AAAA", 4, 0), SQLITE_OK);
    EXPECT_EQ(io->xSync(f, SQLITE_SYNC_FULL), SQLITE_OK);
    EXPECT_EQ(io->xWrite(f, "BBBB", 4, 0), SQLITE_OK);
    EXPECT_EQ(io->xWrite(f, "CCCC", 4, 8192), SQLITE_OK);
    vfs_->Arm(FaultPoint::kSync, 0);
    EXPECT_EQ(io->xSync(f, SQLITE_SYNC_FULL), SQLITE_IOERR_FSYNC);
    vfs_->Disarm();
    sqlite3_int64 size = 0;
    EXPECT_EQ(io->xFileSize(f, &size), SQLITE_OK);
    char head[5] = {};
    EXPECT_EQ(io->xRead(f, head, 4, 0), SQLITE_OK);
    if (loses) {
      EXPECT_EQ(size, 4);
      EXPECT_STREQ(head, "AAAA");
    } else {
      EXPECT_EQ(size, 8196);
      EXPECT_STREQ(head, "BBBB");
    }
    EXPECT_EQ(io->xClose(f), SQLITE_OK);
    sqlite3_free_filename(name);
  }
}

TEST_F(FaultInjectionTest, CountsFiltersAndStickyFaults) {
  TempDir dir;
  sqlite3* db = OpenRaw(dir.File("raw.db"));
  ASSERT_NE(db, nullptr);
  ASSERT_EQ(Exec(db, "CREATE TABLE t (x)"), SQLITE_OK);
  // In WAL mode a commit writes and syncs the WAL, not the database file.
  vfs_->SetFileFilter(keyward::testing::kMainDbFile);
  vfs_->ResetCounts();
  ASSERT_EQ(Exec(db, "INSERT INTO t VALUES (1)"), SQLITE_OK);
  EXPECT_EQ(vfs_->Calls(FaultPoint::kWrite), 0);
  EXPECT_EQ(vfs_->Calls(FaultPoint::kSync), 0);
  vfs_->SetFileFilter(keyward::testing::kWalFile);
  vfs_->ResetCounts();
  ASSERT_EQ(Exec(db, "INSERT INTO t VALUES (2)"), SQLITE_OK);
  EXPECT_GT(vfs_->Calls(FaultPoint::kWrite), 0);
  EXPECT_EQ(vfs_->Calls(FaultPoint::kWriteFull), vfs_->Calls(FaultPoint::kWrite));
  EXPECT_EQ(vfs_->Calls(FaultPoint::kSync), 1);
  // Sticky: every write fails until disarmed.
  vfs_->Arm(FaultPoint::kWrite, 0, FaultVfs::Repeat::kSticky);
  EXPECT_NE(Exec(db, "INSERT INTO t VALUES (3)"), SQLITE_OK);
  EXPECT_NE(Exec(db, "INSERT INTO t VALUES (4)"), SQLITE_OK);
  EXPECT_GE(vfs_->Fired(), 2);
  vfs_->Disarm();
  EXPECT_EQ(Exec(db, "INSERT INTO t VALUES (5)"), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

}  // namespace
}  // namespace keyward
