// `keyward scan`: files and directories are read (small files with read(),
// large ones mapped) and handed whole to KeyScanner; a repository's history
// comes from git itself, spawned without a shell: `rev-list --all
// --objects` piped into `cat-file --batch-check` lists every reachable blob
// once, `cat-file --batch` hands their contents over, and only when
// something was found does one `log --raw` pass name the commit that
// brought each such blob in.
#include "cli/scan.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "cli/exit_codes.h"
#include "cli/http_client.h"
#include "cli/progress.h"
#include "core/key_scanner.h"
#include "core/redact.h"
#include "server/config.h"

extern char** environ;

namespace keyward {
namespace {

using nlohmann::json;

// Files up to this size are read into one reused buffer; larger ones are
// mapped, which saves the copy but costs a mapping per file.
constexpr uint64_t kReadLimit = 1 << 20;
// Keys per POST /v1/leaks.
constexpr size_t kReportBatch = 100;

std::string JsonLine(const json& j) {
  // Paths are bytes, not always UTF-8: replaced, never a throw.
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

// ---- child processes (git) ----

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    Reset();
    fd_ = std::exchange(o.fd_, -1);
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// A pipe whose ends a child does not inherit unless given them as 0 or 1.
Status MakePipe(Fd* read_end, Fd* write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::Internal("pipe: " + ErrnoText());
  *read_end = Fd(fds[0]);
  *write_end = Fd(fds[1]);
  return Status::Ok();
}

// Starts args[0] (from PATH) with stdin in_fd (-1: /dev/null) and stdout
// out_fd; stderr is ours, so that git's own messages reach the user.
Result<pid_t> Spawn(const std::vector<std::string>& args, int in_fd, int out_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (in_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, in_fd, 0);
  } else {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  // We ignore SIGPIPE (a writer to a git that died must see EPIPE); git
  // gets the default back.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::InvalidRequest("cannot run " + args[0] + ": " + std::strerror(rc));
  return pid;
}

// Waits for pid; an exit other than 0 is an error naming what.
Status Wait(pid_t pid, const std::string& what) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Status::Internal("waitpid: " + ErrnoText());
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  return Status::InvalidRequest(
      what + (WIFEXITED(status) ? " exited " + std::to_string(WEXITSTATUS(status))
                                : " was killed by signal " + std::to_string(WTERMSIG(status))));
}

// Buffered reads from a pipe.
class FdReader {
 public:
  explicit FdReader(int fd) : fd_(fd), buf_(1 << 20) {}

  // The bytes up to delim (not kept) into *out; false when the input ends
  // before any byte.
  bool ReadUntil(char delim, std::string* out) {
    out->clear();
    for (;;) {
      if (pos_ == end_ && !Fill()) return !out->empty();
      const char* start = buf_.data() + pos_;
      const void* hit = std::memchr(start, delim, end_ - pos_);
      if (hit != nullptr) {
        const size_t n = static_cast<size_t>(static_cast<const char*>(hit) - start);
        out->append(start, n);
        pos_ += n + 1;
        return true;
      }
      out->append(start, end_ - pos_);
      pos_ = end_;
    }
  }

  // Exactly n bytes into *out; false when the input ends first.
  bool ReadExact(size_t n, std::string* out) {
    out->resize(n);
    size_t got = std::min(n, end_ - pos_);
    std::memcpy(out->data(), buf_.data() + pos_, got);
    pos_ += got;
    while (got < n) {
      const ssize_t r = ::read(fd_, out->data() + got, n - got);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  }

  bool failed() const { return failed_; }

 private:
  bool Fill() {
    for (;;) {
      const ssize_t r = ::read(fd_, buf_.data(), buf_.size());
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) failed_ = true;
      if (r <= 0) return false;
      pos_ = 0;
      end_ = static_cast<size_t>(r);
      return true;
    }
  }

