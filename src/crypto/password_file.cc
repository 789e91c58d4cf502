#include "crypto/password_file.h"

#include "base/text.h"

namespace mq::crypto {

Result<PasswordFile> PasswordFile::parse(std::string_view content) {
  PasswordFile file;
  size_t number = 0;
  while (!content.empty()) {
    size_t nl = content.find('\n');
    std::string_view text = content.substr(0, nl);
    content.remove_prefix(nl == std::string_view::npos ? content.size() : nl + 1);
    number++;
    Line line{std::string(text), {}, {}};
    if (!text.empty() && text[0] == '#') {
      file.lines_.push_back(std::move(line));
      continue;
    }
    if (trim_c_space(text).empty()) {
      file.lines_.push_back(std::move(line));
      continue;
    }
    // As strtok(":"): leading ':' are skipped, the password ends at the next ':'.
    size_t start = text.find_first_not_of(':');
    size_t colon = text.find(':', start);
    std::string_view user;
    std::string_view password;
    if (colon != std::string_view::npos) {
      user = trim_c_space(text.substr(start, colon - start));
      size_t pstart = text.find_first_not_of(':', colon);
      if (pstart != std::string_view::npos) {
        password = trim_c_space(text.substr(pstart, text.find(':', pstart) - pstart));
      }
    }
    if (user.empty() || password.empty()) {
      return make_error(ErrorKind::kConfig,
                        "Corrupt password file at line " + std::to_string(number) + ".");
    }
    line.username = std::string(user);
    line.password = std::string(password);
    file.lines_.push_back(std::move(line));
  }
  return file;
}

void PasswordFile::set(std::string_view username, std::string_view password_field) {
  std::string text = std::string(username) + ":" + std::string(password_field);
  bool replaced = false;
  std::vector<Line> kept;
  kept.reserve(lines_.size() + 1);
  for (Line& l : lines_) {
    if (l.username == username) {
      if (replaced) continue;
      replaced = true;
      l.text = text;
      l.password = std::string(password_field);
    }
    kept.push_back(std::move(l));
  }
  if (!replaced) kept.push_back(Line{text, std::string(username), std::string(password_field)});
  lines_ = std::move(kept);
}

bool PasswordFile::remove(std::string_view username) {
  size_t before = lines_.size();
  std::erase_if(lines_, [&](const Line& l) { return l.username == username; });
  return lines_.size() != before;
}

size_t PasswordFile::first_hashed_line() const {
  for (size_t i = 0; i < lines_.size(); i++) {
    const Line& l = lines_[i];
    if (!l.username.empty() && l.password[0] == '$' && PasswordHash::parse(l.password).ok()) {
      return i + 1;
    }
  }
  return 0;
}

Status PasswordFile::hash_all(const HashParams& params) {
  for (Line& l : lines_) {
    if (l.username.empty()) continue;
    Result<std::string> h = hash_password(l.password, params);
    if (!h) return h.error();
    l.text = l.username + ":" + *h;
    l.password = std::move(*h);
  }
  return {};
}

std::string PasswordFile::serialize() const {
  std::string out;
  for (const Line& l : lines_) {
    out += l.text;
    out += '\n';
  }
  return out;
}

std::string check_username(std::string_view username) {
  if (username.empty()) return "Username must not be empty.";
  if (username.size() > 65535) return "Username must be less than 65536 characters long.";
  for (unsigned char c : username) {
    if (c < 0x20 || c == 0x7f) return "Username must not contain control characters.";
  }
  if (username.find(':') != std::string_view::npos) {
    return "Username must not contain the ':' character.";
  }
  return {};
}

}  // namespace mq::crypto
