/* SPDX-License-Identifier: MIT */
#include "broker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "broker_client.h"
#include "broker_proto.h"
#include "buf.h"
#include "capability.h"
#include "cleanup.h"
#include "clock.h"
#include "digest.h"
#include "error.h"
#include "eventagg.h"
#include "fileio.h"
#include "ledger.h"
#include "log.h"
#include "names.h"
#include "parse.h"
#include "paths.h"
#include "secret.h"
#include "sockdiag.h"
#include "store.h"
#include "usock.h"

/* Linux 6.5; Debian 12's headers predate it. */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

#define MAX_SESSIONS 256
#define DENY_AGG_INTERVAL_S 60
#define DENY_AGG_BURST 4
#define CGROUP_FILE_MAX ((size_t) 64 << 10)

struct session_sock {
        char name[CAP_SESSION_MAX + 1];
        int fd;
        uint64_t expiry;
        unsigned failures;
        uint64_t backoff_until_ms; /* CLOCK_MONOTONIC */
        unsigned redemptions;
        unsigned updates;
        unsigned caps; /* capabilities issued for the session (restored at start) */
};

/* Logins a session's model helper wrote back (BROKER_OP_UPDATE), until the host exports them. */
#define MAX_UPDATED 64
#define BROKER_SESSION_UPDATES 64

struct updated {
        char session[CAP_SESSION_MAX + 1];
        char name[CAP_SECRET_NAME_MAX + 1];
};

struct daemon {
        const char *root;
        char *dir;
        char *admin_path;
        bool activated; /* the admin socket came from systemd, whose it stays */
        struct store *store;
        struct ledger *ledger;
        struct audit_log *log;
        int lockfd;
        int admin;
        int sigfd;
        struct session_sock sess[MAX_SESSIONS];
        size_t nsess;
        /* Refusals any process of a session can repeat, aggregated per session and reason. */
        struct eventagg agg;
        struct updated updated[MAX_UPDATED];
        size_t nupdated;
        struct redeem *batch; /* REDEEM_BATCH of them, for serve_sessions */
};

struct peer {
        pid_t pid;
        uid_t uid;
        int pidfd;
        bool exact; /* pidfd from SO_PEERPIDFD (race-free) rather than pidfd_open(pid) */
};

static uint64_t now_s(void)
{
        return (uint64_t) time(NULL);
}

/* Emits an event; a failure to log is reported but does not stop the daemon. Takes `fields`. */
static void event(struct daemon *d, enum audit_type type, const char *session, json_t *fields)
{
        struct ca_error err = {0};

        if (audit_append(d->log, type, session, fields, NULL, &err) < 0)
                log_warn("cannot write event %s: %s, ignoring", audit_type_name(type), err.msg);
        json_decref(fields);
}

/* ---- session sockets ------------------------------------------------------------------------ */

static struct session_sock *session_find(struct daemon *d, const char *name)
{
        for (size_t i = 0; i < d->nsess; i++) {
                if (strcmp(d->sess[i].name, name) == 0)
                        return &d->sess[i];
        }
        return NULL;
}

static int session_open(struct daemon *d, const char *name, uint64_t expiry, struct ca_error *err)
{
        struct session_sock *s = session_find(d, name);
        _cleanup_free_ char *path = NULL;
        int fd;

        if (s) {
                if (expiry > s->expiry)
                        s->expiry = expiry;
                return 0;
        }
        if (d->nsess == MAX_SESSIONS)
                return ca_error_setx(err, ENOSPC, "more than %d live sessions", MAX_SESSIONS);
        path = broker_session_socket(d->root, name);
        if (!path)
                return ca_error_setx(err, ENOMEM, "out of memory");
        /* 0666: the socket is bind-mounted into the session's container, where the stubs'
         * own UIDs connect; on the host its directory (0700) keeps everyone else out. The
         * real check is the attestation of every request. */
        fd = usock_listen(path, 0666, err);
        if (fd < 0)
                return fd;
        s = &d->sess[d->nsess++];
        memset(s, 0, sizeof(*s));
        (void) snprintf(s->name, sizeof(s->name), "%s", name);
        s->fd = fd;
        s->expiry = expiry;
        return 0;
}

static void session_close(struct daemon *d, size_t i)
{
        _cleanup_free_ char *path = broker_session_socket(d->root, d->sess[i].name);

        (void) close(d->sess[i].fd);
        if (path)
                (void) unlink(path);
        d->sess[i] = d->sess[--d->nsess];
}

/* Removes the sockets of sessions whose capabilities all expired. (Revocations arrive on the
 * admin socket, which closes the session's socket at once; redemptions still consult the
 * ledger, so a marker written by anything else is honoured too.) */
static void expire_sessions(struct daemon *d)
{
        uint64_t now = now_s();

        for (size_t i = 0; i < d->nsess;) {
                if (d->sess[i].expiry <= now) {
                        session_close(d, i);
                        continue;
                }
                i++;
        }
}

static int restore_one(const struct ledger_entry *e, void *userdata)
{
        struct daemon *d = userdata;
        struct ca_error err = {0};

        if (e->cap.expiry <= now_s() || ledger_is_revoked(d->ledger, e->cap.id, e->cap.session))
                return 0;
        if (session_open(d, e->cap.session, e->cap.expiry, &err) < 0) {
                log_warn("cannot reopen session '%s': %s, ignoring", e->cap.session, err.msg);
                return 0;
        }
        session_find(d, e->cap.session)->caps++;
        return 0;
}

/* ---- replies -------------------------------------------------------------------------------- */

static void reply(int conn, json_t *msg, const int *fds, size_t nfds)
{
        struct ca_error err = {0};

        if (!msg || broker_send(conn, msg, fds, nfds, &err) < 0)
                log_warn("cannot reply: %s, ignoring", msg ? err.msg : "out of memory");
        json_decref(msg);
}

static void reply_error(int conn, const char *code, const char *message)
{
        json_t *m = json_pack("{s:b, s:s}", "ok", 0, "error", code);

        if (m && message)
                (void) json_object_set_new(m, "message", json_string(message));
        reply(conn, m, NULL, 0);
}

static void reply_failure(int conn, const struct ca_error *err)
{
        reply_error(conn,
                    err->bad_input               ? "bad-request"
                    : err->code == ENOENT        ? "not-found"
                                                 : "failed",
                    err->msg);
}

/* ---- admin operations ------------------------------------------------------------------------ */

static json_t *change_fields(const char *action, const char *name)
{
        json_t *f = json_pack("{s:s}", "action", action);

        if (f && name)
                (void) json_object_set_new(f, "name", json_string(name));
        return f;
}

