// cachebus-cli: drives a cachebus-node from outside through its published
// frontend (CAF remote actor).
//   cachebus-cli --port=P [--host=H] [TLS] COMMAND ...
//   TLS (for a node started with --cachebus.tls): --tls --certificate=FILE
//   --key=FILE --cafile=FILE (or --capath=DIR) [--passphrase=P]; the node
//   refuses a client whose certificate its CA did not sign.
//   get KEY | set KEY VALUE [TTL_MS] | invalidate KEY... |
//   invalidate-pattern GLOB | invalidate-tag TAG |
//   invalidate-resource RESOURCE ID [VERSION] | stats | lock-stats |
//   fetch KEY | update RES ID FIELD=VALUE... |
//   queue-update RES ID FIELD=VALUE... | record RES ID
// fetch loads a miss through the node's store (single flight across the
// cluster) and prints a record as FIELD=VALUE lines plus its version;
// update writes through, queue-update writes back (the node needs
// --cachebus.write-back.journal), record reads from the cache or the store.
// Prints the answer and exits 0, or prints the error and exits 1 (2 for a
// usage error, e.g. a number with trailing text or out of range: nothing is
// sent then).
#include <chrono>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "caf/io/middleman.hpp"
#include "caf/openssl/manager.hpp"
#include "caf/openssl/remote_actor.hpp"
#include "caf/scoped_actor.hpp"

#include "cachebus/actors/cache/duration.hpp"
#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/record_frontend.hpp"
#include "cachebus/actors/writepaths/record_codec.hpp"
#include "cachebus/bus/tls_credentials.hpp"

using namespace cachebus;

