// A throwaway redis-server for tests: started on a Unix socket in its own
// temporary directory (no TCP port, no persistence), waited for until it
// answers PING, and killed on Stop or destruction. Stop and Start again to
// simulate an outage and a recovery on the same socket.
// The binary is $KEYWARD_REDIS_SERVER or redis-server on PATH (Debian's
// redis-server package; scripts/install-deps installs it).
// The server is killed with the thread that started it (PR_SET_PDEATHSIG), so
// a test that crashes leaves none behind: start it from the test's thread.
// Not thread-safe; one per test.
#ifndef KEYWARD_TESTING_REDIS_SERVER_H_
#define KEYWARD_TESTING_REDIS_SERVER_H_

#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "testing/temp_dir.h"

extern char** environ;

namespace keyward::testing {

class RedisServer {
 public:
  RedisServer() = default;
  ~RedisServer() { Stop(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts redis-server (with extra_args appended, e.g. --requirepass) and
  // waits (up to 10 s) until it answers. False, with why in error(), when it
  // cannot be started.
  bool Start(const std::vector<std::string>& extra_args = {}) {
    if (pid_ > 0) return true;
    const char* bin = std::getenv("KEYWARD_REDIS_SERVER");
    const std::string binary = bin != nullptr && *bin != '\0' ? bin : "redis-server";
    std::filesystem::remove(socket_path());
    std::vector<std::string> args = {binary,
                                     "--port",
                                     "0",
                                     "--unixsocket",
                                     socket_path(),
                                     "--unixsocketperm",
                                     "700",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--daemonize",
                                     "no",
                                     "--dir",
                                     dir_.path().string(),
                                     "--logfile",
                                     dir_.File("redis.log")};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string path = FindBinary(binary);
    if (path.empty()) {
      error_ = "cannot find " + binary + " (apt-get install redis-server)";
      return false;
    }
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
      error_ = "fork failed";
      return false;
    }
    if (pid == 0) {
      // Dies with the test, even one that crashed before its destructor ran.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      execve(path.c_str(), argv.data(), environ);
      _exit(127);
    }
    pid_ = pid;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Answers()) return true;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        error_ = binary + " exited; its log: " + ReadFileBytes(dir_.File("redis.log"));
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    error_ = binary + " did not answer PING within 10 s";
    Stop();
    return false;
  }

  // Kills the server at once (SIGKILL, as a crash would) and reaps it.
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  bool running() const { return pid_ > 0; }
  std::string socket_path() const { return dir_.File("redis.sock"); }
  std::string url() const { return "unix://" + socket_path(); }
  const std::string& error() const { return error_; }

 private:
  // name itself when it holds a '/', else the first executable of that name
  // on PATH; "" when there is none.
  static std::string FindBinary(const std::string& name) {
    if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
    const char* path = std::getenv("PATH");
    std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
    size_t start = 0;
    while (start <= dirs.size()) {
      size_t end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      std::string candidate = dirs.substr(start, end - start) + "/" + name;
      if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
      start = end + 1;
    }
    // Debian installs it in /usr/bin, which a trimmed PATH may lack.
    return access(("/usr/bin/" + name).c_str(), X_OK) == 0 ? "/usr/bin/" + name : "";
  }

  // Whether the socket answers PING with +PONG (or -NOAUTH, when a password
  // is required: the server is up).
  bool Answers() const {
    const std::string path = socket_path();
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    bool ok = false;
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        send(fd, "PING\r\n", 6, MSG_NOSIGNAL) == 6) {
      char buf[16] = {};
      ok = recv(fd, buf, sizeof buf - 1, 0) >= 5 &&
           (std::strncmp(buf, "+PONG", 5) == 0 || std::strncmp(buf, "-NOAUTH", 7) == 0);
    }
    close(fd);
    return ok;
  }

  TempDir dir_;
  pid_t pid_ = -1;
  std::string error_;
};

}  // namespace keyward::testing

#endif  // KEYWARD_TESTING_REDIS_SERVER_H_