static void op_store(struct daemon *d, int conn, const struct broker_request *req, const int *fds,
                     size_t nfds)
{
        struct ca_secret *value = NULL;
        struct ca_error err = {0};

        if (nfds != 1) {
                reply_error(conn, "bad-request", "store needs exactly one sealed memfd");
                return;
        }
        int r = broker_secret_from_memfd(fds[0], &value, &err);

        if (r == 0)
                r = store_put(d->store, req->name, value, &err);
        secret_free(value);
        if (r < 0) {
                reply_failure(conn, &err);
                return;
        }
        if (r == 0)
                event(d, AUDIT_STORE_CHANGED, NULL, change_fields("store", req->name));
        reply(conn, json_pack("{s:b, s:b}", "ok", 1, "unchanged", r == 1), NULL, 0);
}

/* A reserved secret (names_reserved_secret) asked for a stub that is not the launcher's. */
static bool reserved_refused(const char *stub, const char *secret)
{
        return names_reserved_secret(secret) && !names_launcher_stub(stub);
}

static void op_issue(struct daemon *d, int conn, const struct broker_request *req)
{
        struct ledger_entry e;
        struct ca_error err = {0};
        uint8_t mac[CAP_KEY_LEN];
        uint8_t key[CAP_KEY_LEN];
        char text[CAP_TEXT_MAX + 1];
        char id[2 * CAP_ID_LEN + 1];
        char keyhex[2 * CAP_KEY_LEN + 1];
        _cleanup_free_ char *sock = NULL;
        json_t *secrets;
        json_t *fields;
        uint64_t now = now_s();
        int r;

        memset(&e, 0, sizeof(e));
        /* The launcher's own secrets (agent logins) go to its own stubs only, whatever the
         * caller asks: policy here, not only in the CLI that renders the request. */
        for (size_t i = 0; i < req->nsecrets; i++) {
                if (reserved_refused(req->stub, req->secrets[i])) {
                        event(d, AUDIT_CAPABILITY_DENIED, req->session,
                              json_pack("{s:s, s:s, s:s, s:s}", "reason", "reserved-secret",
                                        "stub", req->stub, "secret", req->secrets[i], "op",
                                        "issue"));
                        reply_error(conn, "denied",
                                    "a reserved secret (the launcher's own, such as an agent "
                                    "login) is never released to an MCP server");
                        return;
                }
        }
        /* Every named secret must exist (and authenticate) now, not at redemption time. */
        for (size_t i = 0; i < req->nsecrets; i++) {
                struct ca_secret *v = NULL;
                if (store_get(d->store, req->secrets[i], &v, &err) < 0) {
                        reply_failure(conn, &err);
                        return;
                }
                secret_free(v);
                (void) snprintf(e.cap.secrets[i], sizeof(e.cap.secrets[i]), "%s",
                                req->secrets[i]);
        }
        if (ledger_is_revoked(d->ledger, e.cap.id, req->session)) {
                reply_error(conn, "failed", "the session was revoked (killed)");
                return;
        }
        randombytes_buf(e.cap.id, CAP_ID_LEN);
        (void) snprintf(e.cap.session, sizeof(e.cap.session), "%s", req->session);
        (void) snprintf(e.cap.stub, sizeof(e.cap.stub), "%s", req->stub);
        e.cap.nsecrets = req->nsecrets;
        e.cap.has_binary = req->has_binary;
        memcpy(e.cap.binary_sha256, req->binary_sha256, CAP_HASH_LEN);
        e.cap.not_before = now;
        e.cap.expiry = now + req->ttl;
        e.cap.max_uses = req->max_uses;
        e.uid = req->uid;
        if (req->cgroup) {
                e.has_cgroup = true;
                (void) snprintf(e.cgroup, sizeof(e.cgroup), "%s", req->cgroup);
        }

        /* MACed under the session's key, which never leaves this process; the holder gets
         * the capability's own proof key, which can prove possession and nothing more. */
        r = store_capability_keys(d->store, &e.cap, mac, key, &err);
        if (r >= 0)
                r = capability_encode(&e.cap, mac, text, sizeof(text));
        sodium_memzero(mac, sizeof(mac));
        if (r < 0) {
                sodium_memzero(key, sizeof(key));
                reply_error(conn, "failed", err.msg[0] ? err.msg : "cannot encode capability");
                return;
        }
        /* Recorded before it leaves: only capabilities in the ledger are ever honoured. */
        if (ledger_record(d->ledger, &e, &err) < 0 ||
            session_open(d, e.cap.session, e.cap.expiry, &err) < 0) {
                sodium_memzero(key, sizeof(key));
                reply_failure(conn, &err);
                return;
        }
        session_find(d, e.cap.session)->caps++;
        capability_id_hex(e.cap.id, id);
        sodium_bin2hex(keyhex, sizeof(keyhex), key, sizeof(key));
        sodium_memzero(key, sizeof(key));
        sock = broker_session_socket(d->root, e.cap.session);

        secrets = json_array();
        for (size_t i = 0; secrets && i < e.cap.nsecrets; i++)
                (void) json_array_append_new(secrets, json_string(e.cap.secrets[i]));
        fields = json_pack("{s:s, s:s, s:O, s:I, s:I, s:I}", "stub", e.cap.stub, "cap_id", id,
                           "secrets", secrets, "uid", (json_int_t) e.uid, "expiry",
                           (json_int_t) e.cap.expiry, "max_uses", (json_int_t) e.cap.max_uses);
        if (fields && e.has_cgroup)
                (void) json_object_set_new(fields, "cgroup", json_string(e.cgroup));
        event(d, AUDIT_CAPABILITIES_ISSUED, e.cap.session, fields);
        reply(conn,
              json_pack("{s:b, s:s, s:s, s:s, s:s, s:I, s:o}", "ok", 1, "capability", text,
                        "key", keyhex, "id", id, "socket", sock ? sock : "", "expiry",
                        (json_int_t) e.cap.expiry, "secrets", secrets),
              NULL, 0);
        sodium_memzero(keyhex, sizeof(keyhex));
}

struct dump_ctx {
        struct daemon *d;
        const char *session;
        json_t *out;
};

static int dump_one(const struct ledger_entry *e, void *userdata)
{
        struct dump_ctx *c = userdata;
        char id[2 * CAP_ID_LEN + 1];
        json_t *row;

        if (strcmp(e->cap.session, c->session) != 0)
                return 0;
        capability_id_hex(e->cap.id, id);
        row = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:b, s:b}", "id", id, "stub",
                        e->cap.stub, "uid", (json_int_t) e->uid, "expiry",
                        (json_int_t) e->cap.expiry, "max_uses", (json_int_t) e->cap.max_uses,
                        "uses",
                        (json_int_t) ledger_uses(c->d->ledger, e->cap.id, e->cap.max_uses),
                        "revoked", ledger_is_revoked(c->d->ledger, e->cap.id, e->cap.session),
                        "expired", e->cap.expiry <= now_s());
        if (row) {
                json_t *names = json_array();
                for (size_t i = 0; names && i < e->cap.nsecrets; i++)
                        (void) json_array_append_new(names, json_string(e->cap.secrets[i]));
                (void) json_object_set_new(row, "secrets", names);
                if (e->has_cgroup)
                        (void) json_object_set_new(row, "cgroup", json_string(e->cgroup));
        }
        return row && json_array_append_new(c->out, row) == 0 ? 0 : -ENOMEM;
}

