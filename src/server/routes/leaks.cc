// Leak reports. POST /v1/leaks (root keys) takes keys someone found in
// public; POST /v1/secret-scanning/github takes GitHub's secret-scanning
// partner alerts, authenticated not by a key but by GitHub's ECDSA P-256
// signature over the raw body (Github-Public-Key-Identifier names one of
// the public keys configured in [[leaks.github_keys]]). Both check every
// string as a key of this deployment and act as [leaks] action says
// (KeyService::ReportLeaks); neither ever echoes a key.
// Thread-safe: handlers run on any serving thread at once.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "core/key_service.h"
#include "core/sha256.h"
#include "server/api.h"
#include "server/auth.h"
#include "server/routes/routes.h"
#include "webhooks/signing.h"

namespace keyward {
namespace {

std::string Hex(const KeyHash& h) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(h.size() * 2);
  for (uint8_t b : h) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

LeakReport ReportWith(const RouteContext& ctx, std::string source, std::string url) {
  LeakReport r;
  r.source = std::move(source);
  r.url = std::move(url);
  r.policy = ctx.options->leak_policy;
  return r;
}

void ReportLeaks(Call& call, const RouteContext& ctx) {
  // Not WriteBody: this body holds keys by design.
  auto body = call.Body(false);
  if (!body) return;
  FieldReader f(*body);
  std::optional<std::vector<std::string>> keys;
  std::optional<std::string> source, url;
  if (!call.Check(f.OnlyFields({"keys", "source", "url"})) ||
      !call.Check(f.StringList("keys", &keys)) || !call.Check(f.String("source", &source)) ||
      !call.Check(f.String("url", &url))) {
    return;
  }
  if (!keys) return call.Error(Code::kInvalidRequest, "keys is required");
  auto results = ctx.service->ReportLeaks(
      *keys, ReportWith(ctx, source.value_or(""), url.value_or("")), call.actor());
  if (!results.ok()) return call.Fail(results.status());
  Json data = Json::array();
  for (const LeakResult& r : *results) {
    Json j = {{"short_prefix", r.short_prefix.empty() ? Json(nullptr) : Json(r.short_prefix)},
              {"label", r.true_positive ? "true_positive" : "false_positive"},
              {"action", r.action}};
    if (!r.key_id.empty()) j["key_id"] = r.key_id;
    if (!r.reason.empty()) j["reason"] = r.reason;
    data.push_back(std::move(j));
  }
  call.SendJson(200, {{"results", std::move(data)}});
}

// Whether signature_b64 (a DER ECDSA signature, base64) is pem's signature
// of body with SHA-256.
bool VerifiesWith(const std::string& pem, std::string_view signature_b64, std::string_view body) {
  auto signature = Base64Decode(signature_b64);
  if (!signature) return false;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return false;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (!key) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!md || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(signature->data()),
                          signature->size(), reinterpret_cast<const unsigned char*>(body.data()),
                          body.size()) == 1;
}

void GithubSecretScanning(Call& call, const RouteContext& ctx) {
  const std::string_view key_id = Header(call.req, "Github-Public-Key-Identifier");
  const std::string_view signature = Header(call.req, "Github-Public-Key-Signature");
  if (key_id.empty() || signature.empty()) {
    return call.Error(Code::kUnauthorized,
                      "Github-Public-Key-Identifier and Github-Public-Key-Signature are required");
  }
  const std::string* pem = nullptr;
  for (const auto& k : ctx.options->github_keys) {
    if (k.key_identifier == key_id) pem = &k.pem;
  }
  if (pem == nullptr || !VerifiesWith(*pem, signature, call.req.body())) {
    // One answer for an unknown key and a bad signature: which one is no
    // business of a forger's.
    return call.Error(Code::kUnauthorized, "the signature does not verify");
  }
  const Json body = Json::parse(call.req.body(), nullptr, /*allow_exceptions=*/false);
  if (!body.is_array() || body.empty()) {
    return call.Error(Code::kInvalidRequest,
                      "the body must be a JSON array of {token, type, url, source}");
  }
  if (body.size() > kMaxLeakReportKeys) {
    return call.Error(Code::kInvalidRequest,
                      "at most " + std::to_string(kMaxLeakReportKeys) + " tokens per request");
  }
  // Every entry is checked before any is acted on: a refused request
  // changes nothing.
  for (const Json& match : body) {
    if (!match.is_object() || !match.contains("token") || !match["token"].is_string()) {
      return call.Error(Code::kInvalidRequest, "every entry needs a string token");
    }
  }
  std::vector<LeakResult> results;
  for (const Json& match : body) {
    auto text = [&](const char* field) {
      return match.contains(field) && match[field].is_string() ? match[field].get<std::string>()
                                                               : std::string();
    };
    const std::string source = text("source");
    auto r = ctx.service->ReportLeaks(
        {match["token"].get<std::string>()},
        ReportWith(ctx, "github" + (source.empty() ? "" : ":" + source), text("url")),
        Actor{"github", call.client_ip});
    if (!r.ok()) return call.Fail(r.status());
    results.push_back((*r)[0]);
  }
  Json out = Json::array();
  for (size_t i = 0; i < body.size(); ++i) {
    const Json& match = body[i];
    out.push_back({{"token_hash", Hex(Sha256(match["token"].get<std::string>()))},
                   {"token_type",
                    match.contains("type") && match["type"].is_string() ? match["type"] : Json("")},
                   {"label", results[i].true_positive ? "true_positive" : "false_positive"}});
  }
  call.SendJson(200, out);
}

}  // namespace

void RegisterLeakRoutes(RouteTable& table) {
  table.Add({"POST", "/v1/leaks", "reportLeaks", Access::kRoot, ReportLeaks});
  table.Add({"POST", "/v1/secret-scanning/github", "githubSecretScanning", Access::kPublic,
             GithubSecretScanning});
}

}  // namespace keyward
