#include "cachebus/stores/change.hpp"

#include <cstdint>

#include <optional>

namespace cachebus::stores {

namespace {

// A strict reader for one flat JSON object whose values are strings,
// integers, true, false or null: all the change feed ever sends.
class flat_json_reader {
 public:
  explicit flat_json_reader(std::string_view in) : in_(in) {}

  bool at_end() {
    skip_ws();
    return pos_ == in_.size();
  }

  bool consume(char c) {
    skip_ws();
    if (pos_ < in_.size() && in_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool peek(char c) {
    skip_ws();
    return pos_ < in_.size() && in_[pos_] == c;
  }

  std::optional<std::string> string() {
    if (!consume('"'))
      return std::nullopt;
    std::string out;
    while (pos_ < in_.size()) {
      char c = in_[pos_++];
      if (c == '"')
        return out;
      if (static_cast<unsigned char>(c) < 0x20)
        return std::nullopt;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ == in_.size())
        return std::nullopt;
      switch (in_[pos_++]) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u':
        if (!unicode_escape(out))
          return std::nullopt;
        break;
      default:
        return std::nullopt;
      }
    }
    return std::nullopt;
  }

  std::optional<uint64_t> unsigned_integer() {
    skip_ws();
    size_t start = pos_;
    uint64_t out = 0;
    while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9') {
      auto digit = static_cast<uint64_t>(in_[pos_] - '0');
      if (out > (UINT64_MAX - digit) / 10)
        return std::nullopt;
      out = out * 10 + digit;
      ++pos_;
    }
    if (pos_ == start || (in_[start] == '0' && pos_ - start > 1))
      return std::nullopt;
    return out;
  }

  // Skips a string, number or literal.
  bool skip_value() {
    skip_ws();
    if (peek('"'))
      return string().has_value();
    for (std::string_view lit : {"true", "false", "null"})
      if (in_.substr(pos_, lit.size()) == lit) {
        pos_ += lit.size();
        return true;
      }
    size_t start = pos_;
    while (pos_ < in_.size()
           && std::string_view{"+-.eE0123456789"}.find(in_[pos_])
                != std::string_view::npos)
      ++pos_;
    return pos_ > start;
  }

 private:
  void skip_ws() {
    while (pos_ < in_.size()
           && (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\n'
               || in_[pos_] == '\r'))
      ++pos_;
  }

  std::optional<uint32_t> hex4() {
    if (in_.size() - pos_ < 4)
      return std::nullopt;
    uint32_t out = 0;
    for (int i = 0; i < 4; ++i) {
      char c = in_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9')
        out |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        out |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        out |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return std::nullopt;
    }
    return out;
  }

  bool unicode_escape(std::string& out) {
    auto hi = hex4();
    if (!hi)
      return false;
    uint32_t cp = *hi;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
      return false;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (in_.substr(pos_, 2) != "\\u")
        return false;
      pos_ += 2;
      auto lo = hex4();
      if (!lo || *lo < 0xDC00 || *lo > 0xDFFF)
        return false;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (*lo - 0xDC00);
    }
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return true;
  }

  std::string_view in_;
  size_t pos_ = 0;
};

status malformed(std::string_view payload, std::string_view why) {
  std::string msg = "malformed change payload (";
  msg += why;
  msg += "): ";
  msg += payload.substr(0, 200);
  return {store_errc::invalid_argument, std::move(msg)};
}

} // namespace

result<change> parse_change(std::string_view payload) {
  flat_json_reader rd{payload};
  if (!rd.consume('{'))
    return malformed(payload, "not an object");
  change out;
  bool has_op = false;
  bool has_resource = false;
  bool has_id = false;
  bool has_version = false;
  if (!rd.consume('}')) {
    do {
      auto key = rd.string();
      if (!key || !rd.consume(':'))
        return malformed(payload, "expected a key");
      if (*key == "op") {
        auto op = rd.string();
        if (!op || (*op != "write" && *op != "delete"))
          return malformed(payload, "op is neither write nor delete");
        out.kind = *op == "write" ? change_kind::write : change_kind::erase;
        has_op = true;
      } else if (*key == "resource" || *key == "id") {
        auto str = rd.string();
        if (!str)
          return malformed(payload, "expected a string");
        (*key == "id" ? out.id : out.resource) = std::move(*str);
        (*key == "id" ? has_id : has_resource) = true;
      } else if (*key == "version") {
        auto version = rd.unsigned_integer();
        if (!version)
          return malformed(payload, "version is not an unsigned integer");
        out.version = *version;
        has_version = true;
      } else if (*key == "at") {
        auto at = rd.unsigned_integer();
        if (!at || *at > static_cast<uint64_t>(INT64_MAX))
          return malformed(payload, "at is not a time in microseconds");
        out.at_us = static_cast<int64_t>(*at);
      } else if (!rd.skip_value()) {
        return malformed(payload, "unsupported value");
      }
    } while (rd.consume(','));
    if (!rd.consume('}'))
      return malformed(payload, "expected '}'");
  }
  if (!rd.at_end())
    return malformed(payload, "trailing characters");
  if (!has_op || !has_resource || !has_id || !has_version)
    return malformed(payload, "missing op, resource, id or version");
  return out;
}

} // namespace cachebus::stores
