#!/usr/bin/env bash
# Fails when a C++ file differs from what .clang-format says.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find . -name '*.[ch]pp' -not -path './build/*')
clang-format --dry-run --Werror "${files[@]}"
