#!/usr/bin/env bash
# Checks the Dockerfile against what this repository really does, since no Docker engine runs
# here: the build stage installs the Makefile's package list and builds with `make build`, the
# runtime stage's packages provide every library the binary links, and it runs as a non-root
# user with SIGTERM reaching routemq. Usage: dockerfile_test.sh <built routemq executable>
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
binary=$1
dockerfile=$root/Dockerfile
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# Packages named by the list files given to install-deps.sh (none given: scripts/packages.txt).
packages_of() {
  local files=() arg
  for arg in "$@"; do files+=("$root/$arg"); done
  [ ${#files[@]} -gt 0 ] || files=("$root/scripts/packages.txt")
  cat "${files[@]}" | grep -vE '^\s*(#|$)' | sort -u
}
# The arguments of the first `install-deps.sh` call in some text.
install_args() { grep -oE 'install-deps\.sh[^&;|]*' | head -1 | sed -E 's/^install-deps\.sh//'; }

build_stage=$(sed -n '/^FROM .* AS build$/,/^FROM /p' "$dockerfile")
runtime_stage=$(sed -n '/^FROM .* AS runtime$/,$p' "$dockerfile")
[ -n "$build_stage" ] && [ -n "$runtime_stage" ] || { fail "need stages 'AS build' and 'AS runtime'"; exit 1; }

# 1. Same Debian release as the machines the Makefile runs on.
debian_major=$(cut -d. -f1 /etc/debian_version)
while read -r image; do
  [[ $image == debian:${debian_major}* ]] && pass "base image $image is Debian $debian_major" ||
    fail "base image $image is not debian:$debian_major"
done < <(grep -E '^FROM ' "$dockerfile" | awk '{print $2}')

# 2. The build stage installs exactly what `make` installs.
make_list=$(packages_of $(make -s -n -C "$root" deps | install_args))
docker_list=$(packages_of $(echo "$build_stage" | grep -E '^RUN ' | install_args))
if [ "$make_list" = "$docker_list" ]; then
  pass "build stage installs the Makefile's $(echo "$make_list" | wc -l) packages"
else
  fail "build stage packages differ from the Makefile's:"
  diff <(echo "$make_list") <(echo "$docker_list") >&2 || true
fi

# 3. ... and builds with the Makefile's release build.
grep -qE '^RUN make build$' <<<"$build_stage" && pass "build stage runs 'make build'" ||
  fail "build stage must run 'make build' (the commands \`make run\` builds with)"
release_dir=$(make -s -n -C "$root" build | sed -n 's/^cmake --build \([^ ]*\).*/\1/p' | head -1)
grep -qE "^COPY --from=build /src/${release_dir}/routemq " <<<"$runtime_stage" &&
  pass "runtime copies ${release_dir}/routemq" ||
  fail "runtime stage must copy /src/${release_dir}/routemq (Makefile RELEASE_DIR)"

# 4. The runtime packages provide every shared library the binary needs (sanitizer runtimes
#    aside: they only exist in the test build this check runs on).
runtime_list=$(packages_of scripts/packages-runtime.txt)
grep -q -- '-dev$' <<<"$runtime_list" && fail "runtime list has -dev packages"
in_base_image="libc6 libgcc-s1"
while read -r lib path; do
  [[ $lib == libasan* || $lib == libubsan* || $lib == libtsan* || -z $path ]] && continue
  owner=$(dpkg -S "$path" 2>/dev/null || dpkg -S "${path#/usr}" 2>/dev/null ||
          dpkg -S "$(readlink -f "$path")" 2>/dev/null || true)
  owner=${owner%%:*}
  if [ -z "$owner" ]; then
    fail "$lib ($path) belongs to no Debian package"
  elif grep -qxF "$owner" <<<"$runtime_list" || [[ " $in_base_image " == *" $owner "* ]]; then
    pass "$lib from $owner"
  else
    fail "$lib comes from $owner, which scripts/packages-runtime.txt lacks"
  fi
done < <(ldd "$binary" | awk '$2 == "=>" {print $1, $3}')
while read -r pkg; do
  { dpkg-query -W "$pkg" >/dev/null 2>&1 || apt-cache show "$pkg" >/dev/null 2>&1; } &&
    pass "runtime package $pkg exists" ||
    fail "runtime package $pkg is not in Debian's archive"
done <<<"$runtime_list"
grep -q 'scripts/packages-runtime.txt' <<<"$runtime_stage" ||
  fail "runtime stage must install scripts/packages-runtime.txt"

# 5. Non-root, probed, and SIGTERM reaches routemq (exec form: routemq is PID 1).
user=$(echo "$runtime_stage" | sed -n 's/^USER //p' | tail -1)
[[ $user =~ ^[1-9][0-9]*(:[0-9]+)?$ ]] && pass "runs as uid ${user%%:*}" ||
  fail "runtime must end with a numeric non-root USER (got '$user')"
grep -qE '^ *CMD \["/usr/local/bin/routemq", "healthcheck"\]' <<<"$runtime_stage" &&
  grep -qE '^HEALTHCHECK ' <<<"$runtime_stage" && pass "HEALTHCHECK probes /healthz" ||
  fail "HEALTHCHECK must run routemq healthcheck"
grep -qxF 'ENTRYPOINT ["/usr/local/bin/routemq"]' <<<"$runtime_stage" &&
  grep -qxF 'CMD ["--workers"]' <<<"$runtime_stage" &&
  pass "exec-form ENTRYPOINT routemq, CMD --workers" ||
  fail "need exec-form ENTRYPOINT [\"/usr/local/bin/routemq\"] and CMD [\"--workers\"]"
"$binary" healthcheck --help >/dev/null && pass "the binary has the healthcheck command" ||
  fail "routemq healthcheck is missing"

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
