/* SPDX-License-Identifier: MIT */
/*
 * The Windows launcher's pure half (windows/launcher.c is the rest): what a Windows argument
 * becomes in a WSL distribution, a Windows command line built by the documented rules, and the
 * two texts it reads (`wsl.exe --list --verbose`, and the header of a release's install.sh).
 * Plain C on UTF-8 strings, so that it is built and tested on Linux too (tests/unit/test_wslargs.c,
 * tests/fuzz/fuzz_wslargs.c) as well as cross-compiled with mingw-w64.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "macro.h"

struct wsl_paths {
        const char *distro;     /* the distribution the command runs in */
        const char *mount_root; /* where Windows drives appear in it: "/mnt/" */
        /* Does this relative path (or its parent directory) name something on Windows? */
        bool (*exists)(const char *relative, void *ctx);
        void *ctx;
};

/*
 * Appends to `out` what the absolute Windows path `win` is in the distribution: `C:\src\x` and
 * `c:/src/x` are `<mount root>c/src/x`; `\\wsl$\<distro>\p`, `\\wsl.localhost\<distro>\p` and
 * their `\\?\` forms are `/p`. Returns 1 when translated, 0 when `win` is not an absolute
 * Windows path (out untouched), or -EINVAL with *why when it is one the distribution cannot
 * reach (another distribution's, a network share, a device, a drive-relative `C:x`).
 */
int wsl_translate_path(const struct wsl_paths *p, const char *win, struct buf *out,
                       const char **why) CA_MUST_CHECK;

/*
 * Appends the argument as the distribution should see it: an absolute Windows path (alone, or
 * as the value of `--option=VALUE`) translated as above; a relative one that holds a backslash
 * and starts with `.\` or `..\`, or names something that exists, with `/` for `\`; anything
 * else byte for byte. Returns 0, -ENOMEM, or -EINVAL with *why.
 */
int wsl_translate_arg(const struct wsl_paths *p, const char *arg, struct buf *out,
                      const char **why) CA_MUST_CHECK;

/*
 * Appends a space (unless `cmdline` is empty) and `arg` quoted by the rules Windows programs
 * split their command line with (CommandLineToArgvW, the C runtime): a callee gets it back
 * byte for byte, whatever it holds (spaces, quotes, backslashes before them, `&`, `%`, `^`).
 * Returns 0 or -ENOMEM.
 */
int wsl_quote_arg(struct buf *cmdline, const char *arg) CA_MUST_CHECK;

struct wsl_distro {
        char name[64];
        int version; /* 1 or 2 */
        bool is_default;
};

/*
 * Parses what `wsl.exe --list --verbose` prints (UTF-8 by now; the header line, in the user's
 * language, is skipped): up to `max` distributions. Returns how many, or -EINVAL for a table
 * it does not understand.
 */
int wsl_parse_list(const char *text, size_t len, struct wsl_distro *out, size_t max) CA_MUST_CHECK;

/*
 * The value of `NAME='value'` on a line of its own in a release's install.sh (the header
 * packaging/make-installer.sh writes). Returns 0, -ENOENT, or -EINVAL (no closing quote, or a
 * value longer than `size` - 1).
 */
int wsl_installer_field(const char *script, size_t len, const char *name, char *value,
                        size_t size) CA_MUST_CHECK;
