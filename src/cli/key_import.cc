#include "cli/key_import.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>
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

// What a CSV column can hold: every field of an import row.
const std::vector<std::string> kCsvFields = {"id",
                                             "workspace_id",
                                             "environment",
                                             "hash",
                                             "key",
                                             "short_prefix",
                                             "name",
                                             "scopes",
                                             "ip_allowlist",
                                             "referrer_allowlist",
                                             "endpoint_allowlist",
                                             "rate_limit",
                                             "meta",
                                             "created_at",
                                             "expires_at",
                                             "last_used_at",
                                             "revoked_at",
                                             "disabled"};
const std::set<std::string> kListFields = {"scopes", "ip_allowlist", "referrer_allowlist",
                                           "endpoint_allowlist"};

// A batch that failed for want of keyward is sent again this many times,
// after 1, 2, 4 s.
constexpr int kAttempts = 4;
// Without a terminal, a progress line this often, so that a log shows the
// import is alive.
constexpr std::chrono::seconds kLogProgressEvery{10};

std::vector<std::string> SplitList(std::string_view cell) {
  std::vector<std::string> out;
  std::string item;
  for (char c : cell) {
    if (c == ' ' || c == '\t' || c == ',' || c == ';') {
      if (!item.empty()) out.push_back(std::move(item));
      item.clear();
    } else {
      item += c;
    }
  }
  if (!item.empty()) out.push_back(std::move(item));
  return out;
}

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
struct FileIdentity {
  int64_t size = -1;
  int64_t mtime_ns = -1;
  bool operator==(const FileIdentity&) const = default;
};

FileIdentity IdentityOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return {};
  return {static_cast<int64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

// Where an interrupted import stopped: FILE.import-state, replaced whole
// (written aside, then renamed) after every answered batch.
struct ImportState {
  uint64_t records_done = 0;
  uint64_t imported = 0, unchanged = 0, rejected = 0;
};

std::optional<ImportState> LoadState(const std::string& path, const FileIdentity& file) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  const Json j = Json::parse(in, nullptr, false);
  if (!j.is_object() || j.value("size", int64_t{-2}) != file.size ||
      j.value("mtime_ns", int64_t{-2}) != file.mtime_ns) {
    return std::nullopt;
  }
  ImportState s;
  s.records_done = j.value("records_done", uint64_t{0});
  s.imported = j.value("imported", uint64_t{0});
  s.unchanged = j.value("unchanged", uint64_t{0});
  s.rejected = j.value("rejected", uint64_t{0});
  return s;
}

Status SaveState(const std::string& path, const FileIdentity& file, const ImportState& s) {
  const Json j = {
      {"size", file.size},      {"mtime_ns", file.mtime_ns}, {"records_done", s.records_done},
      {"imported", s.imported}, {"unchanged", s.unchanged},  {"rejected", s.rejected}};
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

}  // namespace

