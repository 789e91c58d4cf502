#include "broker/auth/password_db.h"

#include "base/file.h"
#include "base/log.h"
#include "base/text.h"

namespace mq::broker {

namespace {

// strtok(s, ":") one token at a time: skips leading ':' and stops at the next ':'.
std::optional<std::string_view> next_field(std::string_view* rest) {
  size_t start = rest->find_first_not_of(':');
  if (start == std::string_view::npos) {
    *rest = {};
    return std::nullopt;
  }
  size_t end = rest->find(':', start);
  std::string_view field = rest->substr(start, end == std::string_view::npos ? end : end - start);
  *rest = end == std::string_view::npos ? std::string_view() : rest->substr(end + 1);
  return field;
}

}  // namespace

Result<std::shared_ptr<const PasswordDb>> PasswordDb::load(const std::string& path) {
  auto fail = [&] {
    return make_error(ErrorKind::kIo, "Error: Unable to open pwfile \"" + path + "\".");
  };
  std::string text;
  if (!read_file(path, &text)) return fail();
  return parse(text, path);
}

std::shared_ptr<const PasswordDb> PasswordDb::parse(std::string_view content,
                                                    std::string_view path) {
  std::shared_ptr<PasswordDb> db(new PasswordDb());
  std::string where(path);
  while (!content.empty()) {
    // The line keeps its '\n', as fgets does: "user:\n" has an (empty) password field.
    size_t nl = content.find('\n');
    std::string_view line = content.substr(0, nl == std::string_view::npos ? nl : nl + 1);
    content.remove_prefix(line.size());
    if (line[0] == '#' || line.find(':') == std::string_view::npos) continue;

    std::string_view rest = line;
    std::optional<std::string_view> user_field = next_field(&rest);
    std::optional<std::string_view> password_field = next_field(&rest);
    if (!user_field || !password_field) {
      MQ_LOG(kLogWarning, "Warning: Invalid line in password file '%s': %.*s", where.c_str(),
             int(trim_c_space(line).size()), trim_c_space(line).data());
      continue;
    }
    std::string_view user = trim_c_space(*user_field);
    std::string_view password = trim_c_space(*password_field);
    if (user.size() > 65535 || password.size() > 65535) {
      MQ_LOG(kLogWarning, "Warning: Invalid line in password file '%s', %s too long.",
             where.c_str(), user.size() > 65535 ? "username" : "password");
      continue;
    }
    std::string name(user);
    Result<crypto::PasswordHash> hash = crypto::PasswordHash::parse(password);
    if (!hash) {
      MQ_LOG(kLogError, "Error: %s for user %s, removing entry.", hash.error().context.c_str(),
             name.c_str());
      continue;
    }
    auto [it, inserted] = db->users_.insert_or_assign(name, std::move(*hash));
    if (!inserted) {
      MQ_LOG(kLogWarning, "Warning: Duplicate user %s in password file '%s', using the last entry.",
             name.c_str(), where.c_str());
    }
  }
  return db;
}

bool PasswordDb::verify(std::string_view username, std::optional<std::string_view> password) const {
  if (!password) return false;
  auto it = users_.find(username);
  if (it == users_.end()) {
    // Spend what a known user costs (same hash kind and parameters as the file's first entry),
    // so response time does not tell which user names exist.
    if (!users_.empty()) (void)users_.begin()->second.verify(*password);
    return false;
  }
  return it->second.verify(*password);
}

}  // namespace mq::broker
