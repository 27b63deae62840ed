#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Man pages and completions (packaging/gen-cli-docs.py, from the command table and --help):
# every command has a man page that renders without a warning and a place in the bash, zsh and
# fish completions; every long option a command's code takes is completed; bash completes
# commands, subcommands and options (compgen, as the shell does); the build's copy is current.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

command -v man >/dev/null || skip "man (man-db) is needed to render the pages"
out="$TEST_TMP/docs"
expect_status 0 "$CA_PYTHON3" "$CA_SOURCE_DIR/packaging/gen-cli-docs.py" "$CA_BIN" "$out"
bash_c="$out/completions/bash/coding-agents"
zsh_c="$out/completions/zsh/_coding-agents"
fish_c="$out/completions/fish/coding-agents.fish"
check "the build's man pages and completions are stale" diff -r "$out" "$CA_BUILD_DIR/cli-docs" -x stamp

"$CA_BIN" --list-commands | cut -f1 >"$TEST_TMP/commands"
check "the command table is short" test "$(wc -l <"$TEST_TMP/commands")" -ge 20
while read -r cmd; do
        page="$out/man/man1/coding-agents-$cmd.1"
        check "no man page for $cmd" test -f "$page"
        MANWIDTH=80 man --warnings -l "$page" >"$TEST_TMP/page" 2>"$TEST_TMP/warn" || fail "man -l $page failed"
        check "man warns about $cmd's page: $(head -3 "$TEST_TMP/warn")" test ! -s "$TEST_TMP/warn"
        check "$cmd's page lacks its usage" grep -q "coding-agents" "$TEST_TMP/page"
        check "$cmd missing from the bash completion" grep -q "^        $cmd) " "$bash_c"
        check "$cmd missing from the zsh completion" grep -q "^        $cmd) " "$zsh_c"
        check "$cmd missing from the fish completion" grep -q -- "-a $cmd -d " "$fish_c"
        check "coding-agents(1) does not list $cmd" grep -q "coding-agents\\\\-$cmd\\\\fR(1)" \
                "$out/man/man1/coding-agents.1"
done <"$TEST_TMP/commands"
MANWIDTH=80 man --warnings -l "$out/man/man1/coding-agents.1" >/dev/null 2>"$TEST_TMP/warn"
check "man warns about coding-agents(1)" test ! -s "$TEST_TMP/warn"

# Every long option in the host CLI's getopt tables (not ca-broker's own, nor the hidden
# --list-commands) is completed for some command: an option its --help does not show fails.
grep -ho '{"[a-z][a-z0-9-]*", \(no\|required\|optional\)_argument' "$CA_SOURCE_DIR"/host/*.c \
        --exclude=broker_main.c | sed 's/{"\([^"]*\)".*/--\1/' | sort -u | grep -vx -- --list-commands \
        >"$TEST_TMP/options"
check "no options found in the sources" test "$(wc -l <"$TEST_TMP/options")" -ge 40
while read -r opt; do
        grep -q -- "[ \"]${opt}[ \"]" "$bash_c" || fail "$opt is in the code but no command's --help shows it"
        grep -q -- "-l ${opt#--}\$" "$fish_c" || fail "$opt is missing from the fish completion"
done <"$TEST_TMP/options"

# bash, as it completes: the words typed so far, the index of the one being completed.
complete_words() {
        # shellcheck disable=SC1090
        . "$bash_c"
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMPREPLY=()
        _coding_agents
        printf '%s\n' "${COMPREPLY[@]}"
}
check "bash: 'br' is not broker" test "$(complete_words coding-agents br)" = broker
check "bash: 'broker st' is not store" test "$(complete_words coding-agents broker st)" = store
check "bash: 'install --req' is not --require-sigstore" \
        test "$(complete_words coding-agents install --req)" = --require-sigstore
check "bash: rollback offers install's options" test "$(complete_words coding-agents rollback --)" = \
        "$(printf -- '--help\n--prefix')"
check "bash: 'release verify-s' is not verify-sigstore" \
        test "$(complete_words coding-agents release verify-s)" = verify-sigstore
if command -v zsh >/dev/null; then
        check "zsh cannot parse its completion" zsh -n "$zsh_c"
fi
if command -v fish >/dev/null; then
        check "fish cannot parse its completion" fish -n "$fish_c"
fi
finish
