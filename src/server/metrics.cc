#include "server/metrics.h"

#include <cstdio>

#include "core/thread_stripe.h"

namespace keyward {

Metrics::Metrics(std::vector<std::string> route_names) : route_names_(std::move(route_names)) {
  route_names_.push_back("unmatched");
  routes_ = std::make_unique<RouteCounters[]>(route_names_.size() * kStripes);
}

namespace {

// A counter summed over its stripes; counter(t) names stripe t's copy.
template <typename F>
uint64_t Sum(F counter) {
  uint64_t v = 0;
  for (size_t t = 0; t < Metrics::kStripes; ++t) v += counter(t).load(std::memory_order_relaxed);
  return v;
}

}  // namespace

size_t Metrics::Stripe() { return ThreadStripe() % kStripes; }

void Metrics::RecordRequest(size_t route, int status, double seconds) {
  if (route >= route_names_.size()) route = unmatched_route();
  RouteCounters& r = routes_[Stripe() * route_names_.size() + route];
  size_t si = kStatuses.size();
  for (size_t i = 0; i < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) {
      si = i;
      break;
    }
  }
  r.by_status[si].fetch_add(1, std::memory_order_relaxed);
  size_t bi = kBuckets.size();
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      bi = i;
      break;
    }
  }
  r.buckets[bi].fetch_add(1, std::memory_order_relaxed);
  r.sum_micros.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
  r.count.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::RecordVerification(Code code) {
  verifications_[Stripe()].by_code[static_cast<size_t>(code)].fetch_add(1,
                                                                        std::memory_order_relaxed);
}

std::string Metrics::Render() const {
  std::string out;
  char line[512];
  out += "# HELP keyward_http_requests_total HTTP requests answered, by route and status.\n";
  out += "# TYPE keyward_http_requests_total counter\n";
  for (size_t r = 0; r < route_names_.size(); ++r) {
    for (size_t s = 0; s <= kStatuses.size(); ++s) {
      const uint64_t v = Sum([&](size_t t) -> const std::atomic<uint64_t>& {
        return routes_[t * route_names_.size() + r].by_status[s];
      });
      if (v == 0) continue;
      const std::string status = s < kStatuses.size() ? std::to_string(kStatuses[s]) : "other";
      std::snprintf(line, sizeof line,
                    "keyward_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                    route_names_[r].c_str(), status.c_str(), static_cast<unsigned long long>(v));
      out += line;
    }
  }
  out += "# HELP keyward_verifications_total Key verifications, by answer code.\n";
  out += "# TYPE keyward_verifications_total counter\n";
  for (int c = 0; c < kCodeCount; ++c) {
    const Code code = static_cast<Code>(c);
    if (!IsVerifyCode(code) && code != Code::kUnavailable) continue;
    std::snprintf(
        line, sizeof line, "keyward_verifications_total{code=\"%s\"} %llu\n",
        std::string(CodeName(code)).c_str(),
        static_cast<unsigned long long>(Sum([&](size_t t) -> const std::atomic<uint64_t>& {
          return verifications_[t].by_code[static_cast<size_t>(c)];
        })));
    out += line;
  }
  out +=
      "# HELP keyward_http_request_duration_seconds Time from a whole request read to its answer "
      "written.\n";
  out += "# TYPE keyward_http_request_duration_seconds histogram\n";
  for (size_t r = 0; r < route_names_.size(); ++r) {
    auto of = [&](size_t t) -> const RouteCounters& {
      return routes_[t * route_names_.size() + r];
    };
    const uint64_t count =
        Sum([&](size_t t) -> const std::atomic<uint64_t>& { return of(t).count; });
    if (count == 0) continue;
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += Sum([&](size_t t) -> const std::atomic<uint64_t>& { return of(t).buckets[b]; });
      char le[32];
      if (b < kBuckets.size()) {
        std::snprintf(le, sizeof le, "%g", kBuckets[b]);
      } else {
        std::snprintf(le, sizeof le, "+Inf");
      }
      std::snprintf(line, sizeof line,
                    "keyward_http_request_duration_seconds_bucket{route=\"%s\",le=\"%s\"} %llu\n",
                    route_names_[r].c_str(), le, static_cast<unsigned long long>(cumulative));
      out += line;
    }
    std::snprintf(line, sizeof line,
                  "keyward_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                  "keyward_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                  route_names_[r].c_str(),
                  static_cast<double>(Sum(
                      [&](size_t t) -> const std::atomic<uint64_t>& { return of(t).sum_micros; })) /
                      1e6,
                  route_names_[r].c_str(), static_cast<unsigned long long>(count));
    out += line;
  }
  return out;
}

void AppendMetric(std::string* out, const char* name, const char* type, const char* help,
                  uint64_t value) {
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
          name + " " + std::to_string(value) + "\n";
}

}  // namespace keyward
