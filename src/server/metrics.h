// Prometheus metrics: requests by route and status, verifications by code,
// and a request latency histogram by route. Counters are relaxed atomics in
// fixed arrays, so recording takes no lock; each array is kept in kStripes
// copies, a thread counting into one of its own choosing, so that serving
// threads do not pass the same cache lines back and forth on every request.
// A scrape sums the copies.
// Thread-safe.
#ifndef KEYWARD_SERVER_METRICS_H_
#define KEYWARD_SERVER_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/code.h"

namespace keyward {

class Metrics {
 public:
  // route_names[i] labels route i; one more slot counts unmatched requests.
  explicit Metrics(std::vector<std::string> route_names);

  void RecordRequest(size_t route, int status, double seconds);
  void RecordVerification(Code code);

  // The text exposition format, version 0.0.4.
  std::string Render() const;

  size_t unmatched_route() const { return route_names_.size() - 1; }

  static constexpr std::array<double, 14> kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};
  static constexpr size_t kStripes = 4;  // copies of the counters
  static constexpr std::array<int, 17> kStatuses = {200, 201, 204, 400, 401, 403, 404, 405, 408,
                                                    409, 413, 415, 422, 429, 431, 500, 503};

 private:
  // The copy of the counters this thread counts into.
  static size_t Stripe();
  struct alignas(64) RouteCounters {
    std::array<std::atomic<uint64_t>, kStatuses.size() + 1> by_status{};  // last: other
    std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets{};     // last: +Inf
    std::atomic<uint64_t> sum_micros{0};
    std::atomic<uint64_t> count{0};
  };
  std::vector<std::string> route_names_;
  std::unique_ptr<RouteCounters[]> routes_;  // [stripe * routes + route]
  struct alignas(64) CodeCounters {
    std::array<std::atomic<uint64_t>, kCodeCount> by_code{};
  };
  std::array<CodeCounters, kStripes> verifications_{};
};

// Appends one unlabelled sample with its HELP and TYPE lines (type:
// "counter" or "gauge") to out, in the text exposition format.
void AppendMetric(std::string* out, const char* name, const char* type, const char* help,
                  uint64_t value);

}  // namespace keyward

#endif  // KEYWARD_SERVER_METRICS_H_
