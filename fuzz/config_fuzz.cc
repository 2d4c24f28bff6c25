// The TOML configuration. A document that loads is a configuration serve
// can start with: its key format can be built and it accepts only
// environments it knows.
#include <algorithm>
#include <cstdint>
#include <string>

#include "core/key_format.h"
#include "fuzz/harness.h"
#include "server/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto config = keyward::ParseConfigText(text, "fuzz.toml");
  if (!config.ok()) {
    FUZZ_CHECK(!config.status().message().empty(), "a refusal without a message");
    return 0;
  }
  FUZZ_CHECK(config->threads >= 1 && config->threads <= 1024, text);
  FUZZ_CHECK(keyward::KeyFormat::Create(config->product_prefix, config->environments).ok(), text);
  for (const auto& env : config->accept_environments) {
    FUZZ_CHECK(std::find(config->environments.begin(), config->environments.end(), env) !=
                   config->environments.end(),
               "accepts an unknown environment: " + text);
  }
  FUZZ_CHECK(config->cache_max_keys > 0, text);
  return 0;
}
