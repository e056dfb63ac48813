#!/usr/bin/env bash
# The Debian package as a user gets it (make package-check, part of make check): installed with
# apt-get, then, in a mount namespace where this source tree is hidden under an empty tmpfs and
# in a scratch directory, `routemq new app demo`, the application's `make test`, and its `make
# run` (a throwaway mosquitto on a free port) handling a message published with mosquitto_pub.
# The package is removed again afterwards unless it was installed before (a routemq installed
# before is replaced by this one; the -dev packages it pulled in stay). Root only (apt-get,
# unshare); skipped (77) otherwise.
#
#   scripts/check-package.sh build/release
set -euo pipefail
build=${1:?usage: check-package.sh BUILD_DIR (where make package wrote routemq_*.deb)}
if [ "$(id -u)" -ne 0 ]; then
  echo "check-package: skipped (needs root: apt-get install and a mount namespace)"
  exit 77
fi
shopt -s nullglob
debs=("$build"/routemq_*.deb)
if [ ${#debs[@]} -ne 1 ]; then
  echo "check-package: expected one routemq_*.deb in $build, found ${#debs[@]}" >&2
  exit 1
fi
deb=$(realpath "${debs[0]}")
source_tree=$(realpath "$(dirname "$0")/..")

installed_before=no
dpkg -s routemq >/dev/null 2>&1 && installed_before=yes
scratch=$(mktemp -d /tmp/routemq-package-XXXXXX)
cleanup() {
  rm -rf "$scratch"
  if [ "$installed_before" = no ]; then
    DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq routemq >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

echo "check-package: dpkg-deb --info $(basename "$deb")"
dpkg-deb --field "$deb" Package Version Architecture Depends Recommends
echo "check-package: apt-get install $(basename "$deb")"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall --allow-downgrades "$deb" >/dev/null
command -v routemq >/dev/null || { echo "check-package: no routemq on the PATH" >&2; exit 1; }

# A TCP port of 127.0.0.1 that nothing listens on.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}
export DEV_BROKER_PORT HTTP_PORT
DEV_BROKER_PORT=$(free_port)
HTTP_PORT=$(free_port)
while [ "$HTTP_PORT" = "$DEV_BROKER_PORT" ]; do HTTP_PORT=$(free_port); done
export HTTP_HOST=127.0.0.1 SOURCE_TREE=$source_tree SCRATCH=$scratch

# What a user does.
steps='
  cd "$SCRATCH"
  routemq new app demo
  cd demo
  started=$(date +%s)
  make test
  echo "check-package: the new application'"'"'s make test passed in $(( $(date +%s) - started )) s"

  setsid make run >run.log 2>&1 &
  runner=$!
  stop() { kill -INT -- -$runner 2>/dev/null || true; wait $runner 2>/dev/null || true; }
  trap stop EXIT
  for _ in $(seq 300); do grep -q "] serving" run.log && break; sleep 0.2; done
  grep -q "] serving" run.log || { cat run.log; echo "check-package: make run did not serve" >&2; exit 1; }
  mosquitto_pub -h 127.0.0.1 -p "$DEV_BROKER_PORT" -q 1 -t hello/42 -m hi
  for _ in $(seq 100); do grep -q "hello: 2 bytes on hello/42" run.log && break; sleep 0.1; done
  grep -q "hello: 2 bytes on hello/42" run.log || { cat run.log; echo "check-package: the message was not handled" >&2; exit 1; }
  echo "check-package: make run handled hello/42"
'
# Where the framework's sources cannot be reached: this tree under an empty tmpfs, in a mount
# namespace of its own (a container without CAP_SYS_ADMIN has none: then it says so).
if unshare --mount --propagation private true 2>/dev/null; then
  unshare --mount --propagation private bash -euo pipefail -c '
    mount -t tmpfs -o size=1m,mode=0755 none "$SOURCE_TREE"
    if [ -n "$(ls -A "$SOURCE_TREE")" ]; then
      echo "check-package: the source tree is still visible" >&2
      exit 1
    fi
    echo "check-package: $SOURCE_TREE hidden"
  '"$steps"
else
  echo "check-package: no mount namespace here; the source tree stays visible (nothing uses it)"
  bash -euo pipefail -c "$steps"
fi
echo "check-package: ok"
