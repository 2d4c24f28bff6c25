#include "core/request_path.h"

#include <gtest/gtest.h>

#include <string>

namespace keyward {
namespace {

PathProblem Check(std::string_view target) {
  std::string_view path;
  return CheckCanonicalPath(target, &path);
}

TEST(RequestPathTest, CanonicalPathsPassWithTheirQueryLeftOut) {
  std::string_view path;
  EXPECT_EQ(CheckCanonicalPath("/v1/products/1?page=2&x=/../y", &path), PathProblem::kNone);
  EXPECT_EQ(path, "/v1/products/1");
  for (const char* ok :
       {"/", "/a", "/a/", "/a/b.c", "/~user", "/a:b@c", "/a%20b", "/caf%C3%A9", "/100%25",
        "/100%25x", "/a+b", "/a,b=c", "/..a", "/a.b", "/.well-known", "/caf%C3%A9/%F0%9F%94%91"}) {
    EXPECT_EQ(Check(ok), PathProblem::kNone) << ok;
  }
}

TEST(RequestPathTest, EveryAmbiguousFormIsNamed) {
  const std::pair<const char*, PathProblem> cases[] = {
      {"", PathProblem::kEmpty},
      {"v1/x", PathProblem::kNotAbsolute},
      {"http://h/v1", PathProblem::kNotAbsolute},
      {"*", PathProblem::kNotAbsolute},
      {"//v1", PathProblem::kEmptySegment},
      {"/v1//x", PathProblem::kEmptySegment},
      {"/v1/x//", PathProblem::kEmptySegment},
      {"/v1/./x", PathProblem::kDotSegment},
      {"/v1/..", PathProblem::kDotSegment},
      {"/v1/.../x", PathProblem::kDotSegment},
      {"/v1/admin./x", PathProblem::kDotSegment},
      {"/v1/admin.", PathProblem::kDotSegment},
      // Overlong and other broken UTF-8 in escapes (the classic %C0%AE).
      {"/v1/%C0%AE%C0%AE/admin", PathProblem::kBadUtf8},
      {"/v1/%C0%AF", PathProblem::kBadUtf8},
      {"/v1/%E0%80%AE", PathProblem::kBadUtf8},
      {"/v1/%ED%A0%80", PathProblem::kBadUtf8},
      {"/v1/%C3", PathProblem::kBadUtf8},
      {"/v1/%C3x", PathProblem::kBadUtf8},
      {"/v1/%80", PathProblem::kBadUtf8},
      {"/v1/%F5%80%80%80", PathProblem::kBadUtf8},
      {"/v1\\x", PathProblem::kBackslash},
      {"/v1;a/x", PathProblem::kSemicolon},
      {"/v1%2Fx", PathProblem::kEncodedSeparator},
      {"/v1%2fx", PathProblem::kEncodedSeparator},
      {"/v1%5Cx", PathProblem::kEncodedSeparator},
      {"/v1/%2e%2e", PathProblem::kEncodedUnreserved},
      {"/v1/%41", PathProblem::kEncodedUnreserved},
      {"/v1/%7Euser", PathProblem::kEncodedUnreserved},
      {"/v1/%3F", PathProblem::kEncodedDelimiter},
      {"/v1/%23", PathProblem::kEncodedDelimiter},
      {"/v1/%3b", PathProblem::kEncodedDelimiter},
      {"/v1/%252e", PathProblem::kDoubleEncoding},
      {"/v1/%", PathProblem::kBadEscape},
      {"/v1/%4", PathProblem::kBadEscape},
      {"/v1/%zz", PathProblem::kBadEscape},
      {"/v1/%00", PathProblem::kControl},
      {"/v1/%0a", PathProblem::kControl},
      {"/v1/x\x01", PathProblem::kControl},
      {"/v1/a b", PathProblem::kBadCharacter},
      {"/v1/\xc3\xa9", PathProblem::kBadCharacter},
      {"/v1/{x}", PathProblem::kBadCharacter},
      {"/v1/x#f", PathProblem::kFragment},
      {"/v1/x?q#f", PathProblem::kFragment},
  };
  for (const auto& [target, problem] : cases) {
    EXPECT_EQ(Check(target), problem) << target << " -> " << PathProblemName(Check(target));
  }
  EXPECT_EQ(Check("/" + std::string(kMaxCanonicalPathBytes, 'a')), PathProblem::kTooLong);
}

}  // namespace
}  // namespace keyward
