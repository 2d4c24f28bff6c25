// The delivery worker with the clock moved instead of slept, on a real
// SQLite store: a failure retried after 5 s ±10 %, the whole schedule ending
// in `failed` with the endpoint disabled ("failing"), an audit entry and a
// webhook_endpoint.disabled event to another endpoint; 410 ("gone");
// Retry-After; a manual retry that fails disabling nothing; the target guard
// at delivery time; the real HTTP sender against a receiver that never
// answers (timeout) and a port nobody listens on. DecideDelivery as a table.
#include "webhooks/worker.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "store/sqlite/sqlite_store.h"
#include "testing/temp_dir.h"
#include "webhooks/endpoints.h"
#include "webhooks/signing.h"

namespace keyward {
namespace {

using nlohmann::json;

constexpr Timestamp kS = kMillisPerSecond, kMin = 60 * kS, kH = 60 * kMin;

// Answers as scripted, per URL path, and records what it was sent.
class FakeSender final : public WebhookSender {
 public:
  WebhookResponse Send(const WebhookRequest& r) override {
    requests.push_back(r);
    if (on_send) on_send(r);
    auto& script = scripts[r.url.target];
    if (script.empty()) return Reply(204);
    WebhookResponse out = script.front();
    if (script.size() > 1) script.pop_front();  // the last answer repeats
    return out;
  }
  static WebhookResponse Reply(int status, std::optional<int64_t> retry_after = std::nullopt) {
    WebhookResponse r;
    r.status = status;
    r.retry_after_seconds = retry_after;
    r.latency_ms = 3;
    return r;
  }
  std::vector<WebhookRequest> To(const std::string& target) const {
    std::vector<WebhookRequest> out;
    for (const auto& r : requests) {
      if (r.url.target == target) out.push_back(r);
    }
    return out;
  }
  static std::string Header(const WebhookRequest& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }

  std::map<std::string, std::deque<WebhookResponse>> scripts;
  std::vector<WebhookRequest> requests;
  std::function<void(const WebhookRequest&)> on_send;  // called with each, before it answers
};

class WebhookWorkerTest : public ::testing::Test {
 protected:
  WebhookWorkerTest() {
    auto opened = SqliteStore::Open(dir_.File("keyward.db"));
    if (!opened.ok()) std::abort();
    store_ = std::move(*opened);
    MakeWorker(&sender_, /*allow_private=*/true);
  }

  void MakeWorker(WebhookSender* sender, bool allow_private) {
    worker_.reset();
    WebhookWorkerOptions o;
    o.store = store_.get();
    o.clock = &clock_;
    o.sender = sender;
    o.allow_private_targets = allow_private;
    o.jitter = [this] { return jitter_; };
    o.batch = 8;  // a pass sends everything due here (each fake send is instant)
    worker_ = std::make_unique<WebhookWorker>(std::move(o));
  }

  // An operator's endpoint at http://127.0.0.1:9<path> made a moment ago.
  WebhookEndpoint AddEndpoint(const std::string& id, const std::string& path,
                              std::vector<std::string> events = {},
                              const std::string& url_base = "http://127.0.0.1:9") {
    WebhookEndpoint ep;
    ep.id = id;
    ep.url = url_base + path;
    ep.events = std::move(events);
    ep.secret = NewWebhookSecret();
    ep.created_at = clock_.Now() - 1;
    ep.updated_at = ep.created_at;
    Status s = store_->InsertWebhookEndpoint(
        ep, 20,
        MakeAuditEntry(Actor{"test", ""}, clock_.Now(), "webhook_endpoint.create", id, "", "{}"));
    EXPECT_TRUE(s.ok()) << s.ToString();
    return ep;
  }

  // An event of type, now, deployment-wide.
  std::string Raise(const std::string& type = "api_key.revoked") {
    WebhookEvent e = MakeWebhookEvent(type, "", clock_.Now(),
                                      R"({"key_id":"key_1","short_prefix":"sk_live_ab"})");
    auto n = store_->InsertWebhookEvents({e});
    EXPECT_TRUE(n.ok() && *n == 1);
    return e.id;
  }