Result<ImportReader> ImportReader::Open(const ImportOptions& options) {
  ImportReader r;
  std::ifstream in(options.file, std::ios::binary);
  if (!in) return Status::InvalidRequest("cannot read " + options.file + ": " + ErrnoText());
  r.text_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (r.text_.starts_with("\xEF\xBB\xBF")) r.at_ = 3;  // a BYTE ORDER MARK from a spreadsheet
  std::string format = options.format;
  if (format.empty()) {
    const std::string& f = options.file;
    format = f.ends_with(".csv")                                                         ? "csv"
             : (f.ends_with(".jsonl") || f.ends_with(".ndjson") || f.ends_with(".json")) ? "jsonl"
                                                                                         : "";
    if (format.empty()) {
      return Status::InvalidRequest("cannot tell the format of " + f +
                                    " from its name; add --format csv or --format jsonl");
    }
  }
  r.csv_ = format == "csv";
  r.workspace_id_ = options.workspace_id;
  r.environment_ = options.environment;
  r.hash_encoding_ = options.hash_encoding;
  for (const auto& [field, column] : options.columns) {
    if (std::find(kCsvFields.begin(), kCsvFields.end(), field) == kCsvFields.end()) {
      return Status::InvalidRequest("--map " + field + "=" + column + ": " + field +
                                    " is not a field of an import row");
    }
  }
  if (!r.csv_) {
    if (!options.columns.empty())
      return Status::InvalidRequest("--map is for CSV files; JSON lines name their fields");
    return r;
  }
  std::vector<std::string> header;
  uint64_t line = 0;
  std::string error;
  if (!r.NextCsvFields(&header, &line, &error) || !error.empty()) {
    return Status::InvalidRequest(options.file + ": " +
                                  (error.empty() ? "is empty; the first line must name the "
                                                   "columns"
                                                 : "line 1: " + error));
  }
  r.columns_ = header.size();
  std::set<size_t> used;
  for (const auto& field : kCsvFields) {
    auto mapped = options.columns.find(field);
    const std::string& column = mapped != options.columns.end() ? mapped->second : field;
    auto it = std::find(header.begin(), header.end(), column);
    if (it == header.end()) {
      if (mapped != options.columns.end()) {
        return Status::InvalidRequest(options.file + ": --map " + field + "=" + column +
                                      ", but the header has no column \"" + column + "\"");
      }
      continue;
    }
    const size_t index = static_cast<size_t>(it - header.begin());
    r.fields_.push_back({field, index});
    used.insert(index);
  }
  auto has = [&](std::string_view f) {
    return std::any_of(r.fields_.begin(), r.fields_.end(),
                       [&](const auto& p) { return p.first == f; });
  };
  if (!has("hash") && !has("key")) {
    return Status::InvalidRequest(options.file +
                                  ": no column holds the keys: name one \"hash\" or \"key\", or "
                                  "map one with --map hash=COLUMN (or key=COLUMN)");
  }
  return r;
}

bool ImportReader::NextCsvFields(std::vector<std::string>* fields, uint64_t* line,
                                 std::string* error) {
  fields->clear();
  error->clear();
  // Blank lines between records are skipped.
  while (at_ < text_.size() && (text_[at_] == '\n' || text_[at_] == '\r')) {
    if (text_[at_] == '\n') ++line_;
    ++at_;
  }
  if (at_ >= text_.size()) return false;
  *line = line_ + 1;
  std::string field;
  bool quoted = false;
  bool was_quoted = false;
  while (at_ < text_.size()) {
    const char c = text_[at_++];
    if (quoted) {
      if (c == '"') {
        if (at_ < text_.size() && text_[at_] == '"') {
          field += '"';
          ++at_;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line_;
        field += c;
      }
      continue;
    }
    if (c == '"' && field.empty() && !was_quoted) {
      quoted = was_quoted = true;
    } else if (c == ',') {
      fields->push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && at_ < text_.size() && text_[at_] == '\n') ++at_;
      ++line_;
      fields->push_back(std::move(field));
      return true;
    } else {
      if (was_quoted && error->empty()) *error = "text after a closing quote";
      field += c;
    }
  }
  if (quoted) *error = "a quoted field is never closed";
  fields->push_back(std::move(field));
  ++line_;
  return true;
}

bool ImportReader::NextLine(std::string* line) {
  if (at_ >= text_.size()) return false;
  const size_t end = text_.find('\n', at_);
  const size_t stop = end == std::string::npos ? text_.size() : end;
  line->assign(text_, at_, stop - at_);
  if (!line->empty() && line->back() == '\r') line->pop_back();
  at_ = end == std::string::npos ? text_.size() : end + 1;
  ++line_;
  return true;
}

