// The store contract for webhooks (core/key_store.h): endpoints, the outbox
// written with each change, fan-out, claims across nodes, outcomes, manual
// retries and the time-based events. Part of StoreContractTest:
// instantiated on every engine by store/store_contract_test.cc.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "store/store_contract_test.h"

namespace keyward {
namespace contract {
namespace {

constexpr Timestamp kDay = 86'400'000;

WebhookEndpoint Endpoint(const std::string& id, const std::string& workspace_id = "") {
  WebhookEndpoint ep;
  ep.id = id;
  ep.workspace_id = workspace_id;
  ep.url = "https://hooks.example.com/" + id;
  ep.secret = "whsec_" + id;
  ep.description = "d";
  ep.created_at = 1;
  ep.updated_at = 1;
  return ep;
}

// Claims everything due at now, as one worker.
std::vector<ClaimedDelivery> ClaimAll(KeyStore& store, Timestamp now) {
  auto claimed = store.ClaimWebhookDeliveries(now, now + 60'000, 1000);
  EXPECT_TRUE(claimed.ok()) << claimed.status().ToString();
  return claimed.ok() ? *claimed : std::vector<ClaimedDelivery>{};
}

DeliveryOutcome Delivered(const ClaimedDelivery& c, Timestamp at) {
  DeliveryOutcome o;
  o.delivery_id = c.delivery.id;
  o.claim_id = c.claim_id;
  o.attempted_at = at;
  o.status = DeliveryStatus::kDelivered;
  o.next_attempt_at = at;
  o.response_status = 204;
  o.latency_ms = 12;
  return o;
}

std::string TypeOf(const ClaimedDelivery& c) {
  return nlohmann::json::parse(c.payload)["type"].get<std::string>();
}

TEST_P(StoreContractTest, EndpointsAreStoredListedUpdatedAndDeleted) {
  ASSERT_TRUE(store_->InsertWebhookEndpoint(Endpoint("we_op"), 10, Audit("we.create")).ok());
  WebhookEndpoint ws = Endpoint("we_ws", "ws_contract");
  ws.events = {"api_key.revoked", "api_key.leaked"};
  ws.created_at = 2;
  ASSERT_TRUE(store_->InsertWebhookEndpoint(ws, 10, Audit("we.create")).ok());
  EXPECT_EQ(store_->InsertWebhookEndpoint(ws, 10, Audit()).code(), Code::kConflict);
  EXPECT_EQ(store_->InsertWebhookEndpoint(Endpoint("we_x", "ws_missing"), 10, Audit()).code(),
            Code::kNotFound);

  auto got = store_->GetWebhookEndpoint("we_ws");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->workspace_id, "ws_contract");
  EXPECT_EQ(got->events, ws.events);
  EXPECT_EQ(got->secret, "whsec_we_ws");
  EXPECT_TRUE(got->enabled);
  EXPECT_EQ(store_->GetWebhookEndpoint("we_none").status().code(), Code::kNotFound);

  auto operator_eps = store_->ListWebhookEndpoints(std::string());
  ASSERT_TRUE(operator_eps.ok());
  ASSERT_EQ(operator_eps->size(), 1u);
  EXPECT_EQ((*operator_eps)[0].id, "we_op");
  auto ws_eps = store_->ListWebhookEndpoints(std::string("ws_contract"));
  ASSERT_EQ(ws_eps->size(), 1u);
  EXPECT_EQ((*ws_eps)[0].id, "we_ws");
  EXPECT_EQ(store_->ListWebhookEndpoints(std::nullopt)->size(), 2u);

  // An update names its version; one made from an old read is refused.
  WebhookEndpoint changed = *got;
  changed.url = "https://hooks.example.com/new";
  changed.previous_secret = changed.secret;
  changed.secret = "whsec_rolled";
  changed.previous_secret_expires_at = 5000;
  bool stale = false;
  ASSERT_TRUE(store_->UpdateWebhookEndpoint(changed, Audit(), &stale).ok());
  EXPECT_FALSE(stale);
  EXPECT_EQ(store_->UpdateWebhookEndpoint(changed, Audit(), &stale).code(), Code::kConflict);
  EXPECT_TRUE(stale);
  got = store_->GetWebhookEndpoint("we_ws");
  EXPECT_EQ(got->url, "https://hooks.example.com/new");
  EXPECT_EQ(got->secret, "whsec_rolled");
  EXPECT_EQ(got->previous_secret, "whsec_we_ws");
  EXPECT_EQ(got->previous_secret_expires_at, 5000);
  EXPECT_EQ(got->version, changed.version + 1);

  ASSERT_TRUE(store_->DeleteWebhookEndpoint("we_ws", Audit()).ok());
  EXPECT_EQ(store_->DeleteWebhookEndpoint("we_ws", Audit()).code(), Code::kNotFound);
  EXPECT_EQ(store_->GetWebhookEndpoint("we_ws").status().code(), Code::kNotFound);
}

TEST_P(StoreContractTest, AnOwnerHasAtMostMaxEndpoints) {
  {
    auto st = store_->InsertWebhookEndpoint(Endpoint("we_1"), 2, Audit());
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  ASSERT_TRUE(store_->InsertWebhookEndpoint(Endpoint("we_2"), 2, Audit()).ok());
  EXPECT_EQ(store_->InsertWebhookEndpoint(Endpoint("we_3"), 2, Audit()).code(), Code::kConflict);
  // The workspace's count is its own.
  EXPECT_TRUE(store_->InsertWebhookEndpoint(Endpoint("we_4", "ws_contract"), 2, Audit()).ok());
}

TEST_P(StoreContractTest, NodesRacingForTheLastEndpointsNeverPassTheLimit) {
  auto other = OpenAgain();
  ASSERT_NE(other, nullptr);
  KeyStore* stores[] = {store_.get(), other.get()};
  constexpr int kMax = 3;
  std::atomic<int> made{0};
  OnThreads(8, [&](int i) {
    // Each thread tries one endpoint of the operator and one of the workspace.
    for (const std::string owner : {"", "ws_contract"}) {
      const std::string id = "we_" + std::to_string(i) + (owner.empty() ? "_op" : "_ws");
      Status s = stores[i % 2]->InsertWebhookEndpoint(Endpoint(id, owner), kMax, Audit());
      EXPECT_TRUE(s.ok() || s.code() == Code::kConflict) << s.ToString();
      if (s.ok()) made.fetch_add(1);
    }
  });
  EXPECT_EQ(made.load(), 2 * kMax);
  EXPECT_EQ(store_->ListWebhookEndpoints(std::string())->size(), size_t{kMax});
  EXPECT_EQ(store_->ListWebhookEndpoints(std::string("ws_contract"))->size(), size_t{kMax});
}

TEST_P(StoreContractTest, AChangeWritesItsEventsAndEachEndpointGetsOneDelivery) {
  ASSERT_TRUE(store_->InsertWebhookEndpoint(Endpoint("we_op"), 10, Audit()).ok());
  WebhookEndpoint ws = Endpoint("we_ws", "ws_contract");
  ws.events = {"api_key.revoked"};
  ASSERT_TRUE(store_->InsertWebhookEndpoint(ws, 10, Audit()).ok());
  WebhookEndpoint other = Endpoint("we_other", "ws_other");
  Workspace w2;
  w2.id = "ws_other";
  w2.name = "other";
  ASSERT_TRUE(store_->CreateWorkspace(w2, Audit()).ok());
  ASSERT_TRUE(store_->InsertWebhookEndpoint(other, 10, Audit()).ok());

  ApiKey k = Key("key_a");
  AuditEntry create = Audit("key.create");
  create.target = k.id;
  create.at = 100;
  create.details_json = R"({"short_prefix":"sk_live_abc","environment":"live","name":"n"})";
  ASSERT_TRUE(store_->InsertKey(k, 10, 100, create).ok());
  AuditEntry revoke = Audit("key.revoke");
  revoke.target = k.id;
  revoke.at = 200;
  revoke.details_json = R"({"short_prefix":"sk_live_abc","reason":"r"})";
  ASSERT_TRUE(store_->RevokeKey(k.id, 200, "test", "r", revoke).ok());

  auto claimed = ClaimAll(*store_, 1000);
  // The operator's endpoint gets both; the workspace's only what it asked
  // for; another workspace's nothing.
  std::multiset<std::string> got;
  for (const auto& c : claimed) got.insert(c.delivery.endpoint_id + " " + TypeOf(c));
  EXPECT_EQ(got, (std::multiset<std::string>{"we_op api_key.created", "we_op api_key.revoked",
                                             "we_ws api_key.revoked"}));
  for (const auto& c : claimed) {
    EXPECT_EQ(c.delivery.status, DeliveryStatus::kPending);
    EXPECT_EQ(c.delivery.attempts, 0);
    EXPECT_EQ(c.secrets, std::vector<std::string>{"whsec_" + c.delivery.endpoint_id});
    EXPECT_TRUE(c.url.find(c.delivery.endpoint_id) != std::string::npos);
    auto body = nlohmann::json::parse(c.payload);
    EXPECT_EQ(body["data"]["key_id"], "key_a");
    EXPECT_EQ(body["data"]["short_prefix"], "sk_live_abc");
    EXPECT_EQ(c.delivery.event_id.rfind("msg_", 0), 0u);
  }
  // Both endpoints get the same event id for the same revocation.
  std::set<std::string> revoked_ids;
  for (const auto& c : claimed) {
    if (TypeOf(c) == "api_key.revoked") revoked_ids.insert(c.delivery.event_id);
  }
  EXPECT_EQ(revoked_ids.size(), 1u);
  // Claimed: no one else gets them until the claim lapses.
  EXPECT_TRUE(ClaimAll(*store_, 1000).empty());
  EXPECT_EQ(ClaimAll(*store_, 61'001).size(), 3u);
}

TEST_P(StoreContractTest, AFailedChangeWritesNoEvent) {
  ASSERT_TRUE(store_->InsertWebhookEndpoint(Endpoint("we_op"), 10, Audit()).ok());
  ASSERT_TRUE(store_->InsertKey(Key("key_a"), 1, 100, Audit("key.create")).ok());
  // Refused by the key limit: neither the key nor its event is stored.
  EXPECT_EQ(store_->InsertKey(Key("key_b"), 1, 100, Audit("key.create")).code(),
            Code::kKeyLimitReached);
  EXPECT_EQ(ClaimAll(*store_, 1000).size(), 1u);
}

TEST_P(StoreContractTest, AnEndpointMadeAfterAnEventDoesNotGetIt) {
  AuditEntry early = Audit("key.create");
  early.at = 50;
  ASSERT_TRUE(store_->InsertKey(Key("key_a"), 10, 50, early).ok());
  WebhookEndpoint ep = Endpoint("we_late");
  ep.created_at = 60;
  ASSERT_TRUE(store_->InsertWebhookEndpoint(ep, 10, Audit()).ok());
  EXPECT_TRUE(ClaimAll(*store_, 1000).empty());
}

TEST_P(StoreContractTest, OutcomesAreRecordedAndAStaleClaimChangesNothing) {
  ASSERT_TRUE(store_->InsertWebhookEndpoint(Endpoint("we_op"), 10, Audit()).ok());
  ASSERT_TRUE(store_->InsertKey(Key("key_a"), 10, 100, Audit("key.create")).ok());
  auto first = ClaimAll(*store_, 1000);
  ASSERT_EQ(first.size(), 1u);
  // The claim lapses and another worker claims it; the first worker's late
  // outcome is dropped.
  auto second = ClaimAll(*store_, 70'000);
  ASSERT_EQ(second.size(), 1u);
  DeliveryOutcome late = Delivered(first[0], 70'001);
  late.status = DeliveryStatus::kFailed;
  ASSERT_TRUE(store_->FinishWebhookDelivery(late).ok());
  auto d = store_->GetWebhookDelivery(first[0].delivery.id);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->status, DeliveryStatus::kPending);
  EXPECT_EQ(d->attempts, 0);

  // A retry later.
  DeliveryOutcome retry = Delivered(second[0], 70'002);
  retry.status = DeliveryStatus::kPending;
  retry.next_attempt_at = 75'000;
  retry.response_status = 500;
  retry.error = "HTTP 500";
  ASSERT_TRUE(store_->FinishWebhookDelivery(retry).ok());
  d = store_->GetWebhookDelivery(first[0].delivery.id);
  EXPECT_EQ(d->attempts, 1);
  EXPECT_EQ(d->response_status, 500);
  EXPECT_EQ(d->error, "HTTP 500");
  EXPECT_EQ(d->last_attempt_at, 70'002);
  EXPECT_TRUE(ClaimAll(*store_, 74'999).empty());
  auto third = ClaimAll(*store_, 75'000);
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].delivery.attempts, 1);
  EXPECT_EQ(third[0].delivery.event_id, first[0].delivery.event_id);
  EXPECT_EQ(third[0].payload, first[0].payload);
  ASSERT_TRUE(store_->FinishWebhookDelivery(Delivered(third[0], 75'010)).ok());
  d = store_->GetWebhookDelivery(first[0].delivery.id);
  EXPECT_EQ(d->status, DeliveryStatus::kDelivered);
  EXPECT_EQ(d->attempts, 2);
  EXPECT_EQ(d->latency_ms, 12);
  EXPECT_TRUE(ClaimAll(*store_, 200'000).empty());

  // A delivered one may be sent once more by hand; a pending one may not.
  ASSERT_TRUE(store_->RetryWebhookDelivery(d->id, 300'000, Audit()).ok());
  EXPECT_EQ(store_->RetryWebhookDelivery(d->id, 300'000, Audit()).code(), Code::kConflict);
  EXPECT_EQ(store_->RetryWebhookDelivery("whd_none", 300'000, Audit()).code(), Code::kNotFound);
  auto again = ClaimAll(*store_, 300'000);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(again[0].delivery.manual);
}

TEST_P(StoreContractTest, DisablingAnEndpointStopsItsDeliveriesAndRaisesAnEvent) {
  ASSERT_TRUE(store_->InsertWebhookEndpoint(Endpoint("we_a"), 10, Audit()).ok());
  ASSERT_TRUE(store_->InsertWebhookEndpoint(Endpoint("we_b"), 10, Audit()).ok());
  ASSERT_TRUE(store_->InsertKey(Key("key_a"), 10, 100, Audit("key.create")).ok());
  ASSERT_TRUE(store_->InsertKey(Key("key_b"), 10, 100, Audit("key.create")).ok());
  auto claimed = ClaimAll(*store_, 1000);
  ASSERT_EQ(claimed.size(), 4u);
  const ClaimedDelivery* to_a = nullptr;
  for (const auto& c : claimed) {
    if (c.delivery.endpoint_id == "we_a") to_a = &c;
  }
  ASSERT_NE(to_a, nullptr);
  DeliveryOutcome gone = Delivered(*to_a, 2000);
  gone.status = DeliveryStatus::kFailed;
  gone.response_status = 410;
  gone.disable_reason = "gone";
  AuditEntry disable = Audit("webhook_endpoint.disable");
  disable.target = "we_a";
  disable.workspace_id = "";
  disable.at = 2000;
  disable.details_json = R"({"reason":"gone"})";
  gone.disable_audit = disable;
  ASSERT_TRUE(store_->FinishWebhookDelivery(gone).ok());
  auto ep = store_->GetWebhookEndpoint("we_a");
  EXPECT_FALSE(ep->enabled);
  EXPECT_EQ(ep->disabled_reason, "gone");
  EXPECT_EQ(AuditOf(*store_, "webhook_endpoint.disable").size(), 1u);
  // we_a's other delivery is not claimed again; we_b gets the news.
  auto later = ClaimAll(*store_, 100'000);
  std::multiset<std::string> got;
  for (const auto& c : later) got.insert(c.delivery.endpoint_id + " " + TypeOf(c));
  EXPECT_EQ(got, (std::multiset<std::string>{"we_b api_key.created", "we_b api_key.created",
                                             "we_b webhook_endpoint.disabled"}));
}

TEST_P(StoreContractTest, DeliveriesAreListedNewestFirstInPages) {
  ASSERT_TRUE(store_->InsertWebhookEndpoint(Endpoint("we_op"), 10, Audit()).ok());
  for (int i = 0; i < 5; ++i) {
    AuditEntry a = Audit("key.create");
    a.at = 100 + i;
    ASSERT_TRUE(store_->InsertKey(Key("key_" + std::to_string(i)), 10, 100, a).ok());
  }
  ASSERT_EQ(ClaimAll(*store_, 1000).size(), 5u);
  std::vector<std::string> seen;
  PageRequest page{"", 2};
  for (int i = 0; i < 5; ++i) {
    auto p = store_->ListWebhookDeliveries("we_op", page);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    for (const auto& d : p->items) seen.push_back(d.id);
    if (p->next_cursor.empty()) break;
    page.cursor = p->next_cursor;
  }
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 5u);
  auto first = store_->GetWebhookDelivery(seen.front());
  auto last = store_->GetWebhookDelivery(seen.back());
  EXPECT_GE(first->created_at, last->created_at);
  EXPECT_TRUE(store_->ListWebhookDeliveries("we_none", {"", 10})->items.empty());
}

TEST_P(StoreContractTest, TwoNodesNeverClaimTheSameDelivery) {
  ASSERT_TRUE(store_->InsertWebhookEndpoint(Endpoint("we_op"), 10, Audit()).ok());
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(
        store_->InsertKey(Key("key_" + std::to_string(i)), 100, 100, Audit("key.create")).ok());
  }
  auto other = OpenAgain();
  ASSERT_NE(other, nullptr);
  std::mutex mu;
  std::vector<std::string> ids;
  KeyStore* stores[] = {store_.get(), other.get()};
  OnThreads(4, [&](int i) {
    for (int round = 0; round < 10; ++round) {
      auto claimed = stores[i % 2]->ClaimWebhookDeliveries(1000, 61'000, 3);
      ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& c : *claimed) ids.push_back(c.delivery.id);
    }
  });
  // Deliveries appear once a claim's fan-out commits, which racing claims
  // may not have waited for: what is left is claimed afterwards, by
  // either node, and still nothing twice.
  for (int round = 0; round < 40; ++round) {
    auto claimed = stores[round % 2]->ClaimWebhookDeliveries(1000, 61'000, 3);
    ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
    if (claimed->empty()) break;
    for (const auto& c : *claimed) ids.push_back(c.delivery.id);
  }
  EXPECT_EQ(ids.size(), 40u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
}

TEST_P(StoreContractTest, LifecycleEventsAreRaisedOncePerKeyAndCause) {
  ASSERT_TRUE(store_->InsertWebhookEndpoint(Endpoint("we_op"), 10, Audit()).ok());
  const Timestamp now = 1000 * kDay;
  ApiKey soon = Key("key_soon");  // expires in 3 days
  soon.expires_at = now + 3 * kDay;
  soon.created_at = now - 10 * kDay;
  ApiKey gone = Key("key_gone");  // expired yesterday
  gone.expires_at = now - kDay;
  gone.created_at = now - 20 * kDay;
  ApiKey ancient = Key("key_ancient");  // expired long ago: history, not news
  ancient.expires_at = now - 100 * kDay;
  ApiKey idle = Key("key_idle");  // never used, made 40 days ago
  idle.created_at = now - 40 * kDay;
  ApiKey busy = Key("key_busy");
  busy.created_at = now - 40 * kDay;
  for (const ApiKey* k : {&soon, &gone, &ancient, &idle, &busy}) {
    ASSERT_TRUE(store_->InsertKey(*k, 100, k->created_at, Audit("test")).ok());
  }
  UsageBatch used;
  used.last_used.push_back({"key_busy", now - kDay});
  ASSERT_TRUE(store_->RecordUsage(used).ok());

  LifecycleRules rules;
  rules.unused_days = 30;
  rules.rotate_after_days = 35;
  auto raised = store_->RaiseLifecycleEvents(rules, now, 100);
  ASSERT_TRUE(raised.ok()) << raised.status().ToString();
  std::multiset<std::string> got;
  for (const auto& c : ClaimAll(*store_, now + 1)) {
    got.insert(TypeOf(c) + " " +
               nlohmann::json::parse(c.payload)["data"]["key_id"].get<std::string>());
  }
  EXPECT_EQ(got,
            (std::multiset<std::string>{"api_key.expiring key_soon", "api_key.expired key_gone",
                                        "api_key.unused key_idle", "api_key.rotation_due key_idle",
                                        "api_key.rotation_due key_busy"}));
  EXPECT_EQ(*raised, 5);
  // Again: nothing new. Two days on, key_soon enters its last day.
  EXPECT_EQ(*store_->RaiseLifecycleEvents(rules, now + 1000, 100), 0);
  EXPECT_EQ(*store_->RaiseLifecycleEvents(rules, now + 2 * kDay + 1, 100), 1);
  // A scheduled event with a dedupe key already stored is dropped.
  WebhookEvent dup =
      MakeWebhookEvent("api_key.unused", "ws_contract", now, "{}", "api_key.unused:key_idle:0");
  EXPECT_EQ(*store_->InsertWebhookEvents({dup}), 0);
}

// Keys are read a range of seq at a time (a transaction each): every due
// key is found whichever range it is in, and the limit holds per range.
TEST_P(StoreContractTest, LifecycleEventsAreFoundInEveryRangeOfKeys) {
  ASSERT_TRUE(store_->InsertWebhookEndpoint(Endpoint("we_op"), 10, Audit()).ok());
  const Timestamp now = 1000 * kDay;
  std::set<std::string> want;
  for (int i = 0; i < 7; ++i) {
    ApiKey k = Key("key_idle" + std::to_string(i));
    k.created_at = now - 40 * kDay;
    if (i == 3) k.created_at = now - kDay;  // made lately: not unused
    ASSERT_TRUE(store_->InsertKey(k, 100, k.created_at, Audit("test")).ok());
    if (i != 3) want.insert(k.id);
  }
  LifecycleRules rules;
  rules.unused_days = 30;
  rules.keys_per_range = 2;  // seq ranges (0,2], (2,4], (4,6], (6,8]
  // One a range: four ranges, one key each; then the rest.
  EXPECT_EQ(*store_->RaiseLifecycleEvents(rules, now, 1), 4);
  EXPECT_EQ(*store_->RaiseLifecycleEvents(rules, now, 1), 2);
  EXPECT_EQ(*store_->RaiseLifecycleEvents(rules, now, 1), 0);
  std::set<std::string> got;
  for (const auto& c : ClaimAll(*store_, now + 1)) {
    EXPECT_EQ(TypeOf(c), "api_key.unused");
    got.insert(nlohmann::json::parse(c.payload)["data"]["key_id"].get<std::string>());
  }
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace contract
}  // namespace keyward

namespace keyward {
namespace contract {
namespace {

TEST_P(StoreContractTest, AWorkspacesOwnRotationPolicyWinsOverTheDeployments) {
  ASSERT_TRUE(store_->InsertWebhookEndpoint(Endpoint("we_op"), 10, Audit()).ok());
  const Timestamp now = 1000 * kDay;
  Workspace strict;
  strict.id = "ws_strict";
  strict.name = "strict";
  strict.rotate_after_days = 5;
  ASSERT_TRUE(store_->CreateWorkspace(strict, Audit()).ok());
  ApiKey lax = Key("key_lax");  // ws_contract: no policy of its own
  lax.created_at = now - 10 * kDay;
  ApiKey due = Key("key_due");
  due.workspace_id = "ws_strict";
  due.created_at = now - 10 * kDay;
  for (const ApiKey* k : {&lax, &due}) {
    ASSERT_TRUE(store_->InsertKey(*k, 100, k->created_at, Audit("test")).ok());
  }
  LifecycleRules rules;  // the deployment has no policy
  rules.rotate_after_days = 0;
  ASSERT_EQ(*store_->RaiseLifecycleEvents(rules, now, 100), 1);
  auto claimed = store_->ClaimWebhookDeliveries(now, now + 1000, 10);
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);
  auto body = nlohmann::json::parse((*claimed)[0].payload);
  EXPECT_EQ(body["type"], "api_key.rotation_due");
  EXPECT_EQ(body["data"]["key_id"], "key_due");
  EXPECT_EQ(body["data"]["rotate_after_days"], 5);
  // With a deployment policy of 30 days, the lax key is not due yet either.
  rules.rotate_after_days = 30;
  EXPECT_EQ(*store_->RaiseLifecycleEvents(rules, now, 100), 0);
  rules.rotate_after_days = 7;
  EXPECT_EQ(*store_->RaiseLifecycleEvents(rules, now, 100), 1);
}

}  // namespace
}  // namespace contract
}  // namespace keyward

namespace keyward {
namespace contract {
namespace {

TEST_P(StoreContractTest, AnEndpointOfOneEnvironmentGetsOnlyThatEnvironmentsEvents) {
  WebhookEndpoint test_only = Endpoint("we_test", "ws_contract");
  test_only.environment = "test";
  ASSERT_TRUE(store_->InsertWebhookEndpoint(test_only, 10, Audit()).ok());
  EXPECT_EQ(store_->GetWebhookEndpoint("we_test")->environment, "test");
  for (const char* env : {"live", "test"}) {
    ApiKey k = Key(std::string("key_") + env);
    k.environment = env;
    AuditEntry a = Audit("key.create");
    a.target = k.id;
    a.at = 100;
    a.details_json = std::string(R"({"environment":")") + env + R"("})";
    ASSERT_TRUE(store_->InsertKey(k, 10, 100, a).ok());
  }
  // An event of no environment (credits) reaches it too.
  AuditEntry credits = Audit("workspace.credits_low");
  credits.at = 100;
  credits.details_json = R"({"threshold":80})";
  ASSERT_TRUE(store_->AppendAudit(credits).ok());
  auto claimed = store_->ClaimWebhookDeliveries(1000, 2000, 10);
  ASSERT_TRUE(claimed.ok());
  std::multiset<std::string> got;
  for (const auto& c : *claimed) {
    auto body = nlohmann::json::parse(c.payload);
    got.insert(body["type"].get<std::string>() + " " + body["data"].value("key_id", ""));
  }
  EXPECT_EQ(got,
            (std::multiset<std::string>{"api_key.created key_test", "workspace.credits_low "}));
}

}  // namespace
}  // namespace contract
}  // namespace keyward
