#include "core/cidr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace keyward {
namespace {

bool IsMappedV4(const IpAddress& ip) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(ip.bytes.data(), kPrefix, 12) == 0;
}

std::string Format(const IpAddress& ip) {
  if (IsMappedV4(ip)) {
    // What inet_ntop writes, without its sprintf (once per request); at
    // most 15 characters, so no allocation.
    std::string out;
    for (size_t i = 12; i < 16; ++i) {
      if (i > 12) out += '.';
      const unsigned v = ip.bytes[i];
      if (v >= 100) out += static_cast<char>('0' + v / 100);
      if (v >= 10) out += static_cast<char>('0' + v / 10 % 10);
      out += static_cast<char>('0' + v % 10);
    }
    return out;
  }
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, ip.bytes.data(), buf, sizeof buf);
  return buf;
}

IpAddress Masked(const IpAddress& ip, int bits) {
  IpAddress out = ip;
  for (int i = 0; i < 16; ++i) {
    const int keep = bits - i * 8;
    if (keep >= 8) continue;
    out.bytes[i] &= keep <= 0 ? 0 : static_cast<uint8_t>(0xFF << (8 - keep));
  }
  return out;
}

}  // namespace

std::string FormatIpAddress(const IpAddress& ip) { return Format(ip); }

std::optional<IpAddress> ParseIpAddress(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  // inet_pton reads up to a NUL: "10.0.0.1\0junk" must not pass as 10.0.0.1.
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress ip;
  if (text.find(':') == std::string_view::npos) {
    in_addr v4;
    if (inet_pton(AF_INET, buf, &v4) != 1) return std::nullopt;
    ip.bytes[10] = ip.bytes[11] = 0xff;
    std::memcpy(ip.bytes.data() + 12, &v4, 4);
  } else if (inet_pton(AF_INET6, buf, ip.bytes.data()) != 1) {
    return std::nullopt;
  }
  return ip;
}

Result<CidrBlock> CidrBlock::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string_view addr_text = text.substr(0, slash);
  const auto addr = ParseIpAddress(addr_text);
  if (!addr) {
    return Status::InvalidRequest("\"" + std::string(text) +
                                  "\" is not an IP address or CIDR block");
  }
  const bool v4 = addr_text.find(':') == std::string_view::npos;
  const int max_bits = v4 ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    const std::string_view bits_text = text.substr(slash + 1);
    const auto [ptr, ec] =
        std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
    if (bits_text.empty() || ec != std::errc() || ptr != bits_text.data() + bits_text.size() ||
        bits < 0 || bits > max_bits) {
      return Status::InvalidRequest("\"" + std::string(text) + "\" has a prefix length outside 0-" +
                                    std::to_string(max_bits));
    }
  }
  CidrBlock block;
  block.prefix_bits_ = v4 ? bits + 96 : bits;
  block.network_ = Masked(*addr, block.prefix_bits_);
  if (!(block.network_ == *addr)) {
    return Status::InvalidRequest("\"" + std::string(text) + "\" has host bits set; did you mean " +
                                  block.ToString() + "?");
  }
  return block;
}

bool CidrBlock::Contains(const IpAddress& ip) const { return Masked(ip, prefix_bits_) == network_; }

bool CidrBlock::Contains(const CidrBlock& other) const {
  return other.prefix_bits_ >= prefix_bits_ && Contains(other.network_);
}

std::string CidrBlock::ToString() const {
  const bool v4 = IsMappedV4(network_) && prefix_bits_ >= 96;
  return Format(network_) + "/" + std::to_string(v4 ? prefix_bits_ - 96 : prefix_bits_);
}

}  // namespace keyward