ImportRecord ImportReader::CsvRecord(const std::vector<std::string>& cells, uint64_t line) const {
  ImportRecord rec;
  rec.line = line;
  auto reject = [&](std::string message) {
    rec.error = "invalid_row";
    rec.message = std::move(message);
    rec.row.reset();
    return rec;
  };
  if (cells.size() != columns_) {
    return reject("has " + std::to_string(cells.size()) + " columns, the header " +
                  std::to_string(columns_));
  }
  Json row = Json::object();
  for (const auto& [field, index] : fields_) {
    const std::string& cell = cells[index];
    if (cell.empty()) continue;
    if (field == "hash") {
      row["hash"] = {{"algorithm", "sha256"}, {"encoding", hash_encoding_}, {"value", cell}};
    } else if (kListFields.count(field) > 0) {
      row[field] = SplitList(cell);
    } else if (field == "disabled") {
      if (cell != "true" && cell != "false" && cell != "1" && cell != "0") {
        return reject("disabled must be true or false");
      }
      row[field] = cell == "true" || cell == "1";
    } else if (field == "meta") {
      Json meta = Json::parse(cell, nullptr, false);
      if (!meta.is_object()) return reject("meta must be a JSON object, like {\"plan\": \"pro\"}");
      row[field] = std::move(meta);
    } else if (field == "rate_limit") {
      // "LIMIT/SECONDS"
      const size_t slash = cell.find('/');
      int64_t limit = 0, period = 0;
      try {
        size_t used = 0;
        if (slash == std::string::npos) throw std::invalid_argument("no slash");
        limit = std::stoll(cell.substr(0, slash), &used);
        if (used != slash) throw std::invalid_argument("limit");
        period = std::stoll(cell.substr(slash + 1), &used);
        if (used != cell.size() - slash - 1) throw std::invalid_argument("period");
      } catch (const std::exception&) {
        return reject("rate_limit must be LIMIT/SECONDS, like 100/60");
      }
      row[field] = {{"limit", limit}, {"period_seconds", period}};
    } else {
      row[field] = cell;
    }
  }
  if (!row.contains("workspace_id") && !workspace_id_.empty()) row["workspace_id"] = workspace_id_;
  if (!row.contains("environment") && !environment_.empty()) row["environment"] = environment_;
  rec.row = std::move(row);
  return rec;
}

ImportRecord ImportReader::JsonRecord(std::string_view text, uint64_t line) const {
  ImportRecord rec;
  rec.line = line;
  Json row = Json::parse(text, nullptr, false);
  if (!row.is_object()) {
    rec.error = "invalid_row";
    rec.message = "the line is not a JSON object";
    return rec;
  }
  if (!row.contains("workspace_id") && !workspace_id_.empty()) row["workspace_id"] = workspace_id_;
  if (!row.contains("environment") && !environment_.empty()) row["environment"] = environment_;
  rec.row = std::move(row);
  return rec;
}

bool ImportReader::Next(ImportRecord* record) {
  if (csv_) {
    std::vector<std::string> cells;
    uint64_t line = 0;
    std::string error;
    if (!NextCsvFields(&cells, &line, &error)) return false;
    if (!error.empty()) {
      *record = ImportRecord{line, std::nullopt, "invalid_row", "CSV: " + error};
    } else {
      *record = CsvRecord(cells, line);
    }
  } else {
    std::string text;
    do {
      if (!NextLine(&text)) return false;
    } while (text.find_first_not_of(" \t") == std::string::npos);
    *record = JsonRecord(text, line_);
  }
  if (record->row && record->row->contains("key")) saw_plaintext_ = true;
  return true;
}

int RunImport(const ImportOptions& options, std::ostream& err, bool progress_line) {
  if (options.root_key.empty()) {
    err << "keyward: set KEYWARD_ROOT_KEY to a root key (kw_root_…) first\n";
    return kExitUsage;
  }
  if (options.batch_size < 1 || options.batch_size > 1000) {
    err << "keyward: --batch-size must be between 1 and 1000\n";
    return kExitUsage;
  }
  auto client = HttpClient::Create(options.url, options.root_key);
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
  const std::string rejects_path =
      options.rejects.empty() ? options.file + ".rejected.csv" : options.rejects;
  const FileIdentity identity = IdentityOf(options.file);
  ImportState state;
  if (!options.dry_run && !options.restart) {
    if (auto saved = LoadState(state_path, identity)) {
      state = *saved;
      err << "keyward: resuming after row " << FormatCount(state.records_done) << " of "
          << FormatCount(total) << " (" << state_path << "; --restart starts over)\n";
    }
  }
  const bool resuming = state.records_done > 0;
  std::ofstream rejects(rejects_path, resuming ? std::ios::app : std::ios::trunc);
  if (!rejects) {
    err << "keyward: cannot write " << rejects_path << ": " << ErrnoText() << "\n";
    return kExitUsage;
  }
  if (!resuming) rejects << "line,error,message\n";
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
      Json body = Json::object();
      body["keys"] = std::move(batch);
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
            << "; trying again in " << (1 << (attempt - 1)) << " s\n";
        std::this_thread::sleep_for(std::chrono::seconds(1 << (attempt - 1)));
      }
      line.Clear();
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
        if (status == "rejected") {
          reject_line(index < lines.size() ? lines[index] : 0, r.value("error", ""),
                      r.value("message", ""));
        }
      }
      for (const Json& w : answer.value("over_limit", Json::array())) {
        over_limit[w.value("workspace_id", "")] = {w.value("active_keys", int64_t{0}),
                                                   w.value("max_active_keys", int64_t{0})};
      }
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

