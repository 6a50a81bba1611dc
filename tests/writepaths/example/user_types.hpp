// The example user service's own types (user_service_old/new.hpp).
#pragma once

#include <cstdint>
#include <string>

namespace example {

struct user {
  std::string name;
  std::string email;
  int age = 0;
  friend bool operator==(const user&, const user&) = default;
};

// Derived data: what a listing shows for a user.
struct card {
  std::string title;
  int64_t posts = 0;
  friend bool operator==(const card&, const card&) = default;
};

inline std::string card_title(const user& u) {
  return u.name + " (" + std::to_string(u.age) + ")";
}

} // namespace example
