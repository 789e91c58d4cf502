// A fresh directory under /tmp for a test's persistence files, removed with everything in it
// when the test ends.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace mq::broker::testing {

class TempDir {
 public:
  // The directory is /tmp/mq-<name>-XXXXXX.
  explicit TempDir(const std::string& name) {
    std::string tmpl = "/tmp/mq-" + name + "-XXXXXX";
    EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace mq::broker::testing
