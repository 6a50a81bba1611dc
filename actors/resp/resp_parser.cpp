#include "cachebus/actors/resp/resp_parser.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdint>
#include <cstring>

namespace cachebus {

namespace {

// Redis's bounds before AUTH (networking.c): a client that has not
// authenticated cannot make the server hold much.
constexpr size_t unauthenticated_multibulk = 10;
constexpr size_t unauthenticated_bulk = 16384;
// Arguments reserved up front at most, whatever a frame declares.
constexpr size_t reserve_cap = 1024;

} // namespace

bool parse_resp_integer(std::string_view s, long long& out) {
  if (s.empty() || s.size() > 20)
    return false;
  size_t i = 0;
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    if (++i == s.size())
      return false;
  }
  if (s[i] == '0')
    return s.size() == i + 1 && !neg ? (out = 0, true) : false;
  unsigned long long v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    auto d = static_cast<unsigned>(s[i] - '0');
    if (v > (ULLONG_MAX - d) / 10)
      return false;
    v = v * 10 + d;
  }
  if (neg) {
    if (v > static_cast<unsigned long long>(LLONG_MAX) + 1)
      return false;
    out = v == static_cast<unsigned long long>(LLONG_MAX) + 1
            ? LLONG_MIN
            : -static_cast<long long>(v);
  } else {
    if (v > static_cast<unsigned long long>(LLONG_MAX))
      return false;
    out = static_cast<long long>(v);
  }
  return true;
}

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

} // namespace

bool split_inline(std::string_view line, std::vector<std::string>& out) {
  out.clear();
  size_t i = 0, n = line.size();
  for (;;) {
    while (i < n && is_space(line[i]))
      ++i;
    if (i == n)
      return true;
    std::string cur;
    bool in_dq = false, in_sq = false, done = false;
    while (!done) {
      if (in_dq) {
        if (i == n)
          return false; // unterminated quotes
        if (line[i] == '\\' && i + 3 < n && line[i + 1] == 'x'
            && hex_digit(line[i + 2]) >= 0 && hex_digit(line[i + 3]) >= 0) {
          cur.push_back(static_cast<char>(hex_digit(line[i + 2]) * 16
                                          + hex_digit(line[i + 3])));
          i += 3;
        } else if (line[i] == '\\' && i + 1 < n) {
          ++i;
          switch (line[i]) {
          case 'n':
            cur.push_back('\n');
            break;
          case 'r':
            cur.push_back('\r');
            break;
          case 't':
            cur.push_back('\t');
            break;
          case 'b':
            cur.push_back('\b');
            break;
          case 'a':
            cur.push_back('\a');
            break;
          default:
            cur.push_back(line[i]);
          }
        } else if (line[i] == '"') {
          // The closing quote must be followed by a space or the end.
          if (i + 1 < n && !is_space(line[i + 1]))
            return false;
          done = true;
        } else {
          cur.push_back(line[i]);
        }
      } else if (in_sq) {
        if (i == n)
          return false;
        if (line[i] == '\\' && i + 1 < n && line[i + 1] == '\'') {
          ++i;
          cur.push_back('\'');
        } else if (line[i] == '\'') {
          if (i + 1 < n && !is_space(line[i + 1]))
            return false;
          done = true;
        } else {
          cur.push_back(line[i]);
        }
      } else {
        if (i == n) {
          done = true;
          break;
        }
        switch (line[i]) {
        case ' ':
        case '\n':
        case '\r':
        case '\t':
        case '\0':
          done = true;
          break;
        case '"':
          in_dq = true;
          break;
        case '\'':
          in_sq = true;
          break;
        default:
          cur.push_back(line[i]);
        }
      }
      if (i < n)
        ++i;
    }
    out.push_back(std::move(cur));
  }
}

resp_parser::resp_parser(limits lim) : lim_(lim) {
  // nop
}

void resp_parser::feed(std::string_view bytes) {
  if (failed())
    return;
  compact();
  buf_.append(bytes.data(), bytes.size());
}

void resp_parser::compact() {
  // Drop what was parsed once it is most of the buffer: amortized O(1) per
  // byte, and the buffer never keeps a large parsed prefix alive.
  if (pos_ > 0 && (pos_ == buf_.size() || pos_ >= buf_.size() / 2)) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
}

resp_parser::status resp_parser::fail(std::string text) {
  error_ = std::move(text);
  buf_.clear();
  buf_.shrink_to_fit();
  pos_ = 0;
  args_.clear();
  args_.shrink_to_fit();
  request_bytes_ = 0;
  return status::error;
}

