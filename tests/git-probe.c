/* SPDX-License-Identifier: MIT */
/*
 * git-probe WORKTREE read|write ARGS...: runs git through the host's safe git (host/git.c), so
 * that tests can prove a hostile repository's hooks, fsmonitor, filters and includes never run
 * on the host. Prints git's stdout; exits with git's status (2 when the repository is refused).
 *
 * git-probe WORKTREE import|sync PRIVATE_STORE SCRATCH: git_import_objects, as a session's end
 * (import) or `run` while the session goes on (sync: what came in leaves the store) runs it;
 * prints the number of objects brought in (exit 1 with the reason when refused).
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "git.h"

int main(int argc, char **argv)
{
        struct buf out = BUF_INIT;
        struct ca_error err = {0};
        enum git_mode mode;
        int r;

        if (argc == 5 && (strcmp(argv[2], "import") == 0 || strcmp(argv[2], "sync") == 0)) {
                r = git_import_objects(argv[1], argv[3], argv[4], argv[2][0] == 's', &err);
                if (r < 0) {
                        (void) fprintf(stderr, "git-probe: %s\n", err.msg);
                        return err.bad_input ? 2 : 1;
                }
                (void) printf("%d\n", r);
                return 0;
        }
        if (argc < 4 || (strcmp(argv[2], "read") != 0 && strcmp(argv[2], "write") != 0)) {
                (void) fputs("usage: git-probe WORKTREE read|write ARGS...\n"
                             "       git-probe WORKTREE import|sync PRIVATE_STORE SCRATCH\n",
                             stderr);
                return 2;
        }
        mode = argv[2][0] == 'r' ? GIT_READ : GIT_WRITE;
        r = git_run(argv[1], mode, (const char *const *) argv + 3, (size_t) argc - 3, &out,
                    &err);
        if (out.len)
                (void) fwrite(out.data, 1, out.len, stdout);
        buf_clear(&out);
        if (r < 0) {
                (void) fprintf(stderr, "git-probe: %s\n", err.msg);
                return err.bad_input ? 2 : 1;
        }
        return r;
}
