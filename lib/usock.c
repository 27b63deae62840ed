/* SPDX-License-Identifier: MIT */
#include "usock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "parse.h"

/* Fills `sa` for `path`, opening its directory into *dirfd when the path is too long. */
static int make_addr(const char *path, struct sockaddr_un *sa, int *dirfd, struct ca_error *err)
{
        const char *slash;
        char dir[4096];
        size_t n;
        int r;

        memset(sa, 0, sizeof(*sa));
        sa->sun_family = AF_UNIX;
        if (strlen(path) < sizeof(sa->sun_path)) {
                memcpy(sa->sun_path, path, strlen(path) + 1);
                return 0;
        }
        slash = strrchr(path, '/');
        if (!slash || slash == path)
                return ca_error_setx(err, ENAMETOOLONG, "socket path too long: '%s'", path);
        n = (size_t) (slash - path);
        if (n >= sizeof(dir))
                return ca_error_setx(err, ENAMETOOLONG, "socket path too long: '%s'", path);
        memcpy(dir, path, n);
        dir[n] = '\0';
        *dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (*dirfd < 0)
                return ca_error_set(err, errno, "cannot open '%s'", dir);
        r = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", *dirfd, slash + 1);
        if (r < 0 || (size_t) r >= sizeof(sa->sun_path))
                return ca_error_setx(err, ENAMETOOLONG, "socket name too long: '%s'", path);
        return 0;
}

static int connect_type(const char *path, int type, struct ca_error *err)
{
        _cleanup_close_ int dirfd = -1;
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa;
        int r;

        r = make_addr(path, &sa, &dirfd, err);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return ca_error_set(err, errno, "socket failed");
        while (connect(fd, (const struct sockaddr *) &sa, sizeof(sa)) < 0) {
                if (errno != EINTR)
                        return ca_error_set(err, errno, "cannot connect to '%s'", path);
        }
        return take_fd(&fd);
}

int usock_connect(const char *path, struct ca_error *err)
{
        return connect_type(path, SOCK_SEQPACKET, err);
}

int usock_connect_stream(const char *path, struct ca_error *err)
{
        return connect_type(path, SOCK_STREAM, err);
}

int usock_listen(const char *path, mode_t mode, struct ca_error *err)
{
        _cleanup_close_ int dirfd = -1;
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa;
        struct stat st;
        int r;

        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return ca_error_setx(err, EEXIST, "'%s' exists and is not a socket", path);
                if (unlink(path) < 0)
                        return ca_error_set(err, errno, "cannot remove stale socket '%s'", path);
        }
        r = make_addr(path, &sa, &dirfd, err);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return ca_error_set(err, errno, "socket failed");
        if (bind(fd, (const struct sockaddr *) &sa, sizeof(sa)) < 0)
                return ca_error_set(err, errno, "cannot bind '%s'", path);
        if (chmod(path, mode) < 0)
                return ca_error_set(err, errno, "cannot chmod '%s'", path);
        if (listen(fd, 128) < 0)
                return ca_error_set(err, errno, "cannot listen on '%s'", path);
        return take_fd(&fd);
}

#define LISTEN_FD 3

/* A decimal environment variable, or -1. */
static long env_number(const char *name)
{
        const char *v = secure_getenv(name);
        uint64_t n;

        return v && parse_uint(v, 0, INT_MAX, &n) == 0 ? (long) n : -1;
}

static bool sockopt_is(int fd, int opt, int want)
{
        int v = -1;
        socklen_t len = sizeof(v);

        return getsockopt(fd, SOL_SOCKET, opt, &v, &len) == 0 && v == want;
}

int usock_listen_passed(const char *path, mode_t mode, struct ca_error *err)
{
        long pid = env_number("LISTEN_PID"), n = env_number("LISTEN_FDS");
        struct sockaddr_un sa;
        socklen_t len = sizeof(sa);
        struct stat st;
        int flags;

        if (pid < 0 && n < 0)
                return -ENOENT;
        (void) unsetenv("LISTEN_PID");
        (void) unsetenv("LISTEN_FDS");
        (void) unsetenv("LISTEN_FDNAMES");
        if (pid != (long) getpid())
                return pid < 0 ? ca_error_setx(err, EINVAL, "LISTEN_FDS without LISTEN_PID")
                               : -ENOENT; /* meant for another process (our parent) */
        if (n != 1)
                return ca_error_setx(err, EINVAL, "systemd passed %ld sockets; the broker takes "
                                                  "exactly one (ListenSequentialPacket=%s)",
                                     n, path);
        if (!sockopt_is(LISTEN_FD, SO_DOMAIN, AF_UNIX) ||
            !sockopt_is(LISTEN_FD, SO_TYPE, SOCK_SEQPACKET) ||
            !sockopt_is(LISTEN_FD, SO_ACCEPTCONN, 1))
                return ca_error_setx(err, EINVAL, "the socket systemd passed is not a listening "
                                                  "AF_UNIX SOCK_SEQPACKET socket "
                                                  "(ListenSequentialPacket=%s)",
                                     path);
        memset(&sa, 0, sizeof(sa));
        if (getsockname(LISTEN_FD, (struct sockaddr *) &sa, &len) < 0 || len <= sizeof(sa_family_t) ||
            strnlen(sa.sun_path, sizeof(sa.sun_path)) == sizeof(sa.sun_path) ||
            strcmp(sa.sun_path, path) != 0)
                return ca_error_setx(err, EINVAL, "the socket systemd passed is not bound to '%s'",
                                     path);
        if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
                return ca_error_setx(err, EINVAL, "'%s' is not a socket of this user", path);
        if (chmod(path, mode) < 0)
                return ca_error_set(err, errno, "cannot chmod '%s'", path);
        flags = fcntl(LISTEN_FD, F_GETFL);
        if (flags < 0 || fcntl(LISTEN_FD, F_SETFL, flags | O_NONBLOCK) < 0 ||
            fcntl(LISTEN_FD, F_SETFD, FD_CLOEXEC) < 0)
                return ca_error_set(err, errno, "cannot set up the socket systemd passed");
        return LISTEN_FD;
}
