// Every write route of the API, through the composition root, with the
// storage seam failing under it (store/sqlite/fault_vfs.h): each write,
// fsync and read the route makes is failed in turn. What a route answers
// must be true: a 2xx only when its change is fully in the database, also
// after reopening it; anything else a 503 (storage_full or
// storage_unavailable, never 500) with the database exactly as before.
// After the fault, the store recovers without a restart.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <functional>
#include <map>

#include "app/app.h"
#include "server/json_codec.h"
#include "server/log.h"
#include "store/sqlite/fault_vfs.h"
#include "testing/temp_dir.h"

namespace keyward {
namespace {

using testing::FaultPoint;
using testing::FaultVfs;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kOrigin = "http://127.0.0.1:8080";

// Every row of every table (but the write probe), in a stable order.
std::string Dump(const std::string& db_path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return "cannot open";
  }
  std::string out;
  std::vector<std::string> tables;
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN "
                     "('write_probe', 'sqlite_sequence') ORDER BY name",
                     -1, &s, nullptr);
  while (sqlite3_step(s) == SQLITE_ROW) {
    tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
  }
  sqlite3_finalize(s);
  for (const auto& t : tables) {
    out += "[" + t + "]\n";
    const std::string sql = "SELECT * FROM " + t + " ORDER BY 1";
    sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr);
    while (sqlite3_step(s) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(s); ++c) {
        const auto* v = sqlite3_column_blob(s, c);
        const int n = sqlite3_column_bytes(s, c);
        out += sqlite3_column_type(s, c) == SQLITE_NULL
                   ? std::string("NULL")
                   : std::string(static_cast<const char*>(v), static_cast<size_t>(n));
        out += '|';
      }
      out += '\n';
    }
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  return out;
}

// A keyward on a data directory of its own, with what a route needs made
// before the fault is armed.
class Stack {
 public:
  explicit Stack(const std::string& dir) : dir_(dir) { Open(); }

