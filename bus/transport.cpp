#include "cachebus/bus/transport.hpp"

#include <chrono>
#include <csignal>
#include <ctime>
#include <map>
#include <mutex>
#include <pthread.h>
#include <sys/socket.h>
#include <utility>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "caf/event_based_actor.hpp"
#include "caf/io/basp_broker.hpp"
#include "caf/io/middleman.hpp"
#include "caf/io/middleman_actor_impl.hpp"
#include "caf/io/network/default_multiplexer.hpp"
#include "caf/io/network/doorman_impl.hpp"
#include "caf/io/network/native_socket.hpp"
#include "caf/io/network/scribe_impl.hpp"
#include "caf/io/network/stream_impl.hpp"
#include "caf/io/scribe.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/sec.hpp"
#include "caf/send.hpp"

namespace cachebus {

namespace {

using steady = std::chrono::steady_clock;
using native_socket = caf::io::network::native_socket;
using rw_state = caf::io::network::rw_state;
using default_mpx = caf::io::network::default_multiplexer;

using reaper_tick_atom = caf::atom_constant<caf::atom("tr_tick")>;

constexpr auto reaper_period = std::chrono::milliseconds(100);

} // namespace

// -- shared state -------------------------------------------------------------

/// What the transport's connections share: the limits, the counters and
/// the connections still waiting for their handshake.
struct transport::state {
  transport_options opts;

  struct pending_entry {
    native_socket fd;
    steady::time_point since;
    /// The doorman that accepted it; nullptr for a dialed one.
    const void* listener;
  };

  mutable std::mutex mtx;
  /// Keyed by the connection's address. An entry is removed before its
  /// connection's socket closes (the connection's destructor takes `mtx`),
  /// so a socket in here is open: shutting it down hits no other socket.
  std::map<const void*, pending_entry> pending;
  size_t pending_accepted = 0;
  /// Pending accepted connections by listener (no zero counts). A listener
  /// is only a key here, never dereferenced.
  std::map<const void*, size_t> pending_by_listener;
  transport_stats counters;

  size_t pending_on(const void* listener) const {
    auto i = pending_by_listener.find(listener);
    return i == pending_by_listener.end() ? 0 : i->second;
  }

  void erase(std::map<const void*, pending_entry>::iterator i) {
    if (auto* l = i->second.listener) {
      --pending_accepted;
      if (auto j = pending_by_listener.find(l); --j->second == 0)
        pending_by_listener.erase(j);
    }
    pending.erase(i);
  }

  /// Registers a new connection: `listener` is the doorman that accepted
  /// it, nullptr if we dialed it (ours: never evicted by strangers). If
  /// max_pending accepted ones are waiting, the newcomer first evicts the
  /// oldest of the listener that holds the most of them, newcomer included
  /// (its own on a tie); if that is the newcomer alone, the newcomer goes.
  /// So a flood of silent connections on one port evicts its own kind and
  /// never a connection on a quieter port. The oldest connection of a port
  /// is often a real client whose handshake is in flight: the node sent
  /// its server handshake at accept, the client took it as "connected" and
  /// sent its handshake and its first request right behind it, but the
  /// node had not read them yet (a few ms on a loaded machine). Evicting it
  /// loses that request without an error; the client waits for its timeout.
  void add(const void* conn, native_socket fd, const void* listener) {
    std::lock_guard<std::mutex> guard{mtx};
    ++(listener != nullptr ? counters.accepted : counters.dialed);
    if (listener != nullptr && pending_accepted >= opts.max_pending) {
      auto victim = listener;
      auto most = pending_on(listener) + 1;
      for (auto& [l, n] : pending_by_listener)
        if (n > most) {
          victim = l;
          most = n;
        }
      auto oldest = pending.end();
      for (auto i = pending.begin(); i != pending.end(); ++i)
        if (i->second.listener == victim
            && (oldest == pending.end()
                || i->second.since < oldest->second.since))
          oldest = i;
      ++counters.evicted;
      if (oldest == pending.end()) { // the newcomer alone
        ::shutdown(fd, SHUT_RDWR);
        return;
      }
      ::shutdown(oldest->second.fd, SHUT_RDWR);
      erase(oldest);
    }
    pending.emplace(conn, pending_entry{fd, steady::now(), listener});
    if (listener != nullptr) {
      ++pending_accepted;
      ++pending_by_listener[listener];
    }
  }

  /// The connection completed its handshake or is going away.
  void remove(const void* conn) {
    std::lock_guard<std::mutex> guard{mtx};
    if (auto i = pending.find(conn); i != pending.end())
      erase(i);
  }

