/* SPDX-License-Identifier: MIT */
/*
 * Who is at the other end of a local connection, from the kernel's socket tables
 * (NETLINK_SOCK_DIAG, as ss(8) asks them): the peer socket of a Unix connection, and the owner
 * of a loopback TCP connection's other end. No privilege is needed for sockets of the caller's
 * own network namespace.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

struct sockaddr_in;

/*
 * The inode of the other end of the connected Unix socket `fd`: >0, or 0 when unknown. A
 * connection from another network namespace (a container's) lives in that namespace; it is
 * looked up there, which needs CAP_SYS_ADMIN (a root broker): without it, 0.
 */
uint64_t sockdiag_unix_peer_inode(int fd);

/*
 * The UID that owns the TCP socket bound to `peer` and connected to `local` (both IPv4, in
 * network order as in a struct sockaddr_in): the process on the other side of a loopback
 * connection. 0 and *ret_uid, or -ENOENT (no such socket) / -EIO.
 */
int sockdiag_tcp_peer_uid(const struct sockaddr_in *peer, const struct sockaddr_in *local,
                          uid_t *ret_uid) CA_MUST_CHECK;