/* The content of `name` if `session` updated it (once; the record goes). */
static void op_export(struct daemon *d, int conn, const struct broker_request *req)
{
        struct ca_error err = {0};
        struct ca_secret *v = NULL;
        int fd = -1;

        for (size_t i = 0; i < d->nupdated; i++) {
                if (strcmp(d->updated[i].session, req->session) != 0 ||
                    strcmp(d->updated[i].name, req->name) != 0)
                        continue;
                memmove(d->updated + i, d->updated + i + 1,
                        (d->nupdated - i - 1) * sizeof(*d->updated));
                d->nupdated--;
                if (store_get(d->store, req->name, &v, &err) == 0)
                        fd = broker_secret_memfd(v, &err);
                secret_free(v);
                if (fd < 0) {
                        reply_failure(conn, &err);
                        return;
                }
                reply(conn, json_pack("{s:b, s:b}", "ok", 1, "updated", 1), &fd, 1);
                (void) close(fd);
                return;
        }
        reply(conn, json_pack("{s:b, s:b}", "ok", 1, "updated", 0), NULL, 0);
}

static void handle_admin(struct daemon *d, int conn)
{
        struct broker_request req;
        struct ca_error err = {0};
        struct ucred cred;
        socklen_t len = sizeof(cred);
        char buf[BROKER_MSG_MAX + 1];
        int fds[BROKER_MAX_FDS];
        size_t nfds = 0;
        int n;

        /* Read the request first, so a refused peer gets the refusal rather than EPIPE. */
        n = broker_recv(conn, buf, fds, BROKER_MAX_FDS, &nfds, &err);
        if (n < 0)
                return;
        /* The admin socket's directory is 0700; the credential check is the second wall. */
        if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != geteuid()) {
                reply_error(conn, "denied", "the admin socket serves its owner only");
                goto out;
        }
        if (broker_request_parse(buf, (size_t) n, &req, &err) < 0) {
                reply_failure(conn, &err);
                goto out;
        }
        switch (req.op) {
        case BROKER_OP_HEALTH:
                reply(conn,
                      json_pack("{s:b, s:s, s:i, s:I}", "ok", 1, "version", CA_VERSION, "pid",
                                (int) getpid(), "sessions", (json_int_t) d->nsess),
                      NULL, 0);
                break;
        case BROKER_OP_STORE:
                op_store(d, conn, &req, fds, nfds);
                break;
        case BROKER_OP_LIST: {
                json_t *list = NULL;
                if (store_list(d->store, &list, &err) < 0)
                        reply_failure(conn, &err);
                else
                        reply(conn, json_pack("{s:b, s:o}", "ok", 1, "secrets", list), NULL, 0);
                break;
        }
        case BROKER_OP_RM:
                if (store_remove(d->store, req.name, &err) < 0) {
                        reply_failure(conn, &err);
                        break;
                }
                event(d, AUDIT_STORE_CHANGED, NULL, change_fields("rm", req.name));
                reply(conn, json_pack("{s:b}", "ok", 1), NULL, 0);
                break;
        case BROKER_OP_ROTATE:
                if (store_rotate_master(d->store, &err) < 0) {
                        reply_failure(conn, &err);
                        break;
                }
                event(d, AUDIT_STORE_CHANGED, NULL, change_fields("rotate-master", NULL));
                reply(conn, json_pack("{s:b}", "ok", 1), NULL, 0);
                break;
        case BROKER_OP_ISSUE: {
                const struct session_sock *s = session_find(d, req.session);
                if (s && s->caps >= BROKER_SESSION_CAPS) {
                        reply_error(conn, "failed", "session capability quota reached");
                        break;
                }
                op_issue(d, conn, &req);
                break;
        }
        case BROKER_OP_REVOKE:
                if (req.has_cap_id) {
                        struct ledger_entry e;
                        char id[2 * CAP_ID_LEN + 1];
                        if (ledger_lookup(d->ledger, req.cap_id, &e, &err) < 0 ||
                            ledger_revoke_cap(d->ledger, req.cap_id, &err) < 0) {
                                reply_error(conn, "not-found", "no such capability");
                                break;
                        }
                        capability_id_hex(req.cap_id, id);
                        event(d, AUDIT_CAPABILITY_REVOKED, e.cap.session,
                              json_pack("{s:s, s:s}", "scope", "capability", "cap_id", id));
                } else {
                        struct session_sock *s;
                        if (ledger_revoke_session(d->ledger, req.session, &err) < 0) {
                                reply_failure(conn, &err);
                                break;
                        }
                        s = session_find(d, req.session);
                        if (s)
                                session_close(d, (size_t) (s - d->sess));
                        event(d, AUDIT_CAPABILITY_REVOKED, req.session,
                              json_pack("{s:s}", "scope", "session"));
                }
                reply(conn, json_pack("{s:b}", "ok", 1), NULL, 0);
                break;
        case BROKER_OP_DUMP: {
                struct dump_ctx c = {d, req.session, json_array()};
                if (!c.out || ledger_foreach(d->ledger, dump_one, &c, &err) < 0) {
                        json_decref(c.out);
                        reply_error(conn, "failed", "cannot read the ledger");
                        break;
                }
                reply(conn,
                      json_pack("{s:b, s:s, s:b, s:o}", "ok", 1, "session", req.session,
                                "revoked",
                                ledger_is_revoked(d->ledger, (const uint8_t[CAP_ID_LEN]) {0},
                                                  req.session),
                                "capabilities", c.out),
                      NULL, 0);
                break;
        }
        case BROKER_OP_EXPORT:
                op_export(d, conn, &req);
                break;
        case BROKER_OP_REDEEM:
        case BROKER_OP_UPDATE:
                reply_error(conn, "bad-request", "redeem and update are on the session socket");
                break;
        }
        broker_request_clear(&req);
out:
        for (size_t i = 0; i < nfds; i++)
                (void) close(fds[i]);
}

/* ---- redemption and attestation -------------------------------------------------------------- */

