// `keyward scan PATH…`: a secret scanner for the deployment's keys. It walks
// files and directories (or, with --git, every blob reachable from a
// repository's refs), finds keys whose checksum holds (core/key_scanner.h)
// and prints where each is, by its short prefix only: never a whole key.
// With --report it sends what it found to a keyward's POST /v1/leaks.
//
// Exit codes: 0 nothing found; 1 at least one key found; 2 bad usage, an
// unreadable path or configuration, or a git that failed; and, with
// --report, what cli/exit_codes.h says for a report the server refused
// (1, 4) or that could not be sent (3).
//
// Not thread-safe; one per command.
#ifndef KEYWARD_CLI_SCAN_H_
#define KEYWARD_CLI_SCAN_H_

#include <cstdint>
#include <cstdio>
#include <ostream>
#include <string>
#include <vector>

#include "core/key_format.h"

namespace CLI {
class App;
}

namespace keyward {

struct ScanOptions {
  std::vector<std::string> paths;          // files and directories; with git, repositories
  bool git = false;                        // every blob reachable from every ref
  bool json = false;                       // JSON lines instead of text
  bool legacy = true;                      // legacy formats too, when configured (unverified)
  bool include_binary = false;             // scan files that look binary (a NUL early on)
  uint64_t max_file_bytes = 100ull << 20;  // larger files and blobs are skipped; 0: no limit
  bool quiet = false;                      // no summary line
  std::string report_url;                  // POST /v1/leaks there; empty: no report
  std::string root_key;                    // KEYWARD_ROOT_KEY, for the report
};

// Scans with format's keys: findings to out, the summary, progress line
// (when progress_line: err is a terminal) and messages to err. Returns the
// exit code.
int RunScan(const ScanOptions& options, const KeyFormat& format, std::FILE* out, std::ostream& err,
            bool progress_line);

// Adds `scan` to app (its options, and the configuration it reads the
// product and environments from: --config, --prefix/--environments, or the
// defaults `serve` uses); its callback sets *exit_code.
void AddScanCommand(CLI::App& app, int* exit_code);

}  // namespace keyward

#endif  // KEYWARD_CLI_SCAN_H_
