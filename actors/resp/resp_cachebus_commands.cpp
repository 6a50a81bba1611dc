// cachebus's own commands (CB.*), each a call of the node facade or, for the
// write paths, a request to the node's record frontend (resp_session.hpp
// lists their contracts). Commands that wait (CB.FETCH on a miss, CB.UPDATE,
// CB.QUEUE, CB.RECORD) defer their reply (resp_deferred.hpp): the request
// runs in a short-lived actor, never on the session's thread.
#include <chrono>
#include <climits>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"

#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/resp/resp_command.hpp"
#include "cachebus/actors/resp/resp_session.hpp"

namespace cachebus {

namespace {

// A deferred reply for a node error, as resp_session::reply_node_error.
resp_completion error_completion(uint64_t ticket, const caf::error& err) {
  return {ticket,
          [text = "ERR " + describe(err)](resp_writer& w) { w.error(text); }};
}

// The reply of a fetch or a record read: the value; nil if there is none
// (a miss of the loader, a record the store does not have); else the error.
bool absent(const caf::error& err) {
  return is(err, errc::not_found) || is(err, errc::miss);
}

// Asks the record frontend from a short-lived actor and posts what
// `on_value` makes of the answer (or the error) to the session.
template <class OnValue, class... Args>
void ask_records(caf::actor_system& sys, const record_calls_actor& dst,
                 caf::timespan timeout, resp_post_fn post, uint64_t ticket,
                 OnValue on_value, Args... args) {
  // `dst` is an argument, not a capture: CAF 0.17 spawns a function actor
  // without arguments by dereferencing a null tuple.
  sys.spawn(
    [=](caf::event_based_actor* self, record_calls_actor to) {
      self->request(to, timeout, args...).then(on_value, [=](caf::error& err) {
        if (absent(err))
          post({ticket, [](resp_writer& w) { w.null(); }});
        else
          post(error_completion(ticket, err));
      });
    },
    dst);
}

// "EX s" / "PX ms" as a TTL; false (and an error reply) if it is no
// positive integer or overflows.
bool parse_ttl(resp_writer& w, const std::string& unit, const std::string& arg,
               const char* command, caf::timespan& out) {
  long long n = 0;
  if (!parse_resp_integer(arg, n)) {
    w.error("ERR value is not an integer or out of range");
    return false;
  }
  bool seconds = resp_iequals(unit, "ex");
  if (n <= 0
      || n > (seconds ? LLONG_MAX / 1'000'000'000 : LLONG_MAX / 1'000'000)) {
    w.error(std::string{"ERR invalid expire time in '"} + command
            + "' command");
    return false;
  }
  out = seconds ? caf::timespan{std::chrono::seconds{n}}
                : caf::timespan{std::chrono::milliseconds{n}};
  return true;
}

} // namespace

// CB.FETCH key [EX s|PX ms] [TAG tag ...]
void resp_session::cmd_cb_fetch(args_t& a) {
  fetch_options fo;
  bool ttl_given = false;
  for (size_t j = 2; j < a.size(); ++j) {
    if ((resp_iequals(a[j], "ex") || resp_iequals(a[j], "px")) && !ttl_given
        && j + 1 < a.size()) {
      if (!parse_ttl(writer_, a[j], a[j + 1], "cb.fetch", fo.ttl))
        return;
      ttl_given = true;
      ++j;
    } else if (resp_iequals(a[j], "tag") && j + 1 < a.size()) {
      fo.tags.assign(a.begin() + static_cast<ptrdiff_t>(j) + 1, a.end());
      break;
    } else {
      writer_.error("ERR syntax error");
      return;
    }
  }
  if (!check_key(a[1]))
    return;
  if (!opts_.post) {
    writer_.error("ERR CB.FETCH is not available on this connection");
    return;
  }
  auto ticket = last_ticket_ + 1;
  auto post = opts_.post;
  auto now
    = node_.fetch_then(a[1], fo, [post, ticket](caf::expected<std::string> v) {
        if (v)
          post({ticket, [v = std::move(*v)](resp_writer& w) { w.bulk(v); }});
        else if (absent(v.error()))
          post({ticket, [](resp_writer& w) { w.null(); }});
        else
          post(error_completion(ticket, v.error()));
      });
  if (!now) {
    defer(); // == ticket
    return;
  }
  if (*now)
    writer_.bulk(**now);
  else if (absent(now->error()))
    writer_.null();
  else
    reply_node_error(now->error());
}

// CB.SET key value [EX s|PX ms|PERSIST] [VERSION v] [TAG tag ...]
void resp_session::cmd_cb_set(args_t& a) {
  set_options so;
  bool ttl_given = false, version_given = false;
  for (size_t j = 3; j < a.size(); ++j) {
    bool more = j + 1 < a.size();
    if ((resp_iequals(a[j], "ex") || resp_iequals(a[j], "px")) && !ttl_given
        && more) {
      if (!parse_ttl(writer_, a[j], a[j + 1], "cb.set", so.ttl))
        return;
      ttl_given = true;
      ++j;
    } else if (resp_iequals(a[j], "persist") && !ttl_given) {
      so.ttl = never_expires;
      ttl_given = true;
    } else if (resp_iequals(a[j], "version") && !version_given && more) {
      long long v = 0;
      if (!parse_resp_integer(a[j + 1], v) || v <= 0) {
        writer_.error("ERR VERSION must be a positive integer");
        return;
      }
      so.version = static_cast<uint64_t>(v);
      version_given = true;
      ++j;
    } else if (resp_iequals(a[j], "tag") && more) {
      so.tags.assign(a.begin() + static_cast<ptrdiff_t>(j) + 1, a.end());
      break;
    } else {
      writer_.error("ERR syntax error");
      return;
    }
  }
  if (!check_key(a[1]))
    return;
  auto v = node_.set(a[1], std::move(a[2]), so);
  if (v)
    writer_.integer(static_cast<int64_t>(*v));
  else
    reply_node_error(v.error());
}

// CB.INVALIDATE key [key ...]
void resp_session::cmd_cb_invalidate(args_t& a) {
  if (!check_keys(a, 1, 1))
    return;
  reply_count(node_.invalidate({a.begin() + 1, a.end()}));
}

// CB.INVALIDATE.TAG tag
void resp_session::cmd_cb_invalidate_tag(args_t& a) {
  reply_count(node_.invalidate_tag(std::move(a[1])));
}

// CB.INVALIDATE.PATTERN glob
void resp_session::cmd_cb_invalidate_pattern(args_t& a) {
  reply_count(node_.invalidate_pattern(std::move(a[1])));
}

// CB.RESOURCE resource id [version]
void resp_session::cmd_cb_resource(args_t& a) {
  if (a.size() > 4) {
    wrong_arity("cb.resource");
    return;
  }
  long long version = 0;
  if (a.size() == 4 && (!parse_resp_integer(a[3], version) || version < 0)) {
    writer_.error("ERR version must be a non-negative integer");
    return;
  }
  reply_count(node_.publish_invalidation(std::move(a[1]), std::move(a[2]),
                                         static_cast<uint64_t>(version)));
}

// CB.DEPEND parent dependent
void resp_session::cmd_cb_depend(args_t& a) {
  if (auto err = node_.track_dependency(a[1], a[2])) {
    if (is(err, errc::miss))
      writer_.integer(0); // the dependent is not cached: nothing recorded
    else
      reply_node_error(err);
    return;
  }
  writer_.integer(1);
}

bool resp_session::record_args(args_t& a, bool with_fields,
                               stores::field_map& fields) {
  if (with_fields) {
    if (a.size() < 5 || a.size() % 2 == 0) {
      wrong_arity(resp_lower(a[0]));
      return false;
    }
    for (size_t i = 3; i < a.size(); i += 2)
      fields[std::move(a[i])] = std::move(a[i + 1]);
  }
  if (!opts_.post) {
    writer_.error("ERR " + resp_lower(a[0])
                  + " is not available on this connection");
    return false;
  }
  if (!opts_.records) {
    writer_.error("ERR cachebus: this node has no system of record: start "
                  "it with cachebus.store");
    return false;
  }
  return true;
}

// CB.UPDATE resource id field value [field value ...]
void resp_session::cmd_cb_update(args_t& a) {
  stores::field_map fields;
  if (!record_args(a, true, fields))
    return;
  auto ticket = defer();
  auto post = opts_.post;
  ask_records(
    node_.system(), opts_.records, node_.options().request_timeout, post,
    ticket,
    [post, ticket](uint64_t version) {
      post({ticket, [version](resp_writer& w) {
              w.integer(static_cast<int64_t>(version));
            }});
    },
    caf::update_atom_v, std::move(a[1]), std::move(a[2]), std::move(fields));
}

// CB.QUEUE resource id field value [field value ...]
void resp_session::cmd_cb_queue(args_t& a) {
  stores::field_map fields;
  if (!record_args(a, true, fields))
    return;
  auto ticket = defer();
  auto post = opts_.post;
  ask_records(
    node_.system(), opts_.records, node_.options().request_timeout, post,
    ticket,
    [post, ticket](caf::ok_atom) {
      post({ticket, [](resp_writer& w) { w.simple("OK"); }});
    },
    queue_update_atom_v, std::move(a[1]), std::move(a[2]), std::move(fields));
}

// CB.RECORD resource id
void resp_session::cmd_cb_record(args_t& a) {
  stores::field_map none;
  if (!record_args(a, false, none))
    return;
  auto ticket = defer();
  auto post = opts_.post;
  ask_records(
    node_.system(), opts_.records, node_.options().request_timeout, post,
    ticket,
    [post, ticket](stores::field_map& fields, uint64_t version) {
      post({ticket, [fields = std::move(fields), version](resp_writer& w) {
              w.array(2);
              w.integer(static_cast<int64_t>(version));
              w.map(fields.size());
              for (auto& [k, v] : fields) {
                w.bulk(k);
                w.bulk(v);
              }
            }});
    },
    record_atom_v, std::move(a[1]), std::move(a[2]));
}

} // namespace cachebus
