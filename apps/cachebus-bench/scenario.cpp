#include "scenario.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace cachebus::bench {

namespace {

std::vector<result>& store() {
  static std::vector<result> xs;
  return xs;
}

double scale_factor = 1.0;

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double x) {
  if (!std::isfinite(x))
    return "null";
  std::ostringstream os;
  os.precision(6);
  os << x;
  return os.str();
}

} // namespace

void emit(result r) {
  std::ostringstream os;
  os << "{\"scenario\":\"" << json_escape(r.scenario) << "\",\"metric\":\""
     << json_escape(r.metric) << "\",\"value\":" << number(r.value)
     << ",\"unit\":\"" << json_escape(r.unit) << "\"";
  if (r.baseline) {
    os << ",\"baseline\":" << number(*r.baseline) << ",\"ratio\":"
       << number(*r.baseline != 0 ? r.value / *r.baseline : NAN);
  }
  if (!r.note.empty())
    os << ",\"note\":\"" << json_escape(r.note) << "\"";
  os << "}";
  std::cout << os.str() << std::endl;
  store().push_back(std::move(r));
}

const std::vector<result>& results() {
  return store();
}

std::vector<scenario>& registry() {
  static std::vector<scenario> xs;
  return xs;
}

double median(std::vector<double> xs) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

double scale() {
  return scale_factor;
}

void set_scale(double s) {
  scale_factor = s;
}

} // namespace cachebus::bench