  int fd_;
  std::vector<char> buf_;
  size_t pos_ = 0, end_ = 0;
  bool failed_ = false;
};

// ---- the scan ----

// A finding as it is printed and reported: never the whole key, except in
// `key`, which is kept only for --report.
struct Found {
  std::string path;
  std::string commit;  // --git: the commit that brought the blob in, when known
  std::string blob;    // --git: the blob's id
  size_t line = 0;
  size_t column = 0;
  std::string short_prefix;
  std::string environment;
  bool verified = true;
  std::string key;
};

struct Counts {
  uint64_t files = 0;
  uint64_t bytes = 0;
  uint64_t findings = 0;
  uint64_t binary = 0;
  uint64_t too_large = 0;
  uint64_t symlinks = 0;
  uint64_t special = 0;
  uint64_t unreadable = 0;
};

class ScanRun {
 public:
  ScanRun(const ScanOptions& options, const KeyFormat& format, std::FILE* out, std::ostream& err,
          bool progress_line)
      : options_(options),
        scanner_(format, options.legacy),
        out_(out),
        err_(err),
        progress_live_(progress_line),
        progress_(err, progress_line) {}

  int Run();

 private:
  void ScanPath(const std::string& path);
  void ScanDirectory(const std::string& path);
  void ScanFile(const std::string& path, int fd, uint64_t size);
  // Scans one file's or blob's bytes; with a blob, its findings wait for
  // their commit.
  void ScanBytes(std::string_view data, const std::string& path, const std::string& blob);
  Status ScanGit(const std::string& repo);
  Status NameCommits(const std::string& repo, size_t first);
  void Print(const Found& f);
  void Problem(const std::string& path, const std::string& why);
  void ShowProgress();
  void Summary(std::chrono::steady_clock::duration took);
  int Report();
  bool TooLarge(uint64_t size) const {
    return options_.max_file_bytes > 0 && size > options_.max_file_bytes;
  }

