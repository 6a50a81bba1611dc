// The session's core (parse, authenticate, dispatch) and its connection
// commands; keys are in resp_keyspace.cpp, INFO/COMMAND/CONFIG in
// resp_introspection.cpp, the command table in resp_command_table.cpp.
#include "cachebus/actors/resp/resp_session.hpp"

#include <algorithm>
#include <cctype>

#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/resp/resp_command.hpp"
#include "cachebus/actors/resp/resp_services.hpp"

namespace cachebus {

resp_session::resp_session(node& n, std::shared_ptr<resp_clients> clients,
                           resp_session_options opts, std::string peer,
                           std::string local)
    : node_(n), clients_(std::move(clients)), opts_(std::move(opts)),
      parser_(opts_.limits) {
  id_ = clients_->add(std::move(peer), std::move(local), node_.time().now_ns());
  authenticated_ = opts_.password.empty();
  parser_.set_authenticated(authenticated_);
}

resp_session::~resp_session() {
  if (opts_.services) {
    opts_.services->tracking().disable(id_);
    opts_.services->pubsub().remove(id_);
  }
  clients_->remove(id_);
}

void resp_session::feed(std::string_view bytes) {
  if (closing_)
    return;
  parser_.feed(bytes);
  drain();
}

uint64_t resp_session::defer() {
  waiting_ = ++last_ticket_;
  return waiting_;
}

void resp_session::complete(resp_completion c) {
  if (c.ticket == 0 || c.ticket != waiting_)
    return;
  waiting_ = 0;
  if (c.reply)
    c.reply(writer_);
  drain();
}

void resp_session::drain() {
  while (!closing_ && !waiting_) {
    auto st = parser_.next(args_);
    if (st == resp_parser::status::need_more)
      break;
    if (st == resp_parser::status::error) {
      writer_.error("ERR " + parser_.error());
      closing_ = true;
      break;
    }
    run(args_);
  }
  if (ran_) {
    ran_ = false;
    clients_->update(
      id_, [&](resp_clients::client& c) { c.last_ns = node_.time().now_ns(); });
  }
}

void resp_session::wrong_arity(std::string_view name) {
  writer_.error("ERR wrong number of arguments for '" + std::string{name}
                + "' command");
}

void resp_session::reply_count(const caf::expected<size_t>& n) {
  if (n)
    writer_.integer(static_cast<int64_t>(*n));
  else
    reply_node_error(n.error());
}

void resp_session::reply_node_error(const caf::error& err) {
  writer_.error("ERR " + describe(err));
}

bool resp_session::check_key(std::string_view key) {
  if (auto err = node_.options().check_key(key)) {
    reply_node_error(err);
    return false;
  }
  return true;
}

bool resp_session::check_keys(const args_t& a, size_t first, size_t step) {
  for (size_t i = first; i < a.size(); i += step)
    if (auto err = node_.options().check_key(a[i])) {
      reply_node_error(err);
      return false;
    }
  return true;
}

void resp_session::run(args_t& a) {
  clients_->count_command();
  const auto* cmd = find_resp_command(a[0]);
  if (cmd == nullptr) {
    // Redis's text: the name and the first arguments, each quoted.
    std::string args;
    for (size_t i = 1; i < a.size() && args.size() < 128; ++i)
      args += "'" + a[i].substr(0, 128 - args.size()) + "' ";
    writer_.error("ERR unknown command '" + a[0].substr(0, 128)
                  + "', with args beginning with: " + args);
    return;
  }
  auto argc = static_cast<int>(std::min<size_t>(a.size(), 1 << 30));
  if ((cmd->arity > 0 && argc != cmd->arity) || argc < -cmd->arity) {
    wrong_arity(cmd->name);
    return;
  }
  if (!authenticated_ && !cmd->no_auth) {
    writer_.error("NOAUTH Authentication required.");
    return;
  }
  if (!before_command(*cmd, a))
    return;
  // CLIENT LIST's cmd= and idle=: the registry (a lock) is told when the
  // command changes, and once per batch of input (drain()); a pipeline of
  // one command costs it nothing per command.
  if (cmd->name != listed_cmd_) {
    listed_cmd_ = cmd->name;
    clients_->update(id_, [&](resp_clients::client& c) {
      c.last_ns = node_.time().now_ns();
      c.last_cmd = cmd->name;
    });
  }
  ran_ = true;
  {
    // What this command writes is this connection's (NOLOOP). A deferred
    // reply's write runs elsewhere and is not.
    removal_writer as_writer{id_};
    (this->*(cmd->run))(a);
  }
  after_command(*cmd, a);
}

// -- connection commands ------------------------------------------------------

void resp_session::hello_reply() {
  writer_.map(7);
  writer_.bulk("server");
  writer_.bulk(resp_server_name);
  writer_.bulk("version");
  writer_.bulk(resp_redis_version);
  writer_.bulk("proto");
  writer_.integer(writer_.protocol());
  writer_.bulk("id");
  writer_.integer(static_cast<int64_t>(id_));
  writer_.bulk("mode");
  writer_.bulk("standalone");
  writer_.bulk("role");
  writer_.bulk("master");
  writer_.bulk("modules");
  writer_.array(0);
}

void resp_session::cmd_hello(args_t& a) {
  int proto = writer_.protocol();
  size_t i = 1;
  if (a.size() > 1) {
    long long v = 0;
    if (!parse_resp_integer(a[1], v)) {
      writer_.error("ERR Protocol version is not an integer or out of range");
      return;
    }
    if (v < 2 || v > 3) {
      writer_.error("NOPROTO unsupported protocol version");
      return;
    }
    proto = static_cast<int>(v);
    i = 2;
  }
  std::string name;
  bool set_name = false;
  bool auth_given = false;
  std::string user, pass;
  for (; i < a.size(); ++i) {
    bool more = i + 1 < a.size();
    if (resp_iequals(a[i], "auth") && i + 2 < a.size()) {
      auth_given = true;
      user = a[i + 1];
      pass = a[i + 2];
      i += 2;
    } else if (resp_iequals(a[i], "setname") && more) {
      set_name = true;
      name = a[i + 1];
      ++i;
    } else {
      writer_.error("ERR Syntax error in HELLO option '" + a[i] + "'");
      return;
    }
  }
  if (auth_given) {
    bool ok
      = user == "default" && (opts_.password.empty() || pass == opts_.password);
    if (!ok) {
      writer_.error("WRONGPASS invalid username-password pair or user is "
                    "disabled.");
      return;
    }
    authenticated_ = true;
    parser_.set_authenticated(true);
  }
  if (!authenticated_) {
    writer_.error("NOAUTH HELLO must be called with the client already "
                  "authenticated, otherwise the HELLO <proto> AUTH <user> "
                  "<pass> option can be used to authenticate the client and "
                  "select the RESP protocol version at the same time");
    return;
  }
  if (set_name) {
    if (!valid_client_name(name)) {
      writer_.error("ERR Client names cannot contain spaces, newlines or "
                    "special characters.");
      return;
    }
    clients_->update(id_, [&](resp_clients::client& c) { c.name = name; });
  }
  writer_.set_protocol(proto);
  clients_->update(id_, [&](resp_clients::client& c) { c.resp = proto; });
  hello_reply();
}

void resp_session::cmd_auth(args_t& a) {
  if (a.size() > 3) {
    writer_.error("ERR syntax error");
    return;
  }
  if (a.size() == 2 && opts_.password.empty()) {
    writer_.error("ERR AUTH <password> called without any password "
                  "configured for the default user. Are you sure your "
                  "configuration is correct?");
    return;
  }
  const auto& user = a.size() == 3 ? a[1] : std::string{"default"};
  const auto& pass = a.back();
  if (user != "default"
      || (!opts_.password.empty() && pass != opts_.password)) {
    writer_.error("WRONGPASS invalid username-password pair or user is "
                  "disabled.");
    return;
  }
  authenticated_ = true;
  parser_.set_authenticated(true);
  writer_.simple("OK");
}

void resp_session::cmd_ping(args_t& a) {
  if (a.size() > 2) {
    wrong_arity("ping");
    return;
  }
  if (writer_.protocol() == 2 && subscribed()) {
    // Redis: a subscribed RESP2 connection gets ["pong", message].
    writer_.array(2);
    writer_.bulk("pong");
    writer_.bulk(a.size() == 2 ? std::string_view{a[1]} : std::string_view{});
    return;
  }
  if (a.size() == 2)
    writer_.bulk(a[1]);
  else
    writer_.simple("PONG");
}

void resp_session::cmd_echo(args_t& a) {
  writer_.bulk(a[1]);
}

void resp_session::cmd_quit(args_t&) {
  writer_.simple("OK");
  closing_ = true;
}

void resp_session::cmd_select(args_t& a) {
  long long db = 0;
  if (!parse_resp_integer(a[1], db)) {
    writer_.error("ERR value is not an integer or out of range");
    return;
  }
  if (db != 0) {
    writer_.error("ERR DB index is out of range");
    return;
  }
  writer_.simple("OK");
}

std::string resp_session::client_line(const resp_clients::client& c) const {
  auto now = node_.time().now_ns();
  auto secs = [&](int64_t since) {
    return std::to_string(std::max<int64_t>(0, now - since) / 1'000'000'000);
  };
  return "id=" + std::to_string(c.id) + " addr=" + c.addr + " laddr=" + c.laddr
         + " fd=-1 name=" + c.name + " age=" + secs(c.connected_ns) + " idle="
         + secs(c.last_ns) + " flags=N db=0 sub=0 psub=0 multi=-1 cmd="
         + (c.last_cmd.empty() ? std::string{"NULL"} : c.last_cmd)
         + " user=default resp=" + std::to_string(c.resp) + "\n";
}

void resp_session::cmd_client(args_t& a) {
  auto sub = resp_lower(a[1]);
  auto arity = [&](size_t n, bool at_least = false) {
    if (at_least ? a.size() >= n : a.size() == n)
      return true;
    wrong_arity("client|" + sub);
    return false;
  };
  if (sub == "id") {
    if (arity(2))
      writer_.integer(static_cast<int64_t>(id_));
  } else if (sub == "setname") {
    if (!arity(3))
      return;
    if (!valid_client_name(a[2])) {
      writer_.error("ERR Client names cannot contain spaces, newlines or "
                    "special characters.");
      return;
    }
    clients_->update(id_, [&](resp_clients::client& c) { c.name = a[2]; });
    writer_.simple("OK");
  } else if (sub == "getname") {
    if (!arity(2))
      return;
    auto name = clients_->get(id_).name;
    if (name.empty())
      writer_.null();
    else
      writer_.bulk(name);
  } else if (sub == "list") {
    if (a.size() > 2) {
      // TYPE normal lists everyone (every client is normal); other
      // filters are not offered.
      if (!(a.size() == 4 && resp_iequals(a[2], "type")
            && resp_iequals(a[3], "normal"))) {
        writer_.error("ERR syntax error");
        return;
      }
    }
    std::string text;
    for (auto& c : clients_->list())
      text += client_line(c);
    writer_.verbatim("txt", text);
  } else if (sub == "info") {
    if (arity(2))
      writer_.verbatim("txt", client_line(clients_->get(id_)));
  } else if (sub == "tracking") {
    if (arity(3, true))
      client_tracking(a);
  } else if (sub == "caching") {
    if (arity(3))
      client_caching(a);
  } else if (sub == "trackinginfo") {
    if (arity(2))
      client_trackinginfo(a);
  } else if (sub == "getredir") {
    if (arity(2))
      client_getredir(a);
  } else if (sub == "setinfo") {
    // Sent by clients at connect (lib-name, lib-ver); accepted, not kept.
    if (!arity(4))
      return;
    if (!resp_iequals(a[2], "lib-name") && !resp_iequals(a[2], "lib-ver")) {
      writer_.error("ERR Unrecognized option '" + a[2] + "'");
      return;
    }
    writer_.simple("OK");
  } else {
    writer_.error("ERR unknown subcommand '" + a[1].substr(0, 128)
                  + "'. Try CLIENT HELP.");
  }
}

} // namespace cachebus
