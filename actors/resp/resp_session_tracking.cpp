// The session's client-side caching: CLIENT TRACKING, CACHING,
// TRACKINGINFO and GETREDIR, and what every command does before and after
// it runs (resp_session.hpp: the contract; resp_tracking.hpp: the table).
#include <algorithm>

#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/resp/resp_command.hpp"
#include "cachebus/actors/resp/resp_services.hpp"
#include "cachebus/actors/resp/resp_session.hpp"

namespace cachebus {

namespace {

bool allowed_when_subscribed(std::string_view name) {
  for (auto* n : {"subscribe", "unsubscribe", "psubscribe", "punsubscribe",
                  "ping", "quit", "reset"})
    if (name == n)
      return true;
  return false;
}

bool read_only(const resp_command& cmd) {
  return std::any_of(cmd.flags.begin(), cmd.flags.end(), [](const char* f) {
    return std::string_view{f} == "readonly";
  });
}

} // namespace

bool resp_session::services_or_error() {
  if (opts_.services)
    return true;
  writer_.error("ERR cachebus: this connection has no tracking or pub/sub "
                "(no server)");
  return false;
}

bool resp_session::before_command(const resp_command& cmd, args_t& a) {
  if (writer_.protocol() == 2 && subscribed()
      && !allowed_when_subscribed(cmd.name)) {
    writer_.error(std::string{"ERR Can't execute '"} + cmd.name
                  + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT "
                    "/ RESET are allowed in this context");
    return false;
  }
  if (!tracking_ || tracking_bcast_ || cmd.first_key <= 0 || cmd.key_step <= 0
      || !read_only(cmd))
    return true;
  bool track = tracking_optin_    ? caching_ == 1
               : tracking_optout_ ? caching_ != -1
                                  : true;
  if (!track)
    return true;
  // Before the command reads: a write that lands after the read finds the
  // key tracked (resp_tracking.hpp, the read-write race).
  auto n = static_cast<int64_t>(a.size());
  int64_t last = cmd.last_key < 0 ? n + cmd.last_key : cmd.last_key;
  for (int64_t i = cmd.first_key; i <= last && i < n; i += cmd.key_step)
    if (!node_.options().check_key(a[static_cast<size_t>(i)]))
      opts_.services->tracking().track(id_, a[static_cast<size_t>(i)]);
  return true;
}

void resp_session::after_command(const resp_command& cmd, const args_t& a) {
  if (caching_ != 0
      && !(std::string_view{cmd.name} == "client" && a.size() > 1
           && resp_iequals(a[1], "caching")))
    caching_ = 0;
}

void resp_session::client_tracking(args_t& a) {
  if (!services_or_error())
    return;
  bool on = resp_iequals(a[2], "on");
  if (!on && !resp_iequals(a[2], "off")) {
    writer_.error("ERR syntax error");
    return;
  }
  resp_tracking::mode m;
  bool redirect_given = false;
  for (size_t i = 3; i < a.size(); ++i) {
    bool more = i + 1 < a.size();
    if (resp_iequals(a[i], "redirect") && more) {
      if (redirect_given) {
        writer_.error("ERR A client can only redirect to a single other "
                      "client");
        return;
      }
      long long id = 0;
      if (!parse_resp_integer(a[++i], id) || id < 0) {
        writer_.error("ERR value is not an integer or out of range");
        return;
      }
      redirect_given = true;
      m.redirect = static_cast<uint64_t>(id);
    } else if (resp_iequals(a[i], "bcast")) {
      m.bcast = true;
    } else if (resp_iequals(a[i], "optin")) {
      m.optin = true;
    } else if (resp_iequals(a[i], "optout")) {
      m.optout = true;
    } else if (resp_iequals(a[i], "noloop")) {
      m.noloop = true;
    } else if (resp_iequals(a[i], "prefix") && more) {
      if (m.prefixes.size() >= resp_tracking::max_prefixes) {
        writer_.error("ERR cachebus: at most "
                      + std::to_string(resp_tracking::max_prefixes)
                      + " prefixes per client");
        return;
      }
      m.prefixes.push_back(a[++i]);
    } else {
      writer_.error("ERR syntax error");
      return;
    }
  }
  auto& t = opts_.services->tracking();
  if (!on) {
    t.disable(id_);
    tracking_ = tracking_bcast_ = tracking_optin_ = tracking_optout_ = false;
    caching_ = 0;
    writer_.simple("OK");
    return;
  }
  // The change listener first: no change may slip between OK and it.
  if (auto err = opts_.services->need_changes()) {
    reply_node_error(err);
    return;
  }
  if (auto e = t.enable(id_, m); !e.empty()) {
    writer_.error(e);
    return;
  }
  tracking_ = true;
  tracking_bcast_ = m.bcast;
  tracking_optin_ = m.optin;
  tracking_optout_ = m.optout;
  writer_.simple("OK");
}

void resp_session::client_caching(args_t& a) {
  if (!tracking_ || !(tracking_optin_ || tracking_optout_)) {
    writer_.error("ERR CLIENT CACHING can be called only when the client is "
                  "in tracking mode with OPTIN or OPTOUT mode enabled");
    return;
  }
  if (resp_iequals(a[2], "yes")) {
    if (!tracking_optin_) {
      writer_.error("ERR CLIENT CACHING YES is only valid when tracking is "
                    "enabled in OPTIN mode.");
      return;
    }
    caching_ = 1;
  } else if (resp_iequals(a[2], "no")) {
    if (!tracking_optout_) {
      writer_.error("ERR CLIENT CACHING NO is only valid when tracking is "
                    "enabled in OPTOUT mode.");
      return;
    }
    caching_ = -1;
  } else {
    writer_.error("ERR syntax error");
    return;
  }
  writer_.simple("OK");
}

void resp_session::client_trackinginfo(args_t&) {
  std::optional<resp_tracking::mode> m;
  if (opts_.services)
    m = opts_.services->tracking().mode_of(id_);
  std::vector<std::string> flags;
  if (!m) {
    flags.emplace_back("off");
  } else {
    flags.emplace_back("on");
    if (m->bcast)
      flags.emplace_back("bcast");
    if (m->optin)
      flags.emplace_back("optin");
    if (m->optout)
      flags.emplace_back("optout");
    if (caching_ == 1)
      flags.emplace_back("caching-yes");
    if (caching_ == -1)
      flags.emplace_back("caching-no");
    if (m->noloop)
      flags.emplace_back("noloop");
    if (m->redirect != 0 && clients_->get(m->redirect).id != m->redirect)
      flags.emplace_back("broken_redirect");
  }
  writer_.map(3);
  writer_.bulk("flags");
  writer_.set(flags.size());
  for (auto& f : flags)
    writer_.bulk(f);
  writer_.bulk("redirect");
  writer_.integer(!m ? -1 : static_cast<int64_t>(m->redirect));
  writer_.bulk("prefixes");
  if (!m) {
    writer_.array(0);
    return;
  }
  writer_.array(m->prefixes.size());
  for (auto& p : m->prefixes)
    writer_.bulk(p);
}

void resp_session::client_getredir(args_t&) {
  std::optional<resp_tracking::mode> m;
  if (opts_.services)
    m = opts_.services->tracking().mode_of(id_);
  writer_.integer(!m ? -1 : static_cast<int64_t>(m->redirect));
}

} // namespace cachebus