  void refused(const void* conn, native_socket fd, std::string why) {
    std::lock_guard<std::mutex> guard{mtx};
    if (auto i = pending.find(conn); i != pending.end())
      erase(i);
    ::shutdown(fd, SHUT_RDWR);
    ++counters.refused_frames;
    counters.last_refusal = std::move(why);
  }

  /// Closes every pending connection older than the handshake timeout.
  void expire() {
    auto deadline = steady::now() - opts.handshake_timeout;
    std::lock_guard<std::mutex> guard{mtx};
    for (auto i = pending.begin(); i != pending.end();) {
      if (i->second.since <= deadline) {
        ::shutdown(i->second.fd, SHUT_RDWR);
        ++counters.expired;
        erase(i++);
      } else {
        ++i;
      }
    }
  }
};

namespace {

using state_ptr = std::shared_ptr<transport::state>;

// -- the gate on a connection -------------------------------------------------

/// A scribe (Base: CAF's plain one or ours for TLS) whose input passes a
/// frame_gate before the BASP broker sees it. A refused connection is shut
/// down; the broker learns it from the end of the stream, as from any
/// broken connection, and never sees the refused frame.
template <class Base>
class gated : public Base {
 public:
  /// `listener`: the doorman of an accepted connection, nullptr for a
  /// dialed one.
  template <class... Ts>
  gated(state_ptr st, const void* listener, Ts&&... xs)
      : Base(std::forward<Ts>(xs)...), st_(std::move(st)),
        gate_(listener != nullptr ? frame_gate::role::accepted
                                  : frame_gate::role::dialed,
              st_->opts.frames) {
    st_->add(this, this->stream_.fd(), listener);
  }

  ~gated() override { st_->remove(this); }

  bool consume(caf::execution_unit* ctx, const void* buf, size_t n) override {
    if (refused_)
      return true; // discard until the shutdown reaches the stream
    if (!payload_next_) {
      auto why = n == frame_gate::header_size
                   ? gate_.check_header(static_cast<const char*>(buf))
                   : std::string{"a partial BASP header"};
      if (!why.empty()) {
        refused_ = true;
        st_->refused(this, this->stream_.fd(), std::move(why));
        return true;
      }
      payload_next_ = gate_.payload_len() > 0;
      if (!payload_next_)
        handshake_seen();
    } else {
      payload_next_ = false;
      handshake_seen();
    }
    return Base::consume(ctx, buf, n);
  }

  void configure_read(caf::io::receive_policy::config cfg) override {
    // The broker asks for a header or for the payload the header announced;
    // anything larger is refused before a byte of buffer is reserved.
    auto bound = std::max(st_->opts.frames.max_frame_size,
                          st_->opts.frames.max_handshake_size);
    if (cfg.second > bound && !refused_) {
      refused_ = true;
      st_->refused(this, this->stream_.fd(),
                   "read of " + std::to_string(cfg.second) + " bytes");
      cfg.second = frame_gate::header_size;
    }
    Base::configure_read(cfg);
  }

 private:
  void handshake_seen() {
    if (!counted_ && gate_.handshaken()) {
      counted_ = true;
      st_->remove(this);
    }
  }

  state_ptr st_;
  frame_gate gate_;
  bool payload_next_ = false;
  bool refused_ = false;
  bool counted_ = false;
};

// -- TLS ----------------------------------------------------------------------

/// OpenSSL writes to its socket with write(): a peer gone away would raise
/// SIGPIPE and kill the process. Blocks SIGPIPE for this thread during one
/// OpenSSL call and swallows one raised meanwhile (as CAF's module does).
class sigpipe_guard {
 public:
  sigpipe_guard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &saved_);
  }

  ~sigpipe_guard() {
    timespec zero{};
    while (sigtimedwait(&pipe_, nullptr, &zero) > 0)
      ; // nop
    pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
  }

  sigpipe_guard(const sigpipe_guard&) = delete;
  sigpipe_guard& operator=(const sigpipe_guard&) = delete;

 private:
  sigset_t pipe_;
  sigset_t saved_;
};

/// One TLS connection over a non-blocking socket. Unlike CAF's session, the
/// handshake is driven by read events only (and by write events only while
/// OpenSSL waits for the socket to take bytes); `established` runs once
/// when it completes.
class tls_session {
 public:
  tls_session(SSL* ssl, native_socket fd, bool accepted) : ssl_(ssl) {
    SSL_set_fd(ssl_, fd);
    if (accepted)
      SSL_set_accept_state(ssl_);
    else
      SSL_set_connect_state(ssl_);
  }

