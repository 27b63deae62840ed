/* SPDX-License-Identifier: MIT */
/*
 * exec-guard: what the agent CLI's process tree may execute (ARCHITECTURE §8b; the list is in
 * container/lib/execguard.c).
 *
 * Run as claude, codex or copilot (the image's /usr/local/bin entries link to it) by the CLI's
 * UID, it is the CLI's launcher: it loads a seccomp filter whose execve and execveat become user
 * notifications, hands the filter's listener to the supervisor (IMAGE_GUARD_SOCKET) and waits
 * until it has taken it, restricts execution with Landlock to the same list, closes the listener
 * and execs the real CLI. No supervisor: the CLI does not start (exit 126). A process already
 * supervised (a CLI its tree starts again: the kernel allows one listener per tree) and any other
 * UID exec the real CLI at once.
 *
 * Run as `exec-guard --supervise`, as root (agent-init starts it before the agent), it answers
 * the notifications of every listener handed to it by the client UID: for each exec it reads the
 * path from the caller's memory, opens that file as the caller would (the caller's directory or
 * descriptor, its file-system UID and GID), checks the notification is still valid, and answers
 * from the file it opened, not from the path: on the list, the kernel goes on with the exec (the
 * shell shim's: exec-routed); off it, EACCES (exec-denied). A path the caller changes in its
 * memory after it was read (the notification's time-of-check race) meets the kernel's own
 * Landlock check on the file the exec actually opens: it cannot reach a file off the list.
 * Events are aggregated per program and verdict; they carry the program's name and path, never
 * arguments or environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/landlock.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "audit.h"
#include "cleanup.h"
#include "clock.h"
#include "error.h"
#include "eventagg.h"
#include "execguard.h"
#include "image.h"
#include "json.h"
#include "log.h"
#include "parse.h"
#include "runproto.h"

#define MAX_LISTENERS 64
#define AGG_INTERVAL_S 60

static const char usage[] =
        "usage: exec-guard --supervise --listen PATH --client-uid UID --client-gid GID\n"
        "                  [--events FILE] [--session ID]\n"
        "       claude|codex|copilot [ARG...]   (as the image's links to it)\n"
        "\n"
        "--supervise: answers the exec notifications of the agent CLI's process trees, whose\n"
        "launchers (this program run as a CLI's name) hand it their seccomp listener on PATH\n"
        "(0600, for UID only). Execs of the CLIs' own files, node, env, git and the shell shim go\n"
        "on; anything else gets EACCES. exec-routed and exec-denied events go to FILE. Until\n"
        "SIGTERM.\n";

/* ---- the launcher (the CLI's UID) -------------------------------------------------------- */

static void say(const char *msg, const char *arg)
{
        (void) fprintf(stderr, "exec-guard: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
}

/* The ELF interpreter (PT_INTERP) of `path` into `out`, or "" (Landlock checks it too). */
static void elf_interp(const char *path, char *out, size_t size)
{
        struct {
                unsigned char ident[16];
                uint16_t type, machine;
                uint32_t version;
                uint64_t entry, phoff, shoff;
                uint32_t flags;
                uint16_t ehsize, phentsize, phnum;
        } eh;
        struct {
                uint32_t type, flags;
                uint64_t offset, vaddr, paddr, filesz, memsz, align;
        } ph;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

        *out = '\0';
        if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != (ssize_t) sizeof(eh) ||
            memcmp(eh.ident, "\177ELF\2", 5) != 0 || eh.phentsize != sizeof(ph))
                return;
        for (uint16_t i = 0; i < eh.phnum; i++) {
                if (pread(fd, &ph, sizeof(ph), (off_t) (eh.phoff + (uint64_t) i * sizeof(ph))) !=
                    (ssize_t) sizeof(ph))
                        return;
                if (ph.type == 3 /* PT_INTERP */ && ph.filesz > 1 && ph.filesz < size) {
                        if (pread(fd, out, ph.filesz, (off_t) ph.offset) != (ssize_t) ph.filesz)
                                *out = '\0';
                        out[ph.filesz] = '\0';
                        return;
                }
        }
}

