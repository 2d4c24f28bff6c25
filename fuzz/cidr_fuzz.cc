// IP addresses and CIDR blocks, as IP allow-lists hold them. A block that
// parses prints a canonical form that parses to itself and contains its
// own network address; an address that parses is a block of one.
#include <cstdint>
#include <string>

#include "core/cidr.h"
#include "fuzz/harness.h"

using keyward::CidrBlock;
using keyward::ParseIpAddress;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto block = CidrBlock::Parse(text);
  if (block.ok()) {
    const std::string canonical = block->ToString();
    auto again = CidrBlock::Parse(canonical);
    FUZZ_CHECK(again.ok(), text + " -> " + canonical + " does not parse");
    FUZZ_CHECK(again->ToString() == canonical, text + " -> " + canonical);
    const auto network = ParseIpAddress(canonical.substr(0, canonical.find('/')));
    FUZZ_CHECK(network.has_value(), canonical);
    FUZZ_CHECK(block->Contains(*network), canonical + " does not contain its network");
  } else {
    FUZZ_CHECK(!block.status().message().empty(), "a refusal without a message: " + text);
  }
  const auto ip = ParseIpAddress(text);
  if (ip) {
    auto one = CidrBlock::Parse(text);
    FUZZ_CHECK(one.ok(), text + " is an address but not a block");
    FUZZ_CHECK(one->Contains(*ip), text);
  }
  return 0;
}
