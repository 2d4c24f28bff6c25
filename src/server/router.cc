#include "server/router.h"

namespace keyward {

int Router::Add(std::string method, std::string pattern) {
  std::string name = method == "*" ? pattern : method + " " + pattern;
  routes_.push_back({std::move(method), std::move(pattern), std::move(name)});
  return static_cast<int>(routes_.size()) - 1;
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
  for (size_t i = 0; i < routes_.size(); ++i) {
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
