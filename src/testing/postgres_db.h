// A PostgreSQL database of a test's own, on the server that ctest's
// `postgres` fixture started (scripts/test-postgres), whose admin URL is in
// KEYWARD_TEST_POSTGRES_URL: created empty, dropped (connections and all) on
// scope exit. Not thread-safe; one per test.
#ifndef KEYWARD_TESTING_POSTGRES_DB_H_
#define KEYWARD_TESTING_POSTGRES_DB_H_

#include <libpq-fe.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <string>

namespace keyward::testing {

class PostgresDb {
 public:
  // The admin URL, or "" when the tests were started without a server.
  static std::string AdminUrl() {
    const char* url = std::getenv("KEYWARD_TEST_POSTGRES_URL");
    return url ? url : "";
  }

  PostgresDb() {
    admin_ = AdminUrl();
    if (admin_.empty()) {
      error_ =
          "KEYWARD_TEST_POSTGRES_URL is not set: run the tests through ctest (its postgres "
          "fixture runs scripts/test-postgres start), or export the URL that script prints";
      return;
    }
    static std::atomic<int> counter{0};
    std::random_device rd;
    name_ = "kw_test_" + std::to_string(rd()) + "_" + std::to_string(counter++);
    if (!Admin("CREATE DATABASE " + name_)) return;
    // The admin URL with its database replaced: the same server, this database.
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(admin_.c_str(), &err);
    if (opts == nullptr) {
      error_ = err ? err : "cannot parse KEYWARD_TEST_POSTGRES_URL";
      PQfreemem(err);
      return;
    }
    for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
      if (o->val == nullptr || std::string(o->keyword) == "dbname") continue;
      url_ += std::string(o->keyword) + "='" + o->val + "' ";
    }
    url_ += "dbname=" + name_;
    PQconninfoFree(opts);
  }
  ~PostgresDb() {
    if (!url_.empty()) Admin("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  }
  PostgresDb(const PostgresDb&) = delete;
  PostgresDb& operator=(const PostgresDb&) = delete;

  bool ok() const { return error_.empty() && !url_.empty(); }
  const std::string& error() const { return error_; }
  // A libpq connection string for this database.
  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }

 private:
  bool Admin(const std::string& sql) {
    PGconn* c = PQconnectdb(admin_.c_str());
    bool done = PQstatus(c) == CONNECTION_OK;
    if (done) {
      PGresult* r = PQexec(c, sql.c_str());
      done = PQresultStatus(r) == PGRES_COMMAND_OK;
      if (!done) error_ = PQresultErrorMessage(r);
      PQclear(r);
    } else {
      error_ = PQerrorMessage(c);
    }
    PQfinish(c);
    return done;
  }

  std::string admin_, name_, url_, error_;
};

}  // namespace keyward::testing

#endif  // KEYWARD_TESTING_POSTGRES_DB_H_
