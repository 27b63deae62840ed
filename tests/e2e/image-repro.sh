#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The agent image is reproducible: built again from nothing cached (a fresh mmdebstrap of the
# base, a fresh `npm ci`, Copilot unpacked again, both layers written anew) in another cache
# directory and another working directory, it gets the very id the shared build gave it: the
# same config naming the same layer digests. Only npm's download cache is shared (hard links),
# so that npm need not fetch again; Debian's packages come from the mirror again. What the id
# covers is checked too: the config holds no build time and no container id, and it names
# exactly the layers the engine has.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source=tests/e2e/docker-env.sh
. "$(dirname "$0")/docker-env.sh"

command -v mmdebstrap >/dev/null || skip "mmdebstrap is needed (Debian: mmdebstrap)"
docker_up
started=$(date +%s)
check "image build failed: $(tail -5 "$TEST_TMP/err" 2>/dev/null)" agent_image

inspect() {
        api GET /images/coding-agents-agent:current/json | "$CA_PYTHON3" -c '
import json, sys
i = json.load(sys.stdin)
print(i["Id"], i["Created"], ",".join(i["RootFS"]["Layers"]), i["Config"]["Labels"]["io.coding-agents.inputs"][:16])'
}
read -r id1 created1 layers1 inputs1 < <(inspect)
check "no image id ($id1)" test -n "$id1"

cache2="$CA_E2E_ROOT/cache-repro"
rm -rf "$cache2"
mkdir -m 0700 "$cache2"
if [ -d "$CA_E2E_ROOT/cache/home" ]; then
        cp -al "$CA_E2E_ROOT/cache/home" "$cache2/home"
fi
# What interrupted builds left: gone once a build ends, unless that build still runs (this
# shell's pid stands for one).
true &
dead=$!
wait "$dead"
mkdir "$cache2/stage-$dead" "$cache2/base-0123456789abcdef.tmp-$dead"
touch "$cache2/image-$dead.tar" "$cache2/agent-$dead.tar" "$cache2/image-$$.tar"
# The CLIs' code (their install scripts, Copilot's first start) never runs as root on the
# host: npm runs as root only with --ignore-scripts, and what runs their code is unshare --net
# and setpriv to uid 65533. Wrappers first in PATH record how each is started.
mkdir "$TEST_TMP/wrap"
for tool in npm unshare; do
        # shellcheck disable=SC2016 # the wrapper's own $(id -u), $* and $@
        printf '#!/bin/sh\necho "$(id -u) %s $*" >>"%s"\nexec /usr/bin/%s "$@"\n' \
                "$tool" "$TEST_TMP/started" "$tool" >"$TEST_TMP/wrap/$tool"
        chmod 0755 "$TEST_TMP/wrap/$tool"
done
build_elsewhere() {
        cd / && PATH="$TEST_TMP/wrap:$PATH" "$CA_BIN" image build --cache "$cache2" --rebuild --quiet
}
expect_status 0 build_elsewhere
cd "$TEST_TMP"
expect_grep '^image: base [0-9a-f]{16}: mmdebstrap from ' "$TEST_TMP/err"
expect_grep '^image: installing the agent CLIs \(npm ci; their scripts as uid 65533, offline\)$' "$TEST_TMP/err"
expect_grep '^0 npm ci --ignore-scripts ' "$TEST_TMP/started"
check "npm ran as root without --ignore-scripts: $(cat "$TEST_TMP/started")" \
        test -z "$(grep '^0 npm ' "$TEST_TMP/started" | grep -v -e ' --ignore-scripts ')"
expect_grep '^0 unshare --net -- setpriv --reuid=65533 --regid=65533 --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- npm rebuild --offline ' "$TEST_TMP/started"
expect_grep '^0 unshare --net -- setpriv --reuid=65533 .* -- /[^ ]*/node /var/tmp/coding-agents-cli\.[^ ]*/agents/node_modules/@github/copilot/npm-loader\.js --version$' "$TEST_TMP/started"
# The install scripts did run (claude's puts its native binary in place of a stub), and what
# they made is root's again.
claude_exe=$(find "$cache2"/cli-*/agents/node_modules/@anthropic-ai/claude-code/bin -name claude.exe)
check "claude's install script did not run: $(ls -l "$claude_exe")" \
        test "$(stat -c %s "$claude_exe")" -gt 1000000
check "files the sandbox made are not root's: $(find "$cache2"/cli-* ! -user 0 | head -3)" \
        test -z "$(find "$cache2"/cli-* ! -user 0 -o ! -group 0 | head -1)"
check "a work directory is left in /var/tmp" \
        test -z "$(find /var/tmp -maxdepth 1 -name 'coding-agents-cli.*')"
expect_grep "^image: building coding-agents-agent:$inputs1$" "$TEST_TMP/err"
expect_grep "^image: coding-agents-agent:$inputs1 is $id1$" "$TEST_TMP/err"
read -r id2 created2 layers2 _ < <(inspect)
check "rebuilt from nothing cached, the image is $id2, not $id1" test "$id1" = "$id2"
check "the layers differ: $layers2 vs $layers1" test "$layers1" = "$layers2"
check "the creation time moved: $created2 vs $created1" test "$created1" = "$created2"
created_s=$(date -d "$created1" +%s)
check "the image's creation time ($created1) is the build's time, not SOURCE_DATE_EPOCH" \
        test "$created_s" -lt "$started"

# A cache filled long before this build's epoch (the CLIs' is kept per lockfile, across
# commits and releases) gives the same image: its files' times are not the image's. (A run
# whose shared cache was hours older than the last commit failed here before.)
find "$cache2"/cli-* -exec touch -h -d @1000000000 {} +
api DELETE "/images/coding-agents-agent:$inputs1?force=1" >/dev/null
build_cached() { cd / && "$CA_BIN" image build --cache "$cache2" --quiet; }
expect_status 0 build_cached
cd "$TEST_TMP"
expect_no_grep 'mmdebstrap from|installing the agent CLIs' "$TEST_TMP/err"
expect_grep "^image: coding-agents-agent:$inputs1 is $id1$" "$TEST_TMP/err"

# The id is the config's own digest, and the config is what we wrote: no container, no host.
api GET /images/coding-agents-agent:current/json | "$CA_PYTHON3" -c '
import json, sys
i = json.load(sys.stdin)
assert i["Container"] in ("", None), i["Container"]
assert i["Config"]["Entrypoint"] == ["/usr/lib/coding-agents/bin/agent-init"], i["Config"]
assert i["Config"]["WorkingDir"] == "/workspace", i["Config"]
assert len(i["RootFS"]["Layers"]) == 2, i["RootFS"]
' >"$TEST_TMP/out" 2>&1 || fail "the config: $(cat "$TEST_TMP/out")"
pass

# Nothing of the second build is left behind but what it caches, nor what the interrupted
# ones left; a running build's file is kept.
check "a running build's file went" test -e "$cache2/image-$$.tar"
rm "$cache2/image-$$.tar"
check "work files are left: $(ls "$cache2")" \
        test -z "$(find "$cache2" -maxdepth 1 \( -name '*.tmp-*' -o -name 'stage-*' -o -name 'agent-*.tar' -o -name 'image-*.tar' \))"
rm -rf "$cache2"

check_no_leaks
finish