  int Pass() {
    auto n = worker_->DeliverDue();
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *n : -1;
  }

  WebhookDelivery Only(const std::string& endpoint_id) {
    auto page = store_->ListWebhookDeliveries(endpoint_id, PageRequest{"", 100});
    EXPECT_TRUE(page.ok());
    EXPECT_EQ(page->items.size(), 1u) << endpoint_id;
    return page->items.empty() ? WebhookDelivery{} : page->items[0];
  }

  std::vector<AuditEntry> Audit(const std::string& action, const std::string& target) {
    AuditFilter f;
    f.action = action;
    f.target = target;
    auto page = store_->ListAudit(f, PageRequest{"", 100});
    EXPECT_TRUE(page.ok());
    return page.ok() ? page->items : std::vector<AuditEntry>{};
  }

  keyward::testing::TempDir dir_;
  ManualClock clock_{1'767'225'600'000};  // 2026-01-01T00:00:00Z
  std::unique_ptr<SqliteStore> store_;
  FakeSender sender_;
  double jitter_ = 0;
  std::unique_ptr<WebhookWorker> worker_;
};

TEST_F(WebhookWorkerTest, A500IsRetriedAfterFiveSecondsWithinTenPercent) {
  const double jitters[] = {-0.1, 0.0, 0.1};
  const char* types[] = {"api_key.revoked", "api_key.created", "api_key.updated"};
  for (int i = 0; i < 3; ++i) {
    const double jitter = jitters[i];
    SCOPED_TRACE(jitter);
    jitter_ = jitter;
    const std::string path = "/j" + std::to_string(i);
    const std::string id = "we_j" + std::to_string(i);
    AddEndpoint(id, path, {types[i]});
    sender_.scripts[path] = {FakeSender::Reply(500), FakeSender::Reply(204)};
    const std::string event = Raise(types[i]);
    const Timestamp t0 = clock_.Now();
    EXPECT_EQ(Pass(), 1);
    WebhookDelivery d = Only(id);
    EXPECT_EQ(d.status, DeliveryStatus::kPending);
    EXPECT_EQ(d.attempts, 1);
    EXPECT_EQ(d.response_status, 500);
    EXPECT_EQ(d.error, "HTTP 500");
    const Timestamp due = t0 + static_cast<Timestamp>(5000 * (1 + jitter));
    EXPECT_EQ(d.next_attempt_at, due);

    clock_.Set(due - 1);
    EXPECT_EQ(Pass(), 0) << "retried before its time";
    clock_.Set(due);
    EXPECT_EQ(Pass(), 1);
    d = Only(id);
    EXPECT_EQ(d.status, DeliveryStatus::kDelivered);
    EXPECT_EQ(d.attempts, 2);
    EXPECT_EQ(d.error, "");

    const auto sent = sender_.To(path);
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(FakeSender::Header(sent[0], "webhook-id"), event);
    EXPECT_EQ(FakeSender::Header(sent[1], "webhook-id"), event);
    EXPECT_EQ(sent[0].body, sent[1].body);
    EXPECT_EQ(FakeSender::Header(sent[1], "webhook-timestamp"), std::to_string(due / kS));
    clock_.Advance(kH);
  }
}

TEST_F(WebhookWorkerTest, TheDefaultJitterStaysWithinTenPercent) {
  WebhookWorkerOptions o;
  o.store = store_.get();
  o.clock = &clock_;
  o.sender = &sender_;
  o.allow_private_targets = true;
  WebhookWorker worker(std::move(o));  // its own jitter
  AddEndpoint("we_j", "/j");
  sender_.scripts["/j"] = {FakeSender::Reply(500)};
  for (int i = 0; i < 20; ++i) {
    Raise();
    const Timestamp t0 = clock_.Now();
    ASSERT_EQ(*worker.DeliverDue(), 1);
    auto page = store_->ListWebhookDeliveries("we_j", PageRequest{"", 1});
    const WebhookDelivery& d = page->items[0];
    EXPECT_GE(d.next_attempt_at - t0, 4500);
    EXPECT_LE(d.next_attempt_at - t0, 5500);
    clock_.Advance(1);  // the next event is later, and nothing else is due
  }
}

TEST_F(WebhookWorkerTest, TheWholeScheduleEndsFailedAndDisablesTheEndpoint) {
  AddEndpoint("we_failing", "/failing");
  AddEndpoint("we_watch", "/watch", {"webhook_endpoint.disabled"});
  sender_.scripts["/failing"] = {FakeSender::Reply(500)};
  Raise();
  const Timestamp start = clock_.Now();
  EXPECT_EQ(Pass(), 1);
  const Timestamp schedule[] = {5 * kS,  5 * kMin, 30 * kMin, 2 * kH, 5 * kH,
                                10 * kH, 14 * kH,  20 * kH,   24 * kH};
  int attempt = 1;
  for (Timestamp delay : schedule) {
    SCOPED_TRACE(attempt);
    EXPECT_EQ(Only("we_failing").next_attempt_at, clock_.Now() + delay);
    clock_.Advance(delay - 1);
    EXPECT_EQ(Pass(), 0) << "attempt " << attempt + 1 << " came early";
    clock_.Advance(1);
    EXPECT_EQ(Pass(), 1);
    ++attempt;
  }
  EXPECT_EQ(clock_.Now() - start, 75 * kH + 35 * kMin + 5 * kS);
  const WebhookDelivery d = Only("we_failing");
  EXPECT_EQ(d.status, DeliveryStatus::kFailed);
  EXPECT_EQ(d.attempts, kMaxDeliveryAttempts);
  EXPECT_EQ(sender_.To("/failing").size(), 10u);

  auto ep = store_->GetWebhookEndpoint("we_failing");
  EXPECT_FALSE(ep->enabled);
  EXPECT_EQ(ep->disabled_reason, "failing");
  const auto audit = Audit("webhook_endpoint.disable", "we_failing");
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].actor, "keyward");
  EXPECT_EQ(json::parse(audit[0].details_json)["reason"], "failing");
  EXPECT_EQ(worker_->stats().endpoints_disabled, 1u);

