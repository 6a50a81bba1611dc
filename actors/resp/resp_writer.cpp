#include "cachebus/actors/resp/resp_writer.hpp"

#include <charconv>
#include <cmath>

namespace cachebus {

void resp_writer::header(char type, int64_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), n);
  (void)ec; // 24 bytes hold every int64_t
  out_->push_back(type);
  out_->append(buf, end);
  out_->append("\r\n", 2);
}

void resp_writer::line(char type, std::string_view text) {
  out_->push_back(type);
  auto at = out_->size();
  out_->append(text.data(), text.size());
  for (auto i = at; i < out_->size(); ++i)
    if ((*out_)[i] == '\r' || (*out_)[i] == '\n')
      (*out_)[i] = ' ';
  out_->append("\r\n", 2);
}

void resp_writer::simple(std::string_view text) {
  line('+', text);
}

void resp_writer::error(std::string_view text) {
  line('-', text);
}

void resp_writer::integer(int64_t x) {
  header(':', x);
}

void resp_writer::bulk(std::string_view bytes) {
  header('$', static_cast<int64_t>(bytes.size()));
  out_->append(bytes.data(), bytes.size());
  out_->append("\r\n", 2);
}

void resp_writer::null() {
  if (proto_ >= 3)
    out_->append("_\r\n", 3);
  else
    out_->append("$-1\r\n", 5);
}

void resp_writer::null_array() {
  if (proto_ >= 3)
    out_->append("_\r\n", 3);
  else
    out_->append("*-1\r\n", 5);
}

void resp_writer::real(double x) {
  std::string text;
  if (std::isnan(x)) {
    text = "nan";
  } else if (std::isinf(x)) {
    text = x > 0 ? "inf" : "-inf";
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), x);
    (void)ec; // the shortest form of a double fits in 32 bytes
    text.assign(buf, end);
  }
  if (proto_ >= 3)
    line(',', text);
  else
    bulk(text);
}

void resp_writer::boolean(bool x) {
  if (proto_ >= 3)
    out_->append(x ? "#t\r\n" : "#f\r\n", 4);
  else
    out_->append(x ? ":1\r\n" : ":0\r\n", 4);
}

void resp_writer::verbatim(std::string_view fmt, std::string_view text) {
  if (proto_ < 3) {
    bulk(text);
    return;
  }
  header('=', static_cast<int64_t>(fmt.size() + 1 + text.size()));
  out_->append(fmt.data(), fmt.size());
  out_->push_back(':');
  out_->append(text.data(), text.size());
  out_->append("\r\n", 2);
}

void resp_writer::array(size_t n) {
  header('*', static_cast<int64_t>(n));
}

void resp_writer::map(size_t n) {
  if (proto_ >= 3)
    header('%', static_cast<int64_t>(n));
  else
    header('*', static_cast<int64_t>(2 * n));
}

void resp_writer::set(size_t n) {
  header(proto_ >= 3 ? '~' : '*', static_cast<int64_t>(n));
}

void resp_writer::push(size_t n) {
  header(proto_ >= 3 ? '>' : '*', static_cast<int64_t>(n));
}

} // namespace cachebus
