#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A session's own object store, brought into the repository at its end (host/git.c,
# git_import_objects; workspace.h). The store is written by a hostile agent: here it is laid out
# as git in a session leaves it (info/alternates naming the repository's store, new objects
# loose and packed), then attacked the ways an agent could: an object file rewritten under the
# name of a blob the user's branch holds, links to another repository's objects, an alternates
# file naming that repository, a tree git would refuse to check out, a corrupt object. What comes
# in is named by its content: the user's blob stays theirs, nothing of the other repository
# arrives, and what must be refused is refused with the repository unchanged.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

: "${CA_GIT_PROBE:?}"
command -v git >/dev/null || skip "git is not installed"

g() { git -c user.name=t -c user.email=t@t "$@"; }

repo="$TEST_TMP/repo"
mkdir -p "$repo/host"
g -C "$repo" init -q
printf 'x\n' >"$repo/host/file"
g -C "$repo" add -A
g -C "$repo" commit -qm init
blob=$(git -C "$repo" rev-parse HEAD:host/file)
# A repository the agent must never reach, with a secret of its own.
other="$TEST_TMP/other"
g -C "$TEST_TMP" init -q other
printf 'the other repository secret\n' >"$other/secret"
g -C "$other" add -A
g -C "$other" commit -qm secret
secret=$(git -C "$other" rev-parse HEAD:secret)
g -C "$other" repack -qad

# new_store NAME: a private store as a session starts with it (its alternate is the
# repository's own store; in a container that is IMAGE_GIT_OBJECTS).
new_store() {
        store="$TEST_TMP/store-$1"
        mkdir -p "$store/info"
        printf '%s\n' "$repo/.git/objects" >"$store/info/alternates"
}
# in_session CMD...: git as it runs in the session, writing objects to the store only.
in_session() {
        GIT_OBJECT_DIRECTORY=$store g -C "$repo" "$@"
}
import() {
        expect_status "$1" "$CA_GIT_PROBE" "$repo" import "$store" "$TEST_TMP/scratch"
}
loose() { printf '%s/%s/%s' "$1" "${2:0:2}" "${2:2}"; }

# ---- the work of a session comes in: loose and packed objects, a staged file --------------
new_store work
printf 'y\n' >"$repo/host/file"
in_session commit -qam "by the agent"
commit=$(in_session rev-parse HEAD)
check "the commit went to the repository's own store" \
        test ! -e "$(loose "$repo/.git/objects" "$commit")"
# The session packs what it has (git gc in a session), then writes more loose objects.
in_session repack -qadl
printf 'z\n' >"$repo/newfile"
in_session add newfile
staged=$(in_session rev-parse :newfile)
check "nothing of the session is in the repository yet" \
        sh -c "! git -C '$repo' cat-file -e $commit 2>/dev/null"
import 0
check "the count: $(cat "$TEST_TMP/out")" test "$(cat "$TEST_TMP/out")" -ge 4
check "the session's commit did not come in" git -C "$repo" cat-file -e "$commit"
check "the staged blob did not come in" git -C "$repo" cat-file -e "$staged"
check "the scratch repository was left" test ! -e "$TEST_TMP/scratch"
expect_status 0 git -C "$repo" fsck --strict --no-dangling
expect_status 0 git -C "$repo" status --porcelain
# A store with nothing new brings nothing in.
new_store empty
import 0
check "an empty store brought something: $(cat "$TEST_TMP/out")" test "$(cat "$TEST_TMP/out")" = 0

# Many objects (a fetch in the session) come in as one pack; a rewritten object among them
# makes that pack hold one object twice, and the whole import is refused.
new_store many
mkdir -p "$TEST_TMP/many"
for i in $(seq 1 2100); do printf '%s\n' "$i" >"$TEST_TMP/many/$i"; done
(cd "$TEST_TMP/many" && ls) | sed "s|^|$TEST_TMP/many/|" | in_session hash-object -w --stdin-paths >/dev/null
in_session repack -qadl
last=$(printf '2100\n' | git hash-object --stdin)
packs_before=$(find "$repo/.git/objects/pack" -name '*.pack' | wc -l)
import 0
check "the count: $(cat "$TEST_TMP/out")" test "$(cat "$TEST_TMP/out")" -ge 2100
check "a fetched object did not come in" git -C "$repo" cat-file -e "$last"
check "many objects did not come in as one pack" \
        test "$(find "$repo/.git/objects/pack" -name '*.pack' | wc -l)" = $((packs_before + 1))
check "many objects came in loose" test ! -e "$(loose "$repo/.git/objects" "$last")"
new_store many-rewritten
for i in $(seq 1 2100); do printf 'more %s\n' "$i" >"$TEST_TMP/many/$i"; done
(cd "$TEST_TMP/many" && ls) | sed "s|^|$TEST_TMP/many/|" | in_session hash-object -w --stdin-paths >/dev/null
evil=$(printf 'the agent wrote this\n' | in_session hash-object -w --stdin)
mkdir -p "$(dirname "$(loose "$store" "$blob")")"
cp "$(loose "$store" "$evil")" "$(loose "$store" "$blob")"
import 1
expect_grep "index-pack refused them" "$TEST_TMP/err"
check "the user's blob changed" test "$(git -C "$repo" cat-file blob "$blob")" = x

