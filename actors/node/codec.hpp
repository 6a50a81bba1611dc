// cachebus::codec<T>: how a value of type T becomes the bytes of a cache
// entry and back. The node's typed calls (get_as, set_as, fetch_as in
// node.hpp) use it; they run the byte API underneath (same validation, single
// flight, leases and consistency rules), so a codec only converts.
//
// Given: std::string (the bytes as they are), integers and floating-point
// types (decimal text, std::to_chars' shortest form, so every value
// round-trips exactly and other clients read it), bool ("true"/"false").
// Your own type: specialize codec in namespace cachebus, before the first
// typed call that uses it:
//
//   template <> struct cachebus::codec<my::user> {
//     static caf::expected<std::string> encode(const my::user& u);
//     static caf::expected<my::user> decode(std::string_view bytes);
//   };
//
// decode must refuse bytes it cannot read (return any error; the typed call
// reports it as errc::decode_failed with the key), never invent a value.
// Both may be called from any thread at once: keep them free of shared
// mutable state. A codec that throws is treated like one that returns an
// error (encode_failed / decode_failed), nothing crosses the API.
#pragma once

#include <charconv>
#include <concepts>
#include <exception>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include "caf/error.hpp"
#include "caf/expected.hpp"
#include "caf/message.hpp"

#include "cachebus/actors/node/error.hpp"

namespace cachebus {

/// The codec of T; undefined unless specialized (see above).
template <class T>
struct codec;

/// T has a codec whose encode and decode have the required signatures.
template <class T>
concept cacheable = requires(const T& value, std::string_view bytes) {
  {
    codec<T>::encode(value)
    } -> std::convertible_to<caf::expected<std::string>>;
  { codec<T>::decode(bytes) } -> std::convertible_to<caf::expected<T>>;
};

/// The bytes as they are.
template <>
struct codec<std::string> {
  static caf::expected<std::string> encode(const std::string& value) {
    return value;
  }
  static caf::expected<std::string> decode(std::string_view bytes) {
    return std::string{bytes};
  }
};

namespace detail {

// The errors of the built-in codecs, built out of line: kept out of every
// user's translation unit (GCC 12 also warns falsely, -Wrestrict, on some
// string concatenations when they are inlined there).
caf::error number_out_of_range(std::string_view bytes, const char* kind,
                               size_t size);
caf::error not_a_number(std::string_view bytes, const char* kind);
caf::error not_a_bool(std::string_view bytes);

} // namespace detail

/// "true" or "false"; nothing else decodes.
template <>
struct codec<bool> {
  static caf::expected<std::string> encode(bool value) {
    return std::string{value ? "true" : "false"};
  }
  static caf::expected<bool> decode(std::string_view bytes) {
    if (bytes == "true")
      return true;
    if (bytes == "false")
      return false;
    return detail::not_a_bool(bytes);
  }
};

namespace detail {

template <class T>
concept codec_number
  = (std::integral<T> || std::floating_point<T>)&&!std::same_as<
      T,
      bool> && !std::same_as<T, char> && !std::same_as<T, wchar_t> && !std::same_as<T, char8_t> && !std::same_as<T, char16_t> && !std::same_as<T, char32_t>;

template <class T>
const char* number_kind() {
  if constexpr (std::floating_point<T>)
    return "a floating-point number";
  else if constexpr (std::is_signed_v<T>)
    return "a signed integer";
  else
    return "an unsigned integer";
}

} // namespace detail

/// Integers and floating-point numbers as decimal text: the shortest form
/// that reads back as the same value. Decoding takes the whole string or
/// nothing ("12x", " 12", "" and out-of-range values are refused). int8_t
/// and uint8_t (signed and unsigned char) are numbers too; the character
/// types (char, wchar_t, char8_t, char16_t, char32_t) have no codec: they
/// are text, not numbers.
template <detail::codec_number T>
struct codec<T> {
  static caf::expected<std::string> encode(T value) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
    if (ec != std::errc{})
      return make_error(errc::encode_failed, "a number did not fit 64 bytes");
    return std::string{buf, end};
  }
  static caf::expected<T> decode(std::string_view bytes) {
    T value{};
    auto* first = bytes.data();
    auto* last = first + bytes.size();
    auto [end, ec] = std::from_chars(first, last, value);
    if (ec == std::errc::result_out_of_range)
      return detail::number_out_of_range(bytes, detail::number_kind<T>(),
                                         sizeof(T));
    if (ec != std::errc{} || end != last || bytes.empty())
      return detail::not_a_number(bytes, detail::number_kind<T>());
    return value;
  }
};

namespace detail {

// Why a codec failed, as one sentence: a cachebus error's own detail (its
// code is the caller's to choose), anything else as describe() renders it.
inline std::string codec_reason(const caf::error& err) {
  if (err && err.category() == error_category
      && err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return describe(err);
}

// Runs codec<T>::encode; any failure (error or exception) becomes
// encode_failed naming `what`.
template <cacheable T>
caf::expected<std::string> encode_value(const T& value, std::string_view what) {
  auto fail = [&](const std::string& why) -> caf::expected<std::string> {
    return make_error(errc::encode_failed, "cannot encode the value of "
                                             + std::string{what} + ": " + why);
  };
  try {
    caf::expected<std::string> out = codec<T>::encode(value);
    if (!out)
      return fail(codec_reason(out.error()));
    return out;
  } catch (const std::exception& ex) {
    return fail(std::string{"the codec threw: "} + ex.what());
  } catch (...) {
    return fail("the codec threw a non-exception");
  }
}

// Runs codec<T>::decode; any failure becomes decode_failed naming `what`.
template <cacheable T>
caf::expected<T> decode_value(std::string_view bytes, std::string_view what) {
  auto fail = [&](const std::string& why) -> caf::expected<T> {
    return make_error(errc::decode_failed, "the value of " + std::string{what}
                                             + " does not decode: " + why);
  };
  try {
    caf::expected<T> out = codec<T>::decode(bytes);
    if (!out)
      return fail(codec_reason(out.error()));
    return out;
  } catch (const std::exception& ex) {
    return fail(std::string{"the codec threw: "} + ex.what());
  } catch (...) {
    return fail("the codec threw a non-exception");
  }
}

} // namespace detail

} // namespace cachebus