/* Start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat), or 0. */
static uint64_t proc_start_ticks(pid_t pid)
{
        char path[64];
        char buf[1024];
        _cleanup_close_ int fd = -1;
        const char *p;
        ssize_t n;
        uint64_t v = 0;

        (void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        /* The command name may hold spaces and ')': fields count from the last ')'. */
        p = strrchr(buf, ')');
        for (int field = 2; p && field < 22; field++) {
                p = strchr(p + 1, ' ');
        }
        if (!p)
                return 0;
        for (p++; *p >= '0' && *p <= '9'; p++)
                v = v * 10 + (uint64_t) (*p - '0');
        return v;
}

static uint64_t boottime_ticks(void)
{
        struct timespec ts;
        long hz = sysconf(_SC_CLK_TCK);

        (void) clock_gettime(CLOCK_BOOTTIME, &ts);
        if (hz <= 0)
                hz = 100;
        return (uint64_t) ts.tv_sec * (uint64_t) hz +
               (uint64_t) ts.tv_nsec / (1000000000u / (uint64_t) hz);
}

static int peer_get(int conn, uint64_t accepted_ticks, struct peer *p)
{
        struct ucred cred;
        socklen_t len = sizeof(cred);
        int pidfd = -1;

        p->pidfd = -1;
        if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        p->pid = cred.pid;
        p->uid = cred.uid;
        len = sizeof(pidfd);
        /* SO_PEERPIDFD pins the very process that connected: no pid-reuse race at all. */
        if (getsockopt(conn, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 && pidfd >= 0) {
                p->exact = true;
        } else {
                /* Kernels before 6.5: pin the pid now. A process that started after we accepted
                 * the connection cannot be the peer (its pid was reused), so it is refused; a
                 * pid reused between connect() and accept() remains possible (docs/broker.md). */
                uint64_t started;

                pidfd = (int) syscall(SYS_pidfd_open, cred.pid, 0);
                if (pidfd < 0)
                        return -errno;
                started = proc_start_ticks(cred.pid);
                if (started == 0 || started > accepted_ticks) {
                        (void) close(pidfd);
                        return -ESRCH;
                }
        }
        (void) fcntl(pidfd, F_SETFD, FD_CLOEXEC);
        p->pidfd = pidfd;
        return 0;
}

/* The pinned process is still alive, so /proc/<pid> read since then was really about it.
 * Signal 0 checks existence; EPERM (a non-root broker probing another user's process) still
 * means "exists": only ESRCH means it is gone. */
static bool peer_alive(const struct peer *p)
{
        return syscall(SYS_pidfd_send_signal, p->pidfd, 0, NULL, 0) == 0 || errno == EPERM;
}

static bool cgroup_matches(pid_t pid, const char *want)
{
        char path[64];
        _cleanup_close_ int fd = -1;
        _cleanup_buf_ struct buf b = BUF_INIT;
        struct ca_error err = {0};
        size_t wl = strlen(want);
        char *line;
        char *save = NULL;

        (void) snprintf(path, sizeof(path), "/proc/%d/cgroup", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fileio_read_fd(fd, CGROUP_FILE_MAX, &b, &err) < 0 || !b.data)
                return false;
        /* "hierarchy:controllers:path" per line; v1 hosts list several, v2 one ("0::"). */
        for (line = strtok_r(b.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                const char *p = strchr(line, ':');
                if (p)
                        p = strchr(p + 1, ':');
                if (!p)
                        continue;
                p++;
                if (strncmp(p, want, wl) == 0 && (p[wl] == '\0' || p[wl] == '/' || wl == 1))
                        return true;
        }
        return false;
}

/* 1: matches, 0: differs, -EACCES: cannot read the peer's executable (another user). */
static int binary_matches(pid_t pid, const uint8_t want[CAP_HASH_LEN])
{
        char path[64];
        _cleanup_close_ int fd = -1;
        struct digest_ctx *ctx;
        uint8_t md[DIGEST_SHA256_LEN];
        char chunk[65536];

        (void) snprintf(path, sizeof(path), "/proc/%d/exe", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == EACCES || errno == EPERM ? -EACCES : 0;
        ctx = digest_sha256_new();
        if (!ctx)
                return 0;
        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        if (n < 0) {
                                digest_free(ctx);
                                return 0;
                        }
                        break;
                }
                if (digest_update(ctx, chunk, (size_t) n) < 0) {
                        digest_free(ctx);
                        return 0;
                }
        }
        if (digest_final(ctx, md) < 0)
                return 0;
        return sodium_memcmp(md, want, CAP_HASH_LEN) == 0 ? 1 : 0;
}

/* ---- who holds the connection --------------------------------------------------------------- */

/*
 * The binary binding attests /proc/<pid>/exe of the process that connected. That process could
 * have exec'd the bound binary after connecting while a sibling, forked before the exec and
 * holding the same connection, reads the reply (issue 17). So a binary-bound redemption also
 * requires that the attested process is the only one holding the connection's other end: every
 * process that could (the session's cgroup subtree when the capability is bound to one, else
 * all of /proc) is scanned for that socket's inode (lib/sockdiag names it). Not covered
 * (docs/broker.md): a copy of
 * the socket in flight in an SCM_RIGHTS message at that moment, received afterwards.
 */

struct holders {
        char link[64];  /* "socket:[<inode>]" */
        pid_t found[2]; /* the first two holders */
        size_t n;
        bool unreadable; /* some process's fds could not be listed */
};

/* Does `pid` hold the socket? (Its fd table; a thread that unshared its table is not seen.) */
static void scan_pid(pid_t pid, struct holders *h)
{
        char path[64];
        int fd;
        DIR *dir;
        const struct dirent *de;

        (void) snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == EACCES || errno == EPERM)
                        h->unreadable = true;
                return;
        }
        dir = fdopendir(fd);
        if (!dir) {
                (void) close(fd);
                return;
        }
        while ((de = readdir(dir))) {
                char target[64];
                ssize_t n = readlinkat(dirfd(dir), de->d_name, target, sizeof(target) - 1);

                if (n <= 0)
                        continue;
                target[n] = '\0';
                if (strcmp(target, h->link) == 0) {
                        if (h->n < CA_ELEMENTSOF(h->found))
                                h->found[h->n] = pid;
                        h->n++;
                        break;
                }
        }
        (void) closedir(dir);
}

