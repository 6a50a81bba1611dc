// One Redis-protocol connection, independent of any transport: feed it the
// bytes the client sent, and it parses them (resp_parser), runs every
// complete command against a cachebus::node and appends the replies to
// output() (resp_writer, in the connection's protocol: RESP2 until HELLO 3).
// The transport writes output() out and closes the connection once
// closing() is true and the output is written (QUIT, or a protocol error:
// the error reply is the last thing sent). No command blocks: GET reads the
// key's shard table on the calling thread (no actor round trip), writes take
// the table's write lock, DEL is the node's invalidation (applied locally
// and published to the cluster); nothing waits for an actor, so a session
// may run inside an actor (the server's broker). One session per
// connection; not thread-safe. The node and the client registry must
// outlive it.
//
// Commands, with Redis semantics and error texts unless said here:
//   HELLO [2|3 [AUTH user pass] [SETNAME name]], AUTH [user] pass, PING,
//   ECHO, QUIT, SELECT 0 (only database 0 exists),
//   GET, SET (EX PX EXAT PXAT NX XX KEEPTTL GET), MGET, MSET, DEL, UNLINK,
//   EXISTS, EXPIRE and PEXPIRE (NX XX GT LT), TTL, PTTL, PERSIST, DBSIZE,
//   SCAN cursor [MATCH glob] [COUNT n] [TYPE type],
//   CLIENT ID|SETNAME|GETNAME|LIST|INFO|SETINFO, COMMAND [COUNT|DOCS|INFO],
//   CONFIG GET, INFO [section...],
//   CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p]... [BCAST] [OPTIN]
//     [OPTOUT] [NOLOOP], CLIENT CACHING YES|NO, CLIENT TRACKINGINFO,
//     CLIENT GETREDIR (resp_session_tracking.cpp),
//   SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH
//     (resp_session_pubsub.cpp).
// Client-side caching (CLIENT TRACKING, resp_tracking.hpp): the keys of
// every read-only command (GET, MGET, EXISTS, TTL, ...) are tracked before
// the command runs; each tracked key gets one push when it changes or goes
// for any reason the node knows (write, delete, expiry, eviction, every
// invalidation kind from any node, the change feed; a key read as missing
// when it is created), then it is forgotten until read again. RESP3 gets
// `>2 invalidate [key]`; a RESP2 connection gets invalidations only through
// REDIRECT to a connection that SUBSCRIBEd (to anything, as in Redis), as a
// message on `__redis__:invalidate`. NOLOOP spares the connection's own
// writes (SET, DEL, ... of the key by this connection; a dependent its DEL
// removed, an eviction its SET caused are not its own). If the node lost
// notifications (its removal queue was full), every tracking connection
// gets a flush: `>2 invalidate _` (RESP2: a null message). EXPIRE, PEXPIRE
// and PERSIST change no value and push nothing; the expiry itself does.
// A connection that closes is forgotten: reconnect means flush.
// Pub/sub (resp_pubsub.hpp): `cache:<resource>` carries the id of each
// invalidation event of that resource applied on this node (its own and
// other nodes'), `cache:!tags`, `cache:!keys` and `cache:!patterns` the
// tags, keys and globs of those events. PUBLISH on one of them is an
// invalidation, through the central rules and across the cluster
// (publish_invalidation(resource, message), invalidate_tag(message),
// invalidate({message}), invalidate_pattern(message)); its reply counts this
// node's subscribers that will get the message (as Redis Cluster counts
// only the receiving node's). Any other channel is plain pub/sub among this
// node's RESP connections. In RESP2, a subscribed connection may run only
// (P)(UN)SUBSCRIBE, PING and QUIT; in RESP3 everything. Messages to the
// publishing connection itself come after its PUBLISH reply (Redis: before).
//
// cachebus's own commands (resp_cachebus_commands.cpp). Errors from the
// node are "-ERR cachebus: <code>: <text>"; bad input changes nothing.
//   CB.FETCH key [EX s|PX ms] [TAG tag ...]      -> value | nil
//     Cache-aside through the node loader (with cachebus.store: the store
//     loader; rule TTL and tags apply): a hit answers at once; a miss joins
//     the key's single flight, across the cluster, and its reply is deferred
//     (resp_deferred.hpp). nil if the source has no such record; the
//     loader's error if it fails; invalid_config if the node has no loader.
//     EX/PX and TAG apply to the loaded value; TAG takes every argument
//     after it, so it comes last.
//   CB.SET key value [EX s|PX ms|PERSIST] [VERSION v] [TAG tag ...]
//                                                -> the entry's version
//     A tagged (and optionally sourced) write: node::set. VERSION older
//     than the cached sourced version: stale_version. Local, like SET.
//   CB.INVALIDATE key [key ...]                  -> entries removed
//     The keys and their dependents, on every node.
//   CB.INVALIDATE.TAG tag                        -> entries removed
//   CB.INVALIDATE.PATTERN glob                   -> entries removed
//     cachebus's glob (`*`, `?`, `\`) with a literal prefix, served from
//     the ordered index; a glob without a prefix is refused.
//   CB.RESOURCE resource id [version]            -> entries removed
//     publish_invalidation: what the central rules say the record touches
//     (keys, tags, dependent resources), on every node; with a version, only
//     entries older than it.
//   CB.DEPEND parent dependent                   -> 1 | 0
//     Invalidating parent also invalidates dependent (0: dependent is not
//     cached, nothing recorded).
//   CB.UPDATE resource id field value [...]      -> the record's new version
//     Write-through (store, then cache and event): record_cache::update.
//   CB.QUEUE resource id field value [...]       -> OK
//     Write-back (journaled when it answers; needs
//     cachebus.write-back.journal): record_cache::queue_update.
//   CB.RECORD resource id                        -> [version, {field: value}]
//     The record, from the cache or the store (nil if neither has it).
//   The record commands need a node with cachebus.store (else "-ERR
//   cachebus: this node has no system of record"); their replies, and a
//   CB.FETCH miss's, are deferred: the connection's later commands run when
//   the reply is in, other connections are not held up.
// Where cachebus differs from Redis:
// - Every entry expires: SET without EX/PX/EXAT/PXAT/KEEPTTL gets
//   cachebus.default-ttl (Redis would keep the key forever), so TTL of such
//   a key is positive, not -1. PERSIST is the by-name request for an entry
//   that never expires (cachebus::never_expires): it removes the timeout,
//   as in Redis, and TTL then answers -1. TTLs above cachebus.max-ttl are
//   refused with -ERR invalid expire time.
// - Keys and values the node refuses (empty keys, keys above
//   cachebus.max-key-size, values above cachebus.max-value-size) get
//   "-ERR cachebus: ..." naming the limit, and the command changes nothing
//   (MSET, DEL, MGET and EXISTS check every key first).
// - Atomicity under concurrent writers on other connections: SET with NX,
//   XX, GET or KEEPTTL decides and writes under the key's table lock
//   (node::set_if): of concurrent SET NX of one key exactly one succeeds,
//   and GET returns the value the write replaced. MSET is not atomic across
//   keys (each key is one write; another client may see some of them
//   first). DEL/UNLINK count the named keys live just before the
//   invalidation (dependents it also removes are not counted); EXPIRE,
//   PEXPIRE and PERSIST check and move the expiry under the key's lock, but
//   "EXPIRE k 0" (delete) is a check followed by an invalidation. SET with
//   an EXAT/PXAT already in the past checks (NX/XX/GET) and then deletes,
//   two steps.
// - DEL, UNLINK and a non-positive EXPIRE are invalidations: they also
//   remove the keys' dependents and reach the other nodes of a cluster.
//   SET and EXPIRE change only this node's copy, as node::set does.
// - DBSIZE counts entries not yet reclaimed (expired ones until the sweep
//   frees them), as Redis counts keys not yet lazily expired.
// - EXPIRE's NX/XX/GT/LT are checked and applied under the key's lock; a
//   PERSISTed entry has no TTL (GT never holds for it, LT always does).
// - SCAN's cursor names a position (shard, last key) saved in the session
//   (resp_scan_cursors.hpp): it is valid only on its own connection, for
//   its 128 newest cursors; every key present for the whole scan is
//   returned exactly once. MATCH takes Redis globs ([...] included); a
//   literal prefix limits the scan to that range of the ordered index.
//   Needs cachebus.ordered-index (on by default).
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "caf/error.hpp"
#include "caf/expected.hpp"
#include "caf/timespan.hpp"

