/* SPDX-License-Identifier: MIT */
/*
 * journald's native protocol, spoken directly (no libsystemd: it would map libgcrypt, lz4, zstd,
 * lzma and libcap into every program for one datagram). An entry is a sequence of fields:
 * "NAME=value\n" when the value has no newline, else "NAME\n", the value's length as 64-bit
 * little-endian, the value and "\n". An entry too large for one datagram goes in a sealed memfd
 * passed with SCM_RIGHTS, as the protocol allows.
 */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define PRIORITY_NOTICE "5"

bool journal_available(void)
{
        return access(JOURNAL_SOCKET, W_OK) == 0;
}

static int put_field(struct buf *b, const char *name, const char *value, size_t len)
{
        unsigned char le[8];
        uint64_t n = len;

        if (!memchr(value, '\n', len)) {
                if (buf_printf(b, "%s=", name) < 0 || buf_append(b, value, len) < 0)
                        return -ENOMEM;
                return buf_append(b, "\n", 1) < 0 ? -ENOMEM : 0;
        }
        for (size_t i = 0; i < sizeof(le); i++)
                le[i] = (unsigned char) (n >> (8 * i));
        if (buf_printf(b, "%s\n", name) < 0 || buf_append(b, le, sizeof(le)) < 0 ||
            buf_append(b, value, len) < 0 || buf_append(b, "\n", 1) < 0)
                return -ENOMEM;
        return 0;
}

static int put_str(struct buf *b, const char *name, const char *value)
{
        return put_field(b, name, value, strlen(value));
}

/* The entry too big for a datagram: written to a memfd, sealed, and its descriptor sent. */
static int send_memfd(int sock, const struct sockaddr_un *sa, const struct buf *b)
{
        union {
                struct cmsghdr h;
                char space[CMSG_SPACE(sizeof(int))];
        } control;
        struct msghdr mh = {.msg_name = (void *) sa, .msg_namelen = sizeof(*sa),
                            .msg_control = control.space, .msg_controllen = sizeof(control.space)};
        struct cmsghdr *c;
        _cleanup_close_ int fd = memfd_create("coding-agents-journal",
                                              MFD_CLOEXEC | MFD_ALLOW_SEALING);

        if (fd < 0)
                return -errno;
        for (size_t off = 0; off < b->len;) {
                ssize_t w = write(fd, b->data + off, b->len - off);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return w < 0 ? -errno : -EIO;
                off += (size_t) w;
        }
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return -errno;
        memset(&control, 0, sizeof(control));
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int journal_send_event_to(const char *socket_path, const char *type, const char *session,
                          unsigned long long seq, const char *line_hash, const char *line,
                          size_t line_len)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_(buf_clearp) struct buf b = BUF_INIT;
        _cleanup_close_ int sock = -1;
        char message[160], seqs[24];
        int r = 0;

        if (strlen(socket_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
        (void) snprintf(message, sizeof(message), "coding-agents security event %s", type);
        (void) snprintf(seqs, sizeof(seqs), "%llu", seq);
        r = r < 0 ? r : put_str(&b, "MESSAGE", message);
        r = r < 0 ? r : put_str(&b, "PRIORITY", PRIORITY_NOTICE);
        r = r < 0 ? r : put_str(&b, "SYSLOG_IDENTIFIER", "coding-agents");
        r = r < 0 ? r : put_str(&b, "CODING_AGENTS_EVENT", type);
        r = r < 0 ? r : put_str(&b, "CODING_AGENTS_SESSION", session ? session : "");
        r = r < 0 ? r : put_str(&b, "CODING_AGENTS_SEQ", seqs);
        r = r < 0 ? r : put_str(&b, "CODING_AGENTS_LINE_SHA256", line_hash);
        r = r < 0 ? r : put_field(&b, "CODING_AGENTS_LINE", line, line_len);
        if (r < 0)
                return r;
        sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (sock < 0)
                return -errno;
        if (sendto(sock, b.data, b.len, MSG_NOSIGNAL, (const struct sockaddr *) &sa,
                   sizeof(sa)) >= 0)
                return 0;
        if (errno == EMSGSIZE || errno == ENOBUFS)
                return send_memfd(sock, &sa, &b);
        return errno == ENOENT || errno == ECONNREFUSED ? -ENOTCONN : -errno;
}

int journal_send_event(const char *type, const char *session, unsigned long long seq,
                       const char *line_hash, const char *line, size_t line_len)
{
        if (!journal_available())
                return -ENOTCONN;
        return journal_send_event_to(JOURNAL_SOCKET, type, session, seq, line_hash, line,
                                     line_len);
}