  // The other endpoint hears of it, signed like any event.
  EXPECT_EQ(Pass(), 1);
  const auto told = sender_.To("/watch");
  ASSERT_EQ(told.size(), 1u);
  const json body = json::parse(told[0].body);
  EXPECT_EQ(body["type"], "webhook_endpoint.disabled");
  EXPECT_EQ(body["data"]["endpoint_id"], "we_failing");
  EXPECT_EQ(body["data"]["reason"], "failing");
  EXPECT_EQ(body["data"]["response_status"], 500);
  EXPECT_EQ(body["data"]["delivery_id"], d.id);
  EXPECT_EQ(Only("we_watch").status, DeliveryStatus::kDelivered);

  // Nothing more goes to the disabled endpoint, whatever is raised.
  Raise();
  clock_.Advance(48 * kH);
  Pass();
  EXPECT_EQ(sender_.To("/failing").size(), 10u);
}

TEST_F(WebhookWorkerTest, A410DisablesTheEndpointAtOnce) {
  AddEndpoint("we_gone", "/gone");
  AddEndpoint("we_watch", "/watch", {"webhook_endpoint.disabled"});
  sender_.scripts["/gone"] = {FakeSender::Reply(410)};
  Raise();
  Raise("api_key.created");
  EXPECT_EQ(Pass(), 2);
  auto ep = store_->GetWebhookEndpoint("we_gone");
  EXPECT_FALSE(ep->enabled);
  EXPECT_EQ(ep->disabled_reason, "gone");
  EXPECT_EQ(Audit("webhook_endpoint.disable", "we_gone").size(), 1u)
      << "one disable, not one per delivery";
  EXPECT_EQ(Pass(), 1);
  ASSERT_EQ(sender_.To("/watch").size(), 1u);
  EXPECT_EQ(json::parse(sender_.To("/watch")[0].body)["data"]["reason"], "gone");
  clock_.Advance(48 * kH);
  EXPECT_EQ(Pass(), 0);
}

