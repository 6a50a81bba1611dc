#include "cachebus/actors/resp/resp_server.hpp"

#include <chrono>
#include <map>
#include <unordered_map>

#include "caf/actor_system.hpp"
#include "caf/exit_reason.hpp"
#include "caf/io/broker.hpp"
#include "caf/io/middleman.hpp"
#include "caf/io/network/multiplexer.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"

#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/resp/resp_push.hpp"
#include "cachebus/actors/resp/resp_services.hpp"
#include "cachebus/actors/resp/resp_session.hpp"
#include "cachebus/actors/resp/resp_tls.hpp"
#include "cachebus/bus/tls_context.hpp"

namespace cachebus {

namespace {

using steady = std::chrono::steady_clock;

// Bytes per read. CAF 0.17's scribe shrinks its buffer to what a read got
// and grows it back (zero-filled) before the next read, so every read
// memsets up to this much: 64 KiB made memset 18% of a pipelined
// redis-benchmark's profile. 16 KiB is Redis's own read size.
constexpr size_t read_chunk = 16 * 1024;

// Input a session waiting for a deferred reply may buffer before the broker
// stops reading its socket (and resumes once the reply is in).
constexpr size_t max_waiting_input = 4 * read_chunk;

struct connection {
  std::unique_ptr<resp_session> session;
  uint64_t unwritten = 0; // replies handed to the socket, not yet sent
  steady::time_point last_input;
  bool halted = false; // not reading: waiting with max_waiting_input held
  std::unique_ptr<resp_tls> tls; // with cachebus.tls: the TLS session
};

struct server_state {
  node* n;
  std::shared_ptr<resp_clients> clients;
  std::shared_ptr<resp_services> services;
  resp_options opts;
  record_calls_actor records;
  std::shared_ptr<tls_context> tls;
  std::map<caf::io::connection_handle, connection> conns;
  std::unordered_map<uint64_t, caf::io::connection_handle> by_id; // session
};

caf::behavior resp_broker(caf::io::broker* self, caf::io::doorman_ptr door,
                          std::shared_ptr<server_state> st) {
  self->add_doorman(std::move(door));
  auto forget = [st](caf::io::connection_handle hdl) {
    auto i = st->conns.find(hdl);
    if (i == st->conns.end())
      return;
    st->by_id.erase(i->second.session->id());
    st->conns.erase(i); // unregisters the session
  };
  auto drop = [self, forget](caf::io::connection_handle hdl) {
    forget(hdl);
    self->close(hdl);
  };
  // Writes what the session of `hdl` produced; closes the connection if it
  // must (or if the client does not read its replies).
  auto send_output
    = [self, st, drop](caf::io::connection_handle hdl, connection& c) {
        auto& out = c.session->output();
        if (c.tls) {
          // Everything goes through TLS, handshake records too (even with
          // no reply to send).
          auto& buf = self->wr_buf(hdl);
          auto before = buf.size();
          if (!c.tls->write(out, buf)) {
            st->clients->count_rejected();
            drop(hdl);
            return;
          }
          out.clear();
          c.unwritten += buf.size() - before;
          if (c.unwritten > st->opts.max_output_bytes) {
            st->clients->count_rejected();
            drop(hdl);
            return;
          }
          if (buf.size() > before)
            self->flush(hdl);
        } else if (!out.empty()) {
          c.unwritten += out.size();
          if (c.unwritten > st->opts.max_output_bytes) {
            // A client that does not read its replies: Redis's
            // client-output-buffer-limit. No reply (it would not read it).
            st->clients->count_rejected();
            drop(hdl);
            return;
          }
          auto& buf = self->wr_buf(hdl);
          buf.insert(buf.end(), out.begin(), out.end());
          out.clear();
          self->flush(hdl);
        }
        if (c.session->closing()) {
          if (c.session->protocol_failed())
            st->clients->count_rejected();
          drop(hdl); // what was flushed is still sent
          return;
        }
        // Deferred replies: stop reading a client that keeps sending while it
        // waits, read again once it runs its commands.
        bool halt
          = c.session->waiting() && c.session->buffered() > max_waiting_input;
        if (halt != c.halted) {
          c.halted = halt;
          if (halt)
            self->halt(hdl);
          else
            self->trigger(hdl);
        }
      };
  // Out-of-band messages (tracking invalidations, pub/sub) from any thread.
  st->services->attach([hdl = caf::actor_cast<caf::actor>(self)](
                         std::vector<uint64_t> to, resp_push p) {
    caf::anon_send(hdl, resp_push_atom_v, std::move(to), std::move(p));
  });
  // Ends the sessions (they refer to the node) in this actor's context,
  // before it terminates: stop() returns only after this ran.
  self->set_exit_handler([self, st](caf::exit_msg& msg) {
    st->services->attach(nullptr); // drops its handle to us
    st->conns.clear();
    st->by_id.clear();
    self->close_all();
    self->quit(msg.reason);
  });
  auto idle = st->opts.idle_timeout;
  auto tick = std::chrono::duration_cast<caf::timespan>(
    std::min<caf::timespan>(idle / 4, std::chrono::seconds{1}));
  if (idle > caf::timespan{0})
    self->delayed_send(self, tick, caf::tick_atom_v);
  return {
    [=](const caf::io::new_connection_msg& msg) {
      auto hdl = msg.handle;
      auto peer
        = self->remote_addr(hdl) + ":" + std::to_string(self->remote_port(hdl));
      resp_session_options so;
      so.limits = st->opts.limits;
      so.password = st->opts.password;
      so.port = self->local_port(msg.source);
      so.idle_timeout = st->opts.idle_timeout;
      so.records = st->records;
      so.post
        = [me = caf::actor_cast<caf::actor>(self), hdl](resp_completion done) {
            caf::anon_send(me, resp_done_atom::value, hdl, std::move(done));
          };
      so.services = st->services;
      auto local = st->opts.host + ":" + std::to_string(so.port);
      connection c;
      if (st->tls) {
        c.tls = resp_tls::accept(*st->tls);
        if (!c.tls) {
          st->clients->count_rejected();
          self->close(hdl);
          return;
        }
      }
      c.session = std::make_unique<resp_session>(
        *st->n, st->clients, std::move(so), std::move(peer), std::move(local));
      c.last_input = steady::now();
      st->by_id.emplace(c.session->id(), hdl);
      st->conns.emplace(hdl, std::move(c));
      self->configure_read(hdl, caf::io::receive_policy::at_most(read_chunk));
      self->ack_writes(hdl, true);
    },
    [=](caf::io::new_data_msg& msg) {
      auto i = st->conns.find(msg.handle);
      if (i == st->conns.end())
        return;
      auto& c = i->second;
      c.last_input = steady::now();
      if (c.tls) {
        std::string plain;
        if (!c.tls->feed({msg.buf.data(), msg.buf.size()}, plain)) {
          // A failed handshake (no certificate of our CAs, not TLS at
          // all) or a broken record: nothing readable to answer.
          st->clients->count_rejected();
          drop(msg.handle);
          return;
        }
        c.session->feed(plain);
      } else {
        c.session->feed({msg.buf.data(), msg.buf.size()});
      }
      send_output(msg.handle, c);
    },
    [=](resp_done_atom, caf::io::connection_handle hdl, resp_completion& done) {
      // A deferred reply (resp_deferred.hpp); the connection may be gone.
      auto i = st->conns.find(hdl);
      if (i == st->conns.end())
        return;
      i->second.session->complete(std::move(done));
      send_output(hdl, i->second);
    },
    [=](const caf::io::data_transferred_msg& msg) {
      auto i = st->conns.find(msg.handle);
      if (i != st->conns.end())
        i->second.unwritten = msg.remaining;
    },
    [=](const caf::io::connection_closed_msg& msg) { forget(msg.handle); },
    [=](resp_push_atom, const std::vector<uint64_t>& to, const resp_push& p) {
      for (auto id : to) {
        auto j = st->by_id.find(id);
        if (j == st->by_id.end())
          continue; // closed meanwhile
        auto hdl = j->second;
        auto& c = st->conns.at(hdl);
        if (c.session->closing())
          continue;
        // Between two replies: a push never splits a frame (TLS
        // connections encrypt it like a reply).
        c.session->deliver(p);
        send_output(hdl, c);
      }
    },
    [=](const caf::io::acceptor_closed_msg&) {
      // The port is gone (stop() closes it): connections stay until stop.
    },
    [=](caf::tick_atom) {
      auto cutoff = steady::now() - idle;
      std::vector<caf::io::connection_handle> idle_ones;
      for (auto& [hdl, c] : st->conns)
        if (c.last_input < cutoff && !c.session->waiting()
            && !c.session->subscribed())
          idle_ones.push_back(hdl);
      for (auto hdl : idle_ones) {
        st->clients->count_rejected();
        drop(hdl);
      }
      self->delayed_send(self, tick, caf::tick_atom_v);
    },
  };
}

} // namespace

caf::expected<std::unique_ptr<resp_server>>
resp_server::start(caf::actor_system& sys, node& n, resp_options opts,
                   record_calls_actor records,
                   std::shared_ptr<tls_context> tls) {
  if (opts.tls && !tls)
    return make_error(errc::invalid_config,
                      "cachebus.tls is on, but the Redis port was given no "
                      "TLS credentials");
  auto door = sys.middleman().backend().new_tcp_doorman(
    opts.port, opts.host.c_str(), true);
  if (!door)
    return make_error(errc::invalid_config,
                      "cannot listen on " + opts.host + ":"
                        + std::to_string(opts.port)
                        + " (cachebus.resp-port): " + sys.render(door.error()));
  std::unique_ptr<resp_server> s{new resp_server(sys)};
  s->port_ = (*door)->port();
  s->clients_ = std::make_shared<resp_clients>();
  s->services_
    = std::make_shared<resp_services>(n, s->clients_, opts.tracking_max_keys);
  s->services_->start();
  auto st = std::make_shared<server_state>();
  st->n = &n;
  st->clients = s->clients_;
  st->services = s->services_;
  st->tls = opts.tls ? std::move(tls) : nullptr;
  st->opts = std::move(opts);
  st->records = std::move(records);
  s->broker_ = sys.middleman().spawn_broker<caf::hidden>(
    resp_broker, std::move(*door), std::move(st));
  return s;
}

resp_server::~resp_server() {
  stop();
}

void resp_server::stop() {
  if (!broker_)
    return;
  caf::scoped_actor self{sys_};
  self->send_exit(broker_, caf::exit_reason::user_shutdown);
  self->wait_for(broker_);
  broker_ = nullptr;
  services_->stop();
}

} // namespace cachebus
