// Wildcard matching for endpoint and referrer patterns.
// Thread-safe: pure function.
#ifndef KEYWARD_CORE_GLOB_H_
#define KEYWARD_CORE_GLOB_H_

#include <string_view>

namespace keyward {

// "*" matches any run of characters other than separator; "**" matches any
// run at all. With separator '\0', "*" and "**" mean the same. Linear in
// practice: backtracks only to the last star (the classic greedy algorithm,
// extended for the two kinds of star), so no input makes it exponential.
bool GlobMatch(std::string_view pattern, std::string_view text, char separator);

}  // namespace keyward

#endif  // KEYWARD_CORE_GLOB_H_
