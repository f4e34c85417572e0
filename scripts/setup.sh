#!/usr/bin/env bash
# Installs what gotit needs from Debian (when missing; clang is for scripts/fuzz.sh), then configures and
# builds it. Usage: scripts/setup.sh [--with-peers] [BUILD_DIR [MESON_OPTION...]]
#   --with-peers  also install memcached and redis-server, which
#                 `gotit-bench compare --peers` measures gotit against.
# Default BUILD_DIR is build/. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ clang meson ninja-build pkg-config libevent-dev libfmt-dev libcli11-dev catch2 gnuplot-nox
          help2man haproxy systemd  # man pages; the deploy tests (HAProxy, systemd-analyze verify); clang: scripts/fuzz.sh
          strace)                   # scripts/study.sh: system calls per request
if [[ "${1:-}" == "--with-peers" ]]; then
  packages+=(memcached redis-server)
  shift
fi
build_dir="${1:-build}"
shift || true

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  install_line="apt-get install -y --no-install-recommends ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "gotit needs these Debian packages: ${missing[*]}" >&2
    echo "Install them as root:  apt-get update && $install_line" >&2
    exit 1
  fi
  echo "==> installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  $install_line -qq
fi

if [[ -f "$build_dir/build.ninja" ]]; then
  meson configure "$build_dir" "$@" >/dev/null
else
  meson setup "$build_dir" "$@"
fi
ninja -C "$build_dir"
echo "==> built: $build_dir/gotit-reactor $build_dir/gotit-blocking $build_dir/gotit-client $build_dir/gotit-bench"