# ---- while the session runs: what came in leaves the store -----------------------------------
new_store sync
printf 'w\n' >"$repo/host/file"
in_session commit -qam "while running"
running=$(in_session rev-parse HEAD)
in_session repack -qadl
printf 'v\n' >"$repo/host/file"
in_session commit -qam "and after"
after=$(in_session rev-parse HEAD)
# A pack git is still writing (no .idx yet) stays for the next time.
printf 'PACK' >"$store/pack/pack-$(printf '%040d' 0).pack"
expect_status 0 "$CA_GIT_PROBE" "$repo" sync "$store" "$TEST_TMP/scratch"
check "the synced commits did not come in" \
        sh -c "git -C '$repo' cat-file -e $running && git -C '$repo' cat-file -e $after"
check "a loose object stayed in the store" test ! -e "$(loose "$store" "$after")"
check "a pack that came in stayed in the store" \
        test "$(find "$store/pack" -name '*.idx' | wc -l)" = 0
check "a pack without its index left the store" test -e "$store/pack/pack-$(printf '%040d' 0).pack"
check "the store's alternates went" test -e "$store/info/alternates"
# git in the session still finds everything (through the repository's store now).
check "the session lost its commit" sh -c "GIT_OBJECT_DIRECTORY='$store' git -C '$repo' cat-file -e $after"
git -C "$repo" checkout -q -- host/file
expect_status 0 git -C "$repo" fsck --strict --no-dangling

# ---- a rewritten object: the user's blob stays theirs ---------------------------------------
new_store rewrite
evil=$(printf 'the agent wrote this\n' | in_session hash-object -w --stdin)
mkdir -p "$(dirname "$(loose "$store" "$blob")")"
cp "$(loose "$store" "$evil")" "$(loose "$store" "$blob")"
# In the session, git reads the rewritten file in place of the user's blob (the store is
# looked in first)...
check "the rewrite did not take in the session" \
        sh -c "GIT_OBJECT_DIRECTORY='$store' git -C '$repo' cat-file blob $blob | grep -q agent"
import 0
# ...and after the session the user's blob is the user's.
check "the user's blob changed" test "$(git -C "$repo" cat-file blob "$blob")" = x
check "the user's object file changed" \
        sh -c "git -C '$repo' cat-file blob $blob | git hash-object --stdin | grep -qx $blob"
git -C "$repo" checkout -q "$(git -C "$repo" rev-list --max-parents=0 HEAD)" -- host/file
check "a checkout wrote the agent's content" test "$(cat "$repo/host/file")" = x
git -C "$repo" checkout -q HEAD -- host/file
check "the agent's object did not come in under its own name" git -C "$repo" cat-file -e "$evil"
expect_status 0 git -C "$repo" fsck --strict --no-dangling

# ---- another repository's objects: links, an alternates file, a linked pack directory -------
new_store links
printf '%s\n' "$other/.git/objects" >"$store/info/alternates"
mkdir -p "$(dirname "$(loose "$store" "$secret")")"
git -C "$other" cat-file blob "$secret" | git -C "$other" hash-object -w --stdin >/dev/null
ln -s "$(loose "$other/.git/objects" "$secret")" "$(loose "$store" "$secret")"
ln -s "$other/.git/objects/pack" "$store/pack"
import 0
check "another repository's object came in" \
        sh -c "! git -C '$repo' cat-file -e $secret 2>/dev/null"
check "the store's alternates reached the repository" \
        test ! -e "$repo/.git/objects/info/alternates"

# ---- refused: a tree git would not check out, a corrupt object; the repository unchanged ----
packs_before=$(find "$repo/.git/objects/pack" -name '*.pack' | wc -l)
new_store dotgit
tree=$(printf '100644 blob %s\t.git\n' "$blob" | in_session mktree --missing)
check "the tree was not written" test -e "$(loose "$store" "$tree")"
import 1
expect_grep "unpack-objects refused them" "$TEST_TMP/err"
check "the refused tree came in" sh -c "! git -C '$repo' cat-file -e $tree 2>/dev/null"
new_store corrupt
in_session hash-object -w --stdin <<<"fine" >/dev/null
mkdir -p "$store/ab"
printf 'not zlib' >"$store/ab/$(printf '%038d' 0)"
import 1
# A sparse file (a terabyte of holes, made in an instant): what comes in is linked, never
# copied, so git reads it and finds no object; where a link cannot be made (the scratch on
# another file system), it is refused before a byte is copied.
new_store sparse
mkdir -p "$store/ab"
truncate -s 1T "$store/ab/$(printf '%038d' 1)"
import 1
expect_grep "git cannot read them" "$TEST_TMP/err"
check "the scratch is on the store's file system" \
        test "$(stat -c %d /dev/shm)" != "$(stat -c %d "$TEST_TMP")"
expect_status 1 "$CA_GIT_PROBE" "$repo" import "$store" "/dev/shm/ca-git-objects-scratch.$$"
expect_grep "is a sparse file \(1099511627776 bytes\)" "$TEST_TMP/err"
check "the scratch on another file system was left" test ! -e "/dev/shm/ca-git-objects-scratch.$$"
check "a refused import left a pack" \
        test "$(find "$repo/.git/objects/pack" -name '*.pack' | wc -l)" = "$packs_before"
expect_status 0 git -C "$repo" fsck --strict --no-dangling

finish
