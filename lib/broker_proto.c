/* SPDX-License-Identifier: MIT */
#include "broker_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "cleanup.h"
#include "names.h"
#include "error.h"
#include "fileio.h"
#include "secret.h"
#include "parse.h"

#define ALL_SEALS (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)

static const char *const op_names[] = {
        [BROKER_OP_HEALTH] = "health", [BROKER_OP_STORE] = "store",
        [BROKER_OP_LIST] = "list",     [BROKER_OP_RM] = "rm",
        [BROKER_OP_ROTATE] = "rotate-master", [BROKER_OP_ISSUE] = "issue",
        [BROKER_OP_REVOKE] = "revoke", [BROKER_OP_DUMP] = "dump",
        [BROKER_OP_REDEEM] = "redeem", [BROKER_OP_UPDATE] = "update",
        [BROKER_OP_EXPORT] = "export",
};


void broker_proof(const uint8_t key[CAP_KEY_LEN], const char *label,
                  const uint8_t nonce[BROKER_NONCE_LEN], const uint8_t id[CAP_ID_LEN],
                  uint8_t out[CAP_MAC_LEN])
{
        crypto_auth_hmacsha256_state st;

        crypto_auth_hmacsha256_init(&st, key, CAP_KEY_LEN);
        if (label)
                crypto_auth_hmacsha256_update(&st, (const unsigned char *) label, strlen(label));
        crypto_auth_hmacsha256_update(&st, nonce, BROKER_NONCE_LEN);
        crypto_auth_hmacsha256_update(&st, id, CAP_ID_LEN);
        crypto_auth_hmacsha256_final(&st, out);
        sodium_memzero(&st, sizeof(st));
}

/* ---- request parsing ------------------------------------------------------------------------ */

/* Field sets per op: a request may carry exactly these besides "op". */
enum {
        F_NAME = 1 << 0,
        F_SESSION = 1 << 1,
        F_STUB = 1 << 2,
        F_SECRETS = 1 << 3,
        F_UID = 1 << 4,
        F_CGROUP = 1 << 5,
        F_BINARY = 1 << 6,
        F_TTL = 1 << 7,
        F_MAX_USES = 1 << 8,
        F_CAP = 1 << 9,
        F_CAPABILITY = 1 << 10,
        F_NONCE = 1 << 11,
        F_PROOF = 1 << 12,
        F_VALUE = 1 << 13,
};

static const struct {
        const char *key;
        unsigned flag;
} fields[] = {
        {"name", F_NAME},       {"session", F_SESSION},   {"stub", F_STUB},
        {"secrets", F_SECRETS}, {"uid", F_UID},           {"cgroup", F_CGROUP},
        {"binary_sha256", F_BINARY}, {"ttl", F_TTL},      {"max_uses", F_MAX_USES},
        {"cap", F_CAP},         {"capability", F_CAPABILITY}, {"nonce", F_NONCE},
        {"proof", F_PROOF},     {"value", F_VALUE},
};

static const unsigned allowed[] = {
        [BROKER_OP_HEALTH] = 0,
        [BROKER_OP_STORE] = F_NAME,
        [BROKER_OP_LIST] = 0,
        [BROKER_OP_RM] = F_NAME,
        [BROKER_OP_ROTATE] = 0,
        [BROKER_OP_ISSUE] = F_SESSION | F_STUB | F_SECRETS | F_UID | F_CGROUP | F_BINARY | F_TTL |
                            F_MAX_USES,
        [BROKER_OP_REVOKE] = F_CAP | F_SESSION,
        [BROKER_OP_DUMP] = F_SESSION,
        [BROKER_OP_REDEEM] = F_CAPABILITY | F_NONCE | F_PROOF,
        [BROKER_OP_UPDATE] = F_CAPABILITY | F_NONCE | F_PROOF | F_NAME | F_VALUE,
        [BROKER_OP_EXPORT] = F_SESSION | F_NAME,
};

