// The tracking table of one Redis-protocol server: server-assisted
// client-side caching (CLIENT TRACKING). It remembers which connection read
// which key (default mode) or which key prefixes a connection watches
// (BCAST), and when the node reports that a key changed or went
// (node::on_change: set, delete, expiry, eviction, every invalidation kind,
// local or remote, the change feed, and the creation of a key someone read
// as missing) it sends each interested connection (or the one it redirects
// to) one invalidation push, then forgets the key until it is read again,
// as Redis does. Thread-safe (one mutex): sessions call it from the
// server's thread, the node's removal delivery thread calls changed() and
// flush_all(). Pushes are handed to a resp_push_fn outside the mutex.
//
// Why no push is lost to a read racing a write (the read-write race): a
// session calls track(c, k) *before* it reads k. A write of k changes the
// table under the key's shard lock and queues its notification there; the
// notification is delivered (changed(k)) after that. If the write's change
// came before the read, the read returned the new value (the push, if any,
// is spurious and harmless). If it came after, changed(k) runs after
// track(c, k) (both take this table's mutex, and track() returned before
// the read began), so it finds c and pushes. Pushes reach the connection
// after the reply of the command that tracked the key: the reply is
// written during the command, the push later, through the server's
// mailbox. So a client never caches a value older than its last push.
//
// Bounded: at most max_keys keys are tracked (default-mode reads). Tracking
// one more forgets the oldest, and its invalidation is sent to its readers
// first (redis#7249: Redis forgets without telling), so no client is left
// stale. Lost notifications (the node's removal queue was full) are
// answered with flush_all(): every tracking connection is told to drop its
// whole cache (a push with a null key array) and every key is forgotten.
// A connection that closes is forgotten (remove()): a client must flush its
// local cache when it reconnects (the README says so).
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cachebus/actors/resp/resp_push.hpp"

namespace cachebus {

class resp_tracking {
 public:
  /// How one connection tracks (CLIENT TRACKING ON's options).
  struct mode {
    bool bcast = false;
    bool optin = false;
    bool optout = false;
    bool noloop = false;
    /// The connection that gets this one's invalidations (0: itself).
    uint64_t redirect = 0;
    /// BCAST: the watched prefixes ("" watches every key).
    std::vector<std::string> prefixes;
  };

  /// BCAST prefixes one connection may watch at most.
  static constexpr size_t max_prefixes = 1024;

  struct counters {
    uint64_t pushes = 0;    // invalidation pushes handed out (per connection)
    uint64_t flushes = 0;   // flush_all() calls that found tracking clients
    uint64_t forgotten = 0; // keys forgotten to stay within max_keys
  };

  /// REQUIRES: max_keys >= 1. `alive(id)` says whether connection `id`
  /// still exists (for REDIRECT).
  resp_tracking(size_t max_keys, std::function<bool(uint64_t)> alive);

  resp_tracking(const resp_tracking&) = delete;
  resp_tracking& operator=(const resp_tracking&) = delete;

  /// Where pushes go from now on (nullptr: nowhere).
  void set_push(resp_push_fn fn);

  /// CLIENT TRACKING ON for `client` with `m`, Redis's checks included:
  /// returns the error text ("ERR ...") or "" (then it is on). Turning it
  /// on again keeps what is tracked and adds BCAST prefixes.
  std::string enable(uint64_t client, const mode& m);

  /// CLIENT TRACKING OFF, or the connection closed: forgets everything of
  /// `client` (unknown ids are ignored).
  void disable(uint64_t client);

  /// The mode of `client`, if it tracks.
  std::optional<mode> mode_of(uint64_t client) const;

  /// `client` is about to read `key` (default mode): remembered until `key`
  /// changes. Call it before reading (see above). May forget the oldest key
  /// (sending its invalidation).
  void track(uint64_t client, std::string_view key);

  /// `key` changed or went; `writer` is the connection whose own command did
  /// it (0: none), which NOLOOP spares.
  void changed(std::string_view key, uint64_t writer);

  /// Everything may have changed: a flush push to every tracking connection;
  /// every key is forgotten.
  void flush_all();

  /// Keys tracked now (default mode).
  size_t keys() const;

  /// Connections tracking now.
  size_t clients() const;

  counters stats() const;

 private:
  struct key_entry {
    std::vector<uint64_t> readers;
    std::list<const std::string*>::iterator age;
  };
  struct client_entry {
    mode m;
    std::unordered_set<const std::string*> keys;
  };
  using key_map = std::unordered_map<std::string, key_entry>;
  // (target, push) pairs, sent after the mutex is released.
  using outbox = std::vector<std::pair<uint64_t, resp_push>>;

  // REQUIRES: mtx_ held. Where `c`'s invalidations go; adds a
  // redirect_broken push to `out` and returns 0 if its redirect is gone.
  uint64_t target_of(uint64_t c, const client_entry& ce, outbox& out);
  // REQUIRES: mtx_ held. Forgets `i`, queueing invalidations for its
  // readers (but `spare`, if it is NOLOOP).
  void forget(key_map::iterator i, uint64_t spare, outbox& out);
  void send(outbox& out);

  const size_t max_keys_;
  std::function<bool(uint64_t)> alive_;
  mutable std::mutex mtx_;
  resp_push_fn push_;
  key_map keys_;
  std::list<const std::string*> ages_; // oldest first
  std::unordered_map<uint64_t, client_entry> clients_;
  // BCAST connections with their prefixes (few: checked on every change).
  std::unordered_map<uint64_t, std::vector<std::string>> bcast_;
  counters stats_;
};

} // namespace cachebus
