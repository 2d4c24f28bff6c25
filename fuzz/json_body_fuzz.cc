// The JSON request body of every route that reads one, through the real Api
// with a root key: the first byte picks the route, the rest is the body
// (placeholders such as @WS@ expanded, see harness.h). Every answer must be
// a 2xx or a clear 4xx, never a 5xx or a crash (checked by the harness).
#include <cstdint>
#include <string>

#include "fuzz/harness.h"

namespace {

struct Route {
  keyward::http::verb method;
  const char* target;
};

constexpr Route kRoutes[] = {
    {keyward::http::verb::post, "/v1/workspaces"},
    {keyward::http::verb::patch, "/v1/workspaces/@WS@"},
    {keyward::http::verb::post, "/v1/api-keys"},
    {keyward::http::verb::patch, "/v1/api-keys/@KID@"},
    {keyward::http::verb::delete_, "/v1/api-keys/@VICTIM@"},
    {keyward::http::verb::post, "/v1/api-keys/@VICTIM@/rotate"},
    {keyward::http::verb::post, "/v1/keys/verify"},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto& harness = keyward::fuzz::ApiHarness::Get();
  const Route& route = kRoutes[data[0] % std::size(kRoutes)];
  keyward::HttpRequest req{route.method, harness.Expand(route.target), 11};
  req.set(keyward::http::field::authorization, "Bearer " + harness.root_key());
  req.set(keyward::http::field::content_type, "application/json");
  req.body() = harness.Expand(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  req.prepare_payload();
  const keyward::ApiReply reply = harness.Handle(req);
  // No JSON text holds a raw NUL: such a body is refused, whatever follows it.
  if (req.body().find('\0') != std::string::npos) {
    FUZZ_CHECK(reply.response.status == 400, "a body with a NUL was taken: " + reply.response.body);
  }
  harness.RefreshVictim();
  return 0;
}