TEST_F(WebhookWorkerTest, RetryAfterOfA429Or503IsHonoured) {
  jitter_ = 0.1;
  AddEndpoint("we_429", "/429", {"api_key.revoked"});
  sender_.scripts["/429"] = {FakeSender::Reply(429, 3600), FakeSender::Reply(204)};
  Raise();
  const Timestamp t0 = clock_.Now();
  EXPECT_EQ(Pass(), 1);
  EXPECT_EQ(Only("we_429").next_attempt_at, t0 + kH);
  clock_.Set(t0 + kH - 1);
  EXPECT_EQ(Pass(), 0) << "retried before the hour Retry-After asked for";
  clock_.Set(t0 + kH);
  EXPECT_EQ(Pass(), 1);
  EXPECT_EQ(Only("we_429").status, DeliveryStatus::kDelivered);

  // A 503's too; a 500's is not a request to wait; at most a day.
  AddEndpoint("we_503", "/503", {"api_key.created"});
  AddEndpoint("we_500", "/500", {"api_key.created"});
  AddEndpoint("we_long", "/long", {"api_key.created"});
  sender_.scripts["/503"] = {FakeSender::Reply(503, 600)};
  sender_.scripts["/500"] = {FakeSender::Reply(500, 600)};
  sender_.scripts["/long"] = {FakeSender::Reply(429, 30 * 86400)};
  Raise("api_key.created");
  const Timestamp t1 = clock_.Now();
  EXPECT_EQ(Pass(), 3);
  EXPECT_EQ(Only("we_503").next_attempt_at, t1 + 10 * kMin);
  EXPECT_EQ(Only("we_500").next_attempt_at, t1 + 5500);
  EXPECT_EQ(Only("we_long").next_attempt_at, t1 + 24 * kH);
}

TEST_F(WebhookWorkerTest, AManualRetryThatFailsDisablesNothing) {
  WebhookEndpointsOptions eo;
  eo.store = store_.get();
  eo.clock = &clock_;
  eo.allow_private_targets = true;
  WebhookEndpoints endpoints(eo);
  AddEndpoint("we_m", "/m");
  const std::string event = Raise();
  EXPECT_EQ(Pass(), 1);
  WebhookDelivery d = Only("we_m");
  ASSERT_EQ(d.status, DeliveryStatus::kDelivered);

  // Sent again by hand; the receiver is gone now, then failing.
  for (int status : {410, 500}) {
    SCOPED_TRACE(status);
    sender_.scripts["/m"] = {FakeSender::Reply(status)};
    auto retried = endpoints.RetryDelivery("we_m", d.id, Actor{"rk_test", ""});
    ASSERT_TRUE(retried.ok()) << retried.status().ToString();
    EXPECT_TRUE(retried->manual);
    EXPECT_EQ(retried->status, DeliveryStatus::kPending);
    EXPECT_EQ(Pass(), 1);
    d = Only("we_m");
    EXPECT_EQ(d.status, DeliveryStatus::kFailed) << "a manual retry is one attempt";
    EXPECT_EQ(d.response_status, status);
    EXPECT_TRUE(d.manual);
    auto ep = store_->GetWebhookEndpoint("we_m");
    EXPECT_TRUE(ep->enabled) << "a manual retry's failure disabled the endpoint";
    EXPECT_EQ(ep->disabled_reason, "");
    EXPECT_TRUE(Audit("webhook_endpoint.disable", "we_m").empty());
    clock_.Advance(48 * kH);
    EXPECT_EQ(Pass(), 0) << "a failed manual retry is retried";
  }
  const auto sent = sender_.To("/m");
  ASSERT_EQ(sent.size(), 3u);
  for (const auto& r : sent) EXPECT_EQ(FakeSender::Header(r, "webhook-id"), event);
  EXPECT_EQ(Audit("webhook_delivery.retry", "we_m").size(), 2u);
  // A pending delivery is not retried by hand.
  sender_.scripts["/m"] = {FakeSender::Reply(500)};
  ASSERT_TRUE(endpoints.RetryDelivery("we_m", d.id, Actor{"rk_test", ""}).ok());
  EXPECT_EQ(endpoints.RetryDelivery("we_m", d.id, Actor{"rk_test", ""}).status().code(),
            Code::kConflict);
}

