#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sessions that fit a developer's day (issue 26). Agent state that persists, on a real Docker engine with the real CLIs and the
# scripted model (tests/e2e/model-peer.mjs): a conversation with Claude Code in one session is
# continued in the next (`claude --continue`: the model's log shows the first conversation in the
# second session's request), the same for Codex (`codex exec resume --last`) and Copilot
# (`copilot --continue`); the saved state
# holds no token; a hostile state written in the session (a link to /etc/shadow, a link out, a
# 10 GB file, a FIFO, a name with a newline, a file holding a stored secret) is refused on the
# way back with a state-refused event each, and the saved conversation survives it; --no-state
# starts from nothing and keeps nothing; the user's CLAUDE.md and settings come in, less the keys
# that run commands or carry credentials; `state list|export|rm`. Parallel agents on their own
# worktrees: two sessions with --worktree on one repository, launched at once, each commit a file;
# `diff` shows each; `merge` refuses while the user has uncommitted changes, then brings both in;
# a third whose change conflicts is refused and leaves the user's tree as it was.
# shellcheck disable=SC2016 # single-quoted commands expand inside the container, not here
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source=tests/e2e/docker-env.sh
. "$(dirname "$0")/docker-env.sh"
# shellcheck source=tests/e2e/world.sh
. "$(dirname "$0")/world.sh"

e2e_sessions_up
check "the upstream did not start" world_up "$TEST_TMP/up" "$image"
expect_status 0 "$CA_BIN" trust add e2e-ca --bundle "$world_ca"
rnd() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
access="sk-ant-oat01-$(rnd)"
refresh="sk-ant-ort01-$(rnd)"
codex_access="chatgpt-access-$(rnd)"
codex_refresh="chatgpt-refresh-$(rnd)"
github="gho_$(rnd)"
check "the scripted model did not start" model_peer_up --access-token "$access" \
        --refresh-token "$refresh" --key-value "$codex_access" --key-value "$github"

# ---- the user's logins and own instructions on the host ------------------------------------------
export HOME="$TEST_TMP/home"
mkdir -p "$HOME/.claude" "$HOME/.codex"
printf '{"claudeAiOauth":{"accessToken":"%s","refreshToken":"%s","expiresAt":4102444800000,"scopes":["user:inference","user:profile"],"subscriptionType":"max"}}' \
        "$access" "$refresh" >"$HOME/.claude/.credentials.json"
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
id_token="$(printf '{"alg":"RS256","typ":"JWT"}' | b64url).$(printf '{"email":"dev@example.test","https://api.openai.com/auth":{"chatgpt_plan_type":"plus","chatgpt_account_id":"acc-e2e"}}' | b64url).c2lnbmF0dXJl"
printf '{"OPENAI_API_KEY":null,"tokens":{"id_token":"%s","access_token":"%s","refresh_token":"%s","account_id":"acc-e2e"},"last_refresh":"2026-01-01T00:00:00Z"}' \
        "$id_token" "$codex_access" "$codex_refresh" >"$HOME/.codex/auth.json"
chmod 0600 "$HOME/.claude/.credentials.json" "$HOME/.codex/auth.json"
printf 'Answer briefly. NOTE-userinstructions\n' >"$HOME/.claude/CLAUDE.md"
printf '{"permissions":{"allow":["Bash"]},"env":{"ANTHROPIC_API_KEY":"sk-ant-api03-leak"},"apiKeyHelper":"/bin/evil","hooks":{"Stop":[]},"enableAllProjectMcpServers":true,"enabledMcpjsonServers":["evil"]}' \
        >"$HOME/.claude/settings.json"