static void landlock_allow(int ruleset, const char *path)
{
        struct landlock_path_beneath_attr pb = {.allowed_access = LANDLOCK_ACCESS_FS_EXECUTE};
        _cleanup_close_ int fd = open(path, O_PATH | O_CLOEXEC);

        if (fd < 0)
                return; /* not in this image (git's helpers, say): nothing to allow */
        pb.parent_fd = fd;
        if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
                say("landlock rule", strerror(errno));
}

/* Execution beneath the list only (and the loader node needs), for this process and its tree:
 * 1. A kernel without Landlock leaves the notification alone (said on stderr): 0. */
static int landlock_restrict(void)
{
        struct landlock_ruleset_attr attr = {.handled_access_fs = LANDLOCK_ACCESS_FS_EXECUTE};
        char interp[256];
        int rs = (int) syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);

        if (rs < 0) {
                if (errno == ENOSYS || errno == EOPNOTSUPP) {
                        say("this kernel has no Landlock: the exec check rests on the "
                            "notification alone", NULL);
                        return 0;
                }
                return -errno;
        }
        for (size_t i = 0; i < guard_list_len; i++)
                landlock_allow(rs, guard_list[i].path);
        elf_interp("/usr/local/bin/node", interp, sizeof(interp));
        if (*interp)
                landlock_allow(rs, interp);
        if (syscall(SYS_landlock_restrict_self, rs, 0) < 0) {
                int e = -errno;

                (void) close(rs);
                return e;
        }
        (void) close(rs);
        return 1;
}

/* Hands the listener to the supervisor (with whether Landlock holds the tree too) and waits
 * for its word that it took it. */
static int hand_over(int listener, bool landlocked)
{
        char cbuf[CMSG_SPACE(sizeof(int))] = {0};
        char byte = landlocked ? 'L' : 'N', ack = 0;
        struct iovec iov = {.iov_base = &byte, .iov_len = 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                             .msg_controllen = sizeof(cbuf)};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        _cleanup_close_ int fd = run_connect(IMAGE_GUARD_SOCKET);

        if (fd < 0)
                return fd;
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &listener, sizeof(int));
        if (sendmsg(fd, &msg, MSG_NOSIGNAL) != 1)
                return -errno;
        for (;;) {
                ssize_t r = read(fd, &ack, 1);

                if (r == 1 && ack == 'K')
                        return 0;
                if (r < 0 && errno == EINTR)
                        continue;
                return -EPROTO;
        }
}

CA_NORETURN static void launch(const char *cli, char **argv)
{
        char real[PATH_MAX];
        scmp_filter_ctx ctx;
        bool landlocked;
        int rc, listener;

        (void) snprintf(real, sizeof(real), "%s/node_modules/.bin/%s", IMAGE_AGENTS_DIR, cli);
        if (getuid() != (uid_t) IMAGE_AGENTCLI_UID)
                goto exec;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
                say("no_new_privs", strerror(errno));
                _exit(126);
        }
        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(execve), 0) < 0 ||
            seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(execveat), 0) < 0) {
                say("cannot build the exec filter", NULL);
                _exit(126);
        }
        rc = seccomp_load(ctx);
        if (rc == -EBUSY) {
                /* A listener above: this tree is supervised already. */
                seccomp_release(ctx);
                goto exec;
        }
        listener = rc < 0 ? -1 : seccomp_notify_fd(ctx);
        if (rc < 0 || listener < 0) {
                say("cannot load the exec filter", strerror(rc < 0 ? -rc : EBADF));
                _exit(126);
        }
        rc = landlock_restrict();
        if (rc < 0) {
                say("landlock", strerror(-rc));
                _exit(126);
        }
        landlocked = rc == 1;
        rc = hand_over(listener, landlocked);
        (void) close(listener);
        seccomp_release(ctx);
        if (rc < 0) {
                say("the exec supervisor is not there; the agent CLI runs only under it",
                    strerror(-rc));
                _exit(126);
        }
exec:
        (void) execv(real, argv);
        say("cannot run the agent CLI", strerror(errno));
        _exit(127);
}

/* ---- the supervisor (root) -------------------------------------------------------------- */

struct guard {
        uid_t client;
        gid_t client_gid;
        const char *events;
        const char *session;
        int sock;
        int listeners[MAX_LISTENERS];
        bool landlocked[MAX_LISTENERS]; /* the tree's launcher applied Landlock */
        size_t n;
        bool unreadable_said;
        struct eventagg agg;
        int execve_nr, execveat_nr;
};