TEST_F(WebhookWorkerTest, APrivateTargetIsRefusedAtDeliveryToo) {
  MakeWorker(&sender_, /*allow_private=*/false);
  // Stored directly: the API would have refused it.
  AddEndpoint("we_inside", "/meta-data", {}, "http://169.254.169.254");
  Raise();
  EXPECT_EQ(Pass(), 1);
  EXPECT_TRUE(sender_.requests.empty()) << "sent to a private address";
  const WebhookDelivery d = Only("we_inside");
  EXPECT_EQ(d.status, DeliveryStatus::kPending);
  EXPECT_EQ(d.error, "refused: 169.254.169.254 is a private address");
  EXPECT_FALSE(d.response_status.has_value());
}

TEST_F(WebhookWorkerTest, EachDeliveryIsSignedWithTheEndpointsSecrets) {
  const WebhookEndpoint ep = AddEndpoint("we_sig", "/sig");
  const std::string event = Raise();
  EXPECT_EQ(Pass(), 1);
  ASSERT_EQ(sender_.requests.size(), 1u);
  const WebhookRequest& r = sender_.requests[0];
  const std::string ts = FakeSender::Header(r, "webhook-timestamp");
  EXPECT_EQ(ts, std::to_string(clock_.Now() / kS));
  EXPECT_EQ(FakeSender::Header(r, "webhook-signature"),
            SignWebhook({ep.secret}, event, clock_.Now() / kS, r.body));
  EXPECT_EQ(json::parse(r.body)["type"], "api_key.revoked");
  ASSERT_EQ(r.addresses.size(), 1u);
  EXPECT_EQ(FormatIpAddress(r.addresses[0]), "127.0.0.1");
  EXPECT_EQ(r.url.port, "9");
}

// A worker sends what it claimed one delivery at a time, and a claim holds
// claim_millis (timeout + 30 s, as App sets it) from the moment it is made:
// with the default batch of one, a claim never lapses while its worker is
// still sending earlier deliveries, so when receivers take the whole
// timeout another worker (thread or node) still never sends what one holds,
// and every outcome is recorded.
TEST_F(WebhookWorkerTest, AClaimHoldsWhileItsBatchIsSent) {
  AddEndpoint("we_slow", "/slow");
  for (int i = 0; i < 8; ++i) {
    Raise();
    clock_.Advance(1);
  }
  auto make = [&] {
    WebhookWorkerOptions o;
    o.store = store_.get();
    o.clock = &clock_;
    o.sender = &sender_;
    o.allow_private_targets = true;
    o.claim_millis = (15 + 30) * kS;  // as App sets it for the default timeout of 15 s
    o.jitter = [] { return 0.0; };
    return std::make_unique<WebhookWorker>(std::move(o));
  };
  auto first = make();
  auto second = make();
  int sends = 0;
  sender_.scripts["/slow"] = {FakeSender::Reply(204)};  // slowly, but each answers
  sender_.on_send = [&](const WebhookRequest&) {
    clock_.Advance(15 * kS);  // each receiver takes the whole timeout
    if (++sends == 4) {
      auto n = second->DeliverDue();  // the other worker thread's pass, meanwhile
      ASSERT_TRUE(n.ok());
    }
  };
  for (int pass = 0; pass < 20; ++pass) {
    auto n = first->DeliverDue();
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
  }
  std::map<std::string, int> sent;
  for (const auto& r : sender_.requests) ++sent[FakeSender::Header(r, "webhook-id")];
  EXPECT_EQ(sent.size(), 8u);
  for (const auto& [id, n] : sent) EXPECT_EQ(n, 1) << id << " was sent " << n << " times";
  auto page = store_->ListWebhookDeliveries("we_slow", PageRequest{"", 100});
  for (const auto& d : page->items) EXPECT_EQ(d.attempts, 1) << d.id;
}

