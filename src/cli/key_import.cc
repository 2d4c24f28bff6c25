#include "cli/key_import.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <sstream>
#include <thread>

#include "cli/exit_codes.h"
#include "cli/http_client.h"
#include "cli/progress.h"

namespace keyward {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// A batch that failed for want of keyward is sent again this many times,
// after 1, 2, 4 s.
constexpr int kAttempts = 4;
// Without a terminal, a progress line this often, so that a log shows the
// import is alive.
constexpr std::chrono::seconds kLogProgressEvery{10};

std::string CsvQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string FormatSeconds(double s) {
  if (s < 60) return std::to_string(static_cast<int64_t>(s + 0.5)) + " s";
  const int64_t total = static_cast<int64_t>(s + 0.5);
  if (total < 3600) return std::to_string(total / 60) + " min " + std::to_string(total % 60) + " s";
  return std::to_string(total / 3600) + " h " + std::to_string(total % 3600 / 60) + " min";
}

// The file as it was when the state was written: a changed file is a new
// import, never resumed into.
// The options that decide what a record becomes go with it: a rerun with
// another mapping is a new import too.
struct FileIdentity {
  int64_t size = -1;
  int64_t mtime_ns = -1;
  std::string options;
  bool operator==(const FileIdentity&) const = default;
};

FileIdentity IdentityOf(const ImportOptions& o) {
  struct stat st;
  if (::stat(o.file.c_str(), &st) != 0) return {};
  // The keyward too: a run into staging is never "resumed" into production.
  Json options = {{"url", o.url},
                  {"format", o.format},
                  {"columns", o.columns},
                  {"workspace_id", o.workspace_id},
                  {"environment", o.environment},
                  {"hash_encoding", o.hash_encoding}};
  return {static_cast<int64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          options.dump()};
}

// Where an interrupted import stopped: FILE.import-state, replaced whole
// (written aside, then renamed) after every answered batch.
struct ImportState {
  uint64_t records_done = 0;
  uint64_t imported = 0, unchanged = 0, rejected = 0;
  uint64_t revoked = 0;  // unchanged keys the import revoked
};

// The state of an interrupted run of this file with these options;
// *other set when there is a state, but of another file or other options.
std::optional<ImportState> LoadState(const std::string& path, const FileIdentity& file,
                                     bool* other) {
  *other = false;
  std::ifstream in(path);
  if (!in) return std::nullopt;
  const Json j = Json::parse(in, nullptr, false);
  if (!j.is_object() || j.value("size", int64_t{-2}) != file.size ||
      j.value("mtime_ns", int64_t{-2}) != file.mtime_ns ||
      j.value("options", std::string()) != file.options) {
    *other = true;
    return std::nullopt;
  }
  ImportState s;
  s.records_done = j.value("records_done", uint64_t{0});
  s.imported = j.value("imported", uint64_t{0});
  s.unchanged = j.value("unchanged", uint64_t{0});
  s.rejected = j.value("rejected", uint64_t{0});
  s.revoked = j.value("revoked", uint64_t{0});
  return s;
}

Status SaveState(const std::string& path, const FileIdentity& file, const ImportState& s) {
  const Json j = {{"size", file.size},       {"mtime_ns", file.mtime_ns},
                  {"options", file.options}, {"records_done", s.records_done},
                  {"imported", s.imported},  {"unchanged", s.unchanged},
                  {"rejected", s.rejected},  {"revoked", s.revoked}};
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump() << "\n";
    out.flush();
    if (!out) return Status::Internal("cannot write " + tmp + ": " + ErrnoText());
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::Internal("cannot write " + path + ": " + ErrnoText());
  }
  return Status::Ok();
}

// Whether url names this machine: plaintext keys sent there never leave it.
bool IsLoopbackUrl(std::string_view url) {
  for (const char* host : {"http://127.", "http://localhost:", "http://localhost/",
                           "http://[::1]:", "http://[::1]/"}) {
    if (url.starts_with(host)) return true;
  }
  return url == "http://localhost" || url == "http://[::1]";
}

}  // namespace

