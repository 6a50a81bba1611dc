// The one error category of cachebus. Every failure a user can get back from
// the facade or from an actor handle is a caf::error whose category is
// cachebus::error_category and whose code is a cachebus::errc; the error's
// context holds a readable sentence. Errors are values: nothing here throws.
#pragma once

#include <cstdint>
#include <string>

#include "caf/atom.hpp"
#include "caf/error.hpp"
#include "caf/fwd.hpp"

namespace cachebus {

/// The category atom of every cachebus error.
constexpr caf::atom_value error_category = caf::atom("cachebus");

/// Error codes. Zero is reserved by CAF for "no error".
enum class errc : uint8_t {
  /// A key is empty or longer than `cachebus.max-key-size`.
  invalid_key = 1,
  /// A value is longer than `cachebus.max-value-size`.
  value_too_large,
  /// A TTL is negative or beyond `cachebus.max-ttl`.
  invalid_ttl,
  /// A configuration value is out of range or malformed.
  invalid_config,
  /// The key is not in the cache (or has expired, or was invalidated).
  miss,
  /// The node has been stopped; nothing was changed.
  stopped,
  /// A request to an actor did not complete in time.
  timeout,
  /// A tag, pattern or other argument is malformed.
  invalid_argument,
  /// An invalidation names a resource that no rule declares.
  unknown_resource,
  /// A rule (in code or in a rules file) is malformed.
  invalid_rule,
  /// A loader failed (returned an error, threw, or its owner died).
  load_failed,
  /// A loader held its lease past cachebus.lease-timeout.
  lease_expired,
  /// More callers wait for one key than cachebus.max-waiters allows.
  too_many_waiters,
  /// A field name is malformed or not declared for its resource.
  invalid_field,
  /// The record does not exist in the store.
  not_found,
  /// The store cannot be reached (server down, connection lost, database
  /// locked); nothing was changed. Retrying later may succeed.
  store_unavailable,
  /// The store refused or failed the operation; nothing was changed.
  store_error,
  /// The write-back queue is full (cachebus.write-back.max-queue): the write
  /// was not queued.
  backpressure,
  /// The write-back journal can't be used: another opener holds it, it is
  /// not a journal, or a write or sync failed. The message says which: on a
  /// full disk the write was not journaled, nothing changed and a later
  /// write succeeds once there is room; after a failed sync the write's
  /// durability is unknown and the journal refuses further writes until the
  /// node restarts (and replays it).
  journal_error,
  /// A write carries a source version older than the one cached under its
  /// key (versions never go backwards); nothing was changed.
  stale_version,
  /// A typed write's value could not be encoded (cachebus::codec<T>,
  /// codec.hpp); nothing was changed.
  encode_failed,
  /// A cached value could not be decoded as the type asked for
  /// (cachebus::codec<T>): it is not served, and nothing was changed.
  decode_failed,
};

/// Returns the symbolic name of `code`, e.g. "invalid_key".
const char* to_string(errc code);

/// Creates an error of category `cachebus` with a readable detail sentence.
caf::error make_error(errc code, std::string detail);

/// Creates an error of category `cachebus` without detail.
caf::error make_error(errc code);

/// Returns true if `err` is the cachebus error `code`.
bool is(const caf::error& err, errc code);

/// Renders any error as one readable line. cachebus errors render without a
/// configured actor system; an error of another category whose context is
/// one string (a sentence, as the bridge's refusals carry) renders as that
/// string; anything else falls back to CAF's rendering.
std::string describe(const caf::error& err);

/// Registers the renderer of the cachebus category with `cfg`, so that
/// `actor_system::render` prints cachebus errors readably.
void add_error_category(caf::actor_system_config& cfg);

} // namespace cachebus