// A TCP socket on 127.0.0.1 that takes connections (the kernel's backlog)
// and never answers.
class SilentReceiver {
 public:
  SilentReceiver() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~SilentReceiver() { Close(); }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_F(WebhookWorkerTest, AReceiverThatNeverAnswersIsATimeout) {
  HttpWebhookSenderOptions so;
  so.timeout = std::chrono::milliseconds(300);
  auto sender = MakeHttpWebhookSender(so);
  ASSERT_TRUE(sender.ok());
  MakeWorker(sender->get(), /*allow_private=*/true);
  SilentReceiver silent;
  AddEndpoint("we_silent", "/hook", {"api_key.revoked"},
              "http://127.0.0.1:" + std::to_string(silent.port()));
  Raise();
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(Pass(), 1);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, std::chrono::milliseconds(290));
  EXPECT_LT(took, std::chrono::seconds(3));
  const WebhookDelivery d = Only("we_silent");
  EXPECT_EQ(d.status, DeliveryStatus::kPending);
  EXPECT_EQ(d.error, "timeout");
  EXPECT_FALSE(d.response_status.has_value());
  ASSERT_TRUE(d.latency_ms.has_value());
  EXPECT_GE(*d.latency_ms, 290);

  // Nobody listening: a connection error, at once.
  SilentReceiver closed;
  const int port = closed.port();
  closed.Close();
  AddEndpoint("we_closed", "/hook", {"api_key.created"},
              "http://127.0.0.1:" + std::to_string(port));
  Raise("api_key.created");
  EXPECT_EQ(Pass(), 1);
  const WebhookDelivery refused = Only("we_closed");
  EXPECT_EQ(refused.error.rfind("connect: ", 0), 0u) << refused.error;
}

// DecideDelivery, pure.
ClaimedDelivery Claimed(int attempts, bool manual = false) {
  ClaimedDelivery c;
  c.delivery.id = "whd_1";
  c.delivery.attempts = attempts;
  c.delivery.manual = manual;
  c.claim_id = "claim_1";
  return c;
}

WebhookResponse Answer(std::optional<int> status, std::optional<int64_t> retry_after = {},
                       std::string error = "") {
  WebhookResponse r;
  r.status = status;
  r.retry_after_seconds = retry_after;
  r.error = std::move(error);
  r.latency_ms = 7;
  return r;
}

TEST(DecideDeliveryTest, TwoHundredsAreDelivered) {
  for (int status : {200, 201, 202, 204, 299}) {
    const DeliveryOutcome o = DecideDelivery(Claimed(3), Answer(status), 1000, 0.1);
    EXPECT_EQ(o.status, DeliveryStatus::kDelivered) << status;
    EXPECT_EQ(o.error, "");
    EXPECT_EQ(o.response_status, status);
    EXPECT_EQ(o.latency_ms, 7);
    EXPECT_EQ(o.delivery_id, "whd_1");
    EXPECT_EQ(o.claim_id, "claim_1");
    EXPECT_EQ(o.attempted_at, 1000);
    EXPECT_EQ(o.disable_reason, "");
  }
}

