#include "fuzz/harness.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

namespace keyward::fuzz {
namespace {

std::string MakeTempDir() {
  // tmpfs when there is one: every write is a durable SQLite commit.
  const std::filesystem::path base =
      std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
  std::string tmpl = (base / "keyward-fuzz-XXXXXX").string();
  FUZZ_CHECK(mkdtemp(tmpl.data()) != nullptr, "cannot create a temporary directory");
  return tmpl;
}

void ReplaceAll(std::string* s, std::string_view from, std::string_view to) {
  for (size_t at = s->find(from); at != std::string::npos; at = s->find(from, at + to.size())) {
    s->replace(at, from.size(), to);
  }
}

bool IsCreatingRoute(const HttpRequest& req) {
  const std::string_view target(req.target().data(), req.target().size());
  return req.method() == http::verb::post &&
         (target.starts_with("/v1/api-keys") || target.starts_with("/v1/workspaces"));
}

}  // namespace

ApiHarness& ApiHarness::Get() {
  static ApiHarness* harness = new ApiHarness();  // lives as long as the process
  return *harness;
}

ApiHarness::ApiHarness()
    : dir_(MakeTempDir()), stack_(dir_, &clock_, {"live", "test"}, [](Config* c) {
        // Inputs send bad keys from one address all day; a 429 would hide
        // the code behind it.
        c->failed_verifications_per_ip = 0;
      }) {
  static std::string dir_to_remove;
  dir_to_remove = dir_;
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(dir_to_remove, ec);
  });

  const Actor actor{"fuzz", ""};
  auto root = stack_.service->EnsureRootKey(actor);
  FUZZ_CHECK(root.ok() && root->has_value(), "no root key");
  root_key_ = (*root)->secret;
  auto ws = stack_.service->CreateWorkspace("fuzz", 100000, actor);
  FUZZ_CHECK(ws.ok(), ws.status().ToString());
  workspace_id_ = ws->id;
  key_id_ = NewKey(workspace_id_, &key_secret_);
  // The victims live in a workspace no input can name, so that no input can
  // lower its limit under them.
  auto victims = stack_.service->CreateWorkspace("fuzz-victims", 100000, actor);
  FUZZ_CHECK(victims.ok(), victims.status().ToString());
  victim_workspace_id_ = victims->id;
  victim_id_ = NewKey(victim_workspace_id_, &victim_secret_);
}

std::string ApiHarness::NewKey(const std::string& workspace_id, std::string* secret) {
  NewKeyParams p;
  p.workspace_id = workspace_id;
  p.environment = "live";
  p.name = "fuzz";
  p.scopes = {"read", "write"};
  auto key = stack_.service->CreateKey(std::move(p), Actor{"fuzz", ""});
  FUZZ_CHECK(key.ok(), key.status().ToString());
  *secret = key->secret;
  return key->record.id;
}

std::string ApiHarness::Expand(std::string_view input) {
  std::string s(input);
  ReplaceAll(&s, "@ROOT@", root_key_);
  ReplaceAll(&s, "@KEY@", key_secret_);
  ReplaceAll(&s, "@KID@", key_id_);
  ReplaceAll(&s, "@WS@", workspace_id_);
  ReplaceAll(&s, "@VICTIM@", victim_id_);
  return s;
}

void ApiHarness::RefreshVictim() {
  auto victim = stack_.service->GetKey(victim_id_);
  FUZZ_CHECK(victim.ok(), victim.status().ToString());
  if (!victim->revoked_at && !victim->expires_at) return;
  victim_id_ = NewKey(victim_workspace_id_, &victim_secret_);
}

ApiReply ApiHarness::Handle(const HttpRequest& request) {
  ApiReply reply = stack_.api->Handle(request, "127.0.0.1");
  const ApiResponse& res = reply.response;
  const std::string what = std::string(request.method_string()) + " " +
                           std::string(request.target()) + " -> " + std::to_string(res.status) +
                           " " + res.body.substr(0, 300);
  static const bool verbose = std::getenv("KEYWARD_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "  %s\n", what.c_str());
  FUZZ_CHECK(res.status >= 200 && res.status < 600, what);
  FUZZ_CHECK(res.status < 500, what);
  if (res.content_type.starts_with("application/json")) {
    FUZZ_CHECK(nlohmann::json::accept(res.body), "not JSON: " + what);
  }
  // Header lines: "Name: value\r\n", no CR or LF anywhere else.
  std::string_view headers = res.headers;
  while (!headers.empty()) {
    const size_t end = headers.find("\r\n");
    FUZZ_CHECK(end != std::string_view::npos, "an unterminated header line: " + what);
    const std::string_view line = headers.substr(0, end);
    FUZZ_CHECK(line.find_first_of("\r\n") == std::string_view::npos,
               "CR or LF inside a header: " + what);
    FUZZ_CHECK(line.find(": ") != std::string_view::npos && line.find(": ") > 0,
               "a header line without a name: " + what);
    headers.remove_prefix(end + 2);
  }
  // Secrets are shown once, by the call that creates them; never echoed.
  FUZZ_CHECK(res.body.find(root_key_) == std::string::npos, "the root key in a body: " + what);
  FUZZ_CHECK(res.headers.find(root_key_) == std::string::npos, "the root key in a header");
  FUZZ_CHECK(res.body.find(key_secret_) == std::string::npos, "an API key in a body: " + what);
  FUZZ_CHECK(res.headers.find(key_secret_) == std::string::npos, "an API key in a header");
  FUZZ_CHECK(res.body.find(victim_secret_) == std::string::npos, "an API key in a body: " + what);
  FUZZ_CHECK(res.headers.find(victim_secret_) == std::string::npos, "an API key in a header");
  if (!IsCreatingRoute(request)) {
    FUZZ_CHECK(res.body.find("\"key\":\"sk_") == std::string::npos,
               "a secret outside create and rotate: " + what);
  }
  return reply;
}

}  // namespace keyward::fuzz
