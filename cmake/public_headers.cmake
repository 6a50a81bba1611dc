# The installed API of cachebus: these headers, and only these, are copied
# into include/cachebus/. Everything else under actors/ bus/ stores/ is
# private to the build. The entry points an embedder includes are marked
# (entry); the rest is what they include. CI compiles every installed header
# on its own against the installed tree (tests/install/check_headers.sh), so
# a public header that includes a private one fails there.
set(CACHEBUS_PUBLIC_HEADERS
  # the node facade, its options, errors and runtime
  actors/node/node.hpp               # (entry)
  actors/node/runtime.hpp            # (entry)
  actors/node/config.hpp             # (entry)
  actors/node/error.hpp              # (entry)
  actors/node/metrics_text.hpp       # (entry)
  actors/node/codec.hpp              # (entry) typed values: codec<T>
  actors/node/options.hpp
  actors/node/option_reader.hpp
  actors/node/tls_setup.hpp          # enable_tls for an own actor_system_config
  actors/node/type_ids.hpp
  # the typed actor interfaces users send to
  actors/node/node_frontend.hpp      # (entry)
  actors/node/record_frontend.hpp    # (entry)
  actors/cache/shard.hpp             # (entry)
  actors/cache/shard_messages.hpp
  actors/cache/node_stats.hpp
  actors/cache/expire_condition.hpp
  actors/cache/put_condition.hpp
  actors/cache/removal.hpp
  actors/cache/time_source.hpp
  actors/flight/lock_manager.hpp     # (entry)
  actors/flight/lock_messages.hpp
  actors/flight/fetch_options.hpp    # (entry)
  actors/invalidation/invalidation_listener.hpp # (entry)
  actors/invalidation/listener_stats.hpp
  actors/invalidation/lag_histogram.hpp
  actors/invalidation/applied_events.hpp
  actors/invalidation/change_feed.hpp # (entry)
  actors/invalidation/change_feed_stats.hpp
  actors/invalidation/rules.hpp      # (entry)
  # the write paths
  actors/writepaths/record_cache.hpp # (entry)
  actors/writepaths/record_codec.hpp
  actors/writepaths/record_fields.hpp # (entry) typed field reads
  actors/writepaths/pending_writes.hpp
  actors/writepaths/write_back_flusher_actor.hpp
  actors/writepaths/write_back_options.hpp
  actors/writepaths/write_back_stats.hpp
  # the bus: events and the bus actor
  bus/bus.hpp                        # (entry)
  bus/events.hpp                     # (entry)
  bus/event_handlers.hpp
  bus/bus_stats.hpp
  bus/bridge.hpp
  bus/bridge_options.hpp
  bus/bridge_protocol.hpp
  bus/bridge_stats.hpp
  bus/peer_event.hpp
  bus/type_ids.hpp
  # systems of record
  stores/record_store.hpp            # (entry)
  stores/memory_store.hpp            # (entry)
  stores/sqlite_store.hpp            # (entry)
  stores/postgres_store.hpp          # (entry)
  stores/change.hpp
  stores/change_listener.hpp         # (entry)
  stores/pg_connection.hpp
  stores/record.hpp
  stores/result.hpp
  stores/schema.hpp
  stores/status.hpp
  stores/journal.hpp
  stores/journal_format.hpp)
