#include "crypto/password_hash.h"

#include <gtest/gtest.h>

#include <chrono>

#include "crypto/base64.h"

namespace mq::crypto {
namespace {

// Reference doc section 4.3: written by Debian's mosquitto_passwd 2.0.11.
constexpr const char* kAlice =  // password "secret", PBKDF2 101 iterations
    "$7$101$1PevhJUDxZJESjVU$bADYmauG2cRPdEK8D9TZNhY3Ma+geY9Pg7HArWQdSnwUh4cD7ki+EQ9qoZiT0H17lOTr"
    "mCqz32OCjsqWXUpY/Q==";
constexpr const char* kBob =  // password "hunter2", -H sha512
    "$6$z5SUf+WHGnwxSaaw$jF7WpVubK9xXI9MpIaViPk5Dr4eNdr1jax+TTbQwmwcA+6z7izZEAdg3py1/kX/IftGsqvc"
    "gAP1Za25Kwoq1uA==";
constexpr const char* kCarol =  // password "pass", -I 1000
    "$7$1000$s9F0dMtnEMrOw+x1$l10dcz05xVQ3W/EUMt29k/x7NkQH+xpSKoQb93fRXW/ujvGXzNscA+Hm62tfRIdV0bj"
    "mOBaAzFa9lIH9pEUCaA==";
// libargon2 with Mosquitto 2.1's parameters (64-byte salt and hash), password "secret".
constexpr const char* kArgon2Reference =
    "$argon2id$v=19$m=47104,t=1,p=1$SZHCW8zJzNzLtxF9VgunEMVYJuUdb3c88vH0Qqc5cY/ArqKYNyAdksn6Igxgl8"
    "m+eaiiqvNbaj5aFuXaria8WQ$hbBUuKzFd8e1iLGkhu12JwJWVVZC8iAHb8uys/BlhHQj93476vsc4/+yfmjkiIr23x"
    "gKZExDfmaVLUQ/5Z8g7g";

TEST(PasswordHash, VerifiesMosquittoGoldenLines) {
  auto alice = PasswordHash::parse(kAlice);
  ASSERT_TRUE(alice.ok()) << alice.error().context;
  EXPECT_EQ(alice->kind(), HashKind::kSha512Pbkdf2);
  EXPECT_EQ(alice->iterations(), 101u);
  EXPECT_EQ(alice->salt().size(), 12u);
  EXPECT_TRUE(alice->verify("secret"));
  EXPECT_FALSE(alice->verify("Secret"));
  EXPECT_FALSE(alice->verify(""));

  auto bob = PasswordHash::parse(kBob);
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(bob->kind(), HashKind::kSha512);
  EXPECT_TRUE(bob->verify("hunter2"));
  EXPECT_FALSE(bob->verify("hunter3"));

  auto carol = PasswordHash::parse(kCarol);
  ASSERT_TRUE(carol.ok());
  EXPECT_EQ(carol->iterations(), 1000u);
  EXPECT_TRUE(carol->verify("pass"));
  EXPECT_FALSE(carol->verify("secret"));
}

TEST(PasswordHash, EncodeReproducesTheLineExactly) {
  for (const char* line : {kAlice, kBob, kCarol, kArgon2Reference}) {
    auto h = PasswordHash::parse(line);
    ASSERT_TRUE(h.ok()) << line;
    EXPECT_EQ(h->encode(), line);
  }
}

TEST(PasswordHash, VerifiesArgon2idReference) {
  auto h = PasswordHash::parse(kArgon2Reference);
  ASSERT_TRUE(h.ok()) << h.error().context;
  EXPECT_EQ(h->kind(), HashKind::kArgon2id);
  EXPECT_EQ(h->salt().size(), 64u);
  EXPECT_TRUE(h->verify("secret"));
  EXPECT_FALSE(h->verify("secreT"));
}

TEST(PasswordHash, ReadsOtherSaltLengths) {
  // 64-byte salt as Mosquitto 2.1 writes (made with Python hashlib), password "long salt".
  auto h = PasswordHash::parse(
      "$7$1000$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0"
      "+Pw==$n+V9SCsiO+gwA/qjdjQMMw7MwGYSwyA29DHs/gIKEAHGcxsim2Cn/dWUam7T2Rni4QEEwPvg22OiDMZDREfx"
      "aQ==");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->salt().size(), 64u);
  EXPECT_TRUE(h->verify("long salt"));
  // 16-byte `$6$` salt, password "sixteen".
  auto six = PasswordHash::parse(
      "$6$MDEyMzQ1Njc4OWFiY2RlZg==$0UTyU0xtNjX7T5N3cOSrExxrwzL+SK7zKErZ67yjWy/zmt3ldOz/Qbsjxj1Gw"
      "hR549U9dz9uKcR9nONgi5ZJ8A==");
  ASSERT_TRUE(six.ok());
  EXPECT_TRUE(six->verify("sixteen"));
}

TEST(PasswordHash, CreatesEachKind) {
  for (HashKind kind : {HashKind::kSha512, HashKind::kSha512Pbkdf2, HashKind::kArgon2id}) {
    HashParams p;
    p.kind = kind;
    auto h = PasswordHash::create("pässword with spaces", p);
    ASSERT_TRUE(h.ok()) << hash_kind_name(kind);
    std::string text = h->encode();
    auto back = PasswordHash::parse(text);
    ASSERT_TRUE(back.ok()) << text;
    EXPECT_TRUE(back->verify("pässword with spaces")) << text;
    EXPECT_FALSE(back->verify("password with spaces")) << text;
    auto again = PasswordHash::create("pässword with spaces", p);
    EXPECT_NE(again->encode(), text) << "a fresh salt each time";
  }
}

TEST(PasswordHash, NewHashesHaveTheDocumentedShape) {
  HashParams p;
  p.kind = HashKind::kSha512Pbkdf2;
  std::string pbkdf2 = *hash_password("x", p);
  // $7$1000$ + 16 chars (12-byte salt, as Mosquitto 2.0 needs) + $ + 88 chars (64 bytes).
  ASSERT_EQ(pbkdf2.substr(0, 8), "$7$1000$");
  EXPECT_EQ(pbkdf2.size(), 8 + 16 + 1 + 88);
  EXPECT_EQ(pbkdf2[8 + 16], '$');

  p.kind = HashKind::kSha512;
  std::string sha = *hash_password("x", p);
  EXPECT_EQ(sha.substr(0, 3), "$6$");
  EXPECT_EQ(sha.size(), 3 + 16 + 1 + 88);

  p.kind = HashKind::kArgon2id;
  std::string argon = *hash_password("x", p);
  EXPECT_EQ(argon.substr(0, 31), "$argon2id$v=19$m=19456,t=2,p=1$");
  // 16-byte salt and 32-byte hash, unpadded: 22 + 1 + 43 characters.
  EXPECT_EQ(argon.size(), 31 + 22 + 1 + 43);
  EXPECT_EQ(argon.find('=', 31), std::string::npos);

  p.kind = HashKind::kSha512Pbkdf2;
  p.iterations = 5;
  EXPECT_EQ(hash_password("x", p)->substr(0, 5), "$7$5$");
  p.iterations = 0;
  EXPECT_FALSE(hash_password("x", p).ok());
}

TEST(PasswordHash, RejectsWithMosquittoWording) {
  const std::pair<std::string, const char*> cases[] = {
      {"", "Invalid password hash"},
      {"plain", "Invalid password hash type"},
      {"$5$abc$def", "Invalid password hash type"},
      {"$argon2i$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", "Invalid password hash type"},
      {"$7$0$1PevhJUDxZJESjVU$AA==", "Invalid hash iterations"},
      {"$7$x$1PevhJUDxZJESjVU$AA==", "Invalid hash iterations"},
      {"$7$-5$1PevhJUDxZJESjVU$AA==", "Invalid hash iterations"},
      {"$7$", "Invalid hash iterations"},
      {"$7$101$abc$def", "Unable to decode password salt"},  // 2 bytes: under 8
      {"$6$QUJDREVGRw==$" + std::string(88, 'A'), "Unable to decode password salt"},  // 7 bytes
      {"$7$101$$AAAA", "Invalid password hash"},
      {"$6$z5SUf+WHGnwxSaaw", "Invalid password hash"},
      {"$6$z5SUf+WHGnwxSaaw$", "Invalid password hash"},
      {"$6$z5SUf+WHGnwxSaaw$AAAA", "Unable to decode password"},  // 3 bytes, not 64
      {"$6$z5SUf+WHGnwxSaaw$!!!!", "Unable to decode password"},
      {std::string(kBob) + "$extra", "Invalid password hash"},
      {"$argon2id$v=16$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", "Invalid argon2id parameters"},
      {"$argon2id$v=19$t=3,m=4096,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", "Invalid argon2id parameters"},
      {"$argon2id$v=19$m=4,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", "Invalid argon2id parameters"},
      {"$argon2id$v=19$m=4096,t=0,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", "Invalid argon2id parameters"},
      {"$argon2id$v=19$m=4096,t=3,p=1$c2FsdA$aGFzaGhhc2g", "Unable to decode password salt"},
      {"$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$", "Invalid password hash"},
  };
  for (const auto& [text, why] : cases) {
    auto h = PasswordHash::parse(text);
    ASSERT_FALSE(h.ok()) << text;
    EXPECT_EQ(h.error().context, why) << text;
  }
}

TEST(PasswordHash, KindNames) {
  HashKind k;
  ASSERT_TRUE(parse_hash_kind("argon2id", &k));
  EXPECT_EQ(k, HashKind::kArgon2id);
  ASSERT_TRUE(parse_hash_kind("sha512-pbkdf2", &k));
  EXPECT_EQ(k, HashKind::kSha512Pbkdf2);
  ASSERT_TRUE(parse_hash_kind("sha512", &k));
  EXPECT_EQ(k, HashKind::kSha512);
  EXPECT_FALSE(parse_hash_kind("md5", &k));
}

// Prints the cost of one verification with the default Argon2id parameters (a figure for the
// report, not a pass/fail on time).
TEST(PasswordHash, Argon2idDefaultVerificationTime) {
  HashParams p;
  auto h = PasswordHash::create("secret", p);
  ASSERT_TRUE(h.ok());
  auto start = std::chrono::steady_clock::now();
  const int n = 5;
  for (int i = 0; i < n; i++) ASSERT_TRUE(h->verify("secret"));
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
      n;
  printf("argon2id m=%u KiB t=%u p=%u: %.1f ms per verification\n", kDefaultArgon2MemoryKib,
         kDefaultArgon2TimeCost, kDefaultArgon2Parallelism, ms);
}

}  // namespace
}  // namespace mq::crypto