#include "cachebus/actors/node/record_frontend.hpp"
#include "cachebus/actors/resp/resp_clients.hpp"
#include "cachebus/actors/resp/resp_deferred.hpp"
#include "cachebus/actors/resp/resp_parser.hpp"
#include "cachebus/actors/resp/resp_scan_cursors.hpp"
#include "cachebus/actors/resp/resp_writer.hpp"

namespace cachebus {

class node;
class resp_services;
struct resp_command;
struct resp_push;

/// What a session needs to know about its server.
struct resp_session_options {
  resp_parser::limits limits{};
  /// The password of AUTH (user "default"); empty: no authentication.
  std::string password{};
  /// Reported by INFO (tcp_port) and CONFIG GET port.
  uint16_t port = 0;
  /// Reported by CONFIG GET timeout (0: none).
  caf::timespan idle_timeout{0};
  /// Where deferred replies go (resp_deferred.hpp); without it, commands
  /// that would wait answer an error instead.
  resp_post_fn post{};
  /// The node's write paths (CB.UPDATE, CB.QUEUE, CB.RECORD): the record
  /// frontend of a node with cachebus.store; invalid: those commands answer
  /// that the node has no system of record.
  record_calls_actor records{};
  /// Tracking and pub/sub (resp_services.hpp); without them, CLIENT
  /// TRACKING and the pub/sub commands answer an error.
  std::shared_ptr<resp_services> services{};
};

class resp_session {
 public:
  /// Registers the connection in `clients` (its id) with the peer and
  /// local addresses CLIENT LIST shows.
  resp_session(node& n, std::shared_ptr<resp_clients> clients,
               resp_session_options opts, std::string peer = "",
               std::string local = "");

