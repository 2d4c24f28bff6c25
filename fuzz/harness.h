// What the fuzz targets share: a check that stops the run with a message,
// and an in-process keyward (SQLite store on a temporary directory, key
// service, verifier, Api) with a root key, a workspace and keys the inputs
// can name through placeholders.
#ifndef KEYWARD_FUZZ_HARNESS_H_
#define KEYWARD_FUZZ_HARNESS_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "testing/api_stack.h"

// A finding: prints what broke and aborts, so libFuzzer keeps the input and
// the corpus replay test fails.
#define FUZZ_CHECK(cond, what)                                                                  \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n  %s\n", __FILE__, __LINE__, #cond, \
                   std::string(what).c_str());                                                  \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

namespace keyward::fuzz {

// One keyward, built once per process and shared by every input.
class ApiHarness {
 public:
  static ApiHarness& Get();

  // The input with its placeholders replaced: @ROOT@ (a root key), @KEY@ (an
  // active API key's secret), @KID@ (its id), @WS@ (its workspace's id),
  // @VICTIM@ (the id of a key that revoke and rotate inputs may consume).
  std::string Expand(std::string_view input);

  // Runs one request through Api::Handle and checks what every answer must
  // be: no 5xx, a JSON body where the type says so, header lines without a
  // stray CR or LF, and no secret the request did not just create.
  ApiReply Handle(const HttpRequest& request);

  // After an input that may have revoked or rotated the victim key.
  void RefreshVictim();

  const std::string& root_key() const { return root_key_; }

 private:
  ApiHarness();
  std::string NewKey(const std::string& workspace_id, std::string* secret);

  std::string dir_;
  SystemClock clock_;
  keyward::testing::ApiStack stack_;
  std::string root_key_;
  std::string workspace_id_;
  std::string key_id_;
  std::string key_secret_;
  std::string victim_workspace_id_;
  std::string victim_id_;
  std::string victim_secret_;
};

}  // namespace keyward::fuzz

#endif  // KEYWARD_FUZZ_HARNESS_H_
