#!/usr/bin/env bash
# Builds and runs the Dockerfile without a Docker engine (make image-check; needs root):
# each stage starts from a fresh Debian 12 minimal root file system (debootstrap), and the
# Dockerfile's own instructions are carried out in it with chroot - FROM, WORKDIR, COPY, RUN,
# ENV and USER; anything else this script does not know stops it, so it cannot drift from the
# Dockerfile quietly. The final stage then runs as the image would: ENTRYPOINT + CMD as the
# image's user on a read-only root file system against a mosquitto on loopback, probed by the
# HEALTHCHECK command, then stopped with the STOPSIGNAL. It downloads ~300 MB of Debian packages and takes minutes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/routemq-image.XXXXXX)
mounted=()
app_pid=""
broker_pid=""
cleanup() {
  [ -n "$app_pid" ] && kill -9 "$app_pid" 2>/dev/null || true
  [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null || true
  for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
  # Never delete through a mount that is still there (the stages bind the host's /dev and /proc).
  if grep -qF " $work/" /proc/mounts; then
    echo "left $work in place: something is still mounted below it" >&2
  else
    rm -rf --one-file-system "$work"
  fi
}
trap cleanup EXIT
[ "$(id -u)" -eq 0 ] || { echo "check-image.sh needs root (debootstrap, chroot)" >&2; exit 1; }
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
step() { echo "== $*"; }

# The build context: the files git tracks (what .dockerignore leaves, since it excludes only
# untracked things), as they are in the working tree.
context=$work/context
mkdir -p "$context"
git -C "$root" ls-files -z | (cd "$root" && xargs -0 cp --parents -t "$context")

step "debootstrap a minimal Debian 12 (the stages' base)"
debootstrap --variant=minbase bookworm "$work/base" http://deb.debian.org/debian >"$work/debootstrap.log"
tar -C "$work/base" -cf "$work/base.tar" .

declare -A stage_dir
stage="" dir="" cwd="/" user="" entrypoint="" cmd="" healthcheck="" stopsignal="TERM"
env_vars=()

start_stage() {
  stage=$1
  dir=$work/stage-$stage
  stage_dir[$stage]=$dir
  mkdir -p "$dir"
  tar -C "$dir" -xf "$work/base.tar"
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  for fs in proc dev; do
    mount --bind "/$fs" "$dir/$fs"
    mounted+=("$dir/$fs")
  done
  cwd="/" user="" env_vars=()
}
in_stage() {  # runs a shell command in the current stage, as root, in WORKDIR, with ENV
  chroot "$dir" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root "${env_vars[@]}" /bin/sh -c "cd '$cwd' && $1"
}
json_words() {  # ["a", "b"] -> a b (the exec form; our words have no spaces or quotes)
  echo "$1" | sed -E 's/^\[//; s/\]$//; s/"//g; s/,/ /g'
}

# One instruction per logical line: comments dropped, continuations joined.
mapfile -t instructions < <(grep -vE '^\s*#' "$root/Dockerfile" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | grep -vE '^\s*$')
for line in "${instructions[@]}"; do
  keyword=${line%% *}
  args=${line#* }
  case $keyword in
    FROM)
      [[ $args =~ ^debian:12(-slim)?\ AS\ ([a-z]+)$ ]] || { echo "unsupported FROM: $args" >&2; exit 1; }
      step "stage ${BASH_REMATCH[2]} (${args%% *})"
      start_stage "${BASH_REMATCH[2]}"
      ;;
    WORKDIR)
      cwd=$args
      mkdir -p "$dir$cwd"
      ;;
    COPY)
      read -r -a words <<<"$args"
      src_root=$context
      if [[ ${words[0]} == --from=* ]]; then
        src_root=${stage_dir[${words[0]#--from=}]}
        words=("${words[@]:1}")
      fi
      dest=${words[-1]}
      [[ $dest == /* ]] || dest=$cwd/$dest
      unset 'words[-1]'
      for src in "${words[@]}"; do
        if [[ $dest == */ || ${#words[@]} -gt 1 ]]; then
          mkdir -p "$dir$dest"
          cp -a "$src_root/$src" "$dir$dest/"
        elif [ -d "$src_root/$src" ]; then
          mkdir -p "$dir$dest"
          cp -a "$src_root/$src/." "$dir$dest/"
        else
          mkdir -p "$(dirname "$dir$dest")"
          cp -a "$src_root/$src" "$dir$dest"
        fi
      done
      ;;
    RUN)
      step "RUN $args"
      in_stage "$args"
      ;;
    ENV)
      read -r -a pairs <<<"$args"
      env_vars+=("${pairs[@]}")
      ;;
    USER) user=$args ;;
    EXPOSE) ;;
    HEALTHCHECK) healthcheck=$(json_words "${args#*CMD }") ;;
    STOPSIGNAL) stopsignal=${args#SIG} ;;
    ENTRYPOINT) entrypoint=$(json_words "$args") ;;
    CMD) cmd=$(json_words "$args") ;;
    *) echo "check-image.sh does not know the instruction $keyword" >&2; exit 1 ;;
  esac
