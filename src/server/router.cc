#include "server/router.h"

namespace keyward {

std::string_view Router::Bucket(std::string_view path) {
  const size_t first = path.find('/', 1);
  if (first == std::string_view::npos) return path;
  const size_t second = path.find('/', first + 1);
  return second == std::string_view::npos ? path : path.substr(0, second);
}

int Router::Add(std::string method, std::string pattern) {
  const int index = static_cast<int>(routes_.size());
  const std::string bucket(Bucket(pattern));
  if (bucket.find('{') != std::string::npos) {
    // Any path may match it: a candidate of every bucket, now and later.
    parameter_routes_.push_back(index);
    for (auto& [name, list] : candidates_) list.push_back(index);
  } else {
    auto [it, added] = candidates_.try_emplace(bucket, parameter_routes_);
    it->second.push_back(index);
  }
  std::string name = method == "*" ? pattern : method + " " + pattern;
  routes_.push_back({std::move(method), std::move(pattern), std::move(name)});
  return index;
}

bool Router::MatchPath(std::string_view pattern, std::string_view path,
                       std::vector<std::string_view>* params) {
  params->clear();
  size_t pi = 0, xi = 0;
  while (pi < pattern.size()) {
    if (pattern[pi] == '{') {
      const size_t close = pattern.find('}', pi);
      const bool rest = pattern.substr(pi, close - pi).ends_with("*");
      size_t end = rest ? path.size() : path.find('/', xi);
      if (end == std::string_view::npos) end = path.size();
      if (end == xi && !rest) return false;  // an empty segment is no id
      params->push_back(path.substr(xi, end - xi));
      xi = end;
      pi = close + 1;
      continue;
    }
    if (xi >= path.size() || path[xi] != pattern[pi]) return false;
    ++pi;
    ++xi;
  }
  return xi == path.size();
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match m;
  std::vector<std::string_view> params;
  // A route matches only a path that starts with its literal text up to
  // its first parameter, so a route of another bucket cannot match.
  const auto bucket = candidates_.find(Bucket(path));
  const std::vector<int>& candidates =
      bucket == candidates_.end() ? parameter_routes_ : bucket->second;
  for (const int c : candidates) {
    const size_t i = static_cast<size_t>(c);
    if (!MatchPath(routes_[i].pattern, path, &params)) continue;
    m.path_known = true;
    if (routes_[i].method == "*" || routes_[i].method == method) {
      if (m.route < 0) {
        m.route = static_cast<int>(i);
        m.params = params;
      }
    }
    if (m.allow.find(routes_[i].method) == std::string::npos) {
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += routes_[i].method;
    }
  }
  return m;
}

}  // namespace keyward