/* Every process of the cgroup subtree at `dir` (cgroup v2), depth-limited. */
static int scan_cgroup(int dir, unsigned depth, struct holders *h)
{
        _cleanup_close_ int procs = openat(dir, "cgroup.procs", O_RDONLY | O_CLOEXEC);
        _cleanup_buf_ struct buf b = BUF_INIT;
        DIR *d;
        const struct dirent *de;
        int dup;

        if (procs < 0 || fileio_read_fd(procs, (size_t) 1 << 20, &b, NULL) < 0)
                return -EIO;
        for (size_t i = 0; b.data && i < b.len;) {
                uint64_t pid = 0;

                while (i < b.len && b.data[i] >= '0' && b.data[i] <= '9')
                        pid = pid * 10 + (uint64_t) (b.data[i++] - '0');
                i++;
                if (pid > 0 && pid < INT32_MAX)
                        scan_pid((pid_t) pid, h);
        }
        if (depth >= 16)
                return 0;
        dup = fcntl(dir, F_DUPFD_CLOEXEC, 3);
        d = dup >= 0 ? fdopendir(dup) : NULL;
        if (!d) {
                if (dup >= 0)
                        (void) close(dup);
                return -EIO;
        }
        while ((de = readdir(d))) {
                _cleanup_close_ int sub = -1;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (sub >= 0 && scan_cgroup(sub, depth + 1, h) < 0) {
                        (void) closedir(d);
                        return -EIO;
                }
        }
        (void) closedir(d);
        return 0;
}

/*
 * 1 when the attested process alone holds the connection's other end, 0 when another process
 * holds it too (or it does not), -EACCES when the fds of a process could not be listed (a
 * non-root broker), -EIO when the connection could not be inspected.
 */
static int sole_holder(int conn, pid_t peer, const struct ledger_entry *e)
{
        struct holders h = {.n = 0};
        uint64_t ino = sockdiag_unix_peer_inode(conn);
        _cleanup_free_ char *cg = NULL;
        _cleanup_close_ int cgfd = -1;

        if (ino == 0)
                return -EIO;
        (void) snprintf(h.link, sizeof(h.link), "socket:[%llu]", (unsigned long long) ino);
        if (e->has_cgroup && asprintf(&cg, "/sys/fs/cgroup%s", e->cgroup) >= 0)
                cgfd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cgfd < 0 || scan_cgroup(cgfd, 0, &h) < 0) {
                /* No cgroup (v2) to scope it: every process. */
                int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                DIR *d = procfd >= 0 ? fdopendir(procfd) : NULL;
                const struct dirent *de;

                if (!d) {
                        if (procfd >= 0)
                                (void) close(procfd);
                        return -EIO;
                }
                h.n = 0;
                h.unreadable = false;
                while ((de = readdir(d)) && h.n < 2) {
                        uint64_t pid = 0;

                        if (parse_uint(de->d_name, 1, INT32_MAX, &pid) == 0)
                                scan_pid((pid_t) pid, &h);
                }
                (void) closedir(d);
        }
        if (h.n == 1 && h.found[0] == peer)
                return 1;
        if (h.n == 0 && h.unreadable)
                return -EACCES;
        return 0;
}

/* The count of a (session, reason) key's refusals not recorded, as an event of its own. */
static void deny_summary(const char *key, uint64_t suppressed, void *userdata)
{
        struct daemon *d = userdata;
        const char *slash = strchr(key, '/');
        char session[CAP_SESSION_MAX + 1];

        if (!slash || (size_t) (slash - key) > CAP_SESSION_MAX)
                return;
        (void) snprintf(session, sizeof(session), "%.*s", (int) (slash - key), key);
        event(d, AUDIT_CAPABILITY_DENIED, session,
              json_pack("{s:s, s:I, s:i, s:b}", "reason", slash + 1, "suppressed",
                        (json_int_t) suppressed, "interval_s", DENY_AGG_INTERVAL_S, "summary", 1));
}

static void deny(struct daemon *d, struct session_sock *s, int conn, const char *reason,
                 const struct capability *cap, const struct peer *p)
{
        json_t *fields = json_pack("{s:s, s:I, s:I}", "reason", reason, "uid",
                                   (json_int_t) p->uid, "pid", (json_int_t) p->pid);
        char id[2 * CAP_ID_LEN + 1];

        if (fields && cap && cap->stub[0]) {
                capability_id_hex(cap->id, id);
                (void) json_object_set_new(fields, "stub", json_string(cap->stub));
                (void) json_object_set_new(fields, "cap_id", json_string(id));
        }
        s->failures++;
        if (s->failures >= BROKER_BACKOFF_AFTER) {
                unsigned shift = s->failures - BROKER_BACKOFF_AFTER;
                uint64_t wait = shift >= 6 ? BROKER_BACKOFF_MAX : (uint64_t) 1 << shift;
                if (wait > BROKER_BACKOFF_MAX)
                        wait = BROKER_BACKOFF_MAX;
                s->backoff_until_ms = (uint64_t) clock_monotonic_ms() + wait * 1000;
        }
        /* A peer can repeat a refusal as fast as it likes (and backoff refusals cost nothing):
         * the first per session and reason in an interval is recorded, the rest are counted
         * and go with the next one (issue 17). */
        {
                char key[EVENTAGG_KEY_MAX];
                uint64_t suppressed = 0;

                (void) snprintf(key, sizeof(key), "%s/%s", s->name, reason);
                if (eventagg_admit(&d->agg, key, (uint64_t) clock_monotonic_ms(), &suppressed)) {
                        if (fields && suppressed) {
                                (void) json_object_set_new(fields, "suppressed",
                                                           json_integer((json_int_t) suppressed));
                                (void) json_object_set_new(fields, "interval_s",
                                                           json_integer(DENY_AGG_INTERVAL_S));
                        }
                        event(d, AUDIT_CAPABILITY_DENIED, s->name, fields);
                } else {
                        json_decref(fields);
                }
        }
        /* Across the trust boundary: a coarse code only; the reason is in the event log. */
        reply_error(conn, "denied", NULL);
}

/*
 * Whether the presented capability is one this broker recorded, carrying our MAC and saying
 * exactly what the record says, within its window, proven by its holder's key, not revoked,
 * and releasable to its stub. NULL, or the denial's reason with *about set to what it concerns
 * (nothing, the presented text, or the record). `key` gets the holder's proof key.
 */
