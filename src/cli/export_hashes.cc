// `keyward export-hashes`: every key's hash and metadata as JSON lines in the
// import shape (GET /v1/api-keys/export, a page at a time), so that an
// operator can always leave. Not thread-safe; one per command.
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/exit_codes.h"
#include "cli/http_client.h"
#include "cli/key_import.h"
#include "cli/progress.h"

namespace keyward {

int RunExportHashes(const ExportHashesOptions& options, std::FILE* out, std::ostream& err,
                    bool progress_line) {
  auto client = HttpClient::ForRootKey(options.url, options.root_key);
  if (!client.ok()) {
    err << "keyward: " << client.status().message() << "\n";
    return kExitUsage;
  }
  std::optional<PartialFile> partial;
  std::FILE* sink = out;
  if (Status st = OpenOutput(options.output, out, &partial, &sink); !st.ok()) {
    err << "keyward: " << st.message() << "\n";
    return kExitUsage;
  }
  std::string query = "limit=1000";
  if (!options.workspace_id.empty()) query += "&workspace_id=" + UrlEncode(options.workspace_id);
  if (!options.environment.empty()) query += "&environment=" + UrlEncode(options.environment);
  if (options.include_revoked) query += "&include_revoked=true";
  ProgressLine line(err, progress_line);
  const auto start = std::chrono::steady_clock::now();
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
    const nlohmann::json page = nlohmann::json::parse(res->body, nullptr, false);
    if (!page.is_object() || !page.contains("data")) {
      err << "keyward: keyward answered the export with something else\n";
      return kExitUnavailable;
    }
    for (const nlohmann::json& row : page["data"]) {
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
  if (Status st = FinishOutput(partial, out); !st.ok()) {
    err << "keyward: " << st.message() << "\n";
    return kExitUnavailable;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char took[32];
  std::snprintf(took, sizeof(took), "%.1f s", seconds);
  err << "keyward: exported " << FormatCount(keys) << (keys == 1 ? " key" : " keys") << " to "
      << (options.output.empty() ? "stdout" : options.output) << " in " << took
      << ". The file holds hashes, not keys: `keyward import --file` takes it back, here or in "
         "another keyward\n";
  return kExitOk;
}

}  // namespace keyward
