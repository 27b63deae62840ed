#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Static checks, all of which must be clean: clang-tidy (with BUILD_DIR's compile database),
# cppcheck, shellcheck, the banned-function check (CONVENTIONS "What to avoid") and the
# function-length check (at most 120 lines in host/ and container/, issue 22).
#
#   scripts/lint.sh [BUILD_DIR]
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
cd "$src"
status=0

mapfile -t c_files < <(git ls-files --cached --others --exclude-standard -- '*.c' |
        grep -v -e '^tests/fuzz/' -e '^windows/launcher\.c$' -e '^tests/windows/')
# The Windows programs (mingw-w64): checked for their target, with mingw-w64's headers.
mapfile -t win_files < <(git ls-files --cached --others --exclude-standard -- windows/launcher.c 'tests/windows/*.c')
mapfile -t sh_files < <(git ls-files --cached --others --exclude-standard -- '*.sh' .ci/run 'scripts/*' | grep -v '\.ps1$' | sort -u)

echo "lint: banned functions"
bash scripts/check-banned.sh || status=1

echo "lint: function length"
bash scripts/function-length.sh || status=1

echo "lint: shellcheck (${#sh_files[@]} files)"
shellcheck -x "${sh_files[@]}" || status=1

echo "lint: cppcheck"
cppcheck --quiet --error-exitcode=1 --inline-suppr --std=c11 --enable=warning,performance,portability \
        --suppress=missingIncludeSystem -D_GNU_SOURCE -DCA_VERSION='"0"' -I lib -I host/lib -I container/lib -I host \
        lib host container tests/unit tests/integration tests/toml-decoder.c bench windows tests/windows || status=1

echo "lint: clang-tidy (${#c_files[@]} files)"
printf '%s\n' "${c_files[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet \
        --warnings-as-errors='*' 2>/dev/null || status=1

echo "lint: clang-tidy, Windows (${#win_files[@]} files)"
clang-tidy --quiet --warnings-as-errors='*' "${win_files[@]}" -- --target=x86_64-w64-mingw32 \
        -isystem /usr/x86_64-w64-mingw32/include -std=c11 -municode -D_GNU_SOURCE -I lib -I windows \
        2>/dev/null || status=1

[ "$status" -eq 0 ] && echo "lint: clean"
exit "$status"
