#!/usr/bin/env bash
# `make fuzz`: builds every libFuzzer target (tests/fuzz/*_fuzz.cpp) with
# clang 16 in its own build tree and runs each for a bounded time.
#
#   FUZZ_SECONDS=30 FUZZ_BUILD_DIR=build-fuzz tools/fuzz.sh [NAME...]
#
# clang 16 is the first Debian clang whose <expected> works with libstdc++ 12
# once __cpp_concepts says C++20; the library is built with
# -fsanitize=fuzzer-no-link and the targets link libFuzzer. Corpora are kept
# in the build tree, so each run goes on from the last; seeds are real Go
# binaries of four versions (whole, and their .gopclntab and .go.buildinfo
# sections), a non-Go ELF, config files and protocol lines.
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

# Seeds from real Go binaries of several versions, one per selector of
# pclntab_fuzz (go1.19, go1.22, go1.26, go1.27: the table and module data
# layouts differ between them), stripped and PIE.
seed_versions=(1.19 1.22 1.26 1.27)
seeds=$build/seeds
mkdir -p "$seeds"
for i in "${!seed_versions[@]}"; do
  v=${seed_versions[$i]}
  for mode in stripped pie; do
    bin=$("$top/tools/go-build-target.sh" sizes "$v" "$mode")
    cp "$bin" "$seeds/elf-go$v-$mode"
    objcopy -O binary --only-section=.go.buildinfo "$bin" "$seeds/buildinfo-go$v-$mode"
    objcopy -O binary --only-section=.gopclntab "$bin" "$seeds/table"
    # PIE builds before Go 1.26 keep the table inside .data.rel.ro, not a section of its own.
    [ -s "$seeds/table" ] && { printf "\\x$(printf %02x "$i")"; cat "$seeds/table"; } > "$seeds/pclntab-go$v-$mode"
  done
done
rm -f "$seeds/table"
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
    buildinfo_fuzz) cp "$seeds"/buildinfo-* "$corpus/" ;;
    pclntab_fuzz) cp "$seeds"/pclntab-* "$corpus/" ;;
    *)
      cp "$seeds"/elf-* "$corpus/"
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
