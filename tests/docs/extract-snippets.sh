#!/usr/bin/env bash
# Writes every ```cpp block of the given Markdown files into one C++ file, each block in a
# namespace of its own and with #line pointing back at the Markdown, so a snippet that stops
# compiling fails the build with the doc's file and line.
# Usage: extract-snippets.sh OUT.cpp DOC.md...
set -euo pipefail
out=$1
shift
{
  echo '// Generated from the docs by tests/docs/extract-snippets.sh; do not edit.'
  echo '#include "snippet_prelude.hpp"'
  for doc in "$@"; do
    awk -v doc="$doc" -v base="$(basename "$doc" .md | tr -c 'a-zA-Z0-9\n' '_')" '
      /^```cpp[[:space:]]*$/ { n++; printf "namespace %s_%d {\n#line %d \"%s\"\n", base, n, NR + 1, doc; inside = 1; next }
      /^```[[:space:]]*$/ && inside { printf "}  // namespace %s_%d\n", base, n; inside = 0; next }
      inside { print }
    ' "$doc"
  done
} >"$out.tmp"
mv "$out.tmp" "$out"