  const ScanOptions& options_;
  const KeyScanner scanner_;
  std::FILE* out_;
  std::ostream& err_;
  const bool progress_live_;
  ProgressLine progress_;
  std::chrono::steady_clock::time_point progress_shown_;
  Counts counts_;
  std::string buffer_;
  std::set<std::pair<uint64_t, uint64_t>> directories_;  // (device, inode) seen
  std::vector<Found> git_found_;                         // waiting for their commits
  // --report: each key once, with where it was first seen.
  std::vector<std::pair<std::string, std::string>> to_report_;
  std::unordered_set<std::string> reported_;
  bool failed_ = false;  // a path could not be read
};

void ScanRun::Problem(const std::string& path, const std::string& why) {
  progress_.Clear();
  err_ << "keyward scan: " << path << ": " << why << "\n";
  ++counts_.unreadable;
  failed_ = true;
}

void ScanRun::ShowProgress() {
  // Called per file: the text is built only when it will be shown.
  if (!progress_live_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - progress_shown_ < kProgressRefresh) return;
  progress_shown_ = now;
  progress_.Show("scanning: " + FormatCount(counts_.files) + " files, " +
                 FormatBytes(counts_.bytes) + ", " + FormatCount(counts_.findings) +
                 (counts_.findings == 1 ? " finding" : " findings"));
}

std::string Where(const Found& f) {
  if (f.commit.empty()) return f.path;
  return f.commit.substr(0, 12) + ":" + f.path;
}

void ScanRun::Print(const Found& f) {
  std::string text;
  if (options_.json) {
    json j = {{"kind", "finding"},
              {"path", f.path},
              {"line", f.line},
              {"column", f.column},
              {"short_prefix", f.short_prefix},
              {"environment", f.environment},
              {"verified", f.verified}};
    if (!f.blob.empty()) {
      j["blob"] = f.blob;
      j["commit"] = f.commit.empty() ? json(nullptr) : json(f.commit);
    }
    text = JsonLine(j);
  } else {
    text = Where(f) + ":" + std::to_string(f.line) + ": " + f.short_prefix + "… (" + f.environment +
           (f.verified ? "" : ", unverified shape") +
           (f.blob.empty() || !f.commit.empty() ? "" : ", blob " + f.blob.substr(0, 12)) + ")\n";
  }
  progress_.Clear();
  std::fwrite(text.data(), 1, text.size(), out_);
  if (!options_.report_url.empty() && reported_.insert(f.key).second) {
    to_report_.emplace_back(f.key, f.commit.empty() ? f.path : f.commit + ":" + f.path);
  }
}

void ScanRun::ScanBytes(std::string_view data, const std::string& path, const std::string& blob) {
  if (!options_.include_binary && LooksBinary(data)) {
    ++counts_.binary;
    return;
  }
  ++counts_.files;
  counts_.bytes += data.size();
  for (const KeyFinding& k : scanner_.Scan(data)) {
    Found f;
    f.path = path;
    f.blob = blob;
    f.line = k.line;
    f.column = k.column;
    f.short_prefix = k.short_prefix;
    f.environment = k.environment;
    f.verified = k.verified;
    if (!options_.report_url.empty()) f.key = k.key;
    ++counts_.findings;
    if (blob.empty()) {
      Print(f);
    } else {
      git_found_.push_back(std::move(f));
    }
  }
  ShowProgress();
}

void ScanRun::ScanFile(const std::string& path, int fd, uint64_t size) {
  if (TooLarge(size)) {
    ++counts_.too_large;
    return;
  }
  if (size > kReadLimit) {
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map != MAP_FAILED) {
      ::madvise(map, size, MADV_SEQUENTIAL);
      ScanBytes(std::string_view(static_cast<const char*>(map), size), path, "");
      ::munmap(map, size);
      return;
    }
  }
  // Read to the end, not to the size stat gave: some files (in /proc, say)
  // say 0 and have more.
  buffer_.resize(std::max<uint64_t>(size, 4096) + 1);
  size_t got = 0;
  for (;;) {
    if (got == buffer_.size()) {
      if (TooLarge(got)) {
        ++counts_.too_large;
        return;
      }
      buffer_.resize(buffer_.size() * 2);
    }
    const ssize_t r = ::read(fd, buffer_.data() + got, buffer_.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      Problem(path, ErrnoText());
      return;
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  ScanBytes(std::string_view(buffer_.data(), got), path, "");
}

void ScanRun::ScanPath(const std::string& path) {
  // A path named on the command line is followed if it is a symlink: the
  // user asked for it. Below it, symlinks are not followed.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    Problem(path, ErrnoText());
    return;
  }
  Fd owned(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Problem(path, ErrnoText());
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    owned.Reset();
    ScanDirectory(path);
  } else if (S_ISREG(st.st_mode)) {
    ScanFile(path, fd, static_cast<uint64_t>(st.st_size));
  } else {
    ++counts_.special;
  }
}

void ScanRun::ScanDirectory(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    Problem(path, ErrnoText());
    return;
  }
  // Symlinks are not followed, so only a bind mount could bring a
  // directory back; it is scanned once.
  if (!directories_.emplace(st.st_dev, st.st_ino).second) return;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    Problem(path, ErrnoText());
    return;
  }
  struct Entry {
    std::string name;
    unsigned char type;
  };
  std::vector<Entry> entries;
  errno = 0;
  while (const dirent* e = ::readdir(dir)) {
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    entries.push_back({std::string(name), e->d_type});
  }
  const int read_errno = errno;
  ::closedir(dir);
  if (read_errno != 0) {
    errno = read_errno;
    Problem(path, ErrnoText());
  }
  // The same order on every run and every file system.
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  const std::string base = path.ends_with('/') ? path : path + "/";
  for (const auto& e : entries) {
    const std::string child = base + e.name;
    unsigned char type = e.type;
    if (type == DT_UNKNOWN) {
      struct stat cst;
      if (::lstat(child.c_str(), &cst) != 0) {
        Problem(child, ErrnoText());
        continue;
      }
      type = S_ISDIR(cst.st_mode)   ? DT_DIR
             : S_ISREG(cst.st_mode) ? DT_REG
             : S_ISLNK(cst.st_mode) ? DT_LNK
                                    : DT_UNKNOWN;
    }
    if (type == DT_LNK) {
      ++counts_.symlinks;
    } else if (type == DT_DIR) {
      if (e.name == ".git") continue;  // history is --git's
      ScanDirectory(child);
    } else if (type == DT_REG) {
      const int fd = ::open(child.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
      if (fd < 0) {
        Problem(child, ErrnoText());
        continue;
      }
      Fd owned(fd);
      struct stat fst;
      if (::fstat(fd, &fst) != 0) {
        Problem(child, ErrnoText());
        continue;
      }
      if (!S_ISREG(fst.st_mode)) {
        ++counts_.special;
        continue;
      }
      ScanFile(child, fd, static_cast<uint64_t>(fst.st_size));
    } else {
      ++counts_.special;  // a FIFO, socket or device: reading it could block or never end
    }
  }
}

Status ScanRun::ScanGit(const std::string& repo) {
  // Every reachable blob once, with the first path rev-list saw it at.
  struct Blob {
    std::string id;
    std::string path;
  };
  std::vector<Blob> blobs;
  {
    // One clear message from git when repo is not a repository, before
    // two commands would each say so.
    Fd git_dir_read, git_dir_write;
    KEYWARD_RETURN_IF_ERROR(MakePipe(&git_dir_read, &git_dir_write));
    auto probe = Spawn({"git", "-C", repo, "rev-parse", "--git-dir"}, -1, git_dir_write.get());
    if (!probe.ok()) return probe.status();
    git_dir_write.Reset();
    FdReader drain(git_dir_read.get());
    for (std::string line; drain.ReadUntil('\n', &line);) {
    }
    KEYWARD_RETURN_IF_ERROR(Wait(*probe, repo + " is not a git repository: git rev-parse"));
  }
  {
    Fd list_read, list_write, check_read, check_write;
    KEYWARD_RETURN_IF_ERROR(MakePipe(&list_read, &list_write));
    KEYWARD_RETURN_IF_ERROR(MakePipe(&check_read, &check_write));
    auto rev_list =
        Spawn({"git", "-C", repo, "rev-list", "--all", "--objects"}, -1, list_write.get());
    if (!rev_list.ok()) return rev_list.status();
    list_write.Reset();
    auto check = Spawn({"git", "-C", repo, "cat-file",
                        "--batch-check=%(objecttype) %(objectname) %(objectsize) %(rest)"},
                       list_read.get(), check_write.get());
    list_read.Reset();
    check_write.Reset();
    if (!check.ok()) {
      (void)Wait(*rev_list, "git rev-list");
      return check.status();
    }
    FdReader reader(check_read.get());
    std::string line;
    while (reader.ReadUntil('\n', &line)) {
      if (!line.starts_with("blob ")) continue;
      const size_t id_end = line.find(' ', 5);
      if (id_end == std::string::npos) continue;
      const size_t size_end = line.find(' ', id_end + 1);
      const std::string size_text = line.substr(
          id_end + 1, size_end == std::string::npos ? std::string::npos : size_end - id_end - 1);
      const uint64_t size = std::strtoull(size_text.c_str(), nullptr, 10);
      if (TooLarge(size)) {
        ++counts_.too_large;
        continue;
      }
      blobs.push_back({line.substr(5, id_end - 5),
                       size_end == std::string::npos ? "" : line.substr(size_end + 1)});
    }
    const Status listed = Wait(*rev_list, "git rev-list --all --objects in " + repo);
    const Status checked = Wait(*check, "git cat-file --batch-check in " + repo);
    KEYWARD_RETURN_IF_ERROR(listed);
    KEYWARD_RETURN_IF_ERROR(checked);
  }

  const size_t first = git_found_.size();
  {
    Fd ids_read, ids_write, blobs_read, blobs_write;
    KEYWARD_RETURN_IF_ERROR(MakePipe(&ids_read, &ids_write));
    KEYWARD_RETURN_IF_ERROR(MakePipe(&blobs_read, &blobs_write));
    auto cat = Spawn({"git", "-C", repo, "cat-file", "--batch"}, ids_read.get(), blobs_write.get());
    if (!cat.ok()) return cat.status();
    ids_read.Reset();
    blobs_write.Reset();
    // git answers while it reads: the ids go in from a thread of their own,
    // or both sides could wait on a full pipe.
    std::thread feeder([&blobs, fd = std::move(ids_write)] {
      std::string chunk;
      for (size_t i = 0; i < blobs.size(); ++i) {
        chunk += blobs[i].id;
        chunk += '\n';
        if (chunk.size() < 64 * 1024 && i + 1 < blobs.size()) continue;
        size_t done = 0;
        while (done < chunk.size()) {
          const ssize_t w = ::write(fd.get(), chunk.data() + done, chunk.size() - done);
          if (w < 0 && errno == EINTR) continue;
          if (w <= 0) return;  // git went away; the reader says so
          done += static_cast<size_t>(w);
        }
        chunk.clear();
      }
    });
    FdReader reader(blobs_read.get());
    std::string header, content, newline;
    Status read_status = Status::Ok();
    for (const Blob& b : blobs) {
      if (!reader.ReadUntil('\n', &header)) {
        read_status = Status::InvalidRequest("git cat-file --batch in " + repo + " stopped early");
        break;
      }
      // "<id> blob <size>", or "<id> missing".
      const size_t last_space = header.rfind(' ');
      if (!header.starts_with(b.id) || header.ends_with(" missing") ||
          last_space == std::string::npos) {
        continue;
      }
      const uint64_t size = std::strtoull(header.c_str() + last_space + 1, nullptr, 10);
      if (!reader.ReadExact(size, &content) || !reader.ReadExact(1, &newline)) {
        read_status = Status::InvalidRequest("git cat-file --batch in " + repo + " stopped early");
        break;
      }
      ScanBytes(content, b.path, b.id);
    }
    blobs_read.Reset();  // a git still writing gets EPIPE, not a wait
    feeder.join();
    const Status waited = Wait(*cat, "git cat-file --batch in " + repo);
    KEYWARD_RETURN_IF_ERROR(read_status);
    KEYWARD_RETURN_IF_ERROR(waited);
  }
  if (git_found_.size() > first) KEYWARD_RETURN_IF_ERROR(NameCommits(repo, first));
  for (size_t i = first; i < git_found_.size(); ++i) Print(git_found_[i]);
  return Status::Ok();
}

// The commit that first brought in each blob found since `first` (oldest
// first: `log --reverse --raw`), and the path it had there. A blob that
// only a merge brought in keeps its rev-list path and no commit.
Status ScanRun::NameCommits(const std::string& repo, size_t first) {
  std::unordered_map<std::string, std::pair<std::string, std::string>>
      named;  // blob -> commit, path
  for (size_t i = first; i < git_found_.size(); ++i) named[git_found_[i].blob];
  Fd log_read, log_write;
  KEYWARD_RETURN_IF_ERROR(MakePipe(&log_read, &log_write));
  auto log = Spawn({"git", "-C", repo, "log", "--all", "--reverse", "--root", "--format=%x01%H",
                    "--raw", "--no-abbrev", "--no-renames", "-z"},
                   -1, log_write.get());
  if (!log.ok()) return log.status();
  log_write.Reset();
  FdReader reader(log_read.get());
  // With -z: "\x01<commit>", then per file ":<modes> <old> <new> <status>"
  // and the path, each ended by a NUL (and a newline before the first).
  std::string field, commit, path;
  while (reader.ReadUntil('\0', &field)) {
    std::string_view f = field;
    while (!f.empty() && f.front() == '\n') f.remove_prefix(1);
    if (f.starts_with('\x01')) {
      commit = f.substr(1);
      continue;
    }
    if (!f.starts_with(':') || !reader.ReadUntil('\0', &path)) continue;
    // ":100644 100644 <old> <new> M": the new blob is the fourth field.
    size_t at = 0;
    for (int i = 0; i < 3 && at != std::string_view::npos; ++i) at = f.find(' ', at + 1);
    if (at == std::string_view::npos) continue;
    const std::string_view id = f.substr(at + 1, f.find(' ', at + 1) - at - 1);
    auto it = named.find(std::string(id));
    if (it != named.end() && it->second.first.empty()) it->second = {commit, path};
  }
  log_read.Reset();
  KEYWARD_RETURN_IF_ERROR(Wait(*log, "git log in " + repo));
  for (size_t i = first; i < git_found_.size(); ++i) {
    const auto& [c, p] = named[git_found_[i].blob];
    if (c.empty()) continue;
    git_found_[i].commit = c;
    git_found_[i].path = p;
  }
  return Status::Ok();
}

void ScanRun::Summary(std::chrono::steady_clock::duration took) {
  progress_.Clear();
  if (options_.quiet) return;
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%.2f s", std::chrono::duration<double>(took).count());
  std::string skipped;
  const std::pair<uint64_t, std::string> parts[] = {
      {counts_.binary, " binary"},
      {counts_.too_large, " larger than " + FormatBytes(options_.max_file_bytes)},
      {counts_.symlinks, counts_.symlinks == 1 ? " symlink" : " symlinks"},
      {counts_.special, " not regular files"},
      {counts_.unreadable, " unreadable"},
  };
  for (const auto& [n, what] : parts) {
    if (n == 0) continue;
    skipped += (skipped.empty() ? "" : ", ") + FormatCount(n) + what;
  }
  const char* what = options_.git ? (counts_.files == 1 ? " blob" : " blobs")
                                  : (counts_.files == 1 ? " file" : " files");
  err_ << "keyward scan: " << FormatCount(counts_.files) << what << " ("
       << FormatBytes(counts_.bytes) << ") in " << seconds << ", " << FormatCount(counts_.findings)
       << (counts_.findings == 1 ? " finding" : " findings") << "; skipped "
       << (skipped.empty() ? "none" : skipped) << "\n";
}

int ScanRun::Report() {
  auto client = HttpClient::ForRootKey(options_.report_url, options_.root_key);
  if (!client.ok()) {
    err_ << "keyward scan: --report: " << client.status().message() << "\n";
    return kExitUsage;
  }
  for (size_t at = 0; at < to_report_.size(); at += kReportBatch) {
    const size_t end = std::min(to_report_.size(), at + kReportBatch);
    json keys = json::array();
    for (size_t i = at; i < end; ++i) keys.push_back(to_report_[i].first);
    const json body = {{"keys", keys}, {"source", "keyward scan"}, {"url", to_report_[at].second}};
    auto res = client->Send("POST", "/v1/leaks",
                            body.dump(-1, ' ', false, json::error_handler_t::replace));
    if (!res.ok()) {
      err_ << "keyward scan: --report: " << res.status().message() << "\n";
      return kExitUnavailable;
    }
    if (res->status < 200 || res->status >= 300) {
      err_ << "keyward scan: --report: " << RedactSecrets(HttpErrorText(*res)) << "\n";
      return ExitCodeForHttpStatus(res->status);
    }
    const json answer = json::parse(res->body, nullptr, false);
    if (!answer.is_object() || !answer.contains("results") || !answer["results"].is_array()) {
      err_ << "keyward scan: --report: the server answered without results\n";
      return kExitUnavailable;
    }
    for (const json& r : answer["results"]) {
      const auto field = [&](const char* name) {
        // Whatever the server says, no secret is printed.
        return r.is_object() && r.contains(name) && r[name].is_string()
                   ? RedactSecrets(r[name].get<std::string>())
                   : std::string("-");
      };
      std::string text;
      if (options_.json) {
        text = JsonLine({{"kind", "report"},
                         {"short_prefix", field("short_prefix")},
                         {"label", field("label")},
                         {"action", field("action")}});
      } else {
        text = "reported " + field("short_prefix") + "…: " + field("label") + ", " +
               field("action") + "\n";
      }
      std::fwrite(text.data(), 1, text.size(), out_);
    }
  }
  return kExitOk;
}

int ScanRun::Run() {
  const auto start = std::chrono::steady_clock::now();
  // Paths that are not there are a usage error, found before any work.
  for (const auto& p : options_.paths) {
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) {
      err_ << "keyward scan: " << p << ": " << ErrnoText() << "\n";
      return kExitUsage;
    }
    if (options_.git && !S_ISDIR(st.st_mode)) {
      err_ << "keyward scan: " << p << ": --git takes a repository's directory\n";
      return kExitUsage;
    }
  }
  if (!options_.report_url.empty()) {
    auto client = HttpClient::ForRootKey(options_.report_url, options_.root_key);
    if (!client.ok()) {
      err_ << "keyward scan: --report: " << client.status().message() << "\n";
      return kExitUsage;
    }
  }
  for (const auto& p : options_.paths) {
    if (!options_.git) {
      ScanPath(p);
      continue;
    }
    if (Status st = ScanGit(p); !st.ok()) {
      progress_.Clear();
      err_ << "keyward scan: " << st.message() << "\n";
      failed_ = true;
    }
  }
  if (std::fflush(out_) != 0) {
    err_ << "keyward scan: cannot write stdout: " << ErrnoText() << "\n";
    return kExitUsage;
  }
  Summary(std::chrono::steady_clock::now() - start);
  if (!to_report_.empty()) {
    const int reported = Report();
    std::fflush(out_);
    if (reported != kExitOk) return reported;
  }
  // A finding is the answer that matters most: it wins over a path that
  // could not be read (both fail a hook).
  if (counts_.findings > 0) return 1;
  return failed_ ? kExitUsage : kExitOk;
}

}  // namespace

