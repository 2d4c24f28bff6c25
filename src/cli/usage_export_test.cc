// `keyward usage export` and the streaming HTTP client, against a test
// server whose route answers as GET /v1/usage/export is to (the real route
// is not in this tree yet).
#include "cli/usage_export.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/exit_codes.h"
#include "cli/http_client.h"
#include "testing/http_test_server.h"

namespace keyward {
namespace {

namespace fs = std::filesystem;

constexpr char kRootKey[] = "kw_root_testtesttest";
constexpr int kRows = 200'000;
constexpr char kCsvHeader[] =
    "day,workspace_id,key_id,environment,valid,refused,credits,rate_limited,quota_exceeded\n";

std::string CsvRow(int i) {
  char row[128];
  std::snprintf(row, sizeof(row), "2026-11-%02d,ws_big,key_%06d,live,%d,%d,%d,%d,0\n", 1 + i % 30,
                i / 30, i % 1000, i % 7, i % 13, i % 3);
  return row;
}

std::string ExpectedCsv(int rows) {
  std::string s = kCsvHeader;
  for (int i = 0; i < rows; ++i) s += CsvRow(i);
  return s;
}

// What the route saw and found, for the tests to look at.
std::mutex g_mu;
std::string g_query;             // the last request's query string
std::string g_watch;             // a path whose state the route notes mid-export
bool g_watch_existed = true;     // g_watch existed then
bool g_partial_existed = false;  // g_watch + ".partial" existed then

// GET /v1/usage/export as the server will answer it; the workspace says
// what to do: ws_big exports kRows rows, ws_broken breaks after a quarter,
// ws_missing is not found, ws_boom is a server error.
void ExportRoute(Call& call, const RouteContext&) {
  if (BearerToken(call.req) != kRootKey) {
    return call.Error(Code::kUnauthorized, "the root key is not valid");
  }
  QueryParams q;
  if (!call.Query({"workspace_id", "from", "to", "format", "environment"}, &q)) return;
  std::string ws, format = "csv";
  for (const auto& [k, v] : q) {
    if (k == "workspace_id") ws = v;
    if (k == "format") format = v;
  }
  {
    std::lock_guard lock(g_mu);
    g_query = std::string(call.query);
  }
  if (ws == "ws_missing") return call.Error(Code::kNotFound, "no workspace " + ws);
  if (ws == "ws_boom") return call.Error(Code::kInternal, "internal error");
  const int fail_at = ws == "ws_broken" ? kRows / 4 : -1;
  const bool json = format == "json";
  call.Stream(200, json ? "application/json" : "text/csv; charset=utf-8",
              [json, fail_at, i = -1](std::string* chunk, bool* done) mutable {
                if (i == -1) {
                  *chunk += json ? R"({"workspace_id":"ws_big","from":"2026-11-01",)"
                                   R"("to":"2026-12-01","rows":[)"
                                 : kCsvHeader;
                  ++i;
                  return Status::Ok();
                }
                if (i == fail_at) return Status::Unavailable("the database went away");
                if (i == kRows / 2) {
                  std::lock_guard lock(g_mu);
                  if (!g_watch.empty()) {
                    g_watch_existed = fs::exists(g_watch);
                    g_partial_existed = fs::exists(g_watch + ".partial");
                  }
                }
                for (int end = std::min(i + 1000, kRows); i < end; ++i) {
                  if (!json) {
                    *chunk += CsvRow(i);
                    continue;
                  }
                  *chunk += i == 0 ? "" : ",";
                  *chunk += R"({"day":"2026-11-01","key_id":"key_)" + std::to_string(i) +
                            R"(","valid":)" + std::to_string(i % 1000) + "}";
                }
                if (i == kRows) {
                  if (json) *chunk += "]}";
                  *done = true;
                }
                return Status::Ok();
              });
}

