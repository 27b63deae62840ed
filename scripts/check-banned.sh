#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The banned-function check (curl's checksrc idea; CONVENTIONS "What to avoid"). Fails when a
# tracked C file calls a banned function, opens an fd without CLOEXEC, or lib/ calls exit().
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
mapfile -t files < <(git ls-files -- '*.c' '*.h')

report() {
        echo "banned: $1"
        status=1
}

# Calls that are banned everywhere.
banned='\b(system|popen|sprintf|vsprintf|strcpy|strcat|strncpy|strncat|strtok|atoi|atol|atoll|gets|tmpnam|mktemp|rand|srand|alloca|dup|basename|dirname|strtol|strtoul|strtoll|strtoull|sscanf)[[:space:]]*\('
while IFS= read -r hit; do
        report "$hit"
done < <(grep -nE "$banned" "${files[@]}" | grep -vE '^\S+:[0-9]+:\s*(\*|/\*)' || true)

# fds must be close-on-exec from birth.
while IFS= read -r hit; do
        report "$hit (needs O_CLOEXEC)"
done < <(grep -nE '\bopen(at)?\(' "${files[@]}" | grep -vE 'O_CLOEXEC|^\S+:[0-9]+:\s*(\*|/\*)' || true)
while IFS= read -r hit; do
        report "$hit (needs SOCK_CLOEXEC)"
done < <(grep -nE '\b(socket|socketpair|accept4?)\(' "${files[@]}" | grep -vE 'SOCK_CLOEXEC|^\S+:[0-9]+:\s*(\*|/\*)' || true)
while IFS= read -r hit; do
        report "$hit (use pipe2 with O_CLOEXEC)"
done < <(grep -nE '\bpipe\(' "${files[@]}" | grep -vE '^\S+:[0-9]+:\s*(\*|/\*)' || true)
while IFS= read -r hit; do
        report "$hit (use \"re\"/\"we\")"
done < <(grep -nE '\bfopen\([^,]+,\s*"[rwa]\+?"' "${files[@]}" || true)

# lib/ never exits and never reads the environment with getenv().
while IFS= read -r hit; do
        report "$hit (lib/ must not exit)"
done < <(grep -nE '\b_?exit\(' lib/*.c lib/*.h | grep -vE '^\S+:[0-9]+:\s*(\*|/\*)' || true)
while IFS= read -r hit; do
        report "$hit (use secure_getenv)"
done < <(grep -nE '\bgetenv\(' lib/*.c host/*.c 2>/dev/null || true)

[ "$status" -eq 0 ] && echo "banned: clean (${#files[@]} files)"
exit "$status"
