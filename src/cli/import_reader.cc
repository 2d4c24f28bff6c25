// `keyward import`'s reading of its file (ImportReader, cli/key_import.h):
// CSV records (RFC 4180) with their columns mapped to import fields, or JSON
// lines; each record with the line it starts on. Not thread-safe.
#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>

#include "cli/key_import.h"
#include "cli/progress.h"

namespace keyward {
namespace {

using Json = nlohmann::json;

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

// A list in one cell: entries apart by spaces, commas or semicolons; an
// endpoint pattern ("GET,POST /v1/orders/*") holds spaces and commas, so
// endpoint_allowlist entries are apart by semicolons or line breaks only.
std::vector<std::string> SplitList(std::string_view cell, bool endpoints) {
  std::vector<std::string> out;
  std::string item;
  for (char c : cell) {
    const bool apart = endpoints ? (c == ';' || c == '\n' || c == '\r')
                                 : (c == ' ' || c == '\t' || c == ',' || c == ';' || c == '\n');
    if (apart) {
      while (!item.empty() && item.back() == ' ') item.pop_back();
      if (!item.empty()) out.push_back(std::move(item));
      item.clear();
    } else if (!(endpoints && item.empty() && c == ' ')) {  // an entry's leading spaces
      item += c;
    }
  }
  if (!item.empty()) out.push_back(std::move(item));
  return out;
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
      row[field] = SplitList(cell, field == "endpoint_allowlist");
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

}  // namespace keyward