  ~resp_session();

  resp_session(const resp_session&) = delete;
  resp_session& operator=(const resp_session&) = delete;

  /// Parses `bytes` and runs every command they complete, appending the
  /// replies to output(). After closing() became true, bytes are ignored.
  /// While waiting(), the bytes are only buffered.
  void feed(std::string_view bytes);

  /// True while a command waits for its deferred reply (resp_deferred.hpp);
  /// the transport may stop reading meanwhile (see buffered()).
  bool waiting() const noexcept { return waiting_ != 0; }

  /// Writes the deferred reply `c` and runs the commands buffered behind
  /// it. Ignored unless it is the reply waited for (a stale one, e.g. from
  /// before a disconnect, changes nothing).
  void complete(resp_completion c);

  /// Input bytes held and not run yet.
  size_t buffered() const noexcept { return parser_.buffered(); }

  /// Replies not yet written out; the transport takes bytes from its front
  /// (or clears it after writing all of it).
  std::string& output() noexcept { return out_; }

  /// True once the connection must close after output() is written.
  bool closing() const noexcept { return closing_; }

  /// True if the close was forced by a protocol error (parser_error()).
  bool protocol_failed() const noexcept { return parser_.failed(); }

  uint64_t id() const noexcept { return id_; }

  int protocol() const noexcept { return writer_.protocol(); }

  bool authenticated() const noexcept { return authenticated_; }

  /// Appends `p` to output() as this connection takes it now (RESP3 push,
  /// RESP2 pub/sub message, or nothing: a RESP2 connection that subscribed
  /// to nothing gets no invalidations, a message for a channel it left is
  /// dropped). resp_session_pubsub.cpp.
  void deliver(const resp_push& p);

  /// True while subscribed to a channel or pattern (the server spares such
  /// connections its idle timeout, as Redis does).
  bool subscribed() const noexcept {
    return !channels_.empty() || !patterns_.empty();
  }

 private:
  using args_t = std::vector<std::string>;

  // The command table names the handlers below (resp_command.hpp).
  friend const std::vector<resp_command>& resp_commands();

  void run(args_t& args);
  // Runs the commands in the parser's input until it needs more bytes, the
  // connection closes or a command waits.
  void drain();
  // A deferred reply begins: returns its ticket (the session waits).
  uint64_t defer();
  void reply_node_error(const caf::error& err);
  // An integer reply of the count, or the node's error.
  void reply_count(const caf::expected<size_t>& n);
  // Replies the node's error and returns false if it refuses the key
  // (check_keys: a[first], a[first + step], ... through the end).
  bool check_key(std::string_view key);
  bool check_keys(const args_t& args, size_t first, size_t step);
  void wrong_arity(std::string_view name);
  void hello_reply();
  std::string client_line(const resp_clients::client& c) const;

