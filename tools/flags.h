// A small per-command flag parser. Unlike global flag libraries it knows which flags each
// subcommand accepts, so `gptc ir --steps=3` is an error that lists what `ir` accepts.
// Accepted forms: --name=value, --name value, --bool-flag, --no-bool-flag, and --no-name for a
// string flag, which sets it to "none" (--no-fuse is --fuse=none).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace gptc::tools {

class FlagSet {
 public:
  explicit FlagSet(std::string command) : command_(std::move(command)) {}

  void String(const std::string& name, std::string def, std::string help);
  void Int(const std::string& name, int64_t def, std::string help);
  void Double(const std::string& name, double def, std::string help);
  void Bool(const std::string& name, bool def, std::string help);

  // Parses args (without the program and command names). Positional arguments are errors
  // unless AllowPositionals() said how many the command takes (`gptc opt FILE`).
  absl::Status Parse(const std::vector<std::string>& args);
  void AllowPositionals(int max) { max_positionals_ = max; }
  const std::vector<std::string>& positionals() const { return positionals_; }

  std::string GetString(const std::string& name) const;
  int64_t GetInt(const std::string& name) const;
  double GetDouble(const std::string& name) const;
  bool GetBool(const std::string& name) const;
  bool IsSet(const std::string& name) const;  // given on the command line
  bool help() const { return help_; }

  std::string Usage() const;

 private:
  enum class Kind { kString, kInt, kDouble, kBool };
  struct Flag {
    Kind kind;
    std::string value;
    std::string help;
    bool set = false;
  };
  absl::Status Assign(const std::string& name, Flag& f, const std::string& value);
  std::string Accepted() const;

  std::string command_;
  std::map<std::string, Flag> flags_;
  std::vector<std::string> order_;
  bool help_ = false;
  int max_positionals_ = 0;
  std::vector<std::string> positionals_;
};

}  // namespace gptc::tools