int RunExportHashes(const ExportHashesOptions& options, std::FILE* out, std::ostream& err,
                    bool progress_line) {
  if (options.root_key.empty()) {
    err << "keyward: set KEYWARD_ROOT_KEY to a root key (kw_root_…) first\n";
    return kExitUsage;
  }
  auto client = HttpClient::Create(options.url, options.root_key);
  if (!client.ok()) {
    err << "keyward: " << client.status().message() << "\n";
    return kExitUsage;
  }
  std::optional<PartialFile> partial;
  std::FILE* sink = out;
  if (!options.output.empty()) {
    partial.emplace(options.output);
    if (Status st = partial->Open(); !st.ok()) {
      err << "keyward: " << st.message() << "\n";
      return kExitUsage;
    }
    sink = partial->get();
  }
  std::string query = "limit=1000";
  if (!options.workspace_id.empty()) query += "&workspace_id=" + UrlEncode(options.workspace_id);
  if (!options.environment.empty()) query += "&environment=" + UrlEncode(options.environment);
  if (options.include_revoked) query += "&include_revoked=true";
  ProgressLine line(err, progress_line);
  const auto start = Clock::now();
  uint64_t keys = 0;
  std::string cursor;
  do {
    auto res = client->Send("GET", "/v1/api-keys/export?" + query +
                                       (cursor.empty() ? "" : "&cursor=" + UrlEncode(cursor)));
    if (!res.ok() || res->status != 200) {
      line.Clear();
      err << "keyward: " << (res.ok() ? HttpErrorText(*res) : res.status().message()) << "\n";
      if (partial)
        err << "keyward: the export is incomplete; " << options.output << " was not written\n";
      return res.ok() ? ExitCodeForHttpStatus(res->status) : kExitUnavailable;
    }
    const Json page = Json::parse(res->body, nullptr, false);
    if (!page.is_object() || !page.contains("data")) {
      err << "keyward: keyward answered the export with something else\n";
      return kExitUnavailable;
    }
    for (const Json& row : page["data"]) {
      const std::string text = row.dump() + "\n";
      if (std::fwrite(text.data(), 1, text.size(), sink) != text.size()) {
        err << "keyward: cannot write " << (partial ? partial->path() : "stdout") << ": "
            << ErrnoText() << "\n";
        return kExitUnavailable;
      }
      ++keys;
    }
    cursor = page["next_cursor"].is_string() ? page["next_cursor"].get<std::string>() : "";
    line.Show("exported " + FormatCount(keys) + " keys");
  } while (!cursor.empty());
  line.Clear();
  if (partial) {
    if (Status st = partial->Commit(); !st.ok()) {
      err << "keyward: " << st.message() << "\n";
      return kExitUnavailable;
    }
  } else if (std::fflush(out) != 0) {
    err << "keyward: cannot write stdout: " << ErrnoText() << "\n";
    return kExitUnavailable;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  char took[32];
  std::snprintf(took, sizeof(took), "%.1f s", seconds);
  err << "keyward: exported " << FormatCount(keys) << (keys == 1 ? " key" : " keys") << " to "
      << (options.output.empty() ? "stdout" : options.output) << " in " << took
      << ". The file holds hashes, not keys: `keyward import --file` takes it back, here or in "
         "another keyward\n";
  return kExitOk;
}

}  // namespace keyward
