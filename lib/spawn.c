/* SPDX-License-Identifier: MIT */
#include "spawn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "error.h"
#include "fileio.h"

int spawn_start(const struct spawn_req *req, pid_t *ret_pid, struct ca_error *err)
{
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none;
        sigset_t dfl;
        const int fds[3] = {req->stdin_fd, req->stdout_fd, req->stderr_fd};
        pid_t pid;
        int r;

        if (!req->path || !req->argv || !req->argv[0] || !req->envp)
                return ca_error_setx(err, EINVAL, "incomplete spawn request");
        if (!req->search_path && req->path[0] != '/')
                return ca_error_setx(err, EINVAL, "'%s' is not an absolute path", req->path);
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        for (int i = 0; i < 3; i++) {
                if (fds[i] >= 0)
                        /* dup2 clears close-on-exec on the target only. */
                        r = posix_spawn_file_actions_adddup2(&fa, fds[i], i);
                else
                        r = posix_spawn_file_actions_addopen(&fa, i, "/dev/null",
                                                             i == 0 ? O_RDONLY : O_WRONLY, 0);
                if (r != 0)
                        goto out;
        }
        /* Only stdio reaches the child: a descriptor some library left inheritable (libcurl's
         * socket to the engine was) must not reach npm's install scripts or mmdebstrap. */
        r = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        if (r != 0)
                goto out;
        if (req->cwd) {
                r = posix_spawn_file_actions_addchdir_np(&fa, req->cwd);
                if (r != 0)
                        goto out;
        }
        /* A clean signal state: nothing blocked, everything at its default. */
        sigemptyset(&none);
        sigfillset(&dfl);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &dfl);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        if (req->search_path)
                r = posix_spawnp(&pid, req->path, &fa, &attr, req->argv, req->envp);
        else
                r = posix_spawn(&pid, req->path, &fa, &attr, req->argv, req->envp);
out:
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (r != 0)
                return ca_error_set(err, r, "cannot run '%s'", req->path);
        *ret_pid = pid;
        return 0;
}

int spawn_wait(pid_t pid, struct ca_error *err)
{
        int status = 0;

        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR)
                        return ca_error_set(err, errno, "waitpid failed");
        }
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
}

int spawn_capture(const struct spawn_req *req, size_t max, struct buf *out, struct ca_error *err)
{
        struct spawn_req r2 = *req;
        _cleanup_close_ int rd = -1;
        int p[2];
        pid_t pid;
        int r;
        int status;

        if (pipe2(p, O_CLOEXEC) < 0)
                return ca_error_set(err, errno, "pipe2 failed");
        rd = p[0];
        r2.stdout_fd = p[1];
        r = spawn_start(&r2, &pid, err);
        (void) close(p[1]);
        if (r < 0)
                return r;
        r = fileio_read_fd(rd, max, out, err);
        if (r < 0) {
                /* Too much output or a read error: do not leave the child behind. */
                (void) kill(pid, SIGKILL);
                if (spawn_wait(pid, NULL) < 0)
                        return r;
                return r;
        }
        status = spawn_wait(pid, err);
        return status;
}

char *spawn_find_command(const char *command)
{
        static const char *const dirs[] = {"/usr/local/bin", "/usr/bin", "/bin"};

        if (!*command) {
                errno = ENOENT;
                return NULL;
        }
        if (strchr(command, '/'))
                return strdup(command);
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                char *p = NULL;
                struct stat st;

                if (asprintf(&p, "%s/%s", dirs[i], command) < 0)
                        return NULL;
                if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        errno = ENOENT;
        return NULL;
}
