/* SPDX-License-Identifier: MIT */
/* Scrubbing directories (scrub.h). */
#include "scrub.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static bool dot_or_dotdot(const char *n)
{
        return n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2]));
}

/* Overwrites the regular file `name` in `dfd` with zeros, its size `size`. */
static void zero_file(int dfd, const char *name, off_t size)
{
        static const char zeros[65536];
        int fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

        /* The owner's own read-only file (a 0400 secret): the owner may make it writable. */
        if (fd < 0 && errno == EACCES && fchmodat(dfd, name, 0600, 0) == 0)
                fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return;
        for (off_t left = size; left > 0;) {
                size_t n = left > (off_t) sizeof(zeros) ? sizeof(zeros) : (size_t) left;

                if (write(fd, zeros, n) != (ssize_t) n)
                        break;
                left -= (off_t) n;
        }
        (void) fsync(fd);
        (void) close(fd);
}

void scrub_tree_at(int dfd)
{
        DIR *d = fdopendir(dfd);
        struct dirent *e;

        if (!d) {
                (void) close(dfd);
                return;
        }
        while ((e = readdir(d))) {
                struct stat st;

                if (dot_or_dotdot(e->d_name) ||
                    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        int sub = openat(dirfd(d), e->d_name,
                                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

                        if (sub >= 0)
                                scrub_tree_at(sub);
                        (void) unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
                        continue;
                }
                if (S_ISREG(st.st_mode))
                        zero_file(dirfd(d), e->d_name, st.st_size);
                (void) unlinkat(dirfd(d), e->d_name, 0);
        }
        (void) closedir(d);
}

int scrub_dir_as(const char *path, uid_t uid)
{
        int status;
        pid_t pid = fork();

        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int fd;

                if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
                    setresuid(uid, uid, uid) < 0)
                        _exit(1); /* forked child: cannot become the owner */
                fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd >= 0)
                        scrub_tree_at(fd);
                _exit(0); /* forked child: done */
        }
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR)
                        return -errno;
        }
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPERM;
}

int scrub_remove_dir(const char *path, uid_t uid)
{
        int r = scrub_dir_as(path, uid);

        if (rmdir(path) < 0 && errno != ENOENT)
                return -errno;
        return r;
}