static void emit(struct guard *g, enum audit_type type, json_t *fields)
{
        struct ca_error err = {0};

        if (fields && g->events && audit_emit(g->events, type, g->session, fields, &err) < 0)
                log_warn("event: %s", err.msg);
        json_decref(fields);
}

/* A verdict's event, at most AGG burst per program and interval, then with the count. */
static void record(struct guard *g, enum guard_verdict v, const char *name, const char *path,
                   const char *reason)
{
        char key[EVENTAGG_KEY_MAX];
        uint64_t suppressed = 0;
        json_t *f;

        (void) snprintf(key, sizeof(key), "%c/%.80s", v == GUARD_ROUTE ? 'r' : 'd', name);
        if (!eventagg_admit(&g->agg, key, (uint64_t) clock_monotonic_ms(), &suppressed))
                return;
        f = json_pack("{s:s, s:s}", "program", name, "path", path);
        if (f && reason)
                (void) json_object_set_new(f, "reason", json_string(reason));
        if (f && suppressed) {
                (void) json_object_set_new(f, "suppressed", json_integer((json_int_t) suppressed));
                (void) json_object_set_new(f, "interval_s", json_integer(AGG_INTERVAL_S));
        }
        emit(g, v == GUARD_ROUTE ? AUDIT_EXEC_ROUTED : AUDIT_EXEC_DENIED, f);
}

/* The pending counts of a flush: one event each, with what was not recorded. */
static void flushed(const char *key, uint64_t suppressed, void *userdata)
{
        struct guard *g = userdata;

        if (suppressed)
                emit(g, key[0] == 'r' ? AUDIT_EXEC_ROUTED : AUDIT_EXEC_DENIED,
                     json_pack("{s:s, s:I, s:i}", "program", key + 2, "suppressed",
                               (json_int_t) suppressed, "interval_s", AGG_INTERVAL_S));
}

/* Opens with the client's file-system identity (its memory, its directory, its files). */
static int open_as_client(const struct guard *g, const char *path, int flags)
{
        int fd, e;

        (void) setfsgid(g->client_gid);
        (void) setfsuid(g->client);
        fd = open(path, flags | O_CLOEXEC);
        e = errno;
        (void) setfsuid(0);
        (void) setfsgid(0);
        errno = e;
        return fd;
}

/*
 * The verdict for one notification, from the file it names as the caller would open it. On
 * GUARD_DENY *ret_errno is what the caller receives (a missing file: ENOENT, quietly, as a PATH
 * search meets it); `canonical` and `name` say what it was.
 */
