#!/usr/bin/env bash
# Runs every fenced code block of README.md, so that the README works as
# written. Usage: run_readme_blocks.sh BUILD_DIR [README]
#
# What each block's tag means here:
#   cpp    a whole program (it has `int main(`) is built against the
#          installed package (cmake --install BUILD_DIR into a prefix, then
#          find_package(cachebus) with the README's cmake block) and run; it
#          must exit 0. Any other C++ block is a fragment: it is built and
#          run inside tests/readme/fragment_main.cpp, which gives it `sys`,
#          `opts`, a started node `n` and an example database `db`.
#   cmake  the lines that link a service (`my_service`) against cachebus;
#          used, with the target renamed, for every C++ block above.
#   ini    its first line names the file (`# rules.ini`, or
#          `# caf-application.ini`); it is written under that name into the
#          directory the sh blocks run in and checked with cachebus's own
#          parsers: `cachebus-node --check-config --cachebus.rules=FILE`
#          (with a store that is never opened if a rule has `fields`, so
#          the schema is checked too), resp. --config-file=FILE.
#   sh     run line by line with bash in that directory, where ./build is
#          BUILD_DIR and cachebus-node and cachebus-cli are on PATH:
#          - a command that starts cachebus-node runs in the background (its
#            pid is kept and the process is stopped at the end);
#          - the lines `#   TEXT` right after a command are its expected
#            output: every such line must match a line of the command's
#            output (stdout and stderr), in order. `...` matches anything;
#            an UPPER_CASE word with an underscore (PORT_A) is a placeholder:
#            its first occurrence captures a word, and later commands get
#            the captured value. A command whose output does not match yet
#            is repeated for up to 5 s (events reach other nodes
#            asynchronously). A command without expected output must exit 0.
#   text   prose (a tree, a sample output): not run.
# Relative links of the README and of docs/*.md must name files of the
# checkout (nothing outside the repository).
# A block preceded by `<!-- readme-test: skip (REASON) -->` is not run (the
# reason is printed); `<!-- readme-test: check-config (REASON) -->` before an
# sh block runs each of its cachebus-node commands with --check-config
# instead (every option, the rules file and the store's form are checked;
# nothing is opened or started). Any other block fails the test: every block
# is run or explicitly skipped.
set -uo pipefail

build_dir="$(cd "$1" && pwd)"
here="$(cd "$(dirname "$0")" && pwd)"
readme="${2:-$here/../../README.md}"
readme_name="$(basename "$readme")"
work="$build_dir/readme-blocks" # fixed, so that ccache hits on reruns
node_bin="$build_dir/apps/cachebus-node/cachebus-node"
cli_bin="$build_dir/apps/cachebus-cli/cachebus-cli"

failures=0
ran=0
skipped=0
pids=()

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

stop_processes() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  pids=()
}
trap stop_processes EXIT
trap 'exit 1' INT TERM

for bin in "$node_bin" "$cli_bin"; do
  if [[ ! -x "$bin" ]]; then
    echo "FAIL: $bin is missing (configure with -DCACHEBUS_BUILD_APPS=ON)" >&2
    exit 1
  fi
done

rm -rf "$work"
mkdir -p "$work/blocks" "$work/run" "$work/cpp"
ln -s "$build_dir" "$work/run/build"

# -- extraction: one file per block, one manifest line per block -------------
# manifest: INDEX<TAB>LINE<TAB>TAG<TAB>MARKER (the readme-test comment on the
# last non-blank line before the fence, or empty)
awk -v dir="$work/blocks" '
  BEGIN { n = 0; inside = 0; marker = "" }
  inside && /^```[ \t]*$/ { inside = 0; close(file); next }
  inside { print > file; next }
  /^```/ {
    n++; inside = 1
    tag = substr($0, 4); gsub(/[ \t]/, "", tag)
    file = sprintf("%s/%03d", dir, n)
    printf "" > file
    printf "%03d\t%d\t%s\t%s\n", n, NR, tag, marker > (dir "/manifest")
    marker = ""
    next
  }
  /^[ \t]*$/ { next }
  /^<!-- readme-test:.*-->[ \t]*$/ {
    marker = $0
    sub(/^<!-- readme-test:[ \t]*/, "", marker); sub(/[ \t]*-->[ \t]*$/, "", marker)
    next
  }
  { marker = "" }
  END { if (inside) { print "unterminated code block" > "/dev/stderr"; exit 1 } }
' "$readme" || {
  echo "FAIL: cannot extract the blocks of $readme" >&2
  exit 1
}
touch "$work/blocks/manifest"

