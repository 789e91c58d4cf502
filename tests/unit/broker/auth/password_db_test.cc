#include "broker/auth/password_db.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"

namespace mq::broker {
namespace {

// Reference doc section 4.3: written by Debian's mosquitto_passwd 2.0.11.
const char* kGolden =
    "alice:$7$101$1PevhJUDxZJESjVU$bADYmauG2cRPdEK8D9TZNhY3Ma+geY9Pg7HArWQdSnwUh4cD7ki+EQ9qoZiT0H"
    "17lOTrmCqz32OCjsqWXUpY/Q==\n"
    "bob:$6$z5SUf+WHGnwxSaaw$jF7WpVubK9xXI9MpIaViPk5Dr4eNdr1jax+TTbQwmwcA+6z7izZEAdg3py1/kX/IftGs"
    "qvcgAP1Za25Kwoq1uA==\n"
    "carol:$7$1000$s9F0dMtnEMrOw+x1$l10dcz05xVQ3W/EUMt29k/x7NkQH+xpSKoQb93fRXW/ujvGXzNscA+Hm62tfR"
    "IdV0bjmOBaAzFa9lIH9pEUCaA==\n";

const char* kAliceHash =
    "$7$101$1PevhJUDxZJESjVU$bADYmauG2cRPdEK8D9TZNhY3Ma+geY9Pg7HArWQdSnwUh4cD7ki+EQ9qoZiT0H17lOTr"
    "mCqz32OCjsqWXUpY/Q==";
const char* kBobHash =
    "$6$z5SUf+WHGnwxSaaw$jF7WpVubK9xXI9MpIaViPk5Dr4eNdr1jax+TTbQwmwcA+6z7izZEAdg3py1/kX/IftGsqvc"
    "gAP1Za25Kwoq1uA==";

struct LogCapture {
  std::vector<std::string> lines;
  LogCapture() {
    logger().set_destinations({});
    logger().set_timestamp(false);
    logger().set_capture([this](std::string_view l) { lines.emplace_back(l); });
  }
  ~LogCapture() {
    logger().set_capture(nullptr);
    logger().set_destinations({LogDest::kStderr});
    logger().set_timestamp(true);
  }
};

TEST(PasswordDb, GoldenMosquittoFile) {
  LogCapture logs;
  auto db = PasswordDb::parse(kGolden, "pw.txt");
  EXPECT_TRUE(logs.lines.empty());
  EXPECT_EQ(db->size(), 3u);
  EXPECT_TRUE(db->verify("alice", "secret"));
  EXPECT_TRUE(db->verify("bob", "hunter2"));
  EXPECT_TRUE(db->verify("carol", "pass"));
  EXPECT_FALSE(db->verify("alice", "hunter2"));
  EXPECT_FALSE(db->verify("bob", "secret"));
  EXPECT_FALSE(db->verify("carol", ""));
  EXPECT_FALSE(db->verify("alice", std::nullopt)) << "no password sent";
  EXPECT_FALSE(db->verify("dave", "secret")) << "unknown user";
  EXPECT_FALSE(db->verify("Alice", "secret"));
}

TEST(PasswordDb, Argon2idEntries) {
  // libargon2 with Mosquitto 2.1's parameters, password "secret".
  auto db = PasswordDb::parse(
      "eve:$argon2id$v=19$m=47104,t=1,p=1$SZHCW8zJzNzLtxF9VgunEMVYJuUdb3c88vH0Qqc5cY/ArqKYNyAdksn6"
      "Igxgl8m+eaiiqvNbaj5aFuXaria8WQ$hbBUuKzFd8e1iLGkhu12JwJWVVZC8iAHb8uys/BlhHQj93476vsc4/+yfmj"
      "kiIr23xgKZExDfmaVLUQ/5Z8g7g\n",
      "pw.txt");
  EXPECT_TRUE(db->verify("eve", "secret"));
  EXPECT_FALSE(db->verify("eve", "Secret"));
}

// The same lines Debian's Mosquitto 2.0.11 was given; the messages are the ones it logged.
TEST(PasswordDb, DropsBadEntriesLikeMosquitto) {
  LogCapture logs;
  std::string text = std::string("a:plain\n") +          //
                     "b:$7$101$abc$def\n" +              //
                     "d\n" +                             // no ':': skipped silently
                     ":" + kAliceHash + "\n" +           // one field only: invalid line
                     "e:\n" +                            //
                     "  f  :  " + kAliceHash + "  \n" +  // trimmed: a good entry
                     "g:$argon2i$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2g\n" +
                     "h:$7$x$1PevhJUDxZJESjVU$bADY\n" +    //
                     "i:$7$101$1PevhJUDxZJESjVU$AAAA\n" +  //
                     "#j:" + kAliceHash + "\n" +           // comment
                     "x::" + kAliceHash + "\n" +           // empty field skipped (strtok)
                     "y:" + kAliceHash + ":extra\n" +      // password ends at the next ':'
                     " z z :" + kAliceHash + "\r\n";
  auto db = PasswordDb::parse(text, "/tmp/pw.txt");
  std::vector<std::string> want = {
      "Error: Invalid password hash type for user a, removing entry.",
      "Error: Unable to decode password salt for user b, removing entry.",
      "Warning: Invalid line in password file '/tmp/pw.txt': :" + std::string(kAliceHash),
      "Error: Invalid password hash for user e, removing entry.",
      "Error: Invalid password hash type for user g, removing entry.",
      "Error: Invalid hash iterations for user h, removing entry.",
      "Error: Unable to decode password for user i, removing entry.",
  };
  EXPECT_EQ(logs.lines, want);
  EXPECT_EQ(db->size(), 4u);
  for (const char* u : {"f", "x", "y", "z z"}) EXPECT_TRUE(db->verify(u, "secret")) << u;
  EXPECT_FALSE(db->has_user("a"));
  EXPECT_FALSE(db->has_user("#j"));
  EXPECT_FALSE(db->verify("e", ""));
}

TEST(PasswordDb, DuplicateUserKeepsTheLastEntry) {
  LogCapture logs;
  auto db = PasswordDb::parse(std::string("dup:") + kAliceHash + "\ndup:" + kBobHash + "\n", "pw");
  EXPECT_FALSE(db->verify("dup", "secret"));  // verified with Mosquitto 2.0.11: the last wins
  EXPECT_TRUE(db->verify("dup", "hunter2"));
  ASSERT_EQ(logs.lines.size(), 1u);
  EXPECT_EQ(logs.lines[0],
            "Warning: Duplicate user dup in password file 'pw', using the last entry.");
}

TEST(PasswordDb, EmptyFileRefusesEveryone) {
  auto db = PasswordDb::parse("", "pw");
  EXPECT_EQ(db->size(), 0u);
  EXPECT_FALSE(db->verify("alice", "secret"));
}

TEST(PasswordDb, LoadFailsClosed) {
  auto missing = PasswordDb::load("/nonexistent/dir/pw.txt");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().context, "Error: Unable to open pwfile \"/nonexistent/dir/pw.txt\".");

  char tmpl[] = "/tmp/mq_pwdb_test.XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(tmpl) << kGolden;
  auto db = PasswordDb::load(tmpl);
  unlink(tmpl);
  ASSERT_TRUE(db.ok());
  EXPECT_TRUE((*db)->verify("carol", "pass"));
}

TEST(PasswordDb, SharedAcrossThreads) {
  std::shared_ptr<const PasswordDb> db = PasswordDb::parse(kGolden, "pw");
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; i++) {
    threads.emplace_back([db, &ok] {
      for (int j = 0; j < 20; j++) {
        if (db->verify("bob", "hunter2") && !db->verify("bob", "x")) ok++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 80);
}

}  // namespace
}  // namespace mq::broker