  ~tls_session() { SSL_free(ssl_); }

  /// The scribe's reaction to the end of the handshake and to OpenSSL
  /// needing write events during it.
  struct listener {
    virtual void established() = 0;
    virtual void want_write() = 0;
  };

  void set_listener(listener* x) { listener_ = x; }

  bool done() const noexcept { return done_; }

  /// Advances the handshake. Returns false if it failed.
  bool drive() {
    if (done_)
      return true;
    sigpipe_guard guard;
    ERR_clear_error();
    auto ret = SSL_do_handshake(ssl_);
    if (ret == 1) {
      done_ = true;
      wants_write_ = false;
      if (listener_)
        listener_->established();
      return true;
    }
    switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
      wants_write_ = false;
      return true;
    case SSL_ERROR_WANT_WRITE:
      wants_write_ = true;
      if (listener_)
        listener_->want_write();
      return true;
    default:
      ERR_clear_error();
      return false;
    }
  }

  bool wants_write() const noexcept { return wants_write_; }

  rw_state read_some(size_t& result, native_socket, void* buf, size_t len) {
    result = 0;
    if (!done_) {
      if (!drive())
        return rw_state::failure;
      if (!done_)
        return rw_state::success; // wait for the next read event
    }
    if (len == 0)
      return rw_state::indeterminate;
    sigpipe_guard guard;
    ERR_clear_error();
    auto ret = SSL_read(ssl_, buf, static_cast<int>(len));
    if (ret > 0) {
      result = static_cast<size_t>(ret);
      return rw_state::success;
    }
    return soft_error(ret) ? rw_state::success : rw_state::failure;
  }

  rw_state write_some(size_t& result, native_socket, const void* buf,
                      size_t len) {
    result = 0;
    if (!done_) {
      // Only reached by an empty write: OpenSSL asked for write events.
      if (!drive())
        return rw_state::failure;
      return wants_write_ ? rw_state::success : rw_state::indeterminate;
    }
    if (len == 0)
      return rw_state::indeterminate;
    sigpipe_guard guard;
    ERR_clear_error();
    auto ret = SSL_write(ssl_, buf, static_cast<int>(len));
    if (ret > 0) {
      result = static_cast<size_t>(ret);
      return rw_state::success;
    }
    return soft_error(ret) ? rw_state::success : rw_state::failure;
  }

  bool must_read_more(native_socket, size_t threshold) {
    return done_ && static_cast<size_t>(SSL_pending(ssl_)) >= threshold;
  }

 private:
  bool soft_error(int ret) {
    switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return true;
    default:
      ERR_clear_error();
      return false;
    }
  }

  SSL* ssl_;
  listener* listener_ = nullptr;
  bool done_ = false;
  bool wants_write_ = false;
};

/// The policy CAF's stream template calls; the session belongs to the
/// scribe.
struct tls_policy {
  explicit tls_policy(tls_session* s) : session(s) {
    // nop
  }

  rw_state read_some(size_t& result, native_socket fd, void* buf, size_t len) {
    return session->read_some(result, fd, buf, len);
  }

  rw_state write_some(size_t& result, native_socket fd, const void* buf,
                      size_t len) {
    return session->write_some(result, fd, buf, len);
  }

  bool must_read_more(native_socket fd, size_t threshold) {
    return session->must_read_more(fd, threshold);
  }

  tls_session* session;
};

/// A scribe over a tls_session (after CAF's OpenSSL scribe, 0.17.6), that
/// holds what the broker writes until the TLS handshake is done.
class tls_scribe : public caf::io::scribe, private tls_session::listener {
 public:
  tls_scribe(default_mpx& mpx, native_socket fd,
             std::unique_ptr<tls_session> session)
      : caf::io::scribe(caf::io::network::conn_hdl_from_socket(fd)),
        session_(std::move(session)), stream_(mpx, fd, session_.get()) {
    session_->set_listener(this);
  }

  ~tls_scribe() override { session_->set_listener(nullptr); }

  void configure_read(caf::io::receive_policy::config config) override {
    stream_.configure_read(config);
    if (!launched_)
      launch();
  }

  void ack_writes(bool enable) override { stream_.ack_writes(enable); }

  std::vector<char>& wr_buf() override { return stream_.wr_buf(); }

  std::vector<char>& rd_buf() override { return stream_.rd_buf(); }

  void graceful_shutdown() override {
    stream_.graceful_shutdown();
    detach(&stream_.backend(), false);
  }