static enum guard_verdict judge(struct guard *g, int lfd, const struct seccomp_notif *req,
                                int *ret_errno, char *canonical, size_t csize, char *name,
                                size_t nsize, const char **ret_reason)
{
        bool at = req->data.nr == g->execveat_nr;
        char path[PATH_MAX], target[PATH_MAX + 64], mem[64], self[64];
        _cleanup_close_ int memfd = -1, fd = -1;
        int flags = at ? (int) req->data.args[4] : 0;
        struct stat st;
        ssize_t n;

        *ret_errno = EACCES;
        *ret_reason = NULL;
        (void) snprintf(canonical, csize, "?");
        (void) snprintf(name, nsize, "?");
        (void) snprintf(mem, sizeof(mem), "/proc/%u/mem", req->pid);
        memfd = open_as_client(g, mem, O_RDONLY);
        /* The pid is the caller's only while the notification stands. */
        if (memfd < 0 || seccomp_notify_id_valid(lfd, req->id) < 0) {
                *ret_errno = memfd < 0 ? errno : ESRCH;
                *ret_reason = "its memory cannot be read";
                return GUARD_DENY;
        }
        n = guard_read_string(memfd, req->data.args[at ? 1 : 0], path, sizeof(path));
        if (n < 0) {
                *ret_reason = "its path cannot be read";
                *ret_errno = n == -ENAMETOOLONG ? ENAMETOOLONG : EFAULT;
                return GUARD_DENY;
        }
        guard_program_name(path, name, nsize);
        if (guard_target((pid_t) req->pid, at, at ? (int) req->data.args[0] : AT_FDCWD, path,
                         flags, target, sizeof(target)) < 0) {
                *ret_errno = ENOENT;
                return GUARD_DENY;
        }
        fd = open_as_client(g, target, O_PATH | ((flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0));
        if (fd < 0) {
                *ret_errno = errno == ELOOP && (flags & AT_SYMLINK_NOFOLLOW) ? ELOOP : errno;
                return GUARD_DENY;
        }
        (void) snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
        n = readlink(self, canonical, csize - 1);
        if (n <= 0 || fstat(fd, &st) < 0) {
                (void) snprintf(canonical, csize, "?");
                *ret_reason = "its file cannot be named";
                return GUARD_DENY;
        }
        canonical[n] = '\0';
        if (!S_ISREG(st.st_mode)) {
                *ret_reason = "not a regular file";
                return GUARD_DENY;
        }
        if (guard_decide(canonical) == GUARD_DENY) {
                *ret_reason = "not on the agent CLI's list";
                return GUARD_DENY;
        }
        return guard_decide(canonical);
}

static void answer(struct guard *g, size_t i)
{
        int lfd = g->listeners[i];
        struct seccomp_notif *req = NULL;
        struct seccomp_notif_resp *resp = NULL;
        char canonical[PATH_MAX], name[72];
        const char *reason = NULL;
        enum guard_verdict v;
        int err = 0;

        if (seccomp_notify_alloc(&req, &resp) < 0)
                return;
        if (seccomp_notify_receive(lfd, req) < 0)
                goto out;
        v = judge(g, lfd, req, &err, canonical, sizeof(canonical), name, sizeof(name), &reason);
        /* A host policy (AppArmor's ptrace rules) that keeps even us from reading the caller:
         * with Landlock on the tree, the kernel's check of the file decides alone, without
         * events; without it, nothing runs. */
        if (v == GUARD_DENY && (err == EACCES || err == EPERM) && reason &&
            strcmp(reason, "its memory cannot be read") == 0) {
                if (!g->unreadable_said)
                        log_warn("cannot read the agent CLI's memory (%s): %s", strerror(err),
                                 g->landlocked[i] ? "Landlock alone decides its execs, without events"
                                                  : "no Landlock either: its execs are refused");
                g->unreadable_said = true;
                if (g->landlocked[i]) {
                        v = GUARD_ALLOW;
                        reason = NULL;
                }
        }
        err = err ? err : EACCES;
        if (v == GUARD_ROUTE || (v == GUARD_DENY && reason))
                record(g, v, name, canonical, reason);
        resp->id = req->id;
        if (v == GUARD_DENY) {
                resp->error = -err;
        } else {
                resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        }
        /* A notification that ended (the caller died or was interrupted) has no one to answer. */
        if (seccomp_notify_id_valid(lfd, req->id) == 0)
                (void) seccomp_notify_respond(lfd, resp);
out:
        seccomp_notify_free(req, resp);
}

/* Takes the listener a launcher hands over: the client UID's, a seccomp listener, one. */
static void take(struct guard *g)
{
        char byte = 0, cbuf[CMSG_SPACE(sizeof(int))] = {0}, link[64], what[64];
        struct iovec iov = {.iov_base = &byte, .iov_len = 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                             .msg_controllen = sizeof(cbuf)};
        struct ucred cred;
        socklen_t len = sizeof(cred);
        _cleanup_close_ int conn = accept4(g->sock, NULL, NULL, SOCK_CLOEXEC);
        struct cmsghdr *c;
        int fd = -1;
        ssize_t n;

        const struct timeval patience = {.tv_sec = 2};

        if (conn < 0 || getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
            cred.uid != g->client)
                return;
        /* A client that connects and says nothing must not hold every exec up. */
        (void) setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience));
        if (recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) != 1)
                return;
        c = CMSG_FIRSTHDR(&msg);
        if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
                return;
        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        (void) snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, what, sizeof(what) - 1);
        if (n <= 0 || (what[n] = '\0', strcmp(what, "anon_inode:seccomp notify") != 0) ||
            g->n == MAX_LISTENERS) {
                log_warn("refused a descriptor that is not a seccomp listener (or too many)");
                (void) close(fd);
                return;
        }
        g->landlocked[g->n] = byte == 'L';
        g->listeners[g->n++] = fd;
        (void) !write(conn, "K", 1);
}