static const char *verify_presented(struct daemon *d, const struct session_sock *s,
                                    const struct broker_request *req, const char *label,
                                    struct capability *presented,
                                    struct ledger_entry *e, uint8_t key[CAP_KEY_LEN],
                                    const struct capability **about)
{
        const struct capability *cap = &e->cap; /* what was issued: the only truth here */
        struct ca_error err = {0};
        uint8_t mac[CAP_KEY_LEN];
        uint8_t expect[CAP_MAC_LEN];
        uint64_t now = now_s();
        enum cap_status st = capability_parse(req->capability, presented);

        *about = NULL;
        if (st != CAP_OK)
                return capability_status_name(st);
        /* The socket names the session: a capability of another session is refused here. */
        *about = presented;
        if (strcmp(presented->session, s->name) != 0)
                return "wrong-session";
        /* Only an id this broker recorded is honoured, and from here on only its record. */
        if (ledger_lookup(d->ledger, presented->id, e, &err) < 0)
                return "unknown-capability";
        *about = cap;
        if (store_capability_keys(d->store, cap, mac, key, &err) < 0)
                return "broker-error";
        st = capability_verify(req->capability, mac, now, presented);
        sodium_memzero(mac, sizeof(mac));
        if (st == CAP_OK && !capability_equal(presented, cap))
                st = CAP_BAD_MAC;
        if (st == CAP_OK && now < cap->not_before)
                st = CAP_NOT_YET_VALID;
        if (st == CAP_OK && now >= cap->expiry)
                st = CAP_EXPIRED;
        if (st != CAP_OK)
                return capability_status_name(st);
        broker_proof(key, label, req->nonce, cap->id, expect);
        if (sodium_memcmp(expect, req->proof, CAP_MAC_LEN) != 0)
                return "bad-proof";
        if (ledger_is_revoked(d->ledger, cap->id, cap->session))
                return "revoked";
        for (size_t i = 0; i < cap->nsecrets; i++) {
                if (reserved_refused(cap->stub, cap->secrets[i]))
                        return "reserved-secret";
        }
        return NULL;
}

/* Whether the peer is what the capability was issued to: its uid, then its cgroup, then its
 * executable, alone on the connection, still the same process. NULL, or the reason. */
static const char *attest_peer(int conn, const struct ledger_entry *e, const struct peer *p)
{
        const struct capability *cap = &e->cap;

        if (p->uid != e->uid)
                return "wrong-uid";
        if (e->has_cgroup && !cgroup_matches(p->pid, e->cgroup))
                return "wrong-cgroup";
        if (cap->has_binary) {
                int b = binary_matches(p->pid, cap->binary_sha256);

                /* A broker that may not read another user's /proc/<pid>/exe rests on uid +
                 * cgroup + pidfd (+ the image digest checked at launch): only when the session
                 * is bound to a cgroup. */
                if (b == 0 || (b == -EACCES && !e->has_cgroup))
                        return b == 0 ? "wrong-binary" : "unattestable";
                /* ... and that process alone holds this connection (no exec-and-fork). */
                if (b == 1) {
                        int h = sole_holder(conn, p->pid, e);

                        if (h == 0 || h == -EIO || (h == -EACCES && !e->has_cgroup))
                                return h == 0 ? "shared-socket" : "unattestable";
                }
        }
        return peer_alive(p) ? NULL : "peer-exited";
}

/* The capability's secrets as sealed memfds (`fds`, their names in `names`). NULL, or the
 * reason (nothing is left open then). */
static const char *open_secrets(struct daemon *d, const struct capability *cap, int *fds,
                                size_t *nfds, json_t *names)
{
        struct ca_error err = {0};

        for (size_t i = 0; i < cap->nsecrets; i++) {
                struct ca_secret *v = NULL;
                int fd = -1;

                if (store_get(d->store, cap->secrets[i], &v, &err) == 0)
                        fd = broker_secret_memfd(v, &err);
                secret_free(v);
                if (fd < 0 || json_array_append_new(names, json_string(cap->secrets[i])) < 0) {
                        if (fd >= 0)
                                (void) close(fd);
                        for (size_t k = 0; k < *nfds; k++)
                                (void) close(fds[k]);
                        *nfds = 0;
                        return "secret-unavailable";
                }
                fds[(*nfds)++] = fd;
        }
        return NULL;
}

/*
 * Redemptions are served in batches (group commit): every connection waiting on the session
 * sockets when poll() returns is verified and attested, the uses of those that pass are made
 * durable together (one journal write and one fdatasync), and only then is each one answered.
 */
#define REDEEM_BATCH 64

struct redeem {
        int conn;
        char session[CAP_SESSION_MAX + 1];
        struct broker_request req;
        struct peer p;
        struct capability presented; /* what a denial may be about: it outlives the check */
        struct ledger_entry e;
        uint8_t key[CAP_KEY_LEN];
};

static void redeem_clear(struct redeem *r)
{
        sodium_memzero(r->key, sizeof(r->key));
        broker_request_clear(&r->req);
        if (r->p.pidfd >= 0)
                (void) close(r->p.pidfd);
        if (r->conn >= 0)
                (void) close(r->conn);
        r->conn = r->p.pidfd = -1;
}

/* Everything but the claim: NULL when the redemption may go on to it (then the session's
 * quota already counts it), else the denial's reason with *about set. */
static const char *redeem_check(struct daemon *d, struct session_sock *s, struct redeem *r,
                                const struct capability **about)
{
        const char *why = NULL;

        *about = NULL;
        if ((uint64_t) clock_monotonic_ms() < s->backoff_until_ms)
                why = "backoff";
        if (!why)
                why = verify_presented(d, s, &r->req, NULL, &r->presented, &r->e, r->key, about);
        if (!why && (why = attest_peer(r->conn, &r->e, &r->p)))
                *about = &r->e.cap;
        if (!why && s->redemptions >= BROKER_SESSION_REDEMPTIONS)
                why = "quota";
        if (!why)
                s->redemptions++;
        return why;
}

/* After the claim: the secrets, if the peer is still the process that was attested. */
static void redeem_finish(struct daemon *d, struct session_sock *s, struct redeem *r, int use)
{
        const struct capability *cap = &r->e.cap;
        _cleanup_json_ json_t *names = json_array();
        uint8_t expect[CAP_MAC_LEN];
        char proof_hex[2 * CAP_MAC_LEN + 1];
        char id[2 * CAP_ID_LEN + 1];
        int fds[CAP_MAX_SECRETS];
        size_t nfds = 0;
        const char *why = NULL;

        if (use < 0)
                why = use == -EALREADY ? "already-used" : "broker-error";
        /* The batch took a moment: the attested process must still hold the connection's
         * other end (the use stays burned when it does not). */
        if (!why && !peer_alive(&r->p))
                why = "peer-exited";
        if (!why && !names)
                why = "broker-error";
        if (!why)
                why = open_secrets(d, cap, fds, &nfds, names);
        if (why) {
                s->redemptions--;
                deny(d, s, r->conn, why, cap, &r->p);
                return;
        }
        broker_proof(r->key, "broker", r->req.nonce, cap->id, expect);
        sodium_bin2hex(proof_hex, sizeof(proof_hex), expect, sizeof(expect));
        s->failures = 0;
        capability_id_hex(cap->id, id);
        event(d, AUDIT_CAPABILITY_REDEEMED, cap->session,
              json_pack("{s:s, s:s, s:O, s:I, s:I, s:i, s:b}", "stub", cap->stub, "cap_id", id,
                        "secrets", names, "uid", (json_int_t) r->p.uid, "pid",
                        (json_int_t) r->p.pid, "use", use, "pidfd_exact", r->p.exact));
        reply(r->conn, json_pack("{s:b, s:O, s:s}", "ok", 1, "secrets", names, "proof",
                                 proof_hex),
              fds, nfds);
        for (size_t k = 0; k < nfds; k++)
                (void) close(fds[k]);
}

