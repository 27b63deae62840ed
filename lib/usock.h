/* SPDX-License-Identifier: MIT */
/*
 * Unix sockets (SOCK_SEQPACKET unless said otherwise) at paths of any length: sun_path holds 108 bytes, so a longer
 * path is reached through "/proc/self/fd/<dirfd>/<name>" on its directory. All sockets are
 * close-on-exec.
 */
#pragma once

#include <sys/types.h>

#include "macro.h"

struct ca_error;

/* Connects to the socket at `path`. Returns the fd. -ENOENT/-ECONNREFUSED when nobody listens. */
int usock_connect(const char *path, struct ca_error *err) CA_MUST_CHECK;

/* The same for a SOCK_STREAM socket (the container engine's API). */
int usock_connect_stream(const char *path, struct ca_error *err) CA_MUST_CHECK;

/*
 * Binds and listens at `path` (a stale socket there is replaced; anything else is refused),
 * then sets its mode to `mode`. Non-blocking listener. Returns the fd.
 */
int usock_listen(const char *path, mode_t mode, struct ca_error *err) CA_MUST_CHECK;

/*
 * Socket activation (sd_listen_fds(3), spoken directly): the listening socket systemd passed for
 * `path`. It must be the only one passed (LISTEN_FDS=1 on fd 3, LISTEN_PID this process), an
 * AF_UNIX SOCK_SEQPACKET socket that listens, bound to exactly `path`, where a socket owned by
 * this user lies; it is given `mode`, made non-blocking and close-on-exec, and the LISTEN_*
 * variables leave the environment. Returns the fd; -ENOENT when nothing was passed (start
 * without systemd: usock_listen); -EINVAL with the reason when what was passed is not that.
 */
int usock_listen_passed(const char *path, mode_t mode, struct ca_error *err) CA_MUST_CHECK;
