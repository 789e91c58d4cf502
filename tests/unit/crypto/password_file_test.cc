#include "crypto/password_file.h"

#include <gtest/gtest.h>

namespace mq::crypto {
namespace {

TEST(PasswordFile, KeepsCommentsBlankLinesAndUntouchedEntries) {
  const char* text =
      "# users\n"
      "alice:$6$abc$def\n"
      "\n"
      "  bob  :  plain text  \n"
      "carol:x:ignored\r\n";
  auto f = PasswordFile::parse(text);
  ASSERT_TRUE(f.ok()) << f.error().context;
  ASSERT_EQ(f->lines().size(), 5u);
  EXPECT_EQ(f->lines()[1].username, "alice");
  EXPECT_EQ(f->lines()[3].username, "bob");
  EXPECT_EQ(f->lines()[3].password, "plain text");
  EXPECT_EQ(f->lines()[4].password, "x");  // up to the next ':' as mosquitto_passwd
  EXPECT_EQ(f->serialize(),
            "# users\nalice:$6$abc$def\n\n  bob  :  plain text  \ncarol:x:ignored\r\n");
}

TEST(PasswordFile, AddsAMissingFinalNewline) {
  auto f = PasswordFile::parse("a:x");
  ASSERT_TRUE(f.ok());
  f->set("b", "y");
  EXPECT_EQ(f->serialize(), "a:x\nb:y\n");  // Mosquitto would write "a:xb:y"
}

TEST(PasswordFile, CorruptLines) {
  for (const char* bad : {"nocolon\n", "a:x\nb:\n", "a:x\n:y\n", "  :y\n", "a::::\n"}) {
    auto f = PasswordFile::parse(bad);
    ASSERT_FALSE(f.ok()) << bad;
  }
  auto f = PasswordFile::parse("a:x\n#c\n\nbroken\n");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().context, "Corrupt password file at line 4.");
  // Leading colons are skipped as strtok does: "::a:x" is user a.
  auto g = PasswordFile::parse("::a:x\n");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->lines()[0].username, "a");
}

TEST(PasswordFile, SetReplacesInPlaceAndDropsDuplicates) {
  auto f = PasswordFile::parse("a:1\nb:2\na:3\nc:4\n");
  ASSERT_TRUE(f.ok());
  f->set("a", "new");
  EXPECT_EQ(f->serialize(), "a:new\nb:2\nc:4\n");
  f->set("d", "5");
  EXPECT_EQ(f->serialize(), "a:new\nb:2\nc:4\nd:5\n");
}

TEST(PasswordFile, Remove) {
  auto f = PasswordFile::parse("# c\na:1\nb:2\na:3\n");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->remove("a"));
  EXPECT_EQ(f->serialize(), "# c\nb:2\n");
  EXPECT_FALSE(f->remove("zz"));
  EXPECT_TRUE(f->remove("b"));
  EXPECT_EQ(f->serialize(), "# c\n");
}

TEST(PasswordFile, FirstHashedLineAndHashAll) {
  auto plain = PasswordFile::parse("# c\na:secret\nb:$not a hash\n");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->first_hashed_line(), 0u);
  HashParams p;
  p.kind = HashKind::kSha512Pbkdf2;
  ASSERT_TRUE(plain->hash_all(p).ok());
  EXPECT_EQ(plain->lines()[0].text, "# c");
  EXPECT_EQ(plain->first_hashed_line(), 2u);
  auto a = PasswordHash::parse(plain->lines()[1].password);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->verify("secret"));
  EXPECT_EQ(plain->lines()[1].text.substr(0, 10), "a:$7$1000$");
  auto b = PasswordHash::parse(plain->lines()[2].password);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->verify("$not a hash"));
}

TEST(PasswordFile, UsernameRules) {
  EXPECT_EQ(check_username("alice"), "");
  EXPECT_EQ(check_username("a b"), "");
  EXPECT_EQ(check_username("a:b"), "Username must not contain the ':' character.");
  EXPECT_EQ(check_username("a\tb"), "Username must not contain control characters.");
  EXPECT_EQ(check_username(std::string(65536, 'u')),
            "Username must be less than 65536 characters long.");
  EXPECT_EQ(check_username(""), "Username must not be empty.");
}

}  // namespace
}  // namespace mq::crypto