# -- links: the README and docs/ point only inside the repository -------------
# (web addresses aside): every relative link names a file of the checkout.

repo_root="$(cd "$(dirname "$readme")" && pwd)"
for doc in "$readme" "$repo_root"/docs/*.md; do
  [[ -f "$doc" ]] || continue
  doc_dir="$(cd "$(dirname "$doc")" && pwd)"
  while IFS= read -r target; do
    target="${target%%#*}"
    [[ -z "$target" || "$target" =~ ^[a-z]+: ]] && continue
    resolved="$(realpath -m "$doc_dir/$target")"
    if [[ "$resolved" != "$repo_root"/* ]]; then
      fail "${doc#"$repo_root"/}: the link $target points outside the repository"
    elif [[ ! -e "$resolved" ]]; then
      fail "${doc#"$repo_root"/}: the link $target names no file"
    fi
  done < <(awk '/^```/ { fenced = !fenced; next } !fenced' "$doc" |
    sed 's/`[^`]*`//g' | grep -o '\]([^)]*)' | sed 's/^](//; s/)$//')
done

# -- sh blocks ----------------------------------------------------------------

declare -A placeholder=()

# A regex for one expected-output line (see the header); placeholders
# already captured become their value, new ones a capture group. Sets
# `regex` and `captures` (the new placeholders, in order).
expected_regex() {
  local line="$1" word rest="" esc
  captures=()
  regex=""
  while [[ -n "$line" ]]; do
    if [[ "$line" =~ ^\.\.\.(.*)$ ]]; then
      regex+=".*"
      line="${BASH_REMATCH[1]}"
    elif [[ "$line" =~ ^([A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9])(.*)$ ]]; then
      word="${BASH_REMATCH[1]}"
      line="${BASH_REMATCH[2]}"
      if [[ -n "${placeholder[$word]+x}" ]]; then
        regex+="$(printf '%s' "${placeholder[$word]}" | sed 's/[][\.*^$(){}+?|/]/\\&/g')"
      else
        regex+="([^ ]+)"
        captures+=("$word")
      fi
    else
      rest="${line:0:1}"
      line="${line:1}"
      esc="$(printf '%s' "$rest" | sed 's/[][\.*^$(){}+?|/]/\\&/g')"
      regex+="$esc"
    fi
  done
  regex="^${regex}\$"
}

# Matches the expected lines against the file $1 in order; captures
# placeholders on success. Returns 1 on a mismatch (nothing captured).
match_output() {
  local out="$1"
  shift
  local -a expected=("$@")
  local -A found=()
  local i=0 line
  local total=${#expected[@]}
  ((total == 0)) && return 0
  expected_regex "${expected[0]}"
  while IFS= read -r line || [[ -n "$line" ]]; do
    if [[ "$line" =~ $regex ]]; then
      local k=1
      for w in "${captures[@]}"; do
        found[$w]="${BASH_REMATCH[$k]}"
        k=$((k + 1))
      done
      i=$((i + 1))
      ((i == total)) && break
      # Later lines may use what this one captured.
      for w in "${!found[@]}"; do placeholder[$w]="${found[$w]}"; done
      expected_regex "${expected[$i]}"
    fi
  done <"$out"
  if ((i < total)); then
    for w in "${!found[@]}"; do unset "placeholder[$w]"; done
    return 1
  fi
  for w in "${!found[@]}"; do placeholder[$w]="${found[$w]}"; done
  return 0
}

# Replaces every captured placeholder (as a whole word) in $1.
substitute() {
  local cmd="$1" w
  for w in "${!placeholder[@]}"; do
    cmd="$(printf '%s' "$cmd" | sed -E "s/(^|[^A-Za-z0-9_])$w([^A-Za-z0-9_]|\$)/\1${placeholder[$w]}\2/g")"
  done
  printf '%s' "$cmd"
}

# Runs one command of an sh block with its expected output lines.
run_command() {
  local block="$1" cmd="$2"
  shift 2
  local -a expected=("$@")
  local out="$work/run/out.$block.$ran_commands"
  ran_commands=$((ran_commands + 1))
  cmd="$(substitute "$cmd")"
  echo "  \$ $cmd"
  local first="${cmd%% *}"
  if [[ "$first" == *cachebus-node && "$cmd" != *--check-config* ]]; then
    # Under `timeout`: a node outlives this script by at most 5 minutes even
    # if the script is killed (a ctest timeout) before it can stop it.
    (cd "$work/run" && exec bash -c "exec timeout -k 5 300 $cmd") \
      </dev/null >"$out" 2>&1 &
    pids+=($!)
    local pid=$! deadline=$((SECONDS + 30))
    ((${#expected[@]})) || expected=("READY ...")
    until match_output "$out" "${expected[@]}"; do
      if ! kill -0 "$pid" 2>/dev/null || ((SECONDS > deadline)); then
        fail "block $block: \`$cmd\` did not print: ${expected[*]}"
        sed 's/^/    | /' "$out" >&2
        return 1
      fi
      sleep 0.1
    done
    return 0
  fi
  local deadline=$((SECONDS + 5)) status
  while :; do
    (cd "$work/run" && timeout 60 bash -c "$cmd") </dev/null >"$out" 2>&1
    status=$?
    if ((${#expected[@]} == 0)); then
      ((status == 0)) && return 0
      fail "block $block: \`$cmd\` exited with $status"
      sed 's/^/    | /' "$out" >&2
      return 1
    fi
    match_output "$out" "${expected[@]}" && return 0
    if ((SECONDS > deadline)); then
      fail "block $block: \`$cmd\` (exit $status) printed no lines matching:"
      printf '    expected: %s\n' "${expected[@]}" >&2
      sed 's/^/    | /' "$out" >&2
      return 1
    fi
    sleep 0.2
  done
}

# Splits an sh block into commands (joining `\` continuations) and their
# expected output, and runs them; with check_config only cachebus-node
# commands run, with --check-config.
run_sh_block() {
  local block="$1" file="$2" check_config="$3"
  local cmd="" line
  local -a expected=()
  ran_commands=0
  flush() {
    if [[ -n "$cmd" ]]; then
      if [[ "$check_config" == 1 ]]; then
        if [[ "${cmd%% *}" == *cachebus-node ]]; then
          run_command "$block" "${cmd%% *} --check-config ${cmd#* }" \
            "${expected[@]}"
        else
          fail "block $block: \`$cmd\` is not a cachebus-node command"
        fi
      else
        run_command "$block" "$cmd" "${expected[@]}"
      fi
    fi
    cmd=""
    expected=()
  }
  local continued=0
  while IFS= read -r line || [[ -n "$line" ]]; do
    if ((continued)); then
      cmd+=" ${line#"${line%%[! ]*}"}"
    elif [[ "$line" =~ ^#\ \ \ (.*)$ ]]; then
      expected+=("${BASH_REMATCH[1]}")
      continue
    elif [[ "$line" =~ ^[[:space:]]*(#.*)?$ ]]; then
      continue
    else
      flush
      cmd="$line"
    fi
    if [[ "$cmd" == *\\ ]]; then
      cmd="${cmd%\\}"
      continued=1
    else
      continued=0
    fi
  done <"$file"
  flush
}

# -- classification -------------------------------------------------------------

cmake_blocks=()
cpp_programs=()
cpp_fragments=()
deferred_sh=()

while IFS=$'\t' read -r idx line tag marker; do
  file="$work/blocks/$idx"
  where="block $idx ($readme_name:$line, \`\`\`$tag)"
  if [[ "$marker" =~ ^skip\ \((.+)\)$ ]]; then
    echo "skip $where: ${BASH_REMATCH[1]}"
    skipped=$((skipped + 1))
    continue
  fi
  if [[ -n "$marker" && ! "$marker" =~ ^check-config\ \((.+)\)$ ]]; then
    fail "$where: unknown marker \"$marker\" (skip (WHY) or check-config (WHY))"
    continue
  fi
  case "$tag" in
    text) echo "text $where: prose, not run" ;;
    cmake)
      if grep -q my_service "$file"; then
        cmake_blocks+=("$file")
      else
        fail "$where: a cmake block must link \`my_service\`"
      fi
      ;;
    cpp)
      if grep -q 'int main(' "$file"; then
        cpp_programs+=("$idx:$line")
      else
        cpp_fragments+=("$idx:$line")
      fi
      ;;
    ini)
      first="$(head -n1 "$file")"
      if [[ "$first" =~ ^#\ *([A-Za-z0-9_.-]+\.ini) ]]; then
        name="${BASH_REMATCH[1]}"
        cp "$file" "$work/run/$name"
        if [[ "$name" == caf-application.ini ]]; then
          check=(--config-file="$work/run/$name")
        else
          check=(--cachebus.rules="$work/run/$name")
          # A rule with `fields` declares a store's schema: check it as a
          # node with a store would (--check-config opens no store).
          if grep -Eq '^[[:space:]]*fields[[:space:]]*=' "$file"; then
            check+=(--cachebus.store="sqlite:$work/never-opened.db")
          fi
        fi
        echo "run $where: cachebus-node --check-config ${check[*]}"
        if out="$("$node_bin" --check-config "${check[@]}" 2>&1)"; then
          ran=$((ran + 1))
        else
          fail "$where: $name is refused by cachebus's parser: $out"
        fi
      else
        fail "$where: an ini block's first line must name its file (# rules.ini)"
      fi
      ;;
    sh)
      # After every ini block is written: sh blocks may use those files.
      deferred_sh+=("$idx:$line:$marker")
      ;;
    *)
      fail "$where: cannot classify this block: tag it (cpp, cmake, ini, sh, text) or mark it <!-- readme-test: skip (WHY) -->"
      ;;
  esac
done <"$work/blocks/manifest"

export PATH="$build_dir/apps/cachebus-node:$build_dir/apps/cachebus-cli:$PATH"
for entry in "${deferred_sh[@]}"; do
  idx="${entry%%:*}"
  rest="${entry#*:}"
  line="${rest%%:*}"
  marker="${rest#*:}"
  echo "run block $idx ($readme_name:$line, \`\`\`sh${marker:+, $marker})"
  before=$failures
  if [[ -n "$marker" ]]; then
    run_sh_block "$idx" "$work/blocks/$idx" 1
  else
    run_sh_block "$idx" "$work/blocks/$idx" 0
  fi
  stop_processes
  ((failures == before)) && ran=$((ran + 1))
done

# -- C++ blocks: one CMake project against the installed package -------------

if ((${#cpp_programs[@]} + ${#cpp_fragments[@]})); then
  if ((${#cmake_blocks[@]} == 0)); then
    fail "C++ blocks but no cmake block to link them with"
  fi
  if ! cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null; then
    fail "cmake --install $build_dir failed"
  fi
  project="$work/cpp"
  cp "$here/fragment_main.cpp" "$project/"
  {
    echo "cmake_minimum_required(VERSION 3.16)"
    echo "project(readme_blocks LANGUAGES CXX)"
    for entry in "${cpp_programs[@]}" "${cpp_fragments[@]}"; do
      idx="${entry%%:*}"
      target="readme_block_$idx"
      if [[ " ${cpp_programs[*]} " == *" $entry "* ]]; then
        cp "$work/blocks/$idx" "$project/block_$idx.cpp"
        echo "add_executable($target block_$idx.cpp)"
      else
        cp "$work/blocks/$idx" "$project/block_$idx.inc"
        echo "add_executable($target fragment_main.cpp)"
        echo "target_compile_definitions($target PRIVATE README_FRAGMENT=\"block_$idx.inc\")"
        echo "target_include_directories($target PRIVATE \${CMAKE_CURRENT_SOURCE_DIR})"
      fi
      for c in "${cmake_blocks[@]}"; do
        sed "s/\\bmy_service\\b/$target/g" "$c"
      done
      echo "target_compile_options($target PRIVATE -Wall -Wextra -Werror)"
    done
  } >"$project/CMakeLists.txt"
  launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    export CCACHE_BASEDIR="$work" CCACHE_NOHASHDIR=1
  fi
  echo "build the C++ blocks against the installed package (${#cpp_programs[@]} programs, ${#cpp_fragments[@]} fragments)"
  if ! cmake -S "$project" -B "$project/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
    -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >"$work/cmake.log" 2>&1; then
    fail "configuring the C++ blocks failed"
    sed 's/^/    | /' "$work/cmake.log" >&2
  fi
  for entry in "${cpp_programs[@]}" "${cpp_fragments[@]}"; do
    idx="${entry%%:*}"
    line="${entry#*:}"
    target="readme_block_$idx"
    where="block $idx ($readme_name:$line, \`\`\`cpp)"
    if ! cmake --build "$project/build" -j"${CACHEBUS_JOBS:-2}" --target "$target" \
      >"$work/build.$idx.log" 2>&1; then
      fail "$where does not compile or link:"
      grep -E 'error|warning' "$work/build.$idx.log" | head -20 | sed 's/^/    | /' >&2
      continue
    fi
    echo "run $where"
    if ! (cd "$work/run" && timeout 60 "$project/build/$target") \
      >"$work/run.$idx.log" 2>&1; then
      fail "$where exited with an error:"
      sed 's/^/    | /' "$work/run.$idx.log" >&2
      continue
    fi
    sed 's/^/    | /' "$work/run.$idx.log"
    ran=$((ran + 1))
  done
fi

total=$(wc -l <"$work/blocks/manifest")
echo "README blocks: $total, run $ran, skipped $skipped (marked), failures $failures"
((failures == 0))