/* Claims the batch's uses with one durable write, then answers each redemption. */
static void redeem_batch(struct daemon *d, struct redeem *rs, size_t n)
{
        struct uselog_claim c[REDEEM_BATCH];
        struct ca_error err = {0};

        if (n == 0)
                return;
        for (size_t i = 0; i < n; i++) {
                memcpy(c[i].id, rs[i].e.cap.id, CAP_ID_LEN);
                c[i].max_uses = rs[i].e.cap.max_uses;
        }
        /* On failure every result carries the error: no secret leaves. */
        if (ledger_claim_uses(d->ledger, c, n, &err) < 0)
                log_warn("cannot record %zu capability use%s: %s", n, n == 1 ? "" : "s",
                         err.msg);
        for (size_t i = 0; i < n; i++) {
                struct session_sock *s = session_find(d, rs[i].session);

                if (s)
                        redeem_finish(d, s, &rs[i], c[i].result);
                redeem_clear(&rs[i]);
        }
}

/* Remembers that `session` updated `name` (the oldest record gives way when full). */
static void remember_update(struct daemon *d, const char *session, const char *name)
{
        struct updated *u = NULL;

        for (size_t i = 0; i < d->nupdated && !u; i++)
                if (strcmp(d->updated[i].session, session) == 0 &&
                    strcmp(d->updated[i].name, name) == 0)
                        u = &d->updated[i];
        if (!u && d->nupdated == MAX_UPDATED) {
                memmove(d->updated, d->updated + 1, (MAX_UPDATED - 1) * sizeof(*d->updated));
                d->nupdated--;
        }
        if (!u)
                u = &d->updated[d->nupdated++];
        (void) snprintf(u->session, sizeof(u->session), "%s", session);
        (void) snprintf(u->name, sizeof(u->name), "%s", name);
}

/*
 * A refreshed login from the model helper: the capability is verified and its holder attested
 * exactly as for a redemption (no use is consumed), it must be the model helper's own
 * (names_launcher_stub "model-api") and grant `name`; the store then holds the new content.
 */
static void op_update(struct daemon *d, struct session_sock *s, int conn,
                      const struct broker_request *req, const struct peer *p)
{
        struct capability presented;
        struct ledger_entry e;
        const struct capability *cap = &e.cap, *about = NULL;
        struct ca_error err = {0};
        struct ca_secret *v = NULL;
        uint8_t key[CAP_KEY_LEN];
        char id[2 * CAP_ID_LEN + 1];
        const char *why = NULL;
        bool granted = false;

        memset(&presented, 0, sizeof(presented));
        memset(&e, 0, sizeof(e));
        memset(key, 0, sizeof(key));
        if ((uint64_t) clock_monotonic_ms() < s->backoff_until_ms)
                why = "backoff";
        if (!why)
                why = verify_presented(d, s, req, "update", &presented, &e, key, &about);
        sodium_memzero(key, sizeof(key));
        if (!why && (why = attest_peer(conn, &e, p)))
                about = cap;
        for (size_t i = 0; !why && i < cap->nsecrets; i++)
                granted |= strcmp(cap->secrets[i], req->name) == 0;
        if (!why && (strcmp(cap->stub, "model-api") != 0 || !granted))
                why = "not-updatable";
        if (!why && s->updates >= BROKER_SESSION_UPDATES)
                why = "quota";
        if (!why && !(v = secret_new_from(req->value, req->value_len)))
                why = "broker-error";
        if (!why && store_put(d->store, req->name, v, &err) < 0)
                why = "broker-error";
        secret_free(v);
        if (why) {
                deny(d, s, conn, why, about, p);
                return;
        }
        s->updates++;
        remember_update(d, cap->session, req->name);
        capability_id_hex(cap->id, id);
        event(d, AUDIT_CREDENTIAL_UPDATED, cap->session,
              json_pack("{s:s, s:s, s:s, s:I}", "stub", cap->stub, "cap_id", id, "secret",
                        req->name, "uid", (json_int_t) p->uid));
        reply(conn, json_pack("{s:b}", "ok", 1), NULL, 0);
}

/*
 * One connection on a session socket: an update is served at once; a redemption that passes
 * every check is queued in `r` for the batch's claim (returns 1; `r` then owns the
 * connection), else it was answered here (returns 0; the caller closes `conn`).
 */
static int handle_session(struct daemon *d, struct session_sock *s, int conn, struct redeem *r)
{
        struct ca_error err = {0};
        const struct capability *about = NULL;
        char buf[BROKER_MSG_MAX + 1];
        uint64_t accepted = boottime_ticks();
        const char *why;
        int n;

        memset(r, 0, sizeof(*r));
        r->conn = r->p.pidfd = -1;
        /* No descriptors are accepted from session peers. */
        n = broker_recv(conn, buf, NULL, 0, NULL, &err);
        if (n < 0)
                return 0;
        if (peer_get(conn, accepted, &r->p) < 0) {
                reply_error(conn, "denied", NULL);
                return 0;
        }
        if (broker_request_parse(buf, (size_t) n, &r->req, &err) < 0 ||
            (r->req.op != BROKER_OP_REDEEM && r->req.op != BROKER_OP_UPDATE)) {
                if (r->req.json)
                        broker_request_clear(&r->req);
                deny(d, s, conn, "bad-request", NULL, &r->p);
                (void) close(r->p.pidfd);
                return 0;
        }
        if (r->req.op == BROKER_OP_UPDATE) {
                op_update(d, s, conn, &r->req, &r->p);
                broker_request_clear(&r->req);
                (void) close(r->p.pidfd);
                return 0;
        }
        r->conn = conn;
        why = redeem_check(d, s, r, &about);
        if (why) {
                deny(d, s, conn, why, about, &r->p);
                r->conn = -1; /* the caller closes it */
                redeem_clear(r);
                return 0;
        }
        (void) snprintf(r->session, sizeof(r->session), "%s", s->name);
        return 1;
}

/* ---- main loop ---------------------------------------------------------------------------- */

static int accept_one(int listener)
{
        int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        struct timeval tv = {.tv_sec = 2};

        if (conn < 0)
                return -errno;
        /* A silent or slow peer cannot stall the daemon for long. */
        (void) setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        (void) setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        return conn;
}

static int next_timeout_ms(const struct daemon *d)
{
        uint64_t now = now_s();
        uint64_t next = UINT64_MAX;

        for (size_t i = 0; i < d->nsess; i++) {
                if (d->sess[i].expiry < next)
                        next = d->sess[i].expiry;
        }
        if (next == UINT64_MAX)
                return -1;
        if (next <= now)
                return 0;
        return next - now > 3600 ? 3600 * 1000 : (int) ((next - now) * 1000);
}

