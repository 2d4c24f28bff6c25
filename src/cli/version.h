// What `keyward --version` prints: the project's version (CMake's
// project(VERSION)) and the git commit the binary was built from. The commit
// comes from build_info.h, which src/cli/build_info.cmake rewrites on every
// build when it changed and which only version.cc includes: a new commit
// recompiles that one file and relinks the binary, nothing more.
// Thread-safe: a pure function.
#ifndef KEYWARD_CLI_VERSION_H_
#define KEYWARD_CLI_VERSION_H_

#include <string>

namespace keyward {

// "keyward 0.1.0 (commit 871f40d)"; the commit is "871f40d-dirty" when the
// tree had uncommitted changes to tracked files at build time, "unknown"
// when it was built outside a git checkout.
std::string VersionText();

}  // namespace keyward

#endif  // KEYWARD_CLI_VERSION_H_
