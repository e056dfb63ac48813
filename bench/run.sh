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
echo "== cost per message on the hot path (callgrind)"
"$build/tests/cost/routemq_cost_report" "$build/bench/baseline_worker" \
  "$build/bench/baseline_confirmed_worker" > "$work/cost.md"
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
  echo "Every end-to-end figure is measured in the same run on the same broker, for each contender in"
  echo "turn: \`unconfirmed\`, N hand-written Paho C workers that republish each input without waiting"
  echo "(\`bench/e2e/baseline_worker.cpp\`); \`confirmed\`, N hand-written Paho C workers that give"
  echo "RouteMQ's guarantee, the result confirmed by the broker before the input is acknowledged"
  echo "(\`bench/e2e/baseline_confirmed_worker.cpp\`, QoS 1 only); \`bench_app --workers N\` (a"
  echo "shared route \`bench/{id}/data\` whose handler publishes \`bench/{id}/done\`); and the example"
  echo "application, \`routemq --workers N --pools ingest\` (JSON reading in, JSON result out, its"
  echo "middleware, LOG_LEVEL=warn). CPU is summed over every process of a contender, RouteMQ's manager"
  echo "included. The request/response round trip compares \`routemq::client\` and a route that calls"
  echo "\`ctx.reply\` with a hand-written Paho C requester and responder; the priority case, last,"
  echo "compares RouteMQ with route priorities against RouteMQ without them. Method and analysis:"
  echo "[README.md](README.md)."
  echo
  echo "## End to end"
  echo
  cat "$work/e2e.md"
  echo
  echo "![throughput](throughput.png)"
  echo
  echo "## Cost per message on the hot path (callgrind)"
  echo
  echo "Instructions and heap allocations per message from Paho's message-arrived callback until it"
  echo "returns (the input's acknowledgement follows), on that thread, counted by callgrind: the"
  echo "figures of the cost gate (\`make cost\`, [tests/cost/README.md](../../tests/cost/README.md)),"
  echo "which fails \`make check\` over the budget. The hand-written workers' \`on_message\` is counted"
  echo "the same way; \`baseline_worker\` hands its result to MQTTAsync's send thread, whose work is"
  echo "not on that thread, so only the confirmed worker is a like-for-like comparison."
  echo
  cat "$work/cost.md"
  echo
  echo "## In-process dispatch (Google Benchmark)"
  echo
  echo "$micro_table"
} > "$out/results.md"
echo "wrote $out/results.md and $out/throughput.png"