int RunImport(const ImportOptions& options, std::ostream& err, bool progress_line) {
  if (options.batch_size < 1 || options.batch_size > 1000) {
    err << "keyward: --batch-size must be between 1 and 1000\n";
    return kExitUsage;
  }
  auto client = HttpClient::ForRootKey(options.url, options.root_key);
  if (!client.ok()) {
    err << "keyward: " << client.status().message() << "\n";
    return kExitUsage;
  }
  // A first pass counts the records, for the progress line and the time left.
  auto counter = ImportReader::Open(options);
  if (!counter.ok()) {
    err << "keyward: " << counter.status().message() << "\n";
    return kExitUsage;
  }
  uint64_t total = 0;
  for (ImportRecord rec; counter->Next(&rec);) ++total;
  auto reader = ImportReader::Open(options);
  if (!reader.ok()) {
    err << "keyward: " << reader.status().message() << "\n";
    return kExitUsage;
  }

  const std::string state_path = options.file + ".import-state";
  // A dry run's rejects go apart, never over an interrupted run's.
  const std::string rejects_path = !options.rejects.empty() ? options.rejects
                                   : options.dry_run        ? options.file + ".dry-run.rejected.csv"
                                                            : options.file + ".rejected.csv";
  const FileIdentity identity = IdentityOf(options);
  ImportState state;
  if (!options.dry_run && !options.restart) {
    bool other = false;
    if (auto saved = LoadState(state_path, identity, &other)) {
      state = *saved;
      err << "keyward: resuming after row " << FormatCount(state.records_done) << " of "
          << FormatCount(total) << " (" << state_path << "; --restart starts over)\n";
    } else if (other) {
      err << "keyward: " << state_path
          << " is of an earlier run with another file or other options; starting from the "
             "first row (what that run imported answers unchanged)\n";
    }
  }
  if (counter->saw_plaintext() && !IsLoopbackUrl(options.url)) {
    err << "keyward: warning: " << options.file << " holds plaintext keys, and " << options.url
        << " is not this machine: they cross the network unencrypted. Run the import on the "
           "keyward host, or put TLS in front of it\n";
  }
  const bool resuming = state.records_done > 0;
  std::error_code size_error;
  const bool had_rejects = std::filesystem::file_size(rejects_path, size_error) > 0 && !size_error;
  std::ofstream rejects(rejects_path, resuming ? std::ios::app : std::ios::trunc);
  if (!rejects) {
    err << "keyward: cannot write " << rejects_path << ": " << ErrnoText() << "\n";
    return kExitUsage;
  }
  // A new file has its header, even when a resumed run writes it.
  if (!resuming || !had_rejects) rejects << "line,error,message\n";
  for (uint64_t skipped = 0; skipped < state.records_done;) {
    ImportRecord rec;
    if (!reader->Next(&rec)) break;
    ++skipped;
  }

  ProgressLine line(err, progress_line);
  const auto start = Clock::now();
  auto last_log = start;
  const uint64_t first_record = state.records_done;
  // Workspace -> {active keys, limit}, as the last batch into it said.
  std::map<std::string, std::pair<int64_t, int64_t>> over_limit;
  auto show_progress = [&] {
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const uint64_t done_now = state.records_done - first_record;
    const double rate = seconds > 0 ? static_cast<double>(done_now) / seconds : 0;
    std::string text = (options.dry_run ? "checked " : "imported ") +
                       FormatCount(state.records_done) + " of " + FormatCount(total) + " rows";
    if (rate > 0) {
      text += " (" + FormatCount(static_cast<uint64_t>(rate)) + " rows/s, " +
              FormatSeconds(static_cast<double>(total - state.records_done) / rate) + " left)";
    }
    if (progress_line) {
      line.Show(text);
    } else if (Clock::now() - last_log >= kLogProgressEvery) {
      last_log = Clock::now();
      err << "keyward: " << text << "\n";
    }
  };
  // A batch's rejected rows, written in line order once it is answered.
  struct Rejected {
    uint64_t line;
    std::string error, message;
  };
  std::vector<Rejected> rejected;
  auto reject_line = [&](uint64_t at, const std::string& error, const std::string& message) {
    rejected.push_back({at, error, message});
    ++state.rejected;
  };
  auto write_rejects = [&] {
    std::sort(rejected.begin(), rejected.end(),
              [](const Rejected& a, const Rejected& b) { return a.line < b.line; });
    for (const auto& r : rejected) {
      rejects << r.line << "," << r.error << "," << CsvQuote(r.message) << "\n";
    }
    rejected.clear();
    rejects.flush();
  };

  // Sends rows (answered into state, rejects and over_limit); a batch
  // keyward finds too large (413: large meta) goes again in halves.
  std::function<int(std::vector<Json>&, const std::vector<uint64_t>&)> send =
      [&](std::vector<Json>& rows, const std::vector<uint64_t>& lines) -> int {
    Json body = Json::object();
    body["keys"] = rows;
    body["dry_run"] = options.dry_run;
    const std::string text = body.dump();
    body = Json();
    Result<HttpResult> res = Status::Unavailable("not sent");
    for (int attempt = 1; attempt <= kAttempts; ++attempt) {
      res = client->Send("POST", "/v1/api-keys/import", text);
      const bool retry = !res.ok() || res->status >= 500;
      if (!retry || attempt == kAttempts) break;
      line.Clear();
      err << "keyward: " << (res.ok() ? HttpErrorText(*res) : res.status().message())
          << "; trying again in " << (1 << (attempt - 1)) << " s"
          << (res.ok() ? "" : " (no answer came: rows that attempt imported answer unchanged)")
          << "\n";
      std::this_thread::sleep_for(std::chrono::seconds(1 << (attempt - 1)));
    }
    line.Clear();
    if (res.ok() && res->status == 413 && rows.size() > 1) {
      const size_t half = rows.size() / 2;
      std::vector<Json> first(std::make_move_iterator(rows.begin()),
                              std::make_move_iterator(rows.begin() + half));
      std::vector<Json> second(std::make_move_iterator(rows.begin() + half),
                               std::make_move_iterator(rows.end()));
      const std::vector<uint64_t> first_lines(lines.begin(), lines.begin() + half);
      const std::vector<uint64_t> second_lines(lines.begin() + half, lines.end());
      const int code = send(first, first_lines);
      return code != kExitOk ? code : send(second, second_lines);
    }
    if (!res.ok() || res->status != 200) {
      err << "keyward: " << (res.ok() ? HttpErrorText(*res) : res.status().message()) << "\n";
      if (!options.dry_run && state.records_done > 0) {
        err << "keyward: stopped after row " << FormatCount(state.records_done)
            << "; run the same command again to resume\n";
      }
      return res.ok() ? ExitCodeForHttpStatus(res->status) : kExitUnavailable;
    }
    const Json answer = Json::parse(res->body, nullptr, false);
    if (!answer.is_object() || !answer.contains("results")) {
      err << "keyward: keyward answered the import with something else: "
          << res->body.substr(0, 200) << "\n";
      return kExitUnavailable;
    }
    for (const Json& r : answer["results"]) {
      const size_t index = r.value("index", size_t{0});
      const std::string status = r.value("status", "");
      if (status == "imported") ++state.imported;
      if (status == "unchanged") ++state.unchanged;
      if (r.value("revoked", false)) ++state.revoked;
      if (status == "rejected") {
        reject_line(index < lines.size() ? lines[index] : 0, r.value("error", ""),
                    r.value("message", ""));
      }
    }
    for (const Json& w : answer.value("over_limit", Json::array())) {
      over_limit[w.value("workspace_id", "")] = {w.value("active_keys", int64_t{0}),
                                                 w.value("max_active_keys", int64_t{0})};
    }
    return kExitOk;
  };

  bool more = true;
  while (more) {
    std::vector<Json> batch;
    std::vector<uint64_t> lines;
    uint64_t records = 0;
    while (batch.size() < options.batch_size) {
      ImportRecord rec;
      if (!reader->Next(&rec)) {
        more = false;
        break;
      }
      ++records;
      if (!rec.row) {
        reject_line(rec.line, rec.error, rec.message);
        continue;
      }
      batch.push_back(std::move(*rec.row));
      lines.push_back(rec.line);
    }
    if (!batch.empty()) {
      const int code = send(batch, lines);
      if (code != kExitOk) return code;
    }
    state.records_done += records;
    write_rejects();
    if (!options.dry_run && records > 0) {
      if (Status s = SaveState(state_path, identity, state); !s.ok()) {
        err << "keyward: warning: " << s.message() << " (an interrupted import starts over)\n";
      }
    }
    show_progress();
  }
  line.Clear();
  if (!options.dry_run) std::remove(state_path.c_str());

  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const uint64_t done_now = state.records_done - first_record;
  char took[64];
  std::snprintf(
      took, sizeof(took), "%.1f s (%s rows/s)", seconds,
      FormatCount(seconds > 0 ? static_cast<uint64_t>(done_now / seconds) : done_now).c_str());
  err << "keyward: " << (options.dry_run ? "dry run, nothing was written: " : "")
      << FormatCount(state.records_done) << " rows: " << FormatCount(state.imported)
      << (options.dry_run ? " to import, " : " imported, ") << FormatCount(state.unchanged)
      << " unchanged, " << FormatCount(state.rejected) << " rejected in " << took << "\n";
  if (state.revoked > 0) {
    err << "keyward: " << FormatCount(state.revoked)
        << (options.dry_run ? " stored keys would be revoked" : " stored keys were revoked")
        << ": the file says they were revoked before the import\n";
  }
  for (const auto& [ws, counts] : over_limit) {
    err << "keyward: warning: workspace " << ws << " holds " << FormatCount(counts.first)
        << " active keys, over its limit of " << FormatCount(counts.second)
        << ": it keeps them all, and creating keys there is refused until enough are revoked\n";
  }
  if (reader->saw_plaintext()) {
    err << "keyward: warning: " << options.file
        << " holds plaintext keys; keyward kept only their hashes. Delete the file now "
           "(shred -u "
        << options.file << ")\n";
  }
  if (state.rejected > 0) {
    err << "keyward: rejected rows are in " << rejects_path << " (line, error, message)\n";
    return kExitRefused;
  }
  rejects.close();
  std::remove(rejects_path.c_str());  // nothing in it but the header
  return kExitOk;
}

}  // namespace keyward