static const unsigned required[] = {
        [BROKER_OP_HEALTH] = 0,
        [BROKER_OP_STORE] = F_NAME,
        [BROKER_OP_LIST] = 0,
        [BROKER_OP_RM] = F_NAME,
        [BROKER_OP_ROTATE] = 0,
        [BROKER_OP_ISSUE] = F_SESSION | F_STUB | F_SECRETS | F_UID | F_TTL,
        [BROKER_OP_REVOKE] = 0,
        [BROKER_OP_DUMP] = F_SESSION,
        [BROKER_OP_REDEEM] = F_CAPABILITY | F_NONCE | F_PROOF,
        [BROKER_OP_UPDATE] = F_CAPABILITY | F_NONCE | F_PROOF | F_NAME | F_VALUE,
        [BROKER_OP_EXPORT] = F_SESSION | F_NAME,
};

static bool valid_cgroup(const char *s)
{
        size_t n = strlen(s);

        /* An absolute cgroup path without "." or ".." components or odd characters. */
        if (n < 2 || n > 1024 || s[0] != '/' || strstr(s, "/./") || strstr(s, "/../") ||
            strstr(s, "//"))
                return false;
        if ((n >= 2 && strcmp(s + n - 2, "/.") == 0) || (n >= 3 && strcmp(s + n - 3, "/..") == 0))
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c < 0x21 || c > 0x7e)
                        return false;
        }
        return true;
}

static int get_uint(json_t *v, uint64_t min, uint64_t max, uint64_t *ret)
{
        json_int_t i;

        if (!json_is_integer(v))
                return -EINVAL;
        i = json_integer_value(v);
        if (i < 0 || (uint64_t) i < min || (uint64_t) i > max)
                return -EINVAL;
        *ret = (uint64_t) i;
        return 0;
}

static int parse_field(struct broker_request *req, unsigned flag, json_t *v, struct ca_error *err)
{
        uint64_t u = 0;
        const char *s = json_string_value(v);

        switch (flag) {
        case F_NAME:
                if (!s || !names_secret_ok(s, strlen(s)))
                        return ca_error_input(err, "bad secret name");
                req->name = s;
                return 0;
        case F_SESSION:
                if (!s || !capability_valid_session(s))
                        return ca_error_input(err, "bad session id");
                req->session = s;
                return 0;
        case F_STUB:
                if (!s || !capability_valid_stub(s))
                        return ca_error_input(err, "bad stub name");
                req->stub = s;
                return 0;
        case F_SECRETS: {
                size_t i;
                json_t *item;

                if (!json_is_array(v) || json_array_size(v) > CAP_MAX_SECRETS)
                        return ca_error_input(err, "'secrets' must be an array of at most %d names",
                                              CAP_MAX_SECRETS);
                json_array_foreach(v, i, item) {
                        const char *n = json_string_value(item);
                        if (!n || strlen(n) > CAP_SECRET_NAME_MAX ||
                            !names_secret_ok(n, strlen(n)))
                                return ca_error_input(err, "bad secret name in 'secrets'");
                        for (size_t j = 0; j < i; j++) {
                                if (strcmp(req->secrets[j], n) == 0)
                                        return ca_error_input(err, "duplicate secret '%s'", n);
                        }
                        req->secrets[i] = n;
                }
                req->nsecrets = json_array_size(v);
                return 0;
        }
        case F_UID:
                if (get_uint(v, 0, 0xfffffffeu, &u) < 0)
                        return ca_error_input(err, "bad uid");
                req->uid = (uint32_t) u;
                return 0;
        case F_CGROUP:
                if (!s || !valid_cgroup(s))
                        return ca_error_input(err, "bad cgroup path");
                req->cgroup = s;
                return 0;
        case F_BINARY:
                if (!parse_hex(s, req->binary_sha256, CAP_HASH_LEN))
                        return ca_error_input(err, "bad binary_sha256");
                req->has_binary = true;
                return 0;
        case F_TTL:
                if (get_uint(v, 1, BROKER_TTL_MAX, &u) < 0)
                        return ca_error_input(err, "bad ttl (1 to %llu seconds)",
                                              (unsigned long long) BROKER_TTL_MAX);
                req->ttl = u;
                return 0;
        case F_MAX_USES:
                if (get_uint(v, 1, 65535, &u) < 0)
                        return ca_error_input(err, "bad max_uses (1 to 65535)");
                req->max_uses = (uint16_t) u;
                return 0;
        case F_CAP:
                if (!parse_hex(s, req->cap_id, CAP_ID_LEN))
                        return ca_error_input(err, "bad capability id");
                req->has_cap_id = true;
                return 0;
        case F_CAPABILITY:
                if (!s || strlen(s) > CAP_TEXT_MAX)
                        return ca_error_input(err, "bad capability");
                req->capability = s;
                return 0;
        case F_NONCE:
                if (!parse_hex(s, req->nonce, BROKER_NONCE_LEN))
                        return ca_error_input(err, "bad nonce");
                return 0;
        case F_PROOF:
                if (!parse_hex(s, req->proof, CAP_MAC_LEN))
                        return ca_error_input(err, "bad proof");
                return 0;
        case F_VALUE:
                if (!s || json_string_length(v) == 0 || json_string_length(v) > SECRET_MAX_LEN ||
                    strlen(s) != json_string_length(v))
                        return ca_error_input(err, "bad value (1 to %zu bytes, no NUL)",
                                              SECRET_MAX_LEN);
                req->value = s;
                req->value_len = json_string_length(v);
                return 0;
        default:
                return ca_error_input(err, "unexpected field");
        }
}