static int supervise(struct guard *g)
{
        struct pollfd p[MAX_LISTENERS + 1];
        sigset_t term;
        int nr;

        nr = seccomp_syscall_resolve_name("execve");
        g->execve_nr = nr;
        nr = seccomp_syscall_resolve_name("execveat");
        g->execveat_nr = nr;
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        (void) signal(SIGPIPE, SIG_IGN);
        eventagg_init(&g->agg, (uint64_t) AGG_INTERVAL_S * 1000, 4, flushed, g);
        (void) printf("exec-guard: listening\n");
        (void) fflush(stdout);
        for (;;) {
                size_t k = 0;
                int r;

                p[0] = (struct pollfd){.fd = g->sock, .events = POLLIN};
                for (size_t i = 0; i < g->n; i++)
                        p[1 + i] = (struct pollfd){.fd = g->listeners[i], .events = POLLIN};
                r = poll(p, 1 + g->n, AGG_INTERVAL_S * 1000);
                if (r < 0 && errno != EINTR)
                        return 1;
                if (r == 0)
                        eventagg_flush(&g->agg, (uint64_t) clock_monotonic_ms(), true, flushed, g);
                if (r <= 0)
                        continue;
                for (size_t i = 0; i < g->n; i++) {
                        if (p[1 + i].revents & POLLIN)
                                answer(g, i);
                        if (p[1 + i].revents & (POLLHUP | POLLERR | POLLNVAL)) {
                                /* The tree is gone. */
                                (void) close(g->listeners[i]);
                                continue;
                        }
                        g->landlocked[k] = g->landlocked[i];
                        g->listeners[k++] = g->listeners[i];
                }
                g->n = k;
                if (p[0].revents & POLLIN)
                        take(g);
        }
}

static int parse_id(const char *text, const char *what, unsigned *out)
{
        uint64_t v;

        if (parse_uint(text, 0, UINT32_MAX - 1, &v) < 0) {
                log_error("%s: not a number: %s", what, text);
                return -1;
        }
        *out = (unsigned) v;
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"supervise", no_argument, NULL, 'S'}, {"listen", required_argument, NULL, 'l'},
                {"client-uid", required_argument, NULL, 'u'},
                {"client-gid", required_argument, NULL, 'g'},
                {"events", required_argument, NULL, 'e'},
                {"session", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0}};
        /* The auxiliary vector's value is the address of the path the kernel executed. */
        const char *execfn = (const char *) (uintptr_t) getauxval(AT_EXECFN); /* NOLINT */
        const char *name = strrchr(execfn ? execfn : argv[0], '/');
        struct guard g = {.sock = -1};
        const char *listen_path = NULL;
        bool sup = false, have_uid = false, have_gid = false;
        unsigned id;
        int c;

        name = name ? name + 1 : (execfn ? execfn : argv[0]);
        if (strcmp(name, "claude") == 0 || strcmp(name, "codex") == 0 ||
            strcmp(name, "copilot") == 0)
                launch(name, argv);
        log_init("exec-guard");
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'S':
                        sup = true;
                        break;
                case 'l':
                        listen_path = optarg;
                        break;
                case 'u':
                        if (parse_id(optarg, "--client-uid", &id) < 0)
                                return 2;
                        g.client = (uid_t) id;
                        have_uid = true;
                        break;
                case 'g':
                        if (parse_id(optarg, "--client-gid", &id) < 0)
                                return 2;
                        g.client_gid = (gid_t) id;
                        have_gid = true;
                        break;
                case 'e':
                        g.events = optarg;
                        break;
                case 's':
                        g.session = optarg;
                        break;
                case 'h':
                        (void) fputs(usage, stdout);
                        return 0;
                default:
                        (void) fputs(usage, stderr);
                        return 2;
                }
        }
        if (!sup || !listen_path || !have_uid || !have_gid || optind != argc) {
                (void) fputs(usage, stderr);
                return 2;
        }
        g.sock = run_listen(listen_path, g.client, g.client_gid);
        if (g.sock < 0) {
                log_error("cannot listen on %s: %s", listen_path, strerror(-g.sock));
                return 1;
        }
        return supervise(&g);
}
