// The session's key commands over the node facade (resp_session.hpp says
// where they differ from Redis and what is atomic).
#include <algorithm>
#include <chrono>
#include <climits>
#include <set>

#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/resp/resp_command.hpp"
#include "cachebus/actors/resp/resp_session.hpp"

namespace cachebus {

namespace {

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// Milliseconds rounded up: a fresh `SET k v EX 10` answers PTTL 10000.
int64_t ceil_ms(caf::timespan t) {
  return (t.count() + 999'999) / 1'000'000;
}

} // namespace

void resp_session::cmd_get(args_t& a) {
  if (!check_key(a[1]))
    return;
  auto v = node_.get(a[1]);
  if (v)
    writer_.bulk(*v);
  else if (is(v.error(), errc::miss))
    writer_.null();
  else
    reply_node_error(v.error());
}

void resp_session::cmd_set(args_t& a) {
  enum class unit { none, ex, px, exat, pxat };
  put_condition cond;
  bool nx = false, xx = false, get = false, keepttl = false;
  unit u = unit::none;
  const std::string* expire_arg = nullptr;
  for (size_t j = 3; j < a.size(); ++j) {
    auto& opt = a[j];
    bool has_next = j + 1 < a.size();
    if (resp_iequals(opt, "nx") && !xx) {
      nx = true;
    } else if (resp_iequals(opt, "xx") && !nx) {
      xx = true;
    } else if (resp_iequals(opt, "get")) {
      get = true;
    } else if (resp_iequals(opt, "keepttl") && u == unit::none) {
      keepttl = true;
    } else if (has_next && u == unit::none && !keepttl
               && (resp_iequals(opt, "ex") || resp_iequals(opt, "px")
                   || resp_iequals(opt, "exat") || resp_iequals(opt, "pxat"))) {
      u = resp_iequals(opt, "ex")     ? unit::ex
          : resp_iequals(opt, "px")   ? unit::px
          : resp_iequals(opt, "exat") ? unit::exat
                                      : unit::pxat;
      expire_arg = &a[++j];
    } else {
      writer_.error("ERR syntax error");
      return;
    }
  }
  if (!check_key(a[1]))
    return;
  set_options so;
  bool already_expired = false;
  if (u != unit::none) {
    long long n = 0;
    if (!parse_resp_integer(*expire_arg, n)) {
      writer_.error("ERR value is not an integer or out of range");
      return;
    }
    bool seconds = u == unit::ex || u == unit::exat;
    if (n <= 0 || (seconds && n > LLONG_MAX / 1000)) {
      writer_.error("ERR invalid expire time in 'set' command");
      return;
    }
    long long ms = seconds ? n * 1000 : n;
    if (u == unit::exat || u == unit::pxat) {
      ms -= unix_ms();
      already_expired = ms <= 0;
    }
    // Beyond ~292 years nanoseconds overflow; far beyond max-ttl anyway.
    if (ms > LLONG_MAX / 1'000'000) {
      writer_.error("ERR invalid expire time in 'set' command");
      return;
    }
    so.ttl = std::chrono::milliseconds{std::max(ms, 1LL)};
  }
  cond.only = nx   ? put_condition::when::if_absent
              : xx ? put_condition::when::if_present
                   : put_condition::when::always;
  cond.keep_ttl = keepttl;
  cond.want_old = get;
  if (already_expired) {
    // Redis: a deadline already past deletes the key (if the condition
    // holds). Two steps here: a read, then an invalidation.
    if (auto err = node_.options().check_value(a[2])) {
      reply_node_error(err);
      return;
    }
    auto cur = node_.get(a[1]);
    if (!cur && !is(cur.error(), errc::miss)) {
      reply_node_error(cur.error());
      return;
    }
    bool live = static_cast<bool>(cur);
    bool holds = cond.only == put_condition::when::always
                 || (cond.only == put_condition::when::if_absent) != live;
    if (holds && live)
      if (auto n = node_.erase(a[1]); !n) {
        reply_node_error(n.error());
        return;
      }
    if (get)
      live ? writer_.bulk(*cur) : writer_.null();
    else if (holds)
      writer_.simple("OK");
    else
      writer_.null();
    return;
  }
  if (!nx && !xx && !get && !keepttl) {
    auto v = node_.set(a[1], std::move(a[2]), so);
    if (v)
      writer_.simple("OK");
    else
      reply_node_error(v.error());
    return;
  }
  auto r = node_.set_if(a[1], std::move(a[2]), cond, so);
  if (!r)
    reply_node_error(r.error());
  else if (get)
    r->old ? writer_.bulk(*r->old) : writer_.null();
  else if (r->written)
    writer_.simple("OK");
  else
    writer_.null();
}

void resp_session::cmd_mget(args_t& a) {
  if (!check_keys(a, 1, 1))
    return;
  writer_.array(a.size() - 1);
  for (size_t i = 1; i < a.size(); ++i) {
    auto v = node_.get(a[i]);
    if (v)
      writer_.bulk(*v);
    else
      writer_.null();
  }
}

void resp_session::cmd_mset(args_t& a) {
  if (a.size() % 2 == 0) {
    wrong_arity("mset");
    return;
  }
  if (!check_keys(a, 1, 2))
    return;
  for (size_t i = 2; i < a.size(); i += 2)
    if (auto err = node_.options().check_value(a[i])) {
      reply_node_error(err);
      return;
    }
  for (size_t i = 1; i < a.size(); i += 2)
    if (auto v = node_.set(a[i], std::move(a[i + 1])); !v) {
      reply_node_error(v.error()); // only if the node stopped meanwhile
      return;
    }
  writer_.simple("OK");
}

void resp_session::cmd_del(args_t& a) {
  if (!check_keys(a, 1, 1))
    return;
  std::set<std::string_view> distinct;
  for (size_t i = 1; i < a.size(); ++i)
    distinct.insert(a[i]);
  int64_t live = 0;
  std::vector<std::string> keys;
  keys.reserve(distinct.size());
  for (auto k : distinct) {
    if (node_.ttl(k))
      ++live;
    keys.emplace_back(k);
  }
  // Always an invalidation, even of keys this node does not hold: other
  // nodes of a cluster may hold them.
  if (auto n = node_.erase(keys); !n) {
    reply_node_error(n.error());
    return;
  }
  writer_.integer(live);
}

void resp_session::cmd_exists(args_t& a) {
  if (!check_keys(a, 1, 1))
    return;
  int64_t n = 0;
  for (size_t i = 1; i < a.size(); ++i)
    if (node_.ttl(a[i]))
      ++n;
  writer_.integer(n);
}

void resp_session::expire_generic(args_t& a, bool millis) {
  const char* name = millis ? "pexpire" : "expire";
  // Redis 7's NX, XX, GT, LT (expire_condition.hpp: an entry without a TTL
  // counts as an infinite one), checked and applied under the key's lock.
  expire_condition cond;
  for (size_t j = 3; j < a.size(); ++j) {
    if (resp_iequals(a[j], "nx"))
      cond.if_none = true;
    else if (resp_iequals(a[j], "xx"))
      cond.if_some = true;
    else if (resp_iequals(a[j], "gt"))
      cond.if_later = true;
    else if (resp_iequals(a[j], "lt"))
      cond.if_earlier = true;
    else {
      writer_.error("ERR Unsupported option " + a[j]);
      return;
    }
  }
  if (cond.if_none && (cond.if_some || cond.if_later || cond.if_earlier)) {
    writer_.error("ERR NX and XX, GT or LT options at the same time are not "
                  "compatible");
    return;
  }
  if (cond.if_later && cond.if_earlier) {
    writer_.error("ERR GT and LT options at the same time are not "
                  "compatible");
    return;
  }
  long long n = 0;
  if (!parse_resp_integer(a[2], n)) {
    writer_.error("ERR value is not an integer or out of range");
    return;
  }
  if (!check_key(a[1]))
    return;
  if (n <= 0) {
    // Redis deletes the key (if the condition holds for a deadline in the
    // past). Here: an invalidation if the key is live; two steps.
    auto t = node_.ttl(a[1]);
    if (!t) {
      writer_.integer(0);
      return;
    }
    auto now = node_.time().now_ns();
    auto current = *t == never_expires ? no_expiry : now + t->count();
    if (!cond.holds(current, now - 1)) {
      writer_.integer(0);
      return;
    }
    if (auto r = node_.erase(a[1]); !r) {
      reply_node_error(r.error());
      return;
    }
    writer_.integer(1);
    return;
  }
  if (n > (millis ? LLONG_MAX / 1'000'000 : LLONG_MAX / 1'000'000'000)) {
    writer_.error(std::string{"ERR invalid expire time in '"} + name
                  + "' command");
    return;
  }
  caf::timespan ttl = millis ? caf::timespan{std::chrono::milliseconds{n}}
                             : caf::timespan{std::chrono::seconds{n}};
  auto r = node_.expire(a[1], ttl, cond);
  if (!r) {
    if (is(r.error(), errc::invalid_ttl))
      writer_.error(std::string{"ERR invalid expire time in '"} + name
                    + "' command: " + describe(r.error()));
    else
      reply_node_error(r.error());
    return;
  }
  writer_.integer(*r ? 1 : 0);
}

void resp_session::cmd_expire(args_t& a) {
  expire_generic(a, false);
}

void resp_session::cmd_pexpire(args_t& a) {
  expire_generic(a, true);
}

void resp_session::ttl_generic(args_t& a, bool millis) {
  if (!check_key(a[1]))
    return;
  auto t = node_.ttl(a[1]);
  if (!t) {
    if (is(t.error(), errc::miss))
      writer_.integer(-2);
    else
      reply_node_error(t.error());
    return;
  }
  if (*t == never_expires) {
    writer_.integer(-1);
    return;
  }
  auto ms = ceil_ms(*t);
  writer_.integer(millis ? ms : (ms + 500) / 1000);
}

void resp_session::cmd_ttl(args_t& a) {
  ttl_generic(a, false);
}

void resp_session::cmd_pttl(args_t& a) {
  ttl_generic(a, true);
}

void resp_session::cmd_persist(args_t& a) {
  if (!check_key(a[1]))
    return;
  auto t = node_.ttl(a[1]);
  if (!t) {
    if (is(t.error(), errc::miss))
      writer_.integer(0);
    else
      reply_node_error(t.error());
    return;
  }
  if (*t == never_expires) {
    writer_.integer(0);
    return;
  }
  // The by-name request for an entry that never expires (resp_session.hpp).
  auto r = node_.expire(a[1], never_expires);
  if (!r)
    reply_node_error(r.error());
  else
    writer_.integer(*r ? 1 : 0);
}

void resp_session::cmd_dbsize(args_t&) {
  writer_.integer(static_cast<int64_t>(node_.stats().total.entries));
}

} // namespace cachebus
