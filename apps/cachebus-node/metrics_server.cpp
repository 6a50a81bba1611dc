#include "metrics_server.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "cachebus/actors/node/metrics_text.hpp"

namespace cachebus::app {

namespace {

using steady = std::chrono::steady_clock;

struct connection {
  int fd = -1;
  bool writing = false;
  steady::time_point deadline;
  steady::time_point accepted;
  std::string in;
  std::string out;
  size_t written = 0;
};

std::string response(const char* status, const std::string& body,
                     const char* type = "text/plain; charset=utf-8",
                     bool head = false) {
  std::string r = "HTTP/1.1 ";
  r += status;
  r += "\r\nContent-Type: ";
  r += type;
  r += "\r\nContent-Length: " + std::to_string(body.size())
       + "\r\nConnection: close\r\n\r\n";
  if (!head)
    r += body;
  return r;
}

} // namespace

std::unique_ptr<metrics_server>
metrics_server::bind(const std::string& host, uint16_t port, render_fn render,
                     limits lim, std::string& error) {
  std::unique_ptr<metrics_server> s{new metrics_server};
  s->render_ = std::move(render);
  s->lim_ = lim;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  auto service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
      rc != 0) {
    error = "cannot resolve " + host + ": " + gai_strerror(rc);
    return nullptr;
  }
  for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family,
                      ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
      continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 64) == 0) {
      s->listen_fd_ = fd;
      break;
    }
    error = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  if (s->listen_fd_ < 0) {
    error = "cannot listen on " + host + ":" + service + ": " + error;
    return nullptr;
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(s->listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  s->port_ = ntohs(ss.ss_family == AF_INET6
                     ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  s->wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s->wake_fd_ < 0) {
    error = std::string{"eventfd: "} + std::strerror(errno);
    return nullptr; // the destructor closes the port
  }
  return s;
}

metrics_server::~metrics_server() {
  stop();
  if (listen_fd_ >= 0)
    ::close(listen_fd_);
  if (wake_fd_ >= 0)
    ::close(wake_fd_);
}

void metrics_server::start() {
  thread_ = std::thread{[this] { run(); }};
}

void metrics_server::stop() {
  if (!thread_.joinable())
    return;
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
  thread_.join();
}

void metrics_server::run() {
  std::vector<connection> conns;
  std::vector<pollfd> fds;
  auto close_at = [&](size_t i) {
    ::close(conns[i].fd);
    conns.erase(conns.begin() + static_cast<std::ptrdiff_t>(i));
  };
  // Puts the answer to the request head in `c.in` into `c.out`.
  auto answer = [&](connection& c) {
    auto eol = c.in.find("\r\n");
    auto line = c.in.substr(0, eol);
    auto sp1 = line.find(' ');
    auto sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string::npos) {
      c.out = response("400 Bad Request", "bad request line\n");
    } else {
      auto method = line.substr(0, sp1);
      auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
      target = target.substr(0, target.find('?'));
      bool head = method == "HEAD";
      if (method != "GET" && !head)
        c.out = response("405 Method Not Allowed", "GET /metrics\n");
      else if (target != "/metrics")
        c.out = response("404 Not Found", "GET /metrics\n");
      else
        c.out = response("200 OK", render_(), metrics_content_type, head);
    }
    c.writing = true;
    c.written = 0;
    c.deadline = steady::now() + lim_.write_timeout;
  };
  for (;;) {
    auto now = steady::now();
    // Expired connections go first, so they never count against the cap.
    for (size_t i = conns.size(); i-- > 0;)
      if (conns[i].deadline <= now)
        close_at(i);
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    int timeout = -1;
    for (auto& c : conns) {
      fds.push_back(
        {c.fd, static_cast<short>(c.writing ? POLLOUT : POLLIN), 0});
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    c.deadline - now)
                    .count()
                  + 1;
      timeout = timeout < 0 ? static_cast<int>(left)
                            : std::min(timeout, static_cast<int>(left));
    }
    if (::poll(fds.data(), fds.size(), timeout) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (fds[0].revents != 0)
      break;
    // Clients first (fds[2..] match conns as they were when polled); the
    // loop walks backwards so that closing one keeps the others' indexes.
    for (size_t i = conns.size(); i-- > 0;) {
      auto& c = conns[i];
      auto re = fds[i + 2].revents;
      if (re == 0)
        continue;
      if (c.writing) {
        auto n = ::send(c.fd, c.out.data() + c.written,
                        c.out.size() - c.written, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
          continue;
        if (n <= 0) {
          close_at(i);
          continue;
        }
        c.written += static_cast<size_t>(n);
        if (c.written == c.out.size())
          close_at(i);
        continue;
      }
      char buf[2048];
      auto n = ::recv(c.fd, buf, sizeof(buf), 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      if (n <= 0) {
        close_at(i);
        continue;
      }
      c.in.append(buf, static_cast<size_t>(n));
      if (c.in.find("\r\n\r\n") != std::string::npos)
        answer(c);
      else if (c.in.size() > lim_.max_request_bytes) {
        c.out = response("431 Request Header Fields Too Large", "");
        c.writing = true;
        c.deadline = steady::now() + lim_.write_timeout;
      }
    }
    if (fds[1].revents & POLLIN) {
      for (;;) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
          break;
        if (conns.size() >= lim_.max_connections) {
          // Evict the connection that has been reading longest: a scraper
          // sends its request at once, a slow client loses its slot.
          auto victim = conns.end();
          for (auto j = conns.begin(); j != conns.end(); ++j)
            if (!j->writing
                && (victim == conns.end() || j->accepted < victim->accepted))
              victim = j;
          if (victim == conns.end()) {
            ::close(fd); // all are being answered: try again later
            continue;
          }
          close_at(static_cast<size_t>(victim - conns.begin()));
        }
        connection c;
        c.fd = fd;
        c.accepted = steady::now();
        c.deadline = c.accepted + lim_.request_timeout;
        conns.push_back(std::move(c));
      }
    }
  }
  for (auto& c : conns)
    ::close(c.fd);
}

} // namespace cachebus::app