done

added_kb=$(($(du -skx "$dir" | cut -f1) - $(du -skx "$work/base" | cut -f1)))
step "the final stage adds $((added_kb / 1024)) MiB to a minimal Debian 12 (packages + routemq)"
port=$((20000 + RANDOM % 20000))
http_port=$((port + 1))
mosquitto -p "$port" >"$work/mosquitto.log" 2>&1 &
broker_pid=$!
sleep 0.5
run_as_image() {  # chroot, env and sh all exec: the command ends up in this very process
  exec chroot --userspec="$user" "$dir" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin \
    "${env_vars[@]}" MQTT_BROKER=127.0.0.1 MQTT_PORT="$port" HTTP_PORT="$http_port" \
    /bin/sh -c "cd '$cwd' && exec $*"
}
# USER names an account of the image (uid and gid), not just numbers.
chroot "$dir" getent passwd "${user%%:*}" >/dev/null &&
  chroot "$dir" getent group "${user##*:}" >/dev/null ||
  { echo "FAIL: USER $user is not a user and group of the image" >&2; exit 1; }
# Read-only, as k8s/ runs it (readOnlyRootFilesystem): routemq must not need to write a file.
mount --rbind "$dir" "$dir"
mounted=("$dir" "${mounted[@]}")
mount -o remount,bind,ro "$dir"
touch "$dir/probe-write" 2>/dev/null && { echo "FAIL: the root file system is still writable" >&2; exit 1; }
step "run: $entrypoint $cmd as $user, root file system read-only"
run_as_image "$entrypoint $cmd" >"$work/app.log" 2>&1 &
app_pid=$!  # routemq itself, as PID 1 of the container would be
healthy=""
for _ in $(seq 1 50); do
  if (run_as_image "$healthcheck --ready") >/dev/null 2>&1; then healthy=yes; break; fi
  sleep 0.2
done
cat "$work/app.log"
[ -n "$healthy" ] || { echo "FAIL: the image never became ready" >&2; exit 1; }
(run_as_image "$healthcheck") || { echo "FAIL: HEALTHCHECK failed" >&2; exit 1; }
owner=$(ps -o uid= -p "$app_pid" | tr -d ' ')
[ "$owner" = "${user%%:*}" ] || { echo "FAIL: routemq runs as uid $owner, not ${user%%:*}" >&2; exit 1; }
step "HEALTHCHECK passes, ready, running as uid $owner; sending SIG$stopsignal"
kill -s "$stopsignal" "$app_pid"
status=0
wait "$app_pid" || status=$?
app_pid=""
tail -3 "$work/app.log"
[ "$status" -eq 0 ] || { echo "FAIL: exit status $status after SIG$stopsignal" >&2; exit 1; }
step "image check passed"
