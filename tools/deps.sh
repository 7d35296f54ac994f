#!/usr/bin/env bash
# Install the Debian packages hotalloc builds and tests with, if missing.
# Test-only tools that would change the host beyond a package (Go toolchains,
# the Prometheus server and promtool) are fetched into the project cache
# instead (tools/fetch-deb.sh), never installed.
set -euo pipefail

packages=(
  # build
  make cmake g++ pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libdw-dev
  libcapstone-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev libtomlplusplus-dev
  prometheus-cpp-dev libcivetweb-dev libsystemd-dev libgtest-dev libgmock-dev
  libprotobuf-dev protobuf-compiler
  # compiler cache: CI's fresh clones rebuild from it (see .ci/run)
  ccache
  # tests, benchmarks and the private apt used to fetch Go toolchains
  ca-certificates debian-archive-keyring xz-utils python3 bpftrace tmux socat jq curl
  # deployment tests: systemd-nspawn boots the unit in a debootstrapped root;
  # python3-yaml reads the rules and manifests they check, python3-kubernetes
  # has the Kubernetes schemas the manifests are checked against
  systemd-container debootstrap python3-yaml python3-kubernetes
  # fuzzing: clang 16 has a working <expected>, and its libFuzzer runtime
  clang-16 libclang-rt-16-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}; run as root (sudo make deps)" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
  # The package lists may be stale or absent on a fresh machine.
  apt-get update || true
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
