#include "cli/docs.h"

#include <cxxopts.hpp>
#include <vector>

#include "base/version.h"

namespace mq::cli {

namespace {

struct Opt {
  std::string short_name;  // "t" or empty
  std::string long_name;   // "topic" or empty
  std::string arg;         // empty for a flag
  std::string desc;
};

struct Group {
  std::string name;
  std::vector<Opt> opts;
};

std::vector<Group> declared_options(const Subcommand& sub) {
  std::vector<Group> out;
  if (!sub.add_options) return out;
  cxxopts::Options o("mq " + std::string(sub.name), std::string(sub.summary));
  sub.add_options(o);
  for (const std::string& g : o.groups()) {
    Group group{g, {}};
    for (const cxxopts::HelpOptionDetails& d : o.group_help(g).options) {
      if (d.desc.empty()) continue;  // positional arguments, declared without a description
      Opt opt;
      opt.short_name = d.s;
      for (const std::string& l : d.l) {
        if (l.size() > 1 || opt.short_name.empty()) {
          opt.long_name = l;
          break;
        }
      }
      if (opt.short_name.empty() && opt.long_name.size() == 1) std::swap(opt.short_name, opt.long_name);
      if (!d.is_boolean) opt.arg = d.arg_help.empty() ? "ARG" : d.arg_help;
      opt.desc = d.desc;
      group.opts.push_back(std::move(opt));
    }
    out.push_back(std::move(group));
  }
  return out;
}

// roff escapes: backslashes and a leading dot or quote.
std::string roff(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(c >= 'a' && c <= 'z' ? c - 32 : c);
  return out;
}

std::string header(std::string_view title) {
  return ".TH " + upper(title) + " 1 \"\" \"mq " + kVersion + "\" \"User Commands\"\n";
}

// "-t, --topic" as shells and readers see it.
std::vector<std::string> spellings(const Opt& o) {
  std::vector<std::string> s;
  if (!o.short_name.empty()) s.push_back("-" + o.short_name);
  if (!o.long_name.empty()) s.push_back("--" + o.long_name);
  return s;
}

std::string sh_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

}  // namespace

std::string man_page(const Subcommand& sub) {
  std::string name = "mq-" + std::string(sub.name);
  std::string out = header(name);
  out += ".SH NAME\n" + roff(name) + " \\- " + roff(sub.summary) + "\n";
  out += ".SH SYNOPSIS\n.B mq " + roff(sub.name) + "\n[\\fIOPTIONS\\fR]\n";
  if (!sub.mosquitto_name.empty()) {
    out += ".br\n.B " + roff(sub.mosquitto_name) + "\n[\\fIOPTIONS\\fR]\n";
  }
  out += ".SH DESCRIPTION\n" + roff(sub.summary) + ".\n";
  if (!sub.mosquitto_name.empty()) {
    out += ".PP\nStarted as \\fB" + roff(sub.mosquitto_name) +
           "\\fR (a link to mq), it accepts that Mosquitto tool's options, configuration and "
           "output formats exactly; options marked as mq's own are then refused.\n";
  }
  for (const Group& g : declared_options(sub)) {
    out += ".SH " + (g.name.empty() ? std::string("OPTIONS") : upper(g.name) + " OPTIONS") + "\n";
    for (const Opt& o : g.opts) {
      out += ".TP\n";
      std::string line;
      for (const std::string& s : spellings(o)) {
        if (!line.empty()) line += ", ";
        line += "\\fB" + roff(s) + "\\fR";
      }
      if (!o.arg.empty()) line += " \\fI" + roff(o.arg) + "\\fR";
      out += line + "\n" + roff(o.desc) + "\n";
    }
  }
  out += ".SH SEE ALSO\n.BR mq (1)\n";
  return out;
}

std::string overview_man_page(std::span<const Subcommand> table) {
  std::string out = header("mq");
  out += ".SH NAME\nmq \\- the Mosquitto toolset in one small static binary\n";
  out += ".SH SYNOPSIS\n.B mq\n\\fISUBCOMMAND\\fR [\\fIOPTIONS\\fR]\n.br\n"
         ".B mq\n\\-\\-list | \\-\\-help | \\-\\-version | \\-\\-install [\\-s] [\\-\\-force] "
         "\\fIDIR\\fR\n";
  out += ".SH DESCRIPTION\nmq dispatches on its first argument, or on the name it was started "
         "under: a link named after a Mosquitto tool behaves exactly as that tool.\n";
  out += ".SH SUBCOMMANDS\n";
  for (const Subcommand& s : table) {
    // Appended piece by piece: g++ 12 warns falsely (-Wrestrict) on "literal" + std::string.
    out += ".TP\n\\fB";
    out += roff(s.name);
    out += "\\fR";
    if (!s.mosquitto_name.empty()) {
      out += " (";
      out += roff(s.mosquitto_name);
      out += ")";
    }
    out += "\n";
    out += roff(s.summary);
    out += "; see \\fBmq\\-";
    out += roff(s.name);
    out += "\\fR(1).\n";
  }
  out += ".SH SEE ALSO\n";
  for (size_t i = 0; i < table.size(); i++) {
    out += ".BR mq\\-" + roff(table[i].name) + " (1)" + (i + 1 < table.size() ? ",\n" : "\n");
  }
  return out;
}

std::string completion_script(std::span<const Subcommand> table, std::string_view shell) {
  std::string names, mosquitto_names;
  for (const Subcommand& s : table) {
    names += (names.empty() ? "" : " ") + std::string(s.name);
    if (!s.mosquitto_name.empty()) mosquitto_names += " " + std::string(s.mosquitto_name);
  }
  if (shell == "bash") {
    std::string out = "# bash completion for mq and the Mosquitto names (generated by mq)\n";
    out += "_mq_options() {\n  case \"$1\" in\n";
    for (const Subcommand& s : table) {
      std::string words;
      for (const Group& g : declared_options(s))
        for (const Opt& o : g.opts)
          for (const std::string& sp : spellings(o)) words += (words.empty() ? "" : " ") + sp;
      out += "    " + std::string(s.name);
      if (!s.mosquitto_name.empty()) out += "|" + std::string(s.mosquitto_name);
      out += ") echo " + sh_quote(words) + " ;;\n";
    }
    out += "  esac\n}\n";
    out += "_mq() {\n  local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[0]##*/}\n"
           "  if [[ $cmd == mq ]]; then\n"
           "    if ((COMP_CWORD == 1)); then\n"
           "      COMPREPLY=($(compgen -W '" + names + " help --list --help --version --install' -- \"$cur\"))\n"
           "      return\n"
           "    fi\n"
           "    cmd=${COMP_WORDS[1]}\n"
           "  fi\n"
           "  if [[ $cur == -* ]]; then\n"
           "    COMPREPLY=($(compgen -W \"$(_mq_options \"$cmd\")\" -- \"$cur\"))\n"
           "  else\n"
           "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
           "  fi\n}\n";
    out += "complete -F _mq mq" + mosquitto_names + "\n";
    return out;
  }
  if (shell == "zsh") {
    std::string out = "#compdef mq" + mosquitto_names + "\n# zsh completion (generated by mq)\n";
    for (const Subcommand& s : table) {
      out += "_mq_" + std::string(s.name) + "() {\n  _arguments -s";
      for (const Group& g : declared_options(s)) {
        for (const Opt& o : g.opts) {
          std::string desc;
          for (char c : o.desc) desc += (c == '\'' ? std::string("'\\''") : c == ']' || c == '[' || c == ':' ? std::string("\\") + c : std::string(1, c));
          std::string arg = o.arg.empty() ? "" : ":" + o.arg + ":_files";
          for (const std::string& sp : spellings(o)) out += " \\\n    '" + sp + "[" + desc + "]" + arg + "'";
        }
      }
      out += " \\\n    '*:file:_files'\n}\n";
    }
    out += "_mq() {\n  local name=${service##*/}\n  case $name in\n";
    for (const Subcommand& s : table) {
      if (!s.mosquitto_name.empty())
        out += "    " + std::string(s.mosquitto_name) + ") _mq_" + std::string(s.name) + "; return ;;\n";
    }
    out += "  esac\n  if (( CURRENT == 2 )); then\n    compadd " + names +
           " help\n    return\n  fi\n  local sub=${words[2]}\n  shift words\n  (( CURRENT-- ))\n"
           "  (( $+functions[_mq_$sub] )) && _mq_$sub\n}\n_mq \"$@\"\n";
    return out;
  }
  if (shell == "fish") {
    std::string out = "# fish completion for mq and the Mosquitto names (generated by mq)\n";
    out += "complete -c mq -f -n '__fish_use_subcommand' -a '" + names + " help'\n";
    for (const Subcommand& s : table) {
      for (const Group& g : declared_options(s)) {
        for (const Opt& o : g.opts) {
          std::string flags;
          if (!o.short_name.empty()) flags += " -s " + sh_quote(o.short_name);
          if (!o.long_name.empty()) flags += " -l " + sh_quote(o.long_name);
          if (!o.arg.empty()) flags += " -r";
          flags += " -d " + sh_quote(o.desc);
          out += "complete -c mq -n '__fish_seen_subcommand_from " + std::string(s.name) + "'" +
                 flags + "\n";
          if (!s.mosquitto_name.empty())
            out += "complete -c " + std::string(s.mosquitto_name) + flags + "\n";
        }
      }
    }
    return out;
  }
  return {};
}

}  // namespace mq::cli
