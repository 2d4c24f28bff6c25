// UTF-8 well-formedness (RFC 3629), as every place that takes outside bytes
// must judge it alike: request paths, and text handed to a database whose
// encoding is UTF-8. Thread-safe: a pure function.
#ifndef KEYWARD_CORE_UTF8_H_
#define KEYWARD_CORE_UTF8_H_

#include <string_view>

namespace keyward {

// Whether bytes are well-formed UTF-8: shortest form, no surrogates, at most
// U+10FFFF. Overlong forms are how "%C0%AE" became "." to decoders that
// accepted them.
bool IsValidUtf8(std::string_view bytes);

}  // namespace keyward

#endif  // KEYWARD_CORE_UTF8_H_