namespace {

int usage(const std::string& why) {
  std::cerr << "cachebus-cli: " << why
            << "\nusage: cachebus-cli --port=P [--host=H] [--tls "
               "--certificate=FILE --key=FILE --cafile=FILE | --capath=DIR "
               "[--passphrase=P]] get KEY | set KEY "
               "VALUE [TTL_MS] | invalidate KEY... | invalidate-pattern GLOB "
               "| invalidate-tag TAG | invalidate-resource RES ID [VERSION] | "
               "stats | lock-stats | fetch KEY | update RES ID FIELD=VALUE... "
               "| queue-update RES ID FIELD=VALUE... | record RES ID\n";
  return 2;
}

// --tls and the files it needs (the options of a node's openssl.*).
struct tls_options {
  bool on = false;
  tls_credentials files;
};

// The value of `arg` if it starts with `prefix` ("--key=").
std::optional<std::string> tls_value(const std::string& arg,
                                     const char* prefix) {
  if (arg.rfind(prefix, 0) != 0)
    return std::nullopt;
  return arg.substr(std::strlen(prefix));
}

// FIELD=VALUE words -> fields; false (with `why`) on a malformed word or a
// field named twice.
bool parse_fields(const std::vector<std::string>& words, size_t first,
                  stores::field_map& out, std::string& why) {
  for (auto i = first; i < words.size(); ++i) {
    auto eq = words[i].find('=');
    if (eq == std::string::npos || eq == 0) {
      why = "expected FIELD=VALUE, got \"" + words[i] + "\"";
      return false;
    }
    if (!out.emplace(words[i].substr(0, eq), words[i].substr(eq + 1)).second) {
      why = "field \"" + words[i].substr(0, eq) + "\" named twice";
      return false;
    }
  }
  return true;
}

// TTL_MS: all of it a non-negative integer of milliseconds that fits a
// timespan (0: the node's default TTL); nullopt with `why` otherwise.
std::optional<caf::timespan> ttl_argument(const std::string& text,
                                          std::string& why) {
  auto ms = parse_int64(text);
  if (!ms || *ms < 0) {
    why = "TTL_MS must be a non-negative integer of milliseconds (0: the "
          "node's default TTL), got \""
          + text + "\"";
    return std::nullopt;
  }
  auto span = checked_span(*ms, std::chrono::milliseconds(1));
  if (!span)
    why = "TTL_MS " + text + " is out of range: at most "
          + std::to_string(caf::timespan::max().count() / 1'000'000)
          + " ms fit a duration";
  return span;
}

void print_record(const stores::field_map& fields, uint64_t version) {
  for (auto& [k, v] : fields)
    std::cout << k << "=" << v << "\n";
  std::cout << "version " << version << "\n";
}

} // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = -1;
  tls_options tls;
  std::vector<std::string> words;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--host=", 0) == 0)
      host = a.substr(7);
    else if (a.rfind("--port=", 0) == 0) {
      auto p = parse_uint64(std::string_view{a}.substr(7));
      if (!p || *p < 1 || *p > 65535)
        return usage("--port must be an integer from 1 to 65535, got \""
                     + a.substr(7) + "\"");
      port = static_cast<int>(*p);
    } else if (a == "--tls")
      tls.on = true;
    else if (auto v = tls_value(a, "--certificate="))
      tls.files.certificate = *v;
    else if (auto v = tls_value(a, "--key="))
      tls.files.key = *v;
    else if (auto v = tls_value(a, "--passphrase="))
      tls.files.passphrase = *v;
    else if (auto v = tls_value(a, "--cafile="))
      tls.files.cafile = *v;
    else if (auto v = tls_value(a, "--capath="))
      tls.files.capath = *v;
    else
      words.push_back(a);
  }
  auto& tf = tls.files;
  if (!tls.on
      && !(tf.certificate + tf.key + tf.passphrase + tf.cafile + tf.capath)
            .empty())
    return usage("--certificate, --key, --passphrase, --cafile and --capath "
                 "need --tls");
  if (port <= 0 || port > 65535)
    return usage("--port=1..65535 is required");
  if (words.empty())
    return usage("no command");
  auto& cmd = words[0];
  // Numbers are checked strictly before anything is sent (usage error, 2).
  std::optional<caf::timespan> ttl;
  std::optional<uint64_t> version;
  if (cmd == "set" && words.size() == 4) {
    std::string why;
    ttl = ttl_argument(words[3], why);
    if (!ttl)
      return usage(why);
  }
  if (cmd == "invalidate-resource" && words.size() == 4) {
    version = parse_uint64(words[3]);
    if (!version)
      return usage("VERSION must be a non-negative integer below 2^64, got \""
                   + words[3] + "\"");
  }
  config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  if (tls.on) {
    // Checked here: CAF throws (or hangs) on unusable credentials.
    if (auto err = check_tls_credentials(tls.files)) {
      std::cerr << "cachebus-cli: " << err.context().get_as<std::string>(0)
                << "\n";
      return 2;
    }
    cfg.openssl_certificate = tf.certificate;
    cfg.openssl_key = tf.key;
    cfg.openssl_passphrase = tf.passphrase;
    cfg.openssl_cafile = tf.cafile;
    cfg.openssl_capath = tf.capath;
    cfg.load<caf::openssl::manager>();
  }
  caf::actor_system sys{cfg};
  auto fe
    = tls.on
        ? caf::openssl::remote_actor<record_frontend_actor>(sys, host, port)
        : sys.middleman().remote_actor<record_frontend_actor>(host, port);
  if (!fe) {
    std::cerr << "cachebus-cli: cannot reach " << host << ":" << port << ": "
              << sys.render(fe.error());
    // What a refused TLS handshake, or TLS on one side only, looks like.
    if (fe.error() == caf::sec::disconnect_during_handshake)
      std::cerr << (tls.on ? " (TLS: is the node's certificate signed by a CA "
                             "of --cafile, this one by a CA the node trusts, "
                             "and does the node run with --cachebus.tls?)"
                           : " (does the node run with --cachebus.tls? then "
                             "use --tls)");
    std::cerr << "\n";
    return 1;
  }
  caf::scoped_actor self{sys};
  int rc = 0;
  auto fail = [&](caf::error& err) {
    std::cerr << "cachebus-cli: " << describe(err) << "\n";
    rc = 1;
  };
  auto print_count = [&](uint64_t n) { std::cout << n << "\n"; };
  auto timeout = std::chrono::seconds(10);
  if (cmd == "get" && words.size() == 2) {
    self->request(*fe, timeout, caf::get_atom_v, words[1])
      .receive([](const std::string& v) { std::cout << v << "\n"; }, fail);
  } else if (cmd == "set" && (words.size() == 3 || words.size() == 4)) {
    put_request req;
    req.key = words[1];
    req.value = words[2];
    if (ttl)
      req.ttl = *ttl;
    self->request(*fe, timeout, caf::put_atom_v, req)
      .receive([](uint64_t v) { std::cout << "version " << v << "\n"; }, fail);
  } else if (cmd == "invalidate" && words.size() >= 2) {
    keys_invalidated ev;
    ev.keys.assign(words.begin() + 1, words.end());
    self->request(*fe, timeout, ev).receive(print_count, fail);
  } else if (cmd == "invalidate-pattern" && words.size() == 2) {
    pattern_invalidated ev;
    ev.glob = words[1];
    self->request(*fe, timeout, ev).receive(print_count, fail);
  } else if (cmd == "invalidate-tag" && words.size() == 2) {
    tag_invalidated ev;
    ev.tag = words[1];
    self->request(*fe, timeout, ev).receive(print_count, fail);
  } else if (cmd == "invalidate-resource"
             && (words.size() == 3 || words.size() == 4)) {
    invalidated ev;
    ev.resource = words[1];
    ev.id = words[2];
    if (version)
      ev.version = *version;
    self->request(*fe, timeout, ev).receive(print_count, fail);
  } else if (cmd == "stats" && words.size() == 1) {
    self->request(*fe, timeout, stats_atom_v)
      .receive(
        [](const shard_stats& s) {
          std::cout << "hits " << s.hits << "\nmisses " << s.misses << "\nsets "
                    << s.sets << "\nevictions " << s.evictions
                    << "\nexpirations " << s.expirations << "\ninvalidations "
                    << s.invalidations << "\nentries " << s.entries
                    << "\nbytes " << s.bytes << "\n";
        },
        fail);
  } else if (cmd == "lock-stats" && words.size() == 1) {
    self->request(*fe, timeout, lock_stats_atom_v)
      .receive(
        [](const lock_stats& s) {
          std::cout << "grants " << s.grants << "\nwaits " << s.waits
                    << "\nserved " << s.served << "\nfailures " << s.failures
                    << "\nforwarded " << s.forwarded << "\nowner_requests "
                    << s.owner_requests << "\nrerouted " << s.rerouted
                    << "\nheld " << s.held << "\nwaiting " << s.waiting << "\n";
        },
        fail);
  } else if (cmd == "fetch" && words.size() == 2) {
    self->request(*fe, timeout, fetch_atom_v, words[1])
      .receive(
        [](const std::string& v) {
          // A record (the store loader's values) prints as its fields.
          if (auto rec = decode_record(v))
            print_record(rec->fields, rec->version);
          else
            std::cout << v << "\n";
        },
        fail);
  } else if ((cmd == "update" || cmd == "queue-update") && words.size() >= 4) {
    stores::field_map fields;
    std::string why;
    if (!parse_fields(words, 3, fields, why))
      return usage(why);
    if (cmd == "update")
      self
        ->request(*fe, timeout, caf::update_atom_v, words[1], words[2],
                  std::move(fields))
        .receive([](uint64_t v) { std::cout << "version " << v << "\n"; },
                 fail);
    else
      self
        ->request(*fe, timeout, queue_update_atom_v, words[1], words[2],
                  std::move(fields))
        .receive([](caf::ok_atom) { std::cout << "queued\n"; }, fail);
  } else if (cmd == "record" && words.size() == 3) {
    self->request(*fe, timeout, record_atom_v, words[1], words[2])
      .receive(print_record, fail);
  } else {
    return usage("unknown command or wrong arguments: " + cmd);
  }
  return rc;
}