  void flush() override {
    if (session_->done())
      stream_.flush(this);
    else
      held_ = true; // sent by established()
  }

  std::string addr() const override {
    auto x = caf::io::network::remote_addr_of_fd(stream_.fd());
    return x ? *x : std::string{};
  }

  uint16_t port() const override {
    auto x = caf::io::network::remote_port_of_fd(stream_.fd());
    return x ? *x : 0;
  }

  void launch() {
    launched_ = true;
    stream_.start(this);
    if (session_->wants_write())
      stream_.force_empty_write(this);
  }

  void add_to_loop() override { stream_.activate(this); }

  void remove_from_loop() override { stream_.passivate(); }

 protected:
  std::unique_ptr<tls_session> session_;
  caf::io::network::stream_impl<tls_policy> stream_;

 private:
  void established() override {
    if (held_) {
      held_ = false;
      stream_.flush(this);
    }
  }

  void want_write() override {
    if (launched_)
      stream_.force_empty_write(this);
  }

  bool launched_ = false;
  bool held_ = false;
};

// -- doormen ------------------------------------------------------------------

class gated_doorman : public caf::io::network::doorman_impl {
 public:
  gated_doorman(default_mpx& mx, native_socket fd, state_ptr st)
      : caf::io::network::doorman_impl(mx, fd), st_(std::move(st)) {
    // nop
  }

  bool new_connection() override {
    if (detached())
      return false;
    auto& dm = acceptor_.backend();
    auto fd = acceptor_.accepted_socket();
    caf::io::scribe_ptr ptr;
    if (auto& tls = st_->opts.tls) {
      caf::io::network::nonblocking(fd, true);
      auto* ssl = tls->new_session();
      if (ssl == nullptr) {
        caf::io::network::close_socket(fd);
        return true;
      }
      auto session = std::make_unique<tls_session>(ssl, fd, true);
      if (!session->drive()) {
        session.reset();
        caf::io::network::close_socket(fd);
        return true;
      }
      ptr = caf::make_counted<gated<tls_scribe>>(st_, this, dm, fd,
                                                 std::move(session));
    } else {
      ptr = caf::make_counted<gated<caf::io::network::scribe_impl>>(st_, this,
                                                                    dm, fd);
    }
    auto hdl = ptr->hdl();
    parent()->add_scribe(std::move(ptr));
    return doorman::new_connection(&dm, hdl);
  }

 private:
  state_ptr st_;
};

// -- the middleman actor ------------------------------------------------------

class transport_actor : public caf::io::middleman_actor_impl {
 public:
  transport_actor(caf::actor_config& cfg, caf::actor default_broker,
                  state_ptr st)
      : caf::io::middleman_actor_impl(cfg, std::move(default_broker)),
        st_(std::move(st)) {
    // nop
  }

  const char* name() const override { return "cachebus.transport"; }

 protected:
  caf::expected<caf::io::scribe_ptr> connect(const std::string& host,
                                             uint16_t port) override {
    auto fd = caf::io::network::new_tcp_connection(host, port);
    if (!fd)
      return std::move(fd.error());
    caf::io::network::nonblocking(*fd, true);
    if (auto& tls = st_->opts.tls) {
      auto* ssl = tls->new_session();
      if (ssl == nullptr) {
        caf::io::network::close_socket(*fd);
        return caf::make_error(caf::sec::cannot_connect_to_node,
                               "TLS: cannot make a session");
      }
      auto session = std::make_unique<tls_session>(ssl, *fd, false);
      if (!session->drive()) {
        session.reset();
        caf::io::network::close_socket(*fd);
        return caf::make_error(caf::sec::cannot_connect_to_node,
                               "TLS handshake failed");
      }
      return caf::make_counted<gated<tls_scribe>>(st_, nullptr, mpx(), *fd,
                                                  std::move(session));
    }
    return caf::make_counted<gated<caf::io::network::scribe_impl>>(st_, nullptr,
                                                                   mpx(), *fd);
  }

  caf::expected<caf::io::doorman_ptr> open(uint16_t port, const char* addr,
                                           bool reuse) override {
    auto fd = caf::io::network::new_tcp_acceptor_impl(port, addr, reuse);
    if (!fd)
      return std::move(fd.error());
    return caf::make_counted<gated_doorman>(mpx(), *fd, st_);
  }

 private:
  default_mpx& mpx() {
    return static_cast<default_mpx&>(system().middleman().backend());
  }

  state_ptr st_;
};

