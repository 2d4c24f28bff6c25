// GET /v1/usage/export: a workspace's usage per key per day, for billing,
// streamed as CSV or JSON, a whole period with no cap: read from the store a
// page at a time while the client reads.
// Thread-safe: handlers run on any serving thread at once; one export's
// state belongs to its stream.
#include <array>
#include <memory>

#include "core/billing_period.h"
#include "core/key_service.h"
#include "core/time_format.h"
#include "server/api.h"
#include "server/auth.h"
#include "server/routes/routes.h"

namespace keyward {
namespace {

constexpr int64_t kMillisPerDay = 86'400'000;
constexpr int kRowsPerRead = 1000;  // the most a store answers at once

// "2026-11-01" or an RFC 3339 time.
std::optional<Timestamp> ParseDayOrTime(const std::string& text) {
  if (text.size() == 10) return ParseRfc3339(text + "T00:00:00Z");
  return ParseRfc3339(text);
}

// A verification code other than valid: a column of its own.
bool IsRefusal(Code c) { return IsVerifyCode(c) && c != Code::kValid; }

std::string DayText(int64_t day) { return FormatRfc3339(day * kMillisPerDay).substr(0, 10); }

std::string CsvField(std::string_view s) {
  // Ids and environment names hold no commas or quotes; quoted all the same
  // if one ever did.
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// One export in flight: where the store read is, and the (day, key) being
// added up, which the next page may continue.
class UsageExport {
 public:
  UsageExport(KeyService* service, UsageExportQuery query, bool csv, Timestamp from, Timestamp to)
      : service_(service), query_(std::move(query)), csv_(csv), from_(from), to_(to) {}

  Status Next(std::string* chunk, bool* done) {
    if (!started_) {
      started_ = true;
      if (csv_) {
        *chunk += "day,workspace_id,key_id,environment,valid,refused,credits";
        for (int c = 1; c < kCodeCount; ++c) {
          if (IsRefusal(Code(c))) *chunk += "," + std::string(CodeName(Code(c)));
        }
        *chunk += "\n";
      } else {
        *chunk += "{\"workspace_id\":" + Json(query_.workspace_id).dump() +
                  ",\"from\":" + Json(FormatRfc3339(from_)).dump() +
                  ",\"to\":" + Json(FormatRfc3339(to_)).dump() + ",\"rows\":[";
      }
      return Status::Ok();
    }
    auto rows = service_->ExportUsage(query_);
    if (!rows.ok()) return rows.status();
    for (const UsageExportRow& r : *rows) {
      if (!group_open_ || r.day != day_ || r.key_id != key_id_) {
        if (group_open_) Emit(chunk);
        group_open_ = true;
        day_ = r.day;
        key_id_ = r.key_id;
        environment_ = r.environment;
        counts_.fill(0);
        credits_ = 0;
      }
      if (IsVerifyCode(r.code)) counts_[static_cast<size_t>(r.code)] += r.count;
      credits_ += r.credits;
    }
    if (!rows->empty()) {
      query_.after_day = rows->back().day;
      query_.after_key_id = rows->back().key_id;
      query_.after_code = CodeName(rows->back().code);
    }
    if (static_cast<int>(rows->size()) < query_.limit) {
      if (group_open_) Emit(chunk);
      if (!csv_) *chunk += "]}\n";
      *done = true;
    }
    return Status::Ok();
  }

 private:
  void Emit(std::string* out) {
    const int64_t valid = counts_[static_cast<size_t>(Code::kValid)];
    int64_t refused = 0;
    for (int c = 1; c < kCodeCount; ++c) {
      if (IsRefusal(Code(c))) refused += counts_[c];
    }
    if (csv_) {
      *out += DayText(day_) + "," + CsvField(query_.workspace_id) + "," + CsvField(key_id_) + "," +
              CsvField(environment_) + "," + std::to_string(valid) + "," + std::to_string(refused) +
              "," + std::to_string(credits_);
      for (int c = 1; c < kCodeCount; ++c) {
        if (IsRefusal(Code(c))) *out += "," + std::to_string(counts_[c]);
      }
      *out += "\n";
      return;
    }
    Json by_code = Json::object();
    for (int c = 1; c < kCodeCount; ++c) {
      if (IsRefusal(Code(c)) && counts_[c] != 0) {
        by_code[std::string(CodeName(Code(c)))] = counts_[c];
      }
    }
    const Json row = {{"day", DayText(day_)},         {"key_id", key_id_},
                      {"environment", environment_},  {"valid", valid},
                      {"refused", refused},           {"credits", credits_},
                      {"by_code", std::move(by_code)}};
    *out += (rows_written_++ == 0 ? "" : ",") + row.dump();
  }

  KeyService* service_;
  UsageExportQuery query_;
  const bool csv_;
  const Timestamp from_, to_;
  bool started_ = false;
  bool group_open_ = false;
  int64_t day_ = 0;
  std::string key_id_, environment_;
  std::array<int64_t, kCodeCount> counts_{};
  int64_t credits_ = 0;
  int64_t rows_written_ = 0;
};

void ExportUsage(Call& call, const RouteContext& ctx) {
  QueryParams q;
  if (!call.Query({"workspace_id", "from", "to", "format", "environment"}, &q)) return;
  std::string workspace_id, from_text, to_text, format = "csv", environment;
  for (const auto& [k, v] : q) {
    if (k == "workspace_id") workspace_id = v;
    if (k == "from") from_text = v;
    if (k == "to") to_text = v;
    if (k == "format") format = v;
    if (k == "environment") environment = v;
  }
  if (format != "csv" && format != "json") {
    return call.Error(Code::kInvalidRequest, "format must be csv or json");
  }
  if (!environment.empty() && !ctx.service->format().HasEnvironment(environment)) {
    return call.Error(Code::kInvalidRequest, "no environment \"" + environment + "\"");
  }
  if (!call.who.root) {
    if (!MayReach(call.who, workspace_id, environment)) {
      return call.Error(Code::kNotFound, "no workspace " + workspace_id);
    }
    workspace_id = call.who.workspace_id;
    if (!call.who.environment.empty()) environment = call.who.environment;
  }
  if (workspace_id.empty()) return call.Error(Code::kInvalidRequest, "workspace_id is required");
  auto ws = ctx.service->GetWorkspace(workspace_id);
  if (!ws.ok()) return call.Fail(ws.status());
  // Whole days, UTC; by default the calendar month so far.
  const Period month = MonthlyPeriod(ctx.service->clock().Now(), std::nullopt);
  Timestamp from = month.start, to = month.end;
  if (!from_text.empty()) {
    auto t = ParseDayOrTime(from_text);
    if (!t)
      return call.Error(Code::kInvalidRequest,
                        "from must be a day like 2026-11-01 or an "
                        "RFC 3339 time");
    from = *t;
  }
  if (!to_text.empty()) {
    auto t = ParseDayOrTime(to_text);
    if (!t)
      return call.Error(Code::kInvalidRequest,
                        "to must be a day like 2026-12-01 or an "
                        "RFC 3339 time");
    to = *t;
    if (from_text.empty()) from = MonthlyPeriod(to - 1, std::nullopt).start;
  }
  if (from >= to) return call.Error(Code::kInvalidRequest, "from must be before to");
  UsageExportQuery query;
  query.workspace_id = workspace_id;
  query.environment = environment;
  query.from_day = from / kMillisPerDay;
  query.to_day = (to + kMillisPerDay - 1) / kMillisPerDay;
  query.limit = kRowsPerRead;
  const Timestamp first = query.from_day * kMillisPerDay, end = query.to_day * kMillisPerDay;
  auto state =
      std::make_shared<UsageExport>(ctx.service, std::move(query), format == "csv", first, end);
  call.Stream(200, format == "csv" ? "text/csv; charset=utf-8" : "application/json",
              [state](std::string* chunk, bool* done) { return state->Next(chunk, done); });
}

}  // namespace

void RegisterUsageExportRoutes(RouteTable& table) {
  table.Add({"GET", "/v1/usage/export", "exportUsage", Access::kRootOrManagingKey, ExportUsage,
             "usage:read"});
}

}  // namespace keyward
