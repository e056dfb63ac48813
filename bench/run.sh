#!/usr/bin/env bash
# `make bench`: runs the micro-benchmarks and the end-to-end suite (its own mosquitto on
# loopback), then writes docs/benchmarks/results.md and docs/benchmarks/throughput.png.
# Usage: bench/run.sh <build-dir> [--quick]
set -euo pipefail
build=$1
quick=${2:-}
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/docs/benchmarks"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

echo "== micro-benchmarks"
"$build/bench/dispatch_bench" --benchmark_out="$work/micro.csv" --benchmark_out_format=csv \
  ${quick:+--benchmark_min_time=0.05}
echo "== end-to-end (framework vs hand-written Paho C)"
"$build/bench/run_e2e" "$work" $quick
gnuplot -e "data='$work/throughput.dat'; out='$out/throughput.png'" "$top/bench/plot.gp"
cp "$work/throughput.dat" "$out/throughput.dat"

micro_table=$(awk -F, 'BEGIN { print "| Benchmark | ns per dispatch |"; print "|---|---|" }
  /^"/ { gsub(/"/, "", $1); printf "| %s | %.1f |\n", $1, $3 }' "$work/micro.csv")
cpu=$(lscpu | sed -n 's/^Model name:\s*//p' | head -1)
{
  echo "# Benchmark results"
  echo
  echo "Produced by \`make bench\` on $(date -u +%Y-%m-%d): $cpu, $(nproc) cores,"
  echo "$(free -g | awk '/^Mem:/ {print $2}') GiB RAM, Linux $(uname -r), mosquitto $(dpkg-query -W -f='${Version}' mosquitto),"
  echo "Paho MQTT C $(dpkg-query -W -f='${Version}' libpaho-mqtt1.3), $(g++ --version | head -1), Release build."
  [ -n "$quick" ] && echo && echo "**Quick run (--quick): small message counts, indicative only.**"
  echo
  echo "Every end-to-end figure is measured twice in the same run on the same broker: once through"
  echo "RouteMQ (\`bench_app --workers N\`: a route \`bench/{id}/data\`, shared, whose handler publishes"
  echo "\`bench/{id}/done\`), once through N hand-written Paho C workers doing the same"
  echo "(\`bench/e2e/baseline_worker.cpp\`). The request/response round trip compares"
  echo "\`routemq::client\` and a route that calls \`ctx.reply\` with a hand-written Paho C requester and"
  echo "responder. Ratios are framework over baseline; the priority case, last, compares RouteMQ"
  echo "with route priorities against RouteMQ without them. Method and analysis: [README.md](README.md)."
  echo
  echo "## End to end"
  echo
  cat "$work/e2e.md"
  echo
  echo "![throughput](throughput.png)"
  echo
  echo "## In-process dispatch (Google Benchmark)"
  echo
  echo "$micro_table"
} > "$out/results.md"
echo "wrote $out/results.md and $out/throughput.png"