size_t resp_parser::header_end(const char* too_big) {
  auto* begin = buf_.data() + pos_;
  auto avail = buf_.size() - pos_;
  auto* cr = static_cast<const char*>(std::memchr(begin, '\r', avail));
  if (cr == nullptr) {
    if (avail > lim_.max_inline_length)
      fail(too_big);
    return std::string::npos;
  }
  auto off = static_cast<size_t>(cr - begin);
  if (off + 1 >= avail) // the '\n' after it has not arrived yet
    return std::string::npos;
  return pos_ + off;
}

resp_parser::status resp_parser::parse_inline() {
  auto* begin = buf_.data() + pos_;
  auto avail = buf_.size() - pos_;
  auto* nl = static_cast<const char*>(std::memchr(begin, '\n', avail));
  if (nl == nullptr) {
    if (avail > lim_.max_inline_length)
      return fail("Protocol error: too big inline request");
    return status::need_more;
  }
  auto len = static_cast<size_t>(nl - begin);
  if (len > lim_.max_inline_length)
    return fail("Protocol error: too big inline request");
  std::string_view line{begin, len};
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  bool ok = split_inline(line, args_);
  pos_ += len + 1;
  if (!ok)
    return fail("Protocol error: unbalanced quotes in request");
  return status::command;
}

resp_parser::status resp_parser::next(std::vector<std::string>& args) {
  if (failed())
    return status::error;
  for (;;) {
    switch (state_) {
    case state::start: {
      if (pos_ == buf_.size())
        return status::need_more;
      if (buf_[pos_] != '*') {
        auto st = parse_inline();
        if (st != status::command)
          return st;
        if (args_.empty())
          continue; // an empty line: skipped, as Redis does
        args.swap(args_);
        args_.clear();
        return status::command;
      }
      auto end = header_end("Protocol error: too big mbulk count string");
      if (end == std::string::npos)
        return failed() ? status::error : status::need_more;
      long long n = 0;
      bool ok = parse_resp_integer({buf_.data() + pos_ + 1, end - pos_ - 1}, n);
      if (!ok || n > static_cast<long long>(lim_.max_multibulk_length))
        return fail("Protocol error: invalid multibulk length");
      if (n > static_cast<long long>(unauthenticated_multibulk)
          && !authenticated_)
        return fail("Protocol error: unauthenticated multibulk length");
      pos_ = end + 2;
      if (n <= 0)
        continue; // `*0` and `*-1`: nothing to run
      args_.clear();
      args_.reserve(std::min(static_cast<size_t>(n), reserve_cap));
      args_left_ = static_cast<size_t>(n);
      request_bytes_ = 0;
      state_ = state::bulk_header;
      break;
    }
    case state::bulk_header: {
      if (pos_ == buf_.size())
        return status::need_more;
      auto end = header_end("Protocol error: too big bulk count string");
      if (end == std::string::npos)
        return failed() ? status::error : status::need_more;
      if (buf_[pos_] != '$')
        return fail(std::string{"Protocol error: expected '$', got '"}
                    + buf_[pos_] + "'");
      long long len = 0;
      bool ok
        = parse_resp_integer({buf_.data() + pos_ + 1, end - pos_ - 1}, len);
      if (!ok || len < 0
          || static_cast<unsigned long long>(len) > lim_.max_bulk_length)
        return fail("Protocol error: invalid bulk length");
      if (len > static_cast<long long>(unauthenticated_bulk) && !authenticated_)
        return fail("Protocol error: unauthenticated bulk length");
      if (request_bytes_ + static_cast<size_t>(len) > lim_.max_request_bytes)
        return fail("Protocol error: request of more than "
                    + std::to_string(lim_.max_request_bytes)
                    + " bytes (cachebus.resp-max-request-bytes)");
      pos_ = end + 2;
      bulk_left_ = static_cast<size_t>(len);
      request_bytes_ += bulk_left_;
      args_.emplace_back();
      state_ = state::bulk_data;
      break;
    }
    case state::bulk_data: {
      // The argument grows with the bytes that arrived, never by what the
      // header declared.
      auto avail = buf_.size() - pos_;
      auto take = std::min(avail, bulk_left_);
      args_.back().append(buf_.data() + pos_, take);
      pos_ += take;
      bulk_left_ -= take;
      if (bulk_left_ > 0)
        return status::need_more;
      // The CRLF after the bytes: skipped unread, as Redis does.
      if (buf_.size() - pos_ < 2)
        return status::need_more;
      pos_ += 2;
      if (--args_left_ > 0) {
        state_ = state::bulk_header;
        break;
      }
      state_ = state::start;
      request_bytes_ = 0;
      args.swap(args_);
      args_.clear();
      compact();
      return status::command;
    }
    }
  }
}

} // namespace cachebus