void broker_request_clear(struct broker_request *req)
{
        json_decref(req->json);
        sodium_memzero(req, sizeof(*req));
}

int broker_request_parse(const char *data, size_t len, struct broker_request *req,
                         struct ca_error *err)
{
        const char *op;
        const char *key;
        json_t *v;
        unsigned seen = 0;
        int r;

        memset(req, 0, sizeof(*req));
        req->max_uses = 1;
        if (len > BROKER_MSG_MAX)
                return ca_error_input(err, "request larger than %zu bytes", BROKER_MSG_MAX);
        r = ca_json_parse(data, len, "request", &req->json, err);
        if (r < 0)
                return r;
        if (!json_is_object(req->json)) {
                r = ca_error_input(err, "request is not a JSON object");
                goto fail;
        }
        op = json_string_value(json_object_get(req->json, "op"));
        r = -EINVAL;
        for (size_t i = 0; op && i < CA_ELEMENTSOF(op_names); i++) {
                if (strcmp(op, op_names[i]) == 0) {
                        req->op = (enum broker_op) i;
                        r = 0;
                }
        }
        if (r < 0) {
                r = ca_error_input(err, "unknown or missing op");
                goto fail;
        }
        json_object_foreach(req->json, key, v) {
                unsigned flag = 0;

                if (strcmp(key, "op") == 0)
                        continue;
                for (size_t i = 0; i < CA_ELEMENTSOF(fields); i++) {
                        if (strcmp(key, fields[i].key) == 0)
                                flag = fields[i].flag;
                }
                if (!(flag & allowed[req->op])) {
                        r = ca_error_input(err, "unexpected field '%.64s' for %s", key,
                                           op_names[req->op]);
                        goto fail;
                }
                r = parse_field(req, flag, v, err);
                if (r < 0)
                        goto fail;
                seen |= flag;
        }
        if ((seen & required[req->op]) != required[req->op]) {
                r = ca_error_input(err, "%s request lacks a required field", op_names[req->op]);
                goto fail;
        }
        if (req->op == BROKER_OP_REVOKE && !!req->has_cap_id == !!req->session) {
                r = ca_error_input(err, "revoke takes exactly one of 'cap' and 'session'");
                goto fail;
        }
        return 0;
fail:
        broker_request_clear(req);
        return r;
}

/* ---- framing ---------------------------------------------------------------------------------- */

int broker_send(int sock, const json_t *msg, const int *fds, size_t nfds, struct ca_error *err)
{
        _cleanup_buf_ struct buf b = BUF_INIT;
        union {
                char buf[CMSG_SPACE(sizeof(int) * BROKER_MAX_FDS)];
                struct cmsghdr align;
        } ctl;
        struct iovec iov;
        struct msghdr mh = {0};
        ssize_t n;
        int r;

        if (nfds > BROKER_MAX_FDS)
                return ca_error_setx(err, EINVAL, "too many descriptors in one message");
        r = ca_json_canonical(msg, &b, err);
        if (r < 0)
                return r;
        if (b.len > BROKER_MSG_MAX)
                return ca_error_setx(err, EMSGSIZE, "message larger than %zu bytes",
                                     BROKER_MSG_MAX);
        iov.iov_base = b.data;
        iov.iov_len = b.len;
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        if (nfds > 0) {
                struct cmsghdr *c;

                memset(&ctl, 0, sizeof(ctl));
                mh.msg_control = ctl.buf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
        }
        do {
                n = sendmsg(sock, &mh, MSG_NOSIGNAL);
        } while (n < 0 && errno == EINTR);
        if (n < 0)
                return ca_error_set(err, errno, "cannot send to the broker socket");
        if ((size_t) n != b.len)
                return ca_error_setx(err, EPROTO, "short send on a SOCK_SEQPACKET socket");
        return 0;
}