  // -- connection (resp_session.cpp) ------------------------------------------
  void cmd_hello(args_t& a);
  void cmd_auth(args_t& a);
  void cmd_ping(args_t& a);
  void cmd_echo(args_t& a);
  void cmd_quit(args_t& a);
  void cmd_select(args_t& a);
  void cmd_client(args_t& a);

  // -- keys (resp_keyspace.cpp) -----------------------------------------------
  void cmd_get(args_t& a);
  void cmd_set(args_t& a);
  void cmd_mget(args_t& a);
  void cmd_mset(args_t& a);
  void cmd_del(args_t& a);
  void cmd_exists(args_t& a);
  void cmd_expire(args_t& a);
  void cmd_pexpire(args_t& a);
  void cmd_ttl(args_t& a);
  void cmd_pttl(args_t& a);
  void cmd_persist(args_t& a);
  void cmd_dbsize(args_t& a);
  void expire_generic(args_t& a, bool millis);
  void ttl_generic(args_t& a, bool millis);

  // -- client-side caching (resp_session_tracking.cpp) ------------------------
  // Before a command runs: refuses it in RESP2 subscribed mode (false), and
  // tracks the keys of a read-only one.
  bool before_command(const resp_command& cmd, args_t& a);
  // After it ran: CLIENT CACHING's flag lasts one command.
  void after_command(const resp_command& cmd, const args_t& a);
  void client_tracking(args_t& a);
  void client_caching(args_t& a);
  void client_trackinginfo(args_t& a);
  void client_getredir(args_t& a);

  // -- pub/sub (resp_session_pubsub.cpp) --------------------------------------
  void cmd_subscribe(args_t& a);
  void cmd_unsubscribe(args_t& a);
  void cmd_psubscribe(args_t& a);
  void cmd_punsubscribe(args_t& a);
  void cmd_publish(args_t& a);
  void subscribe_generic(args_t& a, bool pattern);
  void unsubscribe_generic(args_t& a, bool pattern);
  bool services_or_error();

  // -- introspection (resp_introspection.cpp) ---------------------------------
  void cmd_command(args_t& a);
  void cmd_config(args_t& a);
  void cmd_info(args_t& a);
  void command_info(const resp_command& c);

  // -- cachebus's own commands (resp_cachebus_commands.cpp) -------------------
  void cmd_cb_fetch(args_t& a);
  void cmd_cb_set(args_t& a);
  void cmd_cb_invalidate(args_t& a);
  void cmd_cb_invalidate_tag(args_t& a);
  void cmd_cb_invalidate_pattern(args_t& a);
  void cmd_cb_resource(args_t& a);
  void cmd_cb_depend(args_t& a);
  void cmd_cb_update(args_t& a);
  void cmd_cb_queue(args_t& a);
  void cmd_cb_record(args_t& a);
  // A record command's common part: parses (resource, id, field value...)
  // when `with_fields`, then defers.
  bool record_args(args_t& a, bool with_fields, stores::field_map& fields);

  // -- SCAN (resp_scan.cpp) ---------------------------------------------------
  void cmd_scan(args_t& a);

  node& node_;
  std::shared_ptr<resp_clients> clients_;
  resp_session_options opts_;
  resp_parser parser_;
  std::string out_;
  resp_writer writer_{out_};
  uint64_t id_ = 0;
  bool authenticated_ = false;
  bool closing_ = false;
  args_t args_;
  const char* listed_cmd_ = nullptr; // last command told to clients_
  bool ran_ = false;                 // a command ran in this drain()
  uint64_t waiting_ = 0;             // the deferred reply's ticket, 0: none
  uint64_t last_ticket_ = 0;
  resp_scan_cursors cursors_;
  // Tracking on, its mode's flags as far as reads need them, and CLIENT
  // CACHING's flag for the next command (0 none, 1 yes, -1 no).
  bool tracking_ = false;
  bool tracking_bcast_ = false;
  bool tracking_optin_ = false;
  bool tracking_optout_ = false;
  int caching_ = 0;
  std::set<std::string> channels_;
  std::set<std::string> patterns_;
};

} // namespace cachebus
