/* SPDX-License-Identifier: MIT */
#include "sandbox.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <seccomp.h>

#include "names.h"
#include "error.h"
#include "secret.h"

int sandbox_expand(const char *tmpl, const struct sandbox_secret *secrets, size_t n,
                   struct buf *out, const char **ret_missing, size_t *ret_missing_len)
{
        for (size_t i = 0; tmpl[i];) {
                size_t start, end, next;
                const struct sandbox_secret *found = NULL;

                if (tmpl[i] != '$') {
                        if (buf_append_char(out, tmpl[i++]) < 0)
                                return -ENOMEM;
                        continue;
                }
                if (tmpl[i + 1] == '$') {
                        if (buf_append_char(out, '$') < 0)
                                return -ENOMEM;
                        i += 2;
                        continue;
                }
                if (tmpl[i + 1] == '{') {
                        start = i + 2;
                        end = start;
                        while (tmpl[end] && tmpl[end] != '}')
                                end++;
                        if (!tmpl[end])
                                return -EINVAL;
                        next = end + 1;
                } else {
                        start = i + 1;
                        end = start;
                        while (tmpl[end] && names_secret_ok(tmpl + start, end - start + 1))
                                end++;
                        next = end;
                }
                if (end == start || !names_secret_ok(tmpl + start, end - start))
                        return -EINVAL;
                for (size_t k = 0; k < n && !found; k++) {
                        if (strlen(secrets[k].name) == end - start &&
                            memcmp(secrets[k].name, tmpl + start, end - start) == 0)
                                found = &secrets[k];
                }
                if (!found) {
                        *ret_missing = tmpl + start;
                        *ret_missing_len = end - start;
                        return -ENOENT;
                }
                if (buf_append(out, found->value->buf, found->value->len) < 0)
                        return -ENOMEM;
                i = next;
        }
        return buf_append_char(out, '\0') < 0 ? -ENOMEM : 0;
}


void *sandbox_seccomp_build(struct ca_error *err)
{
        static const int denied[] = {
                SCMP_SYS(ptrace),          SCMP_SYS(process_vm_readv),
                SCMP_SYS(process_vm_writev), SCMP_SYS(mount),
                SCMP_SYS(umount2),         SCMP_SYS(pivot_root),
                SCMP_SYS(bpf),             SCMP_SYS(perf_event_open),
                SCMP_SYS(keyctl),          SCMP_SYS(add_key),
                SCMP_SYS(request_key),     SCMP_SYS(userfaultfd),
                SCMP_SYS(kexec_load),      SCMP_SYS(kexec_file_load),
                SCMP_SYS(init_module),     SCMP_SYS(finit_module),
                SCMP_SYS(delete_module),   SCMP_SYS(open_by_handle_at),
                SCMP_SYS(io_uring_setup),  SCMP_SYS(io_uring_enter),
                SCMP_SYS(io_uring_register), SCMP_SYS(setns),
                /* Another process's descriptors, or its memory's advice (issue 17). */
                SCMP_SYS(pidfd_getfd),     SCMP_SYS(process_madvise),
        };
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        int r = 0;

        if (!ctx) {
                (void) ca_error_setx(err, ENOMEM, "seccomp_init failed");
                return NULL;
        }
        for (size_t i = 0; r == 0 && i < sizeof(denied) / sizeof(denied[0]); i++)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), denied[i], 0);
        if (r == 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
                                     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
        if (r == 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
        if (r == 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
        /* personality: only PER_LINUX with no flags (no ADDR_NO_RANDOMIZE for one's children,
         * no READ_IMPLIES_EXEC, no address-limit layouts); even the query (0xffffffff) is
         * refused, which none of the agents, Node.js, git or Python makes. */
        if (r == 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
                                     SCMP_A0(SCMP_CMP_NE, 0));
        if (r < 0) {
                seccomp_release(ctx);
                (void) ca_error_setx(err, -r, "cannot build the seccomp filter");
                return NULL;
        }
        return ctx;
}

int sandbox_seccomp_load(void *filter)
{
        return seccomp_load(filter);
}

void sandbox_seccomp_free(void *filter)
{
        if (filter)
                seccomp_release(filter);
}