printf 'Use tabs. NOTE-agentsmd\n' >"$HOME/.codex/AGENTS.md"
model_config "$pin" >"$TEST_TMP/model.toml"
ws="$TEST_TMP/repo"
mkdir -p "$ws"
chmod 0777 "$ws"
cfg=(--config "$TEST_TMP/model.toml" "${world[@]}")
state_dir() { "$CA_BIN" state list --json | "$CA_PYTHON3" -c '
import json, sys
print(next(e["dir"] for e in json.load(sys.stdin) if e["agent"] == sys.argv[1]))' "$1"; }
# The model saw, in one request, each of the words given: the earlier turns came along.
model_saw() {
        "$CA_PYTHON3" -c '
import json, sys
want = set(sys.argv[2:])
assert any(want <= set(json.loads(l).get("notes", [])) for l in open(sys.argv[1])), want' \
                "$peer_log" "$@"
}

# ---- Claude Code: a conversation, then --continue in the next session ---------------------------
expect_status 0 "$CA_BIN" run claude "$ws" "${cfg[@]}" -- sh -c \
        'claude -p "NOTE-first
RUN: echo claude-first-done" --allowedTools Bash && cat "$CLAUDE_CONFIG_DIR/settings.json" "$CLAUDE_CONFIG_DIR/CLAUDE.md"'
expect_grep 'claude-first-done' "$TEST_TMP/out"
# The user's settings without what runs commands or carries credentials; their CLAUDE.md.
expect_grep '"allow"' "$TEST_TMP/out"
expect_no_grep 'apiKeyHelper|sk-ant-api03-leak|/bin/evil|"hooks"|ProjectMcp|Mcpjson' "$TEST_TMP/out"
expect_grep 'NOTE-userinstructions' "$TEST_TMP/out"
expect_grep '"agent":"claude".*"saved":true.*"type":"state-saved"' "$log"
claude_state=$(state_dir claude)
check "the saved state is not 0700" test "$(stat -c %a "$claude_state")" = 700
check "no conversation was saved" bash -c "ls '$claude_state'/projects/*/*.jsonl >/dev/null"
check "the user's instructions were saved as state" bash -c "! test -e '$claude_state/CLAUDE.md'"
expect_status 0 "$CA_BIN" run claude "$ws" "${cfg[@]}" -- sh -c \
        'claude --continue -p "NOTE-second" --allowedTools Bash'
expect_grep '"agent":"claude".*"files":[1-9].*"type":"state-loaded"' "$log"
check "the second session's request does not carry the first conversation" \
        model_saw NOTE-first NOTE-second

# ---- Codex: exec, then resume --last in the next session -----------------------------------------
codex_exec='codex exec -m gpt-5-codex --skip-git-repo-check -s danger-full-access'
expect_status 0 "$CA_BIN" run codex "$ws" "${cfg[@]}" -- sh -c \
        "$codex_exec 'NOTE-cfirst
RUN: echo codex-first-done' && cat \"\$CODEX_HOME/AGENTS.md\""
expect_grep 'codex-first-done' "$TEST_TMP/out"
expect_grep 'NOTE-agentsmd' "$TEST_TMP/out"
expect_status 0 "$CA_BIN" run codex "$ws" "${cfg[@]}" -- sh -c "$codex_exec resume --last 'NOTE-csecond'"
check "codex's resumed request does not carry the first conversation" \
        model_saw NOTE-cfirst NOTE-csecond
codex_state=$(state_dir codex)

# ---- Copilot: a prompt, then --continue in the next session --------------------------------------
copilot_p='copilot --allow-all-tools --model gpt-scripted'
expect_status 0 env COPILOT_GITHUB_TOKEN="$github" "$CA_BIN" run copilot "$ws" "${cfg[@]}" -- sh -c \
        "$copilot_p -p 'NOTE-pfirst
RUN: echo copilot-first-done'"
expect_grep 'copilot-first-done' "$TEST_TMP/out"
expect_status 0 env COPILOT_GITHUB_TOKEN="$github" "$CA_BIN" run copilot "$ws" "${cfg[@]}" -- sh -c \
        "$copilot_p --continue -p 'NOTE-psecond'"
check "copilot's continued request does not carry the first conversation" \
        model_saw NOTE-pfirst NOTE-psecond

# ---- no token in the saved state -----------------------------------------------------------------
root="$CODING_AGENTS_CONFIG_DIR/state"
for t in "$access" "$refresh" "$codex_access" "$codex_refresh" "$github" coding-agents-placeholder; do
        check "a token is in the saved state" bash -c "! grep -rqF -e '$t' '$root'"
done
check "a login file is in the saved state" bash -c \
        "! find '$root' -name .credentials.json -o -name auth.json | grep -q ."

# ---- a hostile state on the way back -------------------------------------------------------------
leak="stored-secret-$(rnd)"
printf '%s' "$leak" | "$CA_BIN" broker store STATE_PROBE >/dev/null
expect_status 0 "$CA_BIN" run claude "$ws" "${cfg[@]}" -- sh -c '
        d=$(ls -d "$CLAUDE_CONFIG_DIR"/projects/*/ | head -1)
        ln -s /etc/shadow "$d/shadow.jsonl" && ln -s / "$d/root" &&
        truncate -s 10G "$d/big.jsonl" && mkfifo "$d/fifo" && echo x >"$d/bad
name" && echo "the key is $1" >"$d/leak.jsonl" && echo planted' sh "$leak"
expect_grep '^planted$' "$TEST_TMP/out"
for f in shadow.jsonl root big.jsonl fifo leak.jsonl; do
        expect_grep "\"path\":\"projects/[^\"]*/$f\".*\"type\":\"state-refused\"" "$log"
        check "$f was saved" bash -c "! ls '$claude_state'/projects/*/$f 2>/dev/null | grep -q ."
done
expect_grep '"path":"projects/[^"]*/shadow.jsonl","reason":"a symbolic link","where":"container"' "$log"
expect_grep '"path":"projects/[^"]*/big.jsonl","reason":"larger than the limit for one file"' "$log"
expect_grep '"path":"projects/[^"]*/fifo","reason":"a special file' "$log"
expect_grep '"path":"projects/[^"]*/\?","reason":"a name with a control character"' "$log"
expect_grep '"path":"projects/[^"]*/leak.jsonl","reason":"holds a secret the broker stores","where":"host"' "$log"
check "the stored secret is in the saved state" bash -c "! grep -rqF -e '$leak' '$root'"
check "the conversation did not survive the hostile session" bash -c \
        "ls '$claude_state'/projects/*/*.jsonl | grep -qv -e leak -e big -e shadow"

# ---- --no-state: nothing in, nothing out ---------------------------------------------------------
expect_status 0 "$CA_BIN" run claude "$ws" --no-state "${cfg[@]}" -- sh -c \
        'ls "$CLAUDE_CONFIG_DIR/projects" 2>/dev/null | grep -q . && echo had-state; mkdir -p "$CLAUDE_CONFIG_DIR/projects/x" && echo n >"$CLAUDE_CONFIG_DIR/projects/x/new.jsonl"; echo ran'
expect_grep '^ran$' "$TEST_TMP/out"
expect_no_grep 'had-state' "$TEST_TMP/out"
check "--no-state saved something" test ! -e "$claude_state/projects/x"

# ---- state list, export, rm ----------------------------------------------------------------------
expect_status 0 "$CA_BIN" state list
expect_grep "^claude .* $ws\$" "$TEST_TMP/out"
expect_grep "^codex .* $ws\$" "$TEST_TMP/out"
expect_status 0 "$CA_BIN" state export "$ws" --agent claude --output "$TEST_TMP/claude.tar.gz"
check "the export holds no conversation" bash -c \
        "tar -tzf '$TEST_TMP/claude.tar.gz' | grep -q '^claude/projects/.*\\.jsonl\$'"
expect_status 2 "$CA_BIN" state export "$ws" --output "$TEST_TMP/x.tar.gz"
expect_status 2 "$CA_BIN" state export "$TEST_TMP/nowhere" --agent claude --output "$TEST_TMP/x.tar.gz"
expect_status 2 "$CA_BIN" state rm "$ws" --agent gemini
expect_status 2 "$CA_BIN" state bogus
expect_status 0 "$CA_BIN" state rm "$ws" --agent codex
check "codex's state is still there" test ! -e "$codex_state"
expect_status 0 "$CA_BIN" state list
expect_no_grep "^codex " "$TEST_TMP/out"
expect_grep "^claude " "$TEST_TMP/out"

# ---- parallel agents on their own worktrees ------------------------------------------------------
repo="$TEST_TMP/project"
mkdir -p "$repo"
git -C "$repo" init -q -b main
git -C "$repo" config user.name Dev
git -C "$repo" config user.email dev@example.test
printf 'base\n' >"$repo/README"
printf 'notes\n' >"$repo/NOTES"
git -C "$repo" add README NOTES
git -C "$repo" commit -qm base
base_commit=$(git -C "$repo" rev-parse HEAD)
git -C "$repo" worktree add -q -b userbranch "$TEST_TMP/userwt" # the user's own linked worktree
chmod -R a+rwX "$repo"
# One session: writes FILE with CONTENT in its worktree and commits it, and tries the user's
# own index and HEAD in the repository's .git (read-only there), and the user's branches and
# tags (the session's refs are a private copy: it moves them there, and nothing comes back but
# its own branch) and packed-refs (read-only).
commit_in() {
        local tag=$1 file=$2 content=$3
        (umask 000 && "$CA_BIN" run claude "$repo" --worktree --no-state "${cfg[@]}" -- sh -c \
                "echo $content >$file && git add $file && git commit -qm 'add $file' && echo committed
                 c=\$(git rev-parse --git-common-dir)
                 (: >\"\$c/index\") 2>/dev/null && echo index-written
                 (echo ref: refs/heads/evil >\"\$c/HEAD\") 2>/dev/null && echo head-written
                 (echo /tmp >\"\$c/worktrees/userwt/commondir\") 2>/dev/null && echo other-written
                 (printf '[core]\\n\\tfsmonitor = /workspace/x\\n' >\"\$c/config.worktree\") 2>/dev/null &&
                   echo config-worktree-written
                 (echo /tmp >\"\$(git rev-parse --git-dir)/commondir\") 2>/dev/null && echo own-written
                 git update-ref refs/heads/main HEAD && git update-ref refs/heads/userbranch HEAD &&
                   git tag evil-$tag && echo refs-moved-inside
                 (echo \$(git rev-parse HEAD) refs/heads/main >\"\$c/packed-refs\") 2>/dev/null &&
                   echo packed-written
                 true" \
                >"$TEST_TMP/$tag.out" 2>"$TEST_TMP/$tag.err")
}
session_of() { sed -n 's|.* on branch coding-agents/\(.*\)$|\1|p' "$TEST_TMP/$1.err"; }
commit_in one a.txt alpha &
one_pid=$!
commit_in two b.txt beta &
two_pid=$!
check "the first worktree session failed: $(tail -3 "$TEST_TMP/one.err" 2>/dev/null)" wait "$one_pid"
check "the second worktree session failed: $(tail -3 "$TEST_TMP/two.err" 2>/dev/null)" wait "$two_pid"
check "the third worktree session failed" commit_in three a.txt gamma
s1=$(session_of one) s2=$(session_of two) s3=$(session_of three)
for t in one two three; do
        expect_grep '^committed$' "$TEST_TMP/$t.out"
        expect_no_grep 'index-written|head-written|other-written|packed-written|config-worktree-written|own-written' \
                "$TEST_TMP/$t.out"
        expect_grep '^refs-moved-inside$' "$TEST_TMP/$t.out"
        expect_grep 'the session.s worktree is gone; its branch coding-agents/' "$TEST_TMP/$t.err"
done
check "a session's worktree is left" test -z "$(find "$CODING_AGENTS_CONFIG_DIR/worktrees" -mindepth 1 -maxdepth 1 -type d)"
check "the sessions share a branch" test "$s1" != "$s2"
# The user's tree saw none of it.
check "the user's tree changed" test -z "$(git -C "$repo" status --porcelain)"
check "the user's HEAD moved" test "$(git -C "$repo" symbolic-ref HEAD)" = refs/heads/main
check "a session moved the user's main" test "$(git -C "$repo" rev-parse refs/heads/main)" = "$base_commit"
check "a session moved the user's userbranch" \
        test "$(git -C "$repo" rev-parse refs/heads/userbranch)" = "$base_commit"
check "a session's tag came out" test -z "$(git -C "$repo" tag -l 'evil-*')"
check "the sessions' private refs are left" \
        test -z "$(find "$CODING_AGENTS_CONFIG_DIR/worktrees" -maxdepth 1 \( -name '*.refs' -o -name '*.logs' \))"
# Their commits were written to stores of their own and brought in at their ends.
check "a session's object store is left" test -z "$(ls "$CODING_AGENTS_CONFIG_DIR/git-objects")"
expect_status 0 git -C "$repo" fsck --no-dangling
# Nothing in the repository's .git that git would read changed (the config.worktree the mounts
# made to cover is empty, and reads as none), and the other sessions' worktrees coming and
# going are not news.
expect_no_grep '"type":"workspace-git-changed"' "$log"
expect_status 0 "$CA_BIN" diff "$s1"
expect_grep '^\+\+\+ b/a.txt$' "$TEST_TMP/out"
expect_grep '^\+alpha$' "$TEST_TMP/out"
expect_no_grep 'b.txt' "$TEST_TMP/out"
expect_status 0 "$CA_BIN" diff "$s2"
expect_grep '^\+beta$' "$TEST_TMP/out"
# Uncommitted changes of the user's: refused, nothing touched.
printf 'mine\n' >>"$repo/NOTES"
head_before=$(git -C "$repo" rev-parse HEAD)
expect_status 2 "$CA_BIN" merge "$s1"
expect_grep 'changes not committed' "$TEST_TMP/err"
check "merge touched the user's tree" test "$(git -C "$repo" rev-parse HEAD)" = "$head_before"
expect_grep '^mine$' "$repo/NOTES"
git -C "$repo" checkout -q -- NOTES
expect_status 0 "$CA_BIN" merge "$s1"
expect_status 0 "$CA_BIN" merge "$s2"
expect_grep '^alpha$' "$repo/a.txt"
expect_grep '^beta$' "$repo/b.txt"
# The third changed a.txt too: refused, the tree as it was.
head_before=$(git -C "$repo" rev-parse HEAD)
expect_status 2 "$CA_BIN" merge "$s3"
expect_grep 'would conflict in a.txt' "$TEST_TMP/err"
check "the refused merge moved HEAD" test "$(git -C "$repo" rev-parse HEAD)" = "$head_before"
check "the refused merge touched the tree" test -z "$(git -C "$repo" status --porcelain)"
expect_grep '^alpha$' "$repo/a.txt"
# list shows a running session's branch; --keep keeps its worktree; a launched session hands
# its state back when stopped, saved when it is removed, under the repository.
expect_status 0 "$CA_BIN" launch claude "$repo" --worktree=feature/x --keep "${cfg[@]}" -- \
        sleep 3600
kept=$(tail -1 "$TEST_TMP/out")
expect_status 0 "$CA_BIN" list
expect_grep "^$kept .*  \(branch feature/x\)\$" "$TEST_TMP/out"
# What changed meanwhile in what git on the host executes is reported at the end, whoever
# changed it (here the user: nothing in the session can).
printf '#!/bin/sh\n' >"$repo/.git/hooks/post-merge"
expect_status 0 "$CA_BIN" stop "$kept"
expect_status 0 "$CA_BIN" rm "$kept"
expect_grep 'the workspace.s .git/hooks/post-merge was added: review it' "$TEST_TMP/err"
expect_grep '"changed":\[\{"change":"added","path":".git/hooks/post-merge"\}\].*"type":"workspace-git-changed"' "$log"
rm "$repo/.git/hooks/post-merge"
expect_grep "kept the worktree .*/worktrees/$kept \(branch feature/x\)" "$TEST_TMP/err"
check "the launched session's state was not saved under the repository at rm" "$CA_PYTHON3" -c '
import json, sys
saved = [e for e in map(json.loads, open(sys.argv[1])) if e["type"] == "state-saved"
         and e.get("session") == sys.argv[2]]
assert len(saved) == 1 and saved[0]["fields"]["saved"] is True \
    and saved[0]["fields"]["workspace"] == sys.argv[3], saved' "$log" "$kept" "$repo"
check "--keep did not keep the worktree" test -f "$CODING_AGENTS_CONFIG_DIR/worktrees/$kept/README"
git -C "$repo" worktree remove --force "$CODING_AGENTS_CONFIG_DIR/worktrees/$kept"
# Bad input.
expect_status 2 "$CA_BIN" run claude "$ws" --worktree "${cfg[@]}" -- true
expect_grep 'is not the top of a git working tree' "$TEST_TMP/err"
expect_status 2 "$CA_BIN" run claude "$repo" --worktree=main "${cfg[@]}" -- true
expect_grep "branch 'main' exists" "$TEST_TMP/err"
expect_status 2 "$CA_BIN" run claude "$repo" --keep "${cfg[@]}" -- true
expect_status 2 "$CA_BIN" merge no-such-session
expect_status 2 "$CA_BIN" diff ../escape
expect_status 0 "$CA_BIN" events verify

world_down
check_no_leaks
finish
