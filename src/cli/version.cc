#include "cli/version.h"

#include "build_info.h"  // generated: KEYWARD_VERSION, KEYWARD_COMMIT

namespace keyward {

std::string VersionText() {
  return std::string("keyward ") + KEYWARD_VERSION + " (commit " + KEYWARD_COMMIT + ")";
}

}  // namespace keyward
