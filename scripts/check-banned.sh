#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The banned-function check (curl's checksrc idea; CONVENTIONS "What to avoid"). Fails when a
# tracked C file calls a banned function, opens an fd without CLOEXEC, or lib/ calls exit().
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.c' '*.h')

report() {
        echo "banned: $1"
        status=1
}

# Calls that are banned everywhere.
banned='\b(system|popen|sprintf|vsprintf|strcpy|strcat|strncpy|strncat|strtok|atoi|atol|atoll|gets|tmpnam|mktemp|rand|srand|alloca|dup|basename|dirname|strtol|strtoul|strtoll|strtoull|sscanf)[[:space:]]*\('
while IFS= read -r hit; do
        report "$hit"
done < <(grep -nE "$banned" "${files[@]}" | grep -vE '^\S+:[0-9]+:\s*(\*|/\*)' || true)

# fds must be close-on-exec from birth. Calls are read whole (up to their closing parenthesis),
# so arguments split over several lines are checked too.
while IFS= read -r hit; do
        report "$hit"
done < <(python3 - "${files[@]}" <<'PY'
import re, sys
need = {"open": "O_CLOEXEC", "openat": "O_CLOEXEC", "socket": "SOCK_CLOEXEC",
        "socketpair": "SOCK_CLOEXEC", "accept4": "SOCK_CLOEXEC"}
for path in sys.argv[1:]:
    src = open(path, encoding="utf-8").read()
    for m in re.finditer(r"\b(open|openat|socket|socketpair|accept|accept4|pipe)\s*\(", src):
        line = src.count("\n", 0, m.start()) + 1
        start = src.rfind("\n", 0, m.start()) + 1
        if src[start:m.start()].lstrip().startswith(("*", "/*", "//")):
            continue
        depth, i = 0, m.end() - 1
        while i < len(src):
            depth += {"(": 1, ")": -1}.get(src[i], 0)
            if depth == 0:
                break
            i += 1
        call, name = src[m.start():i + 1], m.group(1)
        if name in ("accept", "pipe"):
            print(f"{path}:{line}: {name}() (use {'accept4 with SOCK_CLOEXEC' if name == 'accept' else 'pipe2 with O_CLOEXEC'})")
        elif need[name] not in call:
            print(f"{path}:{line}: {name}() without {need[name]}")
PY
)
while IFS= read -r hit; do
        report "$hit (use \"re\"/\"we\")"
done < <(grep -nE '\bfopen\([^,]+,\s*"[rwa]\+?"' "${files[@]}" || true)

# lib/ never exits and never reads the environment with getenv(). The one exception is a
# process that lib/ itself forked (the sandbox in lib/launcher.c), which must end with _exit()
# and says so on the line: "/* forked child */".
while IFS= read -r hit; do
        report "$hit (lib/ must not exit)"
done < <(grep -nE '\b_?exit\(' lib/*.c lib/*.h | grep -vE '^\S+:[0-9]+:\s*(\*|/\*)' |
        grep -vE '\b_exit\([^;]*\); /\* forked child' || true)
while IFS= read -r hit; do
        report "$hit (use secure_getenv)"
done < <(grep -nE '\bgetenv\(' lib/*.c host/*.c host/*/*.c 2>/dev/null || true)

[ "$status" -eq 0 ] && echo "banned: clean (${#files[@]} files)"
exit "$status"