/*
 * The session sockets poll() found ready: every waiting connection is taken (up to a batch),
 * checked, and the redemptions among them claimed together. Sockets are found by descriptor,
 * since handlers may close sessions and reorder the table.
 */
static void serve_sessions(struct daemon *d, const struct pollfd *pfd, size_t n)
{
        struct redeem *batch = d->batch;
        size_t queued = 0;

        for (size_t i = 0; i < n; i++) {
                struct session_sock *s = NULL;

                if (!(pfd[i].revents & POLLIN))
                        continue;
                for (size_t k = 0; k < d->nsess; k++) {
                        if (d->sess[k].fd == pfd[i].fd)
                                s = &d->sess[k];
                }
                while (s && queued < REDEEM_BATCH) {
                        int conn = accept_one(s->fd);

                        if (conn < 0)
                                break;
                        if (handle_session(d, s, conn, &batch[queued]))
                                queued++;
                        else
                                (void) close(conn);
                }
        }
        redeem_batch(d, batch, queued);
}

static int serve(struct daemon *d)
{
        for (;;) {
                struct pollfd pfd[2 + MAX_SESSIONS];
                size_t n = 0;
                int r;

                expire_sessions(d);
                eventagg_flush(&d->agg, (uint64_t) clock_monotonic_ms(), false, deny_summary, d);
                pfd[n++] = (struct pollfd) {.fd = d->sigfd, .events = POLLIN};
                pfd[n++] = (struct pollfd) {.fd = d->admin, .events = POLLIN};
                for (size_t i = 0; i < d->nsess; i++)
                        pfd[n++] = (struct pollfd) {.fd = d->sess[i].fd, .events = POLLIN};
                r = poll(pfd, n, next_timeout_ms(d));
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (pfd[0].revents) {
                        struct signalfd_siginfo si;
                        if (read(d->sigfd, &si, sizeof(si)) == (ssize_t) sizeof(si))
                                return 0;
                }
                if (pfd[1].revents & POLLIN) {
                        int conn = accept_one(d->admin);
                        if (conn >= 0) {
                                handle_admin(d, conn);
                                (void) close(conn);
                        }
                }
                serve_sessions(d, pfd + 2, n - 2);
        }
}

static void daemon_clear(struct daemon *d)
{
        while (d->nsess > 0)
                session_close(d, d->nsess - 1);
        if (d->admin >= 0) {
                (void) close(d->admin);
                if (!d->activated)
                        (void) unlink(d->admin_path);
        }
        if (d->sigfd >= 0)
                (void) close(d->sigfd);
        ledger_close(d->ledger);
        store_close(d->store);
        audit_close(d->log);
        if (d->lockfd >= 0)
                (void) close(d->lockfd);
        free(d->dir);
        free(d->admin_path);
        free(d->batch);
}

int broker_daemon_run(const char *config_root, int ready_fd, struct ca_error *err)
{
        struct daemon d = {.root = config_root, .lockfd = -1, .admin = -1, .sigfd = -1};
        _cleanup_free_ char *log_path = NULL;
        sigset_t mask;
        int sdir;
        int r;

        log_init("coding-agents broker");
        eventagg_init(&d.agg, (uint64_t) DENY_AGG_INTERVAL_S * 1000, DENY_AGG_BURST, deny_summary, &d);
        /* Secrets pass through this process: no core dumps, no ptrace by the same user. */
        (void) umask(077);
        if (secret_protect_process(false) < 0)
                log_warn("cannot protect the process, ignoring");

        d.dir = broker_dir(config_root);
        d.admin_path = broker_admin_socket(config_root);
        log_path = paths_events_log(config_root);
        d.batch = calloc(REDEEM_BATCH, sizeof(*d.batch));
        if (!d.dir || !d.admin_path || !log_path || !d.batch) {
                r = ca_error_setx(err, ENOMEM, "out of memory");
                goto out;
        }
        r = store_open(d.dir, true, &d.store, err);
        if (r < 0)
                goto out;
        sdir = store_dirfd(d.store);
        d.lockfd = openat(sdir, "daemon.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (d.lockfd < 0) {
                r = ca_error_set(err, errno, "cannot open the daemon lock");
                goto out;
        }
        if (flock(d.lockfd, LOCK_EX | LOCK_NB) < 0) {
                r = errno == EWOULDBLOCK
                            ? ca_error_setx(err, EALREADY,
                                            "a broker is already running for '%s'", config_root)
                            : ca_error_set(err, errno, "cannot take the daemon lock");
                goto out;
        }
        r = ledger_open(sdir, &d.ledger, err);
        if (r < 0)
                goto out;
        r = audit_open(log_path, &d.log, err);
        if (r < 0)
                goto out;
        if ((mkdirat(sdir, "run", 0700) < 0 && errno != EEXIST) ||
            (mkdirat(sdir, "run/sessions", 0700) < 0 && errno != EEXIST)) {
                r = ca_error_set(err, errno, "cannot create the socket directory");
                goto out;
        }
        /* Under systemd (a socket unit) the listening socket is passed in and stays systemd's;
         * elsewhere the daemon binds it itself. */
        d.admin = usock_listen_passed(d.admin_path, 0600, err);
        d.activated = d.admin >= 0;
        if (d.admin == -ENOENT)
                d.admin = usock_listen(d.admin_path, 0600, err);
        if (d.admin < 0) {
                r = d.admin;
                goto out;
        }
        /* After a restart, sessions with live capabilities get their sockets back. */
        r = ledger_foreach(d.ledger, restore_one, &d, err);
        if (r < 0)
                goto out;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        (void) signal(SIGPIPE, SIG_IGN);
        d.sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
        if (d.sigfd < 0) {
                r = ca_error_set(err, errno, "signalfd failed");
                goto out;
        }
        event(&d, AUDIT_BROKER_START, NULL,
              json_pack("{s:i, s:I}", "pid", (int) getpid(), "sessions", (json_int_t) d.nsess));
        if (ready_fd >= 0) {
                if (fileio_write_all(ready_fd, "1", 1) < 0)
                        log_warn("cannot signal readiness, ignoring");
                (void) close(ready_fd);
                ready_fd = -1;
        }
        r = serve(&d);
        if (r < 0)
                r = ca_error_set(err, -r, "poll failed");
        eventagg_flush(&d.agg, (uint64_t) clock_monotonic_ms(), true, deny_summary, &d);
        event(&d, AUDIT_BROKER_STOP, NULL, json_pack("{s:i}", "pid", (int) getpid()));
out:
        if (ready_fd >= 0)
                (void) close(ready_fd);
        daemon_clear(&d);
        return r;
}
