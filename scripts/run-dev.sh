#!/usr/bin/env bash
# Runs an application (`make run`: the example here, or an application of `routemq new app`,
# which finds this script in the installed package). With no broker configured (MQTT_BROKER unset
# in the environment and in .env), starts a throwaway mosquitto on 127.0.0.1:${DEV_BROKER_PORT:-1883}
# first and stops it on exit; a broker already listening on that port is used instead.
set -euo pipefail
app=${1:?usage: run-dev.sh path/to/routemq [args...]}
shift
configured=${MQTT_BROKER:-}
if [ -z "$configured" ] && [ -f .env ] && grep -qE '^\s*(export\s+)?MQTT_BROKER\s*=\s*\S' .env; then
  configured=yes
fi
if [ -z "$configured" ]; then
  port=${DEV_BROKER_PORT:-1883}
  export MQTT_BROKER=127.0.0.1 MQTT_PORT=$port
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "run-dev: a broker already listens on 127.0.0.1:$port; using it"
  else
    dir=$(mktemp -d)
    # What at-least-once needs (docs/workers.md, "Broker settings the guarantee needs"): no
    # per-session queue limit, and sessions kept across a broker restart. mosquitto started as
    # root writes as the user "mosquitto".
    chmod 755 "$dir"
    mkdir -m 777 "$dir/data"
    printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\npersistence true\npersistence_location %s/\n' \
      "$port" "$dir/data" >"$dir/mosquitto.conf"
    mosquitto=$(command -v mosquitto || echo /usr/sbin/mosquitto)
    if [ ! -x "$mosquitto" ]; then
      rm -rf "$dir"
      echo "run-dev: no mosquitto to start: install it (apt-get install mosquitto) or set MQTT_BROKER" >&2
      exit 1
    fi
    # In a session of its own: Ctrl-C goes to the whole foreground process group, and a broker
    # gone first would leave the workers nothing to finish their stop with (they would wait out
    # SHUTDOWN_GRACE_SECONDS). The trap stops it after the application.
    setsid "$mosquitto" -c "$dir/mosquitto.conf" >"$dir/mosquitto.log" 2>&1 &
    broker=$!
    trap 'kill $broker 2>/dev/null || true; wait $broker 2>/dev/null || true; rm -rf "$dir"' EXIT
    for _ in $(seq 50); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
      sleep 0.1
    done
    echo "run-dev: started mosquitto on 127.0.0.1:$port (log: $dir/mosquitto.log)"
  fi
  echo "run-dev: watch with  mosquitto_sub -h 127.0.0.1 -p $port -t '#' -v"
  echo "run-dev: send with   mosquitto_pub -h 127.0.0.1 -p $port -t TOPIC -m PAYLOAD  ($(basename "$app") routes lists its topics)"
fi
# Not exec: the trap above must stop the broker when the application exits. Ctrl-C reaches the
# application through the process group; `kill <this script>` is forwarded as SIGTERM.
"$app" "$@" &
child=$!
trap 'kill -TERM $child 2>/dev/null || true' TERM INT
status=0
wait $child || status=$?
if kill -0 $child 2>/dev/null; then  # interrupted by a forwarded signal: wait for the real exit
  status=0
  wait $child || status=$?
fi
exit $status
