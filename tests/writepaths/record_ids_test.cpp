// Which record ids the write and read paths accept (rules::check_id): an id
// that would make another record's key, or a key or tag the node cannot
// hold, is refused with invalid_key before anything is written (store,
// journal, cache, event); the canonical entry carries its rule's tags.
#include "wp_fixture.hpp"

#include "caf/scoped_actor.hpp"

#include "cachebus/actors/node/record_frontend.hpp"
#include "cachebus/actors/writepaths/record_codec.hpp"

using namespace cachebus;
using namespace cachebus::test;

namespace {

// update or queue_update, as one call.
caf::error write(record_cache& rc, bool back, const std::string& id,
                 stores::field_map f) {
  if (back)
    return rc.queue_update("users", id, std::move(f));
  auto v = rc.update("users", id, std::move(f));
  return v ? caf::error{} : v.error();
}

} // namespace

TEST_CASE("an id that would make another record's derived key is refused by "
          "every write and read path and changes nothing",
          "[writepaths][ids]") {
  env<sqlite_kind> e;
  // User 8's derived data, cached by the application.
  REQUIRE(e.n->set("user:8:profile", "the profile of user 8"));
  auto events = e.n->events_published();
  for (bool back : {false, true}) {
    INFO((back ? "queue_update" : "update"));
    auto err = write(*e.rc, back, "8:profile", {{"name", "mallory"}});
    REQUIRE(failed_with(err, errc::invalid_key));
    CHECK_THAT(describe(err), Catch::Contains("\"8:profile\"")
                                && Catch::Contains("\"user:8:profile\"")
                                && Catch::Contains("user:{id}:profile"));
  }
  auto loaded = e.rc->load("users", "8:profile");
  REQUIRE_FALSE(loaded);
  CHECK(failed_with(loaded.error(), errc::invalid_key));
  // Nothing changed: no store row, no journal entry, no cache entry, no event.
  CHECK(e.store->load("users", "8:profile").error().code()
        == stores::store_errc::not_found);
  CHECK(e.rc->stats().queued_writes == 0);
  CHECK(e.rc->stats().queue_depth == 0);
  CHECK(*e.n->get("user:8:profile") == "the profile of user 8");
  CHECK(e.n->events_published() == events);
  // The same row, written behind the cache's back, is not served either.
  REQUIRE(e.store->apply({{"users", "8:profile", {{"name", "mallory"}}}}).ok());
  CHECK(
    failed_with(e.rc->load("users", "8:profile").error(), errc::invalid_key));
  CHECK(*e.n->get("user:8:profile") == "the profile of user 8");
}

TEST_CASE("the record frontend refuses a colliding id like the record cache",
          "[writepaths][ids]") {
  env<sqlite_kind> e;
  auto fe = spawn_record_frontend(e.sys, e.n.get(), e.rc.get(), 1);
  caf::error got;
  {
    caf::scoped_actor self{e.sys};
    self
      ->request(fe, 10s, caf::update_atom_v, std::string{"users"},
                std::string{"8:profile"}, stores::field_map{{"name", "x"}})
      .receive([](uint64_t) {}, [&](caf::error& err) { got = err; });
    self->send_exit(fe, caf::exit_reason::user_shutdown);
    self->wait_for(fe);
  }
  CHECK(failed_with(got, errc::invalid_key));
  CHECK(e.store->load("users", "8:profile").error().code()
        == stores::store_errc::not_found);
}

TEST_CASE("ids with ':' that no template can mistake are written and read",
          "[writepaths][ids]") {
  env<sqlite_kind> e;
  REQUIRE(e.rc->update("orders", "a:b", {{"total", "3"}}));
  REQUIRE(e.rc->update("users", "8:x", {{"name", "x"}}));
  CHECK(e.rc->load("orders", "a:b")->fields.at("total") == "3");
  CHECK(e.rc->load("users", "8:x")->fields.at("name") == "x");
  CHECK(decode_record(*e.n->get("order:a:b")));
}

TEST_CASE("an id whose key or derived key the node cannot hold is refused "
          "before the store or the journal sees it",
          "[writepaths][ids]") {
  env<sqlite_kind> e;
  REQUIRE(e.n->options().max_key_size == 1024);
  // "user:" + 1020 bytes is 1025 bytes; "user:" + 1012 + ":profile" too.
  for (auto size : {size_t{1020}, size_t{1012}}) {
    std::string id(size, 'x');
    for (bool back : {false, true}) {
      INFO(size << " bytes, " << (back ? "queue_update" : "update"));
      auto err = write(*e.rc, back, id, {{"name", "long"}});
      REQUIRE(failed_with(err, errc::invalid_key));
      CHECK_THAT(describe(err), Catch::Contains("cachebus.max-key-size"));
      CHECK(e.store->load("users", id).error().code()
            == stores::store_errc::not_found);
      CHECK(e.rc->stats().queued_writes == 0);
    }
  }
  // The longest id whose every key and tag fits is written and served.
  std::string id(1011, 'x');
  REQUIRE(e.rc->update("users", id, {{"name", "long"}}));
  REQUIRE(e.rc->queue_update("users", id, {{"email", "e"}}) == caf::error{});
  auto rec = e.rc->load("users", id);
  REQUIRE(rec);
  CHECK(rec->fields.at("name") == "long");
  CHECK(e.n->get("user:" + id));
}

TEST_CASE("a record's canonical entry carries its rule's tags, written or "
          "loaded",
          "[writepaths][rule-tags]") {
  env<sqlite_kind> e;
  REQUIRE(e.rc->update("users", "7", {{"name", "seven"}}));
  REQUIRE(e.n->get("user:7"));
  REQUIRE(e.store->apply({{"users", "9", {{"name", "nine"}}}}).ok());
  REQUIRE(e.rc->load("users", "9"));
  REQUIRE(e.n->get("user:9"));
  CHECK(*e.n->invalidate_tag("user:7") == 1);
  CHECK(*e.n->invalidate_tag("user:9") == 1);
  CHECK_FALSE(e.n->get("user:7"));
  CHECK_FALSE(e.n->get("user:9"));
}
