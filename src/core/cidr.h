// IP addresses and CIDR blocks for IP allow-lists, IPv4 and IPv6 alike.
// IPv4 is held as IPv4-mapped IPv6 (::ffff:a.b.c.d), so "10.0.0.0/8" also
// contains a client that a dual-stack socket reports as ::ffff:10.1.2.3.
// Thread-safe: plain values.
#ifndef KEYWARD_CORE_CIDR_H_
#define KEYWARD_CORE_CIDR_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace keyward {

struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool operator==(const IpAddress&) const = default;
};

// "203.0.113.7", "2001:db8::1", "::ffff:10.0.0.1"; also "[2001:db8::1]".
// Strict: no leading zeros ("010.1.2.3"), no zone ("fe80::1%eth0"), no
// short forms ("10.1"), no spaces; such text is not an address.
std::optional<IpAddress> ParseIpAddress(std::string_view text);

// The canonical text of an address: "10.1.2.3" for ::ffff:10.1.2.3.
std::string FormatIpAddress(const IpAddress& ip);

class CidrBlock {
 public:
  // "10.0.0.0/8", "2001:db8::/32", or a bare address (a block of one).
  // Refuses host bits set past the prefix ("10.0.0.1/8"), naming the block
  // that was probably meant.
  static Result<CidrBlock> Parse(std::string_view text);

  bool Contains(const IpAddress& ip) const;
  // Whether every address of other is in this block.
  bool Contains(const CidrBlock& other) const;

  // Canonical text: "10.0.0.0/8", "2001:db8::/32".
  std::string ToString() const;

 private:
  IpAddress network_;
  int prefix_bits_ = 0;  // 0..128, counted on the 16-byte form
};

}  // namespace keyward

#endif  // KEYWARD_CORE_CIDR_H_
