/* SPDX-License-Identifier: MIT */
/*
 * Pieces of the MCP server sandbox (ARCHITECTURE §7, CONVENTIONS "Spawning") that do not
 * themselves create namespaces: the seccomp filter, placeholder expansion, command lookup.
 * The stub launcher (container/mcp_stub_launcher.c) does the ordering.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "macro.h"

struct ca_error;
struct ca_secret;

struct sandbox_secret {
        const char *name;
        const struct ca_secret *value;
};

/*
 * Expands `${NAME}` / `$NAME` placeholders in `tmpl` with the secrets' values and `$$` with
 * '$', appending to `out` (NUL-terminated). A placeholder naming a secret that is not in
 * `secrets` fails with -ENOENT and its name in *ret_missing (static storage is not used: the
 * name points into `tmpl`, with its length in *ret_missing_len).
 */
int sandbox_expand(const char *tmpl, const struct sandbox_secret *secrets, size_t n,
                   struct buf *out, const char **ret_missing,
                   size_t *ret_missing_len) CA_MUST_CHECK;


/*
 * Builds the seccomp filter (libseccomp context, opaque here) that denies with EPERM: ptrace,
 * process_vm_readv/writev, mount, umount2, pivot_root, bpf, perf_event_open, keyctl, add_key,
 * request_key, userfaultfd, kexec_load, kexec_file_load, init/finit/delete_module,
 * open_by_handle_at, io_uring_setup/enter/register, setns, and unshare/clone asking for a new
 * user namespace; clone3 gets ENOSYS (its flags cannot be inspected, and libc falls back to
 * clone). Build it before forking; load it in the child as the last step before execve.
 */
void *sandbox_seccomp_build(struct ca_error *err);
/* Loads the filter into the calling thread (async-signal-safe enough for a forked child: it
 * only calls prctl/seccomp on a prepared program). Returns 0 or a negative errno. */
int sandbox_seccomp_load(void *filter);
void sandbox_seccomp_free(void *filter);