int RunScan(const ScanOptions& options, const KeyFormat& format, std::FILE* out, std::ostream& err,
            bool progress_line) {
  // A git that dies mid-answer must be an error to report, not a signal
  // that ends keyward silently.
  ::signal(SIGPIPE, SIG_IGN);
  ScanRun run(options, format, out, err, progress_line);
  return run.Run();
}

void AddScanCommand(CLI::App& app, int* exit_code) {
  struct Flags {
    ScanOptions options;
    std::string config, prefix, environments;
    bool no_legacy = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* scan = app.add_subcommand(
      "scan",
      "Find this deployment's keys in files, directories or (--git) a repository's history.\n"
      "A finding is a whole token ([A-Za-z0-9_-] around it end it) of the configured product and\n"
      "environments whose CRC32 checksum holds; it is shown by its short prefix, never whole.\n"
      "Directories are walked recursively; .git directories are left to --git, symlinks below a\n"
      "named path are not followed, files that look binary (a NUL in their first 8000 bytes) or\n"
      "are larger than --max-size are skipped and counted in the summary on stderr.\n"
      "Product and environments: --config (or KEYWARD_CONFIG), then --prefix/--environments,\n"
      "then KEYWARD_KEYS_* variables, as for `serve`; default kw with live,test.\n"
      "Legacy formats ([[keys.legacy]]) have no checksum: their shapes are reported as\n"
      "\"unverified shape\" (--no-legacy leaves them out).\n"
      "Exit codes: 0 nothing found, 1 found (also when some path was unreadable), 2 bad usage,\n"
      "configuration, an unreadable path or a failing git; with --report, 3 or 4 when the\n"
      "report could not be sent or was refused.");
  auto& o = flags->options;
  scan->add_option("paths", o.paths, "Files and directories (with --git: repositories)")
      ->required();
  scan->add_option("--config,-c", flags->config, "keyward.toml to take the key format from");
  scan->add_option("--prefix,--product-prefix", flags->prefix, "Key prefix, e.g. asa");
  scan->add_option("--environments", flags->environments, "Comma-separated, e.g. live,test");
  scan->add_flag("--git", o.git,
                 "Scan every blob reachable from any ref of the repositories, reported as "
                 "commit:path:line (the working tree is not scanned: name it without --git)");
  scan->add_flag("--json", o.json, "One JSON object per line");
  scan->add_flag("--no-legacy", flags->no_legacy, "Leave out [[keys.legacy]] shapes");
  scan->add_flag("--include-binary", o.include_binary, "Scan files that look binary too");
  scan->add_option("--max-size", o.max_file_bytes,
                   "Skip files and blobs larger than this many bytes (default 104857600; 0: "
                   "no limit)");
  scan->add_option("--report", o.report_url,
                   "POST what was found to this keyward's /v1/leaks (e.g. "
                   "http://127.0.0.1:8080), with the root key in KEYWARD_ROOT_KEY");
  scan->add_flag("--quiet,-q", o.quiet, "No summary line");
  scan->callback([flags, exit_code] {
    ConfigFlags config_flags;
    config_flags.config_file = flags->config;
    if (!flags->prefix.empty()) config_flags.product_prefix = flags->prefix;
    if (!flags->environments.empty())
      config_flags.environments = SplitCommaList(flags->environments);
    auto config = LoadConfig(config_flags);
    if (!config.ok()) {
      std::cerr << "keyward: configuration: " << config.status().message() << "\n";
      *exit_code = kExitUsage;
      return;
    }
    auto format =
        KeyFormat::Create(config->product_prefix, config->environments, config->legacy_formats);
    if (!format.ok()) {
      std::cerr << "keyward: configuration: " << format.status().message() << "\n";
      *exit_code = kExitUsage;
      return;
    }
    ScanOptions options = flags->options;
    options.legacy = !flags->no_legacy;
    if (const char* root = std::getenv("KEYWARD_ROOT_KEY")) options.root_key = root;
    *exit_code = RunScan(options, *format, stdout, std::cerr, ::isatty(2) == 1);
  });
}

}  // namespace keyward