  void Open() {
    app_.reset();
    Config config;
    config.data_dir = dir_;
    config.product_prefix = "sk";
    config.environments = {"live", "test"};
    config.storage_reserve_bytes = 0;
    AppOptions options;
    options.clock = &clock_;
    options.storage_probe_every = std::chrono::milliseconds(0);
    auto opened = App::Open(config, options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    app_ = std::move(*opened);
  }

  void Seed() {
    root_ = (*app_->service().EnsureRootKey(Actor{"test", ""}))->secret;
    ws_ = Json::parse(
        Root(http::verb::post, "/v1/workspaces", R"({"name":"Acme"})").response.body)["id"];
    key_ = Json::parse(Root(http::verb::post, "/v1/api-keys", KeyBody()).response.body)["id"];
    const Json ps = Json::parse(
        Root(http::verb::post, "/v1/portal-sessions", R"({"workspace_id":")" + ws_ + R"("})")
            .response.body);
    portal_ = ps["id"];
    const std::string url = ps["url"];
    code_ = url.substr(url.find("code=") + 5);
    // A console session to sign out of.
    ApiReply signed_in = Send(http::verb::post, "/v1/console-sessions", "",
                              {{"Authorization", "Bearer " + root_}, {"Origin", kOrigin}});
    const std::string cookie(signed_in.response.Get("Set-Cookie"));
    console_ = cookie.substr(cookie.find('=') + 1, cookie.find(';') - cookie.find('=') - 1);
  }

  std::string KeyBody() const {
    return R"({"workspace_id":")" + ws_ + R"(","environment":"live","name":"k"})";
  }

  ApiReply Send(http::verb method, const std::string& target, const std::string& body,
                const Headers& headers) {
    HttpRequest req{method, target, 11};
    for (const auto& [k, v] : headers) req.insert(k, v);
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    return app_->api().Handle(req, "127.0.0.1");
  }
  ApiReply Root(http::verb method, const std::string& target, const std::string& body = "") {
    return Send(method, target, body, {{"Authorization", "Bearer " + root_}});
  }
  ApiReply SignOut() {
    return Send(http::verb::delete_, "/v1/session", "",
                {{"X-Keyward-Session", "console"},
                 {"Cookie", "kw_console=" + console_},
                 {"Origin", kOrigin},
                 {"X-CSRF-Token", WebSessions::CsrfToken(console_)}});
  }

  App& app() { return *app_; }
  std::string db() const { return dir_ + "/keyward.db"; }
  std::string ws_, key_, portal_, code_, console_, root_;

 private:
  std::string dir_;
  ManualClock clock_;
  std::unique_ptr<App> app_;
};

struct WriteRoute {
  const char* name;
  std::function<ApiReply(Stack&)> call;
};

std::vector<WriteRoute> Routes() {
  return {
      {"POST /v1/workspaces",
       [](Stack& s) { return s.Root(http::verb::post, "/v1/workspaces", R"({"name":"New"})"); }},
      {"PATCH /v1/workspaces/{id}",
       [](Stack& s) {
         return s.Root(http::verb::patch, "/v1/workspaces/" + s.ws_, R"({"name":"Renamed"})");
       }},
      {"POST /v1/api-keys",
       [](Stack& s) { return s.Root(http::verb::post, "/v1/api-keys", s.KeyBody()); }},
      {"PATCH /v1/api-keys/{id}",
       [](Stack& s) {
         return s.Root(http::verb::patch, "/v1/api-keys/" + s.key_, R"({"name":"renamed"})");
       }},
      {"DELETE /v1/api-keys/{id}",
       [](Stack& s) { return s.Root(http::verb::delete_, "/v1/api-keys/" + s.key_); }},
      {"POST /v1/api-keys/{id}/rotate",
       [](Stack& s) {
         return s.Root(http::verb::post, "/v1/api-keys/" + s.key_ + "/rotate", "{}");
       }},
      {"POST /v1/portal-sessions",
       [](Stack& s) {
         return s.Root(http::verb::post, "/v1/portal-sessions",
                       R"({"workspace_id":")" + s.ws_ + R"("})");
       }},
      {"DELETE /v1/portal-sessions/{id}",
       [](Stack& s) { return s.Root(http::verb::delete_, "/v1/portal-sessions/" + s.portal_); }},
      {"GET /portal?code= (redeems the code)",
       [](Stack& s) { return s.Send(http::verb::get, "/portal?code=" + s.code_, "", {}); }},
      {"POST /v1/console-sessions",
       [](Stack& s) {
         return s.Send(http::verb::post, "/v1/console-sessions", "",
                       {{"Authorization", "Bearer " + s.root_}, {"Origin", kOrigin}});
       }},
      {"DELETE /v1/session", [](Stack& s) { return s.SignOut(); }},
  };
}

bool Changes(const char* name) {
  return std::string(name).rfind("GET ", 0) != 0;  // the redeem answers a redirect
}

class WriteRoutesUnderFaults : public ::testing::TestWithParam<FaultPoint> {};

TEST_P(WriteRoutesUnderFaults, NoAnswerIsUntrueAndNothingIsHalfWritten) {
  FaultVfs& vfs = FaultVfs::Install();
  // Each case's fault is logged once, as it should be; not here.
  static const int quiet = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  LogLine::SetFd(quiet);
  vfs.SetRealSync(false);
  const FaultPoint point = GetParam();
  int cases = 0;
  for (const WriteRoute& route : Routes()) {
    // How many calls of this point the route makes when nothing fails.
    int64_t calls = 0;
    int ok_status = 0;
    {
      keyward::testing::TempDir dir;
      Stack s(dir.path().string());
      s.Seed();
      s.Open();  // cold caches: the route's reads reach the files
      vfs.Disarm();
      vfs.ResetCounts();
      ok_status = route.call(s).response.status;
      calls = vfs.Calls(point);
      ASSERT_LT(ok_status, 400) << route.name << " fails even without a fault";
    }
    for (int64_t i = 0; i < calls; ++i) {
      SCOPED_TRACE(std::string(route.name) + ", " + testing::FaultPointName(point) + " #" +
                   std::to_string(i));
      keyward::testing::TempDir dir;
      Stack s(dir.path().string());
      s.Seed();
      s.Open();
      const std::string before = Dump(s.db());
      vfs.ResetCounts();
      vfs.Arm(point, static_cast<int>(i));
      const ApiReply r = route.call(s);
      const bool fired = vfs.Fired() > 0;
      vfs.Disarm();
      ++cases;
      const int status = r.response.status;
      EXPECT_NE(status, 500) << r.response.body;
      const std::string live = Dump(s.db());
      if (status < 400) {
        // Answered as done: it must be done, and stay done.
        EXPECT_NE(live, before) << "answered " << status << " but nothing changed";
      } else {
        EXPECT_EQ(status, 503) << r.response.body;
        const Json body = Json::parse(r.response.body);
        EXPECT_TRUE(body["error"] == "storage_unavailable" || body["error"] == "storage_full")
            << r.response.body;
        EXPECT_EQ(live, before) << "refused, yet the database changed";
        EXPECT_TRUE(fired);
      }
      // What the disk holds after a restart is what was answered.
      s.Open();
      EXPECT_EQ(Dump(s.db()), live) << "the database after reopening differs";
      // No restart needed: once the fault is gone the route works.
      s.app().store().Check();
      EXPECT_EQ(s.app().store().fault(), StorageFault::kNone);
      if (status >= 400 && Changes(route.name)) {
        EXPECT_LT(route.call(s).response.status, 400) << "the route after the fault";
      }
    }
  }
  RecordProperty("cases", cases);
  std::printf("[          ] %s: %d injected cases\n", testing::FaultPointName(point), cases);
}

INSTANTIATE_TEST_SUITE_P(Points, WriteRoutesUnderFaults,
                         ::testing::Values(FaultPoint::kWrite, FaultPoint::kSync,
                                           FaultPoint::kWriteFull, FaultPoint::kRead),
                         [](const auto& info) { return std::string(FaultPointName(info.param)); });

}  // namespace
}  // namespace keyward