int broker_recv(int sock, char *buf, int *fds, size_t max_fds, size_t *ret_nfds,
                struct ca_error *err)
{
        union {
                char buf[CMSG_SPACE(sizeof(int) * BROKER_MAX_FDS)];
                struct cmsghdr align;
        } ctl;
        struct iovec iov = {.iov_base = buf, .iov_len = BROKER_MSG_MAX + 1};
        struct msghdr mh = {0};
        size_t nfds = 0;
        ssize_t n;

        if (max_fds > BROKER_MAX_FDS)
                max_fds = BROKER_MAX_FDS;
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctl.buf;
        mh.msg_controllen = sizeof(ctl.buf);
        do {
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        } while (n < 0 && errno == EINTR);
        if (n < 0)
                return ca_error_set(err, errno, "cannot receive from the broker socket");

        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                size_t k;
                const int *in;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                in = (const int *) (const void *) CMSG_DATA(c);
                for (size_t i = 0; i < k; i++) {
                        int fd;
                        memcpy(&fd, in + i, sizeof(fd));
                        if (nfds < max_fds)
                                fds[nfds++] = fd;
                        else
                                (void) close(fd); /* more than the caller takes: refuse below */
                }
                if (k > max_fds)
                        mh.msg_flags |= MSG_CTRUNC;
        }
        if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t) n > BROKER_MSG_MAX) {
                for (size_t i = 0; i < nfds; i++)
                        (void) close(fds[i]);
                return ca_error_setx(err, (mh.msg_flags & MSG_CTRUNC) ? EPROTO : EMSGSIZE,
                                     "broker message too large");
        }
        if (n == 0 && nfds == 0)
                return ca_error_setx(err, ECONNRESET, "the broker closed the connection");
        buf[n] = '\0';
        if (ret_nfds)
                *ret_nfds = nfds;
        else
                for (size_t i = 0; i < nfds; i++)
                        (void) close(fds[i]);
        return (int) n;
}

/* ---- sealed memfds ---------------------------------------------------------------------------- */

int broker_secret_memfd(const struct ca_secret *s, struct ca_error *err)
{
        _cleanup_close_ int fd = -1;
        int r;

        fd = memfd_create("coding-agents-secret", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return ca_error_set(err, errno, "memfd_create failed");
        r = fileio_write_all(fd, s->buf, s->len);
        if (r < 0)
                return ca_error_set(err, -r, "cannot fill the secret memfd");
        if (fcntl(fd, F_ADD_SEALS, ALL_SEALS) < 0)
                return ca_error_set(err, errno, "cannot seal the secret memfd");
        return take_fd(&fd);
}

int broker_secret_from_memfd(int fd, struct ca_secret **ret, struct ca_error *err)
{
        struct ca_secret *s;
        struct stat st;
        int seals = fcntl(fd, F_GET_SEALS);
        size_t off = 0;

        if (seals < 0)
                return ca_error_set(err, errno, "the broker sent something that is not a memfd");
        if ((seals & ALL_SEALS) != ALL_SEALS)
                return ca_error_setx(err, EPERM, "the broker's memfd is not fully sealed");
        if (fstat(fd, &st) < 0)
                return ca_error_set(err, errno, "cannot stat the secret memfd");
        if (st.st_size < 0 || (size_t) st.st_size > SECRET_MAX_LEN)
                return ca_error_setx(err, EFBIG, "secret too large");
        s = secret_new((size_t) st.st_size);
        if (!s)
                return ca_error_setx(err, ENOMEM, "cannot allocate secure memory");
        while (off < s->len) {
                ssize_t n = pread(fd, s->buf + off, s->len - off, (off_t) off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        secret_free(s);
                        return ca_error_set(err, n < 0 ? errno : EIO, "cannot read the secret");
                }
                off += (size_t) n;
        }
        *ret = s;
        return 0;
}
