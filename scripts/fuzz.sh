#!/usr/bin/env bash
# Fuzzes the line framer with libFuzzer for SECONDS (default 60):
# tests/fuzz/framer_fuzz.cpp checks LineFramer against a naive splitter,
# with ASan and UBSan on. Built here with clang++ directly (the project's
# compiler is g++, which has no -fsanitize=fuzzer). The seeds in
# tests/fuzz/corpus/ are read, never written: new inputs go to a temporary
# folder. Exits non-zero on a crash or a mismatch (the input is saved as
# build-fuzz/crash-*; replay it with build-fuzz/framer_fuzz FILE).
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out=build-fuzz
mkdir -p "$out"

if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ is missing (Debian package clang; scripts/setup.sh installs it)" >&2
  exit 1
fi
clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Iinclude tests/fuzz/framer_fuzz.cpp src/common/protocol.cpp -o "$out/framer_fuzz"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "==> fuzzing the framer for ${seconds} s"
"$out/framer_fuzz" -max_total_time="$seconds" -max_len=2048 -print_final_stats=1 \
  -artifact_prefix="$out/" "$work" tests/fuzz/corpus
