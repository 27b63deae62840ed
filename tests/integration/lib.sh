# SPDX-License-Identifier: MIT
# Shared helpers for integration tests (sourced, not run).
# shellcheck shell=bash

: "${CA_BIN:?CA_BIN must name the built coding-agents binary}"

TEST_NAME=$(basename "${BASH_SOURCE[1]}" .sh)
TEST_TMP=$(mktemp -d "/tmp/ca-${TEST_NAME}.XXXXXX")
export CODING_AGENTS_CONFIG_DIR="$TEST_TMP/config"
failures=0
checks=0

cleanup_tmp() {
        rm -rf "$TEST_TMP"
}
trap cleanup_tmp EXIT

# skip REASON: exit 77 (CTest "skipped"), except under CI=true where a skip is a failure.
skip() {
        if [ "${CI:-}" = "true" ]; then
                echo "FAIL: $TEST_NAME would skip under CI: $*" >&2
                exit 1
        fi
        echo "SKIP: $TEST_NAME: $*" >&2
        exit 77
}

fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}

pass() {
        checks=$((checks + 1))
}

# check MESSAGE CMD...: CMD must succeed (its stdin is the caller's, so heredocs work).
check() {
        local msg=$1
        shift
        if "$@"; then
                pass
        else
                fail "$msg"
        fi
}

# expect_status WANT CMD...: runs CMD, stdout to $TEST_TMP/out, stderr to $TEST_TMP/err.
expect_status() {
        local want=$1 got=0
        shift
        "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || got=$?
        if [ "$got" -ne "$want" ]; then
                fail "'$*' exited $got, expected $want; stderr: $(head -c 400 "$TEST_TMP/err")"
                return 1
        fi
        pass
}

# expect_grep PATTERN FILE: FILE must contain a line matching the extended regex PATTERN.
expect_grep() {
        if ! grep -Eq -- "$1" "$2"; then
                fail "'$2' does not match /$1/: $(head -c 400 "$2")"
                return 1
        fi
        pass
}

expect_no_grep() {
        if grep -Eq -- "$1" "$2"; then
                fail "'$2' unexpectedly matches /$1/"
                return 1
        fi
        pass
}

# flip_byte FILE OFFSET: inverts one byte in place (a fixed value would change nothing when
# the byte already had it).
flip_byte() {
        local old
        old=$(od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' ')
        # shellcheck disable=SC2059 # the format is the octal escape of the new byte
        printf "\\$(printf '%03o' $((old ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# signed_release VERSION...: in the current directory, a release key (k.pub, k.sec), a Sigstore
# of the test's own making (keys/, by tests/sigstore-forge.py: the release ships its trusted
# root), a stage of the host programs with that root, and for each VERSION the bundle
# rel/coding-agents-VERSION-linux-x86_64.tar.gz signed with k.sec. Needs python3-cryptography.
signed_release() {
        local v forge=("$CA_PYTHON3" "$CA_SOURCE_DIR/tests/sigstore-forge.py")
        "$CA_BIN" release keygen --public k.pub --secret k.sec >/dev/null
        "${forge[@]}" init keys
        mkdir -p stage/bin stage/share/coding-agents/sigstore rel
        copy_host_programs stage/bin
        "${forge[@]}" root keys stage/share/coding-agents/sigstore/trusted_root.json
        for v in "$@"; do
                "$CA_BIN" release bundle --version "$v" --stage stage \
                        --out "rel/coding-agents-$v-linux-x86_64.tar.gz" >/dev/null
                "$CA_BIN" release sign --secret k.sec "rel/coding-agents-$v-linux-x86_64.tar.gz" >/dev/null
        done
}

# copy_host_programs DIR: the host programs a release's bin/ holds (the front execs ca-engine
# and starts ca-broker, both found beside it).
copy_host_programs() {
        local d
        d=$(dirname "$CA_BIN")
        cp "$CA_BIN" "$1/coding-agents"
        cp "$d/ca-engine" "$d/ca-broker" "$1/"
}

finish() {
        if [ "$failures" -ne 0 ]; then
                echo "$TEST_NAME: $failures of $((checks + failures)) checks failed" >&2
                exit 1
        fi
        echo "$TEST_NAME: all $checks checks passed"
}
