#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The task runner (issue 18): N x `sh -c true` through the shell shim and the runner vs the real
# shell run directly, and a small C build (`make -j2`, 24 files) started through the shim vs
# directly. Same run, same machine, both as the same unprivileged UID (the runner runs the
# command as another); nothing is asserted. Prints the per-command overhead in ms and the
# build's ratio.
#
#   bench/runner.sh BUILD_DIR [COMMANDS] [BUILD_ROUNDS]
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
n=${2:-1000}
rounds=${3:-5}
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null || ! command -v make >/dev/null ||
        ! command -v cc >/dev/null; then
        echo "runner benchmark: skipped, needs root, setpriv, make and cc"
        [ "${CI:-}" != true ] || exit 1
        exit 0
fi
cli=60021 user=60022
t=$(mktemp -d /tmp/ca-bench-runner.XXXXXX)
chmod 0755 "$t"
runner=
trap '[ -z "$runner" ] || kill "$runner" 2>/dev/null; wait 2>/dev/null; rm -rf "$t"' EXIT
mkdir -p "$t/shells" "$t/bin" "$t/home" "$t/ws/src"
ln -s /usr/bin/bash "$t/shells/bash"
ln -s /usr/bin/dash "$t/shells/dash"
cp "$build/bin/ca-shell-test" "$t/bin/sh"
chown "$user:$user" "$t/home"
chmod 0777 "$t/ws" "$t/ws/src"
mkfifo "$t/ready"
"$build/bin/task-runner" --listen "$t/runner.sock" --client-uid "$cli" --as "$user" \
        --shells "$t/shells" --home "$t/home" --allow-cwd "$t/ws" >"$t/ready" 2>/dev/null &
runner=$!
read -r _ <"$t/ready"

# The build: 24 small translation units and a link.
for i in $(seq 1 24); do
        printf 'int f%d(int x);\nint f%d(int x) { int s = 0; for (int i = 0; i < x; i++) s += i * %d; return s; }\n' \
                "$i" "$i" "$i" >"$t/ws/src/f$i.c"
done
printf 'int main(void) { return 0; }\n' >"$t/ws/src/main.c"
# shellcheck disable=SC2016 # make's variables, not the shell's
printf 'OBJS := $(patsubst %%.c,%%.o,$(wildcard *.c))\nprog: $(OBJS)\n\t$(CC) -o $@ $^\n%%.o: %%.c\n\t$(CC) -O2 -c -o $@ $<\nclean:\n\trm -f *.o prog\n' \
        >"$t/ws/src/Makefile"
chmod -R a+rwX "$t/ws"

# as CMD...: CMD as the client UID in the build directory, with the shim's settings.
as() {
        (cd "$t/ws/src" && setpriv --reuid "$cli" --regid "$cli" --clear-groups env -i \
                PATH=/usr/bin:/bin CA_SHELL_SOCKET="$t/runner.sock" CA_SHELL_SHELLS="$t/shells" \
                CA_SHELL_CLIENT_UID="$cli" "$@")
}
now() { date +%s%N; }

# shellcheck disable=SC2016 # expanded by the timed loop's bash
loop='for ((i = 0; i < $1; i++)); do "$2" -c true; done'
# Ten chunks per leg, interleaved (direct, routed, direct, ...): per-command medians.
chunk=$(( n / 10 > 0 ? n / 10 : 1 ))
d_each=() r_each=()
for _ in $(seq 1 10); do
        a=$(now); as bash -c "$loop" loop "$chunk" /usr/bin/dash; b=$(now)
        as bash -c "$loop" loop "$chunk" "$t/bin/sh"; c=$(now)
        d_each+=($(( (b - a) / chunk ))) r_each+=($(( (c - b) / chunk )))
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
spread() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "%.3f-%.3f", v[1] / 1e6, v[NR] / 1e6 }'; }
awk -v d="$(median "${d_each[@]}")" -v r="$(median "${r_each[@]}")" -v n=$((chunk * 10)) \
    -v ds="$(spread "${d_each[@]}")" -v rs="$(spread "${r_each[@]}")" 'BEGIN {
        printf "runner: %d x sh -c true, 10 interleaved chunks: direct %.3f ms (%s), through the runner %.3f ms (%s) each: +%.3f ms per command (goal <= +2 ms)\n",
                n, d / 1e6, ds, r / 1e6, rs, (r - d) / 1e6 }'

# The build, alternating, the median of each.
direct=() routed=()
for _ in $(seq 1 "$rounds"); do
        as make -s clean >/dev/null
        a=$(now); as make -s -j2 >/dev/null; b=$(now)
        direct+=($((b - a)))
        as make -s clean >/dev/null
        a=$(now); as "$t/bin/sh" -c 'make -s -j2' >/dev/null; b=$(now)
        routed+=($((b - a)))
done
awk -v d="$(median "${direct[@]}")" -v r="$(median "${routed[@]}")" 'BEGIN {
        printf "runner: make -j2 (24 files): direct %.1f ms, through the runner %.1f ms: %.3fx (goal <= 1.05x)\n",
                d / 1e6, r / 1e6, r / d }'
