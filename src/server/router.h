// Routes: method plus path template ("/v1/api-keys/{id}") to a handler
// index. Knows which methods a path allows, for 405 answers. A path is
// tried only against the routes that share its first two segments (and
// those whose first two segments hold a parameter), in the order they were
// added, so the answer is the one a walk through every route would give.
// Thread-safe: immutable once built.
#ifndef KEYWARD_SERVER_ROUTER_H_
#define KEYWARD_SERVER_ROUTER_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace keyward {

class Router {
 public:
  struct Route {
    std::string method;   // "GET"; "*" for any method
    std::string pattern;  // "/v1/api-keys/{id}"; a final "{rest*}" takes the rest
    std::string name;     // "GET /v1/api-keys/{id}", the metrics label
  };

  struct Match {
    int route = -1;           // index into routes(), -1 when none
    bool path_known = false;  // some route has this path (then 405, not 404)
    std::string allow;        // methods for the Allow header
    std::vector<std::string_view> params;
  };

  // Returns the new route's index.
  int Add(std::string method, std::string pattern);

  Match Find(std::string_view method, std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  static bool MatchPath(std::string_view pattern, std::string_view path,
                        std::vector<std::string_view>* params);
  // The path up to the end of its second segment: "/v1/api-keys" of
  // "/v1/api-keys/key_1/rotate", "/healthz" of "/healthz".
  static std::string_view Bucket(std::string_view path);
  std::vector<Route> routes_;
  // Per bucket, the routes a path of it may match: the bucket's own and
  // every route with a parameter in its bucket, by index.
  std::map<std::string, std::vector<int>, std::less<>> candidates_;
  std::vector<int> parameter_routes_;  // the latter alone
};

}  // namespace keyward

#endif  // KEYWARD_SERVER_ROUTER_H_