RouteTable ExportRoutes() {
  RouteTable routes;
  routes.Add({"GET", "/v1/usage/export", "exportUsage", Access::kPublic, &ExportRoute});
  return routes;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class UsageExportTest : public ::testing::Test {
 protected:
  UsageExportTest() {
    dir_ = fs::temp_directory_path() / ("keyward-export-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    output_ = (dir_ / "usage.csv").string();
    options_.url = server_.url();
    options_.root_key = kRootKey;
    options_.workspace_id = "ws_big";
    options_.output = output_;
    std::lock_guard lock(g_mu);
    g_watch.clear();
    g_query.clear();
  }
  ~UsageExportTest() override { fs::remove_all(dir_); }

  int Run(bool progress_line = false) {
    err_.str("");
    return RunUsageExport(options_, stdout, err_, progress_line);
  }

  keyward::testing::HttpTestServer server_{ExportRoutes()};
  fs::path dir_;
  std::string output_;
  UsageExportOptions options_;
  std::ostringstream err_;
};

TEST_F(UsageExportTest, CsvGoesToTheFileWholeByWayOfPartial) {
  options_.from = "2026-11-01";
  options_.to = "2026-12-01T00:00:00Z";
  options_.environment = "live";
  {
    std::lock_guard lock(g_mu);
    g_watch = output_;
  }
  ASSERT_EQ(Run(), kExitOk) << err_.str();
  EXPECT_TRUE(ReadFile(output_) == ExpectedCsv(kRows));
  EXPECT_FALSE(fs::exists(output_ + ".partial"));
  {
    std::lock_guard lock(g_mu);
    EXPECT_EQ(g_query,
              "workspace_id=ws_big&format=csv&from=2026-11-01&to=2026-12-01T00%3A00%3A00Z"
              "&environment=live");
    // Halfway through, the rows were going to FILE.partial, and FILE was not there.
    EXPECT_FALSE(g_watch_existed);
    EXPECT_TRUE(g_partial_existed);
  }
  const std::string err = err_.str();
  EXPECT_EQ(err.find('\r'), std::string::npos) << "no progress line when stderr is no terminal";
  EXPECT_TRUE(err.starts_with("keyward: exported 200,000 rows (")) << err;
  EXPECT_NE(err.find(" MB) to " + output_ + " in "), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST_F(UsageExportTest, JsonIsOneObjectAndCountsBytes) {
  options_.format = "json";
  ASSERT_EQ(Run(), kExitOk) << err_.str();
  const auto j = nlohmann::json::parse(ReadFile(output_));
  EXPECT_EQ(j["workspace_id"], "ws_big");
  EXPECT_EQ(j["rows"].size(), static_cast<size_t>(kRows));
  EXPECT_EQ(j["rows"][kRows - 1]["key_id"], "key_" + std::to_string(kRows - 1));
  const std::string err = err_.str();
  EXPECT_TRUE(err.starts_with("keyward: exported ")) << err;
  EXPECT_NE(err.find(" MB to "), std::string::npos) << err;
  EXPECT_EQ(err.find("rows"), std::string::npos) << err;
}

TEST_F(UsageExportTest, ABrokenTransferExits3AndLeavesNoFile) {
  options_.workspace_id = "ws_broken";
  EXPECT_EQ(Run(), kExitUnavailable);
  EXPECT_FALSE(fs::exists(output_));
  EXPECT_FALSE(fs::exists(output_ + ".partial"));
  EXPECT_NE(err_.str().find("broke off"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find(output_ + " was not written"), std::string::npos) << err_.str();
}

TEST_F(UsageExportTest, ABrokenTransferLeavesAnEarlierFileAsItWas) {
  std::ofstream(output_) << "last month's export\n";
  options_.workspace_id = "ws_broken";
  EXPECT_EQ(Run(), kExitUnavailable);
  EXPECT_EQ(ReadFile(output_), "last month's export\n");
  EXPECT_FALSE(fs::exists(output_ + ".partial"));
}

TEST_F(UsageExportTest, RefusalsMapToExitCodesWithTheServersMessage) {
  options_.workspace_id = "ws_missing";
  EXPECT_EQ(Run(), kExitRefused);
  EXPECT_EQ(err_.str(), "keyward: not_found: no workspace ws_missing (HTTP 404)\n");
  options_.workspace_id = "ws_boom";
  EXPECT_EQ(Run(), kExitUnavailable);
  EXPECT_NE(err_.str().find("(HTTP 500)"), std::string::npos) << err_.str();
  options_.workspace_id = "ws_big";
  options_.root_key = "kw_root_wrong";
  EXPECT_EQ(Run(), kExitUnauthorized);
  EXPECT_NE(err_.str().find("(HTTP 401)"), std::string::npos) << err_.str();
  // A refused export touches no file.
  EXPECT_FALSE(fs::exists(output_));
  EXPECT_FALSE(fs::exists(output_ + ".partial"));
}

TEST_F(UsageExportTest, WhatCannotStartIsSaidBeforeAnyRequest) {
  options_.root_key = "";
  EXPECT_EQ(Run(), kExitUsage);
  EXPECT_NE(err_.str().find("KEYWARD_ROOT_KEY"), std::string::npos);
  options_.root_key = kRootKey;
  options_.output = (dir_ / "no-such-dir" / "usage.csv").string();
  EXPECT_EQ(Run(), kExitUsage);
  EXPECT_NE(err_.str().find("cannot write"), std::string::npos) << err_.str();
  std::lock_guard lock(g_mu);
  EXPECT_EQ(g_query, "");  // the server was not asked
}

TEST_F(UsageExportTest, AServerThatIsNotThereExits3) {
  const std::string url = server_.url();
  server_.StopAndWait();
  options_.url = url;
  EXPECT_EQ(Run(), kExitUnavailable);
  EXPECT_NE(err_.str().find("cannot reach keyward at"), std::string::npos) << err_.str();
  EXPECT_FALSE(fs::exists(output_ + ".partial"));
}

TEST_F(UsageExportTest, WithoutOutputTheExportGoesToStdout) {
  options_.output = "";
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  std::ostringstream err;
  ASSERT_EQ(RunUsageExport(options_, out, err, false), kExitOk) << err.str();
  std::string got(static_cast<size_t>(std::ftell(out)), '\0');
  std::rewind(out);
  ASSERT_EQ(std::fread(got.data(), 1, got.size(), out), got.size());
  std::fclose(out);
  EXPECT_TRUE(got == ExpectedCsv(kRows));
  EXPECT_NE(err.str().find(" to stdout in "), std::string::npos) << err.str();
}

TEST_F(UsageExportTest, OnATerminalAProgressLineIsRedrawnThenReplacedByTheSummary) {
  ASSERT_EQ(Run(/*progress_line=*/true), kExitOk) << err_.str();
  const std::string err = err_.str();
  EXPECT_TRUE(err.starts_with("\rkeyward: exported ")) << err;
  EXPECT_NE(err.find("…\r"), std::string::npos) << err;
  // The line is blanked, then the summary is a line of its own, the last.
  const size_t last_redraw = err.rfind('\r');
  ASSERT_NE(last_redraw, std::string::npos);
  EXPECT_EQ(err[last_redraw - 1], ' ') << err;
  const std::string summary = err.substr(last_redraw + 1);
  EXPECT_TRUE(summary.starts_with("keyward: exported 200,000 rows (")) << err;
  EXPECT_TRUE(summary.ends_with(" s\n")) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST(ExportProgressTest, CountsRowsAfterTheHeaderAndBytes) {
  ExportProgress csv(/*count_rows=*/true);
  csv.Add("day,key\n2026-11-01,");
  csv.Add("key_1\n2026-11-02,key_1\n");
  EXPECT_EQ(csv.Text(), "exported 2 rows (42 bytes)");
  ExportProgress json(/*count_rows=*/false);
  json.Add(std::string(14'200'000, ' '));
  EXPECT_EQ(json.Text(), "exported 14.2 MB");
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatCount(999), "999");
  EXPECT_EQ(FormatCount(120000), "120,000");
  EXPECT_EQ(FormatCount(1234567), "1,234,567");
  EXPECT_EQ(FormatBytes(1), "1 byte");
  EXPECT_EQ(FormatBytes(1500), "1.5 kB");
  EXPECT_EQ(FormatBytes(999'999), "1.0 MB");
  EXPECT_EQ(FormatBytes(3'000'000'000), "3.0 GB");
}

// The client never holds more than a piece: the body comes in many pieces
// of kPieceBytes at most.
TEST_F(UsageExportTest, TheStreamingClientHandsOverPiecesAsTheyArrive) {
  auto client = HttpClient::Create(server_.url(), kRootKey);
  ASSERT_TRUE(client.ok());
  size_t pieces = 0, largest = 0, total = 0;
  auto res = client->SendStreamed("GET", "/v1/usage/export?workspace_id=ws_big", "text/csv",
                                  [&](std::string_view piece) {
                                    ++pieces;
                                    largest = std::max(largest, piece.size());
                                    total += piece.size();
                                    return Status::Ok();
                                  });
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "");
  EXPECT_EQ(total, ExpectedCsv(kRows).size());
  EXPECT_LE(largest, HttpClient::kPieceBytes);
  EXPECT_GT(pieces, total / HttpClient::kPieceBytes);
  // A piece refused (a full disk) ends the transfer with that error.
  auto refused =
      client->SendStreamed("GET", "/v1/usage/export?workspace_id=ws_big", "text/csv",
                           [](std::string_view) { return Status::Internal("disk full"); });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "disk full");
}

}  // namespace
}  // namespace keyward
