// An actor_system_config that knows cachebus: it declares every `cachebus.*`
// option (so `--help` lists them and the command line and caf-application.ini
// can set them), registers cachebus's message types and error category, and
// sets `scheduler.max-threads` to the core count (CAF's default of 4
// oversubscribes small machines). Declare your program's options next to
// ours (declare_options) or derive your own config from it, or call
// cachebus::prepare on a config you already have. It loads the middleman but
// not CAF's OpenSSL module (a thread of its own): for `cachebus.tls` call
// cachebus::enable_tls after parsing (tls_setup.hpp; runtime does).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "caf/actor_system_config.hpp"
#include "caf/error.hpp"

namespace cachebus {

/// Declares a program's own options: `fn` adds them to the option set, e.g.
/// caf::config_option_adder{opts, "http"}.add<uint16_t>("port", "...") for
/// --http.port and an [http] section, or category "global" for --http-port.
using declare_options_fn = std::function<void(caf::config_option_set& opts)>;

class config : public caf::actor_system_config {
 public:
  config();

  /// Declares the program's own options next to cachebus's: the command line
  /// and the configuration file set them, --help lists them, and
  /// check_sources checks the program's categories in the file as strictly
  /// as `cachebus.*` (a value of the wrong type, or an unknown key in a
  /// category of the program's own, is invalid_config). Read values back
  /// with read_option (option_reader.hpp).
  /// REQUIRES: before parse(); `fn` declares no option twice.
  void declare_options(const declare_options_fn& fn);

  /// Checks what CAF's parse(args) would let through: a `cachebus.*` entry
  /// (or one of a category the program declared) of the configuration file
  /// (--config-file in `args`, else config_file_path) of the wrong type,
  /// which CAF drops silently, or unknown; and durations, in the file or in
  /// `args`, too large for CAF's unchecked conversion. invalid_config naming
  /// the option. Call it before parse(args); cachebus::runtime does.
  caf::error check_sources(const std::vector<std::string>& args) const;

  /// check_sources(args), then CAF's parse(args) with its failure explained
  /// (explain_parse_error). Also takes `--name=true` and `--name=false` for
  /// a declared boolean option, which CAF 0.17 refuses (on its command line
  /// a boolean is a flag: `--cachebus.cluster`), so that an option that
  /// defaults to true can be turned off there too; they win over the
  /// configuration file, like every argument. What cachebus::runtime calls.
  caf::error parse_checked(std::vector<std::string> args);

  /// Why CAF's parse(args) failed, in words: the first argument that is not
  /// a declared option, lacks its value, or has a value of the wrong type.
  /// invalid_config; CAF's own rendering of `parse_error` if no argument
  /// explains it.
  caf::error explain_parse_error(const std::vector<std::string>& args,
                                 const caf::error& parse_error) const;

 private:
  // Categories check_sources checks in the configuration file.
  std::vector<std::string> checked_categories_{"cachebus"};
};

/// Registers cachebus's message types and error category with `cfg` and sets
/// `scheduler.max-threads` to the core count unless it is already set. Use it
/// for configs that do not derive from cachebus::config (their `cachebus.*`
/// options then only come from code: pass node_options to node::start).
void prepare(caf::actor_system_config& cfg);

} // namespace cachebus
