// cachebus-bench: runs named scenarios and prints one JSON object per line.
//   cachebus-bench                 run every scenario
//   cachebus-bench hit ...         run the named scenarios
//   cachebus-bench --list          list the scenarios
//   cachebus-bench --scale 0.1     shrink (or grow) every workload
//   cachebus-bench --report F.md   also write a markdown table to F.md
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <sys/utsname.h>
#include <thread>

#include "scenario.hpp"

using namespace cachebus::bench;

namespace {

int usage(const char* why) {
  std::cerr << "cachebus-bench: " << why
            << "\nusage: cachebus-bench [--list] [--scale X] [--report FILE]"
               " [scenario...]\n";
  return 2;
}

std::string machine() {
  std::ostringstream os;
  struct utsname u;
  if (uname(&u) == 0)
    os << u.sysname << " " << u.release << " " << u.machine << ", ";
  os << std::thread::hardware_concurrency() << " cores";
  std::ifstream cpu{"/proc/cpuinfo"};
  std::string line;
  while (std::getline(cpu, line))
    if (line.rfind("model name", 0) == 0) {
      os << ", " << line.substr(line.find(':') + 2);
      break;
    }
  return os.str();
}

void write_report(const std::string& path) {
  std::ofstream out{path};
  out << "Machine: " << machine() << "\n\n";
  out << "| scenario | metric | value | unit | baseline | ratio |\n";
  out << "|---|---|---|---|---|---|\n";
  for (auto& r : results()) {
    out << "| " << r.scenario << " | " << r.metric << " | " << r.value << " | "
        << r.unit << " | ";
    if (r.baseline)
      out << *r.baseline << " | "
          << (*r.baseline != 0 ? r.value / *r.baseline : 0);
    else
      out << " | ";
    out << " |\n";
  }
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> names;
  std::string report;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--list") {
      for (auto& s : registry())
        std::cout << s.name << "\t" << s.description << "\n";
      return 0;
    } else if (arg == "--scale") {
      if (++i == argc)
        return usage("--scale needs a number");
      char* end = nullptr;
      double x = std::strtod(argv[i], &end);
      if (*end != '\0' || !(x > 0 && x <= 100))
        return usage("--scale must be a number in (0, 100]");
      set_scale(x);
    } else if (arg == "--report") {
      if (++i == argc)
        return usage("--report needs a file name");
      report = argv[i];
    } else if (arg == "-h" || arg == "--help") {
      usage("runs benchmark scenarios");
      return 0;
    } else if (!arg.empty() && arg[0] == '-') {
      return usage(("unknown option " + arg).c_str());
    } else {
      names.push_back(arg);
    }
  }
  for (auto& name : names) {
    bool known = false;
    for (auto& s : registry())
      known = known || s.name == name;
    if (!known)
      return usage(("unknown scenario " + name + " (see --list)").c_str());
  }
  for (auto& s : registry())
    if (names.empty()
        || std::find(names.begin(), names.end(), s.name) != names.end())
      s.run();
  if (!report.empty())
    write_report(report);
  return 0;
}
