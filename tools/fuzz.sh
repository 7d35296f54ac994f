#!/usr/bin/env bash
# `make fuzz`: builds every libFuzzer target (tests/fuzz/*_fuzz.cpp) with
# clang 16 in its own build tree and runs each for a bounded time.
#
#   FUZZ_SECONDS=30 FUZZ_BUILD_DIR=build-fuzz tools/fuzz.sh [NAME...]
#
# clang 16 is the first Debian clang whose <expected> works with libstdc++ 12
# once __cpp_concepts says C++20; the library is built with
# -fsanitize=fuzzer-no-link and the targets link libFuzzer. Corpora are kept
# in the build tree, so each run goes on from the last; seeds are a real Go
# binary (stripped, the hardest case), a non-Go ELF, and protocol lines.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-build-fuzz}
[[ $build = /* ]] || build=$top/$build
seconds=${FUZZ_SECONDS:-30}
for tool in clang-16 clang++-16; do
  command -v $tool >/dev/null || { echo "fuzz: $tool is missing (sudo make deps)" >&2; exit 1; }
done

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOTALLOC_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16 \
    "-DCMAKE_CXX_FLAGS=-U__cpp_concepts -D__cpp_concepts=202002L -fsanitize=fuzzer-no-link,address,undefined" >/dev/null
fi
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for src in "$top"/tests/fuzz/*_fuzz.cpp; do names+=("$(basename "$src" .cpp)"); done
fi
cmake --build "$build" -j "$(nproc)" --target "${names[@]}"

versions=(${HOTALLOC_GO_VERSIONS:-1.19 1.26})
go_seed=$("$top/tools/go-build-target.sh" sizes "${versions[-1]}" stripped)
passed=0 failed=0
for name in "${names[@]}"; do
  corpus=$build/corpus/$name
  mkdir -p "$corpus"
  case $name in
    config_fuzz)
      cp "$top/deploy/config/hotalloc.toml" "$corpus/seed-default"
      printf 'pid = [1, 2]\n[socket]\nidle-timeout = "90s"\n' > "$corpus/seed-small" ;;
    protocol_fuzz)
      printf '{"v":1,"id":1,"method":"status"}\n{"id":"x","method":"sizeclasses","params":{"target":"api"}}\n' > "$corpus/seed-requests"
      printf '{"v":2,"method":"detach"}\n\n{"v":1,"id":[],"method":7}\n' > "$corpus/seed-bad" ;;
    *)
      cp "$go_seed" "$corpus/seed-go"
      cp /bin/true "$corpus/seed-elf" ;;
  esac
  echo "== fuzz: $name for ${seconds}s"
  if (cd "$build" && "./$name" -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 "$corpus" \
      >"$build/$name.log" 2>&1); then
    passed=$((passed + 1))
    grep -E '^stat::number_of_executed_units' "$build/$name.log" | sed 's/^/   /'
  else
    failed=$((failed + 1))
    tail -n 40 "$build/$name.log"
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