/// Closes pending connections past their deadline, every reaper_period.
caf::behavior reaper(caf::event_based_actor* self,
                     std::weak_ptr<transport::state> weak) {
  self->send(self, reaper_tick_atom::value);
  return {
    [=](reaper_tick_atom) {
      auto st = weak.lock();
      if (!st) {
        self->quit();
        return;
      }
      st->expire();
      self->delayed_send(self, reaper_period, reaper_tick_atom::value);
    },
  };
}

} // namespace

// -- transport ----------------------------------------------------------------

caf::error check_transport_options(const transport_options& opts) {
  auto bad = [](std::string msg) {
    return caf::make_error(caf::sec::invalid_argument, std::move(msg));
  };
  if (opts.frames.max_frame_size < 1024
      || opts.frames.max_frame_size > 0xFFFFFFFFu)
    return bad("max-frame-size must be 1 KiB .. 4 GiB - 1, got "
               + std::to_string(opts.frames.max_frame_size));
  if (opts.frames.max_handshake_size < 1024)
    return bad("the handshake bound must be at least 1 KiB");
  if (opts.max_pending == 0)
    return bad("max-pending-connections must be at least 1");
  if (opts.handshake_timeout <= caf::timespan{0})
    return bad("handshake-timeout must be positive");
  return {};
}

caf::expected<std::shared_ptr<transport>>
transport::start(caf::actor_system& sys, transport_options opts) {
  if (auto err = check_transport_options(opts))
    return err;
  if (!sys.has_middleman())
    return caf::make_error(caf::sec::invalid_argument,
                           "transport: the actor system has no middleman");
  std::shared_ptr<transport> result{new transport(sys)};
  result->tls_ = opts.tls;
  result->state_ = std::make_shared<state>();
  result->state_->opts = std::move(opts);
  auto basp
    = sys.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  // Detached like CAF's own: connect() blocks in the TCP connect.
  result->actor_ = sys.spawn<transport_actor, caf::detached + caf::hidden>(
    basp, result->state_);
  result->reaper_
    = sys.spawn<caf::hidden>(reaper, std::weak_ptr<state>{result->state_});
  // The actor system waits for detached actors when it shuts down: stop
  // ours with the BASP broker (the middleman stops it then) even if a
  // transport outlives its last use.
  auto* broker = caf::actor_cast<caf::abstract_actor*>(basp);
  broker->attach_functor(
    [actor = caf::actor_cast<caf::weak_actor_ptr>(result->actor_),
     reaper = caf::actor_cast<caf::weak_actor_ptr>(result->reaper_)](
      const caf::error&) {
      for (auto& weak : {actor, reaper})
        if (auto strong = weak.lock())
          caf::anon_send_exit(caf::actor_cast<caf::actor>(strong),
                              caf::exit_reason::kill);
    });
  return result;
}

void transport::stop() {
  if (stopped_.exchange(true, std::memory_order_acq_rel))
    return;
  caf::scoped_actor self{sys_};
  self->send_exit(reaper_, caf::exit_reason::user_shutdown);
  self->send_exit(actor_, caf::exit_reason::kill); // it traps others
  // A connect in progress finishes first: it may hand a scribe to the
  // broker on its way out.
  self->wait_for(actor_);
  // The broker's mailbox is FIFO: once it answers this, it has taken
  // whatever the actor sent before it ended.
  auto basp
    = sys_.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  self->request(basp, std::chrono::seconds(10), caf::get_atom_v, sys_.node())
    .receive([](caf::node_id&, std::string&, uint16_t) {}, [](caf::error&) {});
}

transport::~transport() {
  if (stopped_.load(std::memory_order_acquire))
    return;
  caf::anon_send_exit(reaper_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(actor_, caf::exit_reason::kill); // it traps others
}

caf::expected<uint16_t> transport::publish_impl(caf::strong_actor_ptr whom,
                                                std::set<std::string> sigs,
                                                uint16_t port,
                                                const std::string& host,
                                                bool reuse_addr) {
  caf::expected<uint16_t> result = caf::sec::runtime_error;
  caf::scoped_actor self{sys_};
  self
    ->request(actor_, std::chrono::seconds(30), caf::publish_atom_v, port,
              std::move(whom), std::move(sigs), host, reuse_addr)
    .receive([&](uint16_t bound) { result = bound; },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

transport_stats transport::stats() const {
  std::lock_guard<std::mutex> guard{state_->mtx};
  auto result = state_->counters;
  result.pending = state_->pending.size();
  return result;
}

} // namespace cachebus