TEST(DecideDeliveryTest, AnythingElseIsRetriedOnTheSchedule) {
  for (int status : {100, 199, 301, 302, 400, 401, 404, 409, 429, 500, 502, 503}) {
    const DeliveryOutcome o = DecideDelivery(Claimed(0), Answer(status), 1000, 0.0);
    EXPECT_EQ(o.status, DeliveryStatus::kPending) << status;
    EXPECT_EQ(o.next_attempt_at, 1000 + 5 * kS) << status;
    EXPECT_EQ(o.error, "HTTP " + std::to_string(status));
  }
  const DeliveryOutcome timeout =
      DecideDelivery(Claimed(2), Answer(std::nullopt, {}, "timeout"), 0, 0.0);
  EXPECT_EQ(timeout.status, DeliveryStatus::kPending);
  EXPECT_EQ(timeout.error, "timeout");
  EXPECT_FALSE(timeout.response_status.has_value());
  EXPECT_EQ(timeout.next_attempt_at, 30 * kMin);
  // The jitter scales the delay.
  EXPECT_EQ(DecideDelivery(Claimed(3), Answer(500), 0, 0.1).next_attempt_at, 2 * kH + 12 * kMin);
  EXPECT_EQ(DecideDelivery(Claimed(3), Answer(500), 0, -0.1).next_attempt_at, 2 * kH - 12 * kMin);
}

TEST(DecideDeliveryTest, TheTenthFailureAndA410Disable) {
  const DeliveryOutcome last = DecideDelivery(Claimed(9), Answer(500), 0, 0.0);
  EXPECT_EQ(last.status, DeliveryStatus::kFailed);
  EXPECT_EQ(last.disable_reason, "failing");
  const DeliveryOutcome ninth = DecideDelivery(Claimed(8), Answer(500), 0, 0.0);
  EXPECT_EQ(ninth.status, DeliveryStatus::kPending);
  EXPECT_EQ(ninth.next_attempt_at, 24 * kH);
  const DeliveryOutcome gone = DecideDelivery(Claimed(0), Answer(410), 0, 0.0);
  EXPECT_EQ(gone.status, DeliveryStatus::kFailed);
  EXPECT_EQ(gone.disable_reason, "gone");
}

TEST(DecideDeliveryTest, AManualAttemptIsOneAttemptAndDisablesNothing) {
  for (auto answer : {Answer(410), Answer(500), Answer(std::nullopt, {}, "timeout")}) {
    for (int attempts : {0, 9, 12}) {
      const DeliveryOutcome o = DecideDelivery(Claimed(attempts, true), answer, 0, 0.0);
      EXPECT_EQ(o.status, DeliveryStatus::kFailed);
      EXPECT_EQ(o.disable_reason, "");
    }
  }
  EXPECT_EQ(DecideDelivery(Claimed(9, true), Answer(204), 0, 0.0).status,
            DeliveryStatus::kDelivered);
}

TEST(DecideDeliveryTest, RetryAfter) {
  // 429 and 503 ask to wait: never sooner, the schedule when it is later.
  EXPECT_EQ(DecideDelivery(Claimed(0), Answer(429, 60), 0, 0.0).next_attempt_at, 60 * kS);
  EXPECT_EQ(DecideDelivery(Claimed(0), Answer(503, 60), 0, 0.0).next_attempt_at, 60 * kS);
  EXPECT_EQ(DecideDelivery(Claimed(2), Answer(429, 60), 0, 0.0).next_attempt_at, 30 * kMin);
  EXPECT_EQ(DecideDelivery(Claimed(0), Answer(429, 0), 0, 0.0).next_attempt_at, 5 * kS);
  // Capped at a day.
  EXPECT_EQ(DecideDelivery(Claimed(0), Answer(429, 999'999'999), 0, 0.0).next_attempt_at, 24 * kH);
  // Other statuses' Retry-After is not a request to wait.
  EXPECT_EQ(DecideDelivery(Claimed(0), Answer(500, 3600), 0, 0.0).next_attempt_at, 5 * kS);
  // The last attempt is the last whatever Retry-After says.
  EXPECT_EQ(DecideDelivery(Claimed(9), Answer(429, 60), 0, 0.0).disable_reason, "failing");
}

}  // namespace
}  // namespace keyward
