// Randomness from the OS CSPRNG (OpenSSL's RAND_bytes, seeded by getrandom).
// Used for key bodies and object ids. Thread-safe.
#ifndef KEYWARD_CORE_RANDOM_H_
#define KEYWARD_CORE_RANDOM_H_

#include <string>
#include <string_view>

namespace keyward {

// n uniformly random base62 characters (rejection sampling, no modulo bias).
// Aborts the process if the CSPRNG fails: handing out a guessable key is
// worse than not answering.
std::string RandomBase62(size_t n);

// "<type>_" followed by 20 random base62 characters (119 bits): "key_4fT…".
std::string NewId(std::string_view type);

}  // namespace keyward

#endif  // KEYWARD_CORE_RANDOM_H_
