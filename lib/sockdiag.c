/* SPDX-License-Identifier: MIT */
/* Local connections' other ends, from NETLINK_SOCK_DIAG (sockdiag.h). */
#include "sockdiag.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

/*
 * One request, one reply message (exact lookups) over `given` (-1: a new netlink socket in the
 * caller's namespace). Returns the reply's length or -errno.
 */
static ssize_t ask(int given, const void *req, size_t len, void *reply, size_t max)
{
        struct sockaddr_nl nladdr = {.nl_family = AF_NETLINK};
        _cleanup_close_ int own = given < 0 ? socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
                                                     NETLINK_SOCK_DIAG)
                                            : -1;
        int nl = given < 0 ? own : given;
        ssize_t n;

        if (nl < 0)
                return -errno;
        if (sendto(nl, req, len, 0, (struct sockaddr *) &nladdr, sizeof(nladdr)) < 0)
                return -errno;
        do {
                n = recv(nl, reply, max, 0);
        } while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : n;
}

static uint64_t peer_inode_via(int nl, int fd);

/*
 * A netlink socket in the network namespace of socket `fd`. A connection to a Unix socket that
 * was bind-mounted into a container is created in the *connecting* side's namespace (the
 * kernel makes the accepted socket in the peer's), where the caller's own sock_diag cannot see
 * it: the netlink socket is made there (setns needs CAP_SYS_ADMIN; a socket keeps its
 * namespace), and the caller goes back at once. -1 when that is not possible.
 */
static int diag_socket_for(int fd)
{
        _cleanup_close_ int theirs = ioctl(fd, SIOCGSKNS);
        _cleanup_close_ int ours = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        int nl;

        if (theirs < 0 || ours < 0 || setns(theirs, CLONE_NEWNET) < 0)
                return -1;
        nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        if (setns(ours, CLONE_NEWNET) < 0) {
                /* Stranded in another namespace: better to end than to go on there. */
                abort();
        }
        return nl;
}

uint64_t sockdiag_unix_peer_inode(int fd)
{
        uint64_t ino = peer_inode_via(-1, fd);

        if (ino == 0) {
                _cleanup_close_ int nl = diag_socket_for(fd);

                if (nl >= 0)
                        ino = peer_inode_via(nl, fd);
        }
        return ino;
}

/* The peer inode of `fd`, asked through netlink socket `nl` (-1: a new one, here). */
static uint64_t peer_inode_via(int nl, int fd)
{
        struct {
                struct nlmsghdr nlh;
                struct unix_diag_req req;
        } msg;
        union {
                struct nlmsghdr nlh;
                char buf[8192];
        } reply;
        const struct unix_diag_msg *m;
        const struct rtattr *a;
        struct stat st;
        ssize_t n;
        int len;

        if (fstat(fd, &st) < 0)
                return 0;
        memset(&msg, 0, sizeof(msg));
        memset(&reply, 0, sizeof(reply));
        msg.nlh.nlmsg_len = sizeof(msg);
        msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
        msg.nlh.nlmsg_flags = NLM_F_REQUEST;
        msg.req.sdiag_family = AF_UNIX;
        msg.req.udiag_states = (uint32_t) -1;
        msg.req.udiag_ino = (uint32_t) st.st_ino;
        msg.req.udiag_show = UDIAG_SHOW_PEER;
        msg.req.udiag_cookie[0] = msg.req.udiag_cookie[1] = (uint32_t) -1; /* no cookie */
        n = ask(nl, &msg, sizeof(msg), &reply, sizeof(reply));
        if (n < (ssize_t) NLMSG_LENGTH(sizeof(*m)) || !NLMSG_OK(&reply.nlh, (size_t) n) ||
            reply.nlh.nlmsg_type != SOCK_DIAG_BY_FAMILY)
                return 0;
        m = NLMSG_DATA(&reply.nlh);
        len = (int) (reply.nlh.nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
        for (a = (const struct rtattr *) (m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
                if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
                        uint32_t ino;

                        memcpy(&ino, RTA_DATA(a), sizeof(ino));
                        return ino;
                }
        }
        return 0;
}

int sockdiag_tcp_peer_uid(const struct sockaddr_in *peer, const struct sockaddr_in *local,
                          uid_t *ret_uid)
{
        struct {
                struct nlmsghdr nlh;
                struct inet_diag_req_v2 req;
        } msg;
        union {
                struct nlmsghdr nlh;
                char buf[4096];
        } reply;
        const struct inet_diag_msg *m;
        ssize_t n;

        memset(&msg, 0, sizeof(msg));
        memset(&reply, 0, sizeof(reply));
        msg.nlh.nlmsg_len = sizeof(msg);
        msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
        msg.nlh.nlmsg_flags = NLM_F_REQUEST;
        msg.req.sdiag_family = AF_INET;
        msg.req.sdiag_protocol = IPPROTO_TCP;
        msg.req.idiag_states = (uint32_t) -1;
        /* The peer's socket: its source is the peer, its destination us. */
        msg.req.id.idiag_sport = peer->sin_port;
        msg.req.id.idiag_dport = local->sin_port;
        msg.req.id.idiag_src[0] = peer->sin_addr.s_addr;
        msg.req.id.idiag_dst[0] = local->sin_addr.s_addr;
        msg.req.id.idiag_cookie[0] = msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
        n = ask(-1, &msg, sizeof(msg), &reply, sizeof(reply));
        if (n < 0)
                return (int) n;
        if (n < (ssize_t) sizeof(struct nlmsghdr) || !NLMSG_OK(&reply.nlh, (size_t) n))
                return -EIO;
        if (reply.nlh.nlmsg_type == NLMSG_ERROR)
                return -ENOENT;
        if (reply.nlh.nlmsg_type != SOCK_DIAG_BY_FAMILY ||
            reply.nlh.nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
                return -EIO;
        m = NLMSG_DATA(&reply.nlh);
        *ret_uid = (uid_t) m->idiag_uid;
        return 0;
}
