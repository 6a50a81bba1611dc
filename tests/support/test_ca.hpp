// Throwaway PKI for the TLS tests, made with the `openssl` command line in a
// fresh temporary directory (app::temp_dir) that is removed with everything
// in it when the object dies: a CA ("ca") that signs the certificates "a", "b",
// "c" and "client", and a second, unrelated self-signed CA ("other-ca") that
// signs "foreign"; "expired" (of "ca") expired yesterday. Keys are unencrypted
// EC P-256; the other certificates are valid for two days. file("a.crt"),
// file("a.key"), file("ca.crt") give the paths.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "cachebus/apps/common/temp_dir.hpp"

namespace cachebus::test {

class test_ca {
 public:
  // If a certificate cannot be made, the exception leaves and dir_'s
  // destructor removes what was made so far.
  test_ca() {
    self_signed("ca");
    self_signed("other-ca");
    for (auto name : {"a", "b", "c", "client"})
      signed_by(name, "ca");
    signed_by("foreign", "other-ca");
    signed_by("expired", "ca", -1);
  }

  test_ca(const test_ca&) = delete;
  test_ca& operator=(const test_ca&) = delete;

  const std::filesystem::path& dir() const noexcept { return dir_.path(); }

  /// The path of `name` inside the directory, e.g. file("a.crt").
  std::string file(const std::string& name) const { return dir_.file(name); }

  /// Writes `text` into `name` inside the directory; returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    auto path = file(name);
    if (auto* f = std::fopen(path.c_str(), "w")) {
      std::fputs(text.c_str(), f);
      std::fclose(f);
    }
    return path;
  }

 private:
  void run(const std::string& args) {
    auto cmd = "cd '" + dir_.path().string() + "' && openssl " + args
               + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0)
      throw std::runtime_error("test_ca: `openssl " + args
                               + "` failed (is the openssl CLI installed?)");
  }

  void self_signed(const std::string& name) {
    run("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
        " -keyout "
        + name + ".key -out " + name + ".crt -days 2 -subj /CN=" + name);
  }

  void signed_by(const std::string& name, const std::string& ca, int days = 2) {
    run("req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + name
        + ".key -out " + name + ".csr -subj /CN=" + name);
    run("x509 -req -in " + name + ".csr -CA " + ca + ".crt -CAkey " + ca
        + ".key -CAcreateserial -out " + name + ".crt -days "
        + std::to_string(days));
  }

  app::temp_dir dir_{"cachebus-tls"};
};

} // namespace cachebus::test
