/* SPDX-License-Identifier: MIT */
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
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
#include "brokercred.h"
#include "buf.h"
#include "capability.h"
#include "cleanup.h"
#include "clock.h"
#include "error.h"
#include "eventagg.h"
#include "manifest.h"
#include "parse.h"
#include "privdrop.h"
#include "sandbox.h"
#include "scrub.h"
#include "secret.h"
#include "spawn.h"
#include "stubproto.h"

#if defined(__SANITIZE_ADDRESS__)
#define CA_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CA_SANITIZED 1
#endif
#endif

#define LAUNCHER_AGG_INTERVAL_S 60

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct launcher_shared {
        pthread_mutex_t lock;
        struct eventagg agg;
};

struct launcher_shared *launcher_shared_new(void)
{
        struct launcher_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
                                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        pthread_mutexattr_t attr;

        if (sh == MAP_FAILED)
                return NULL;
        if (pthread_mutexattr_init(&attr) != 0 ||
            pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) != 0 ||
            pthread_mutex_init(&sh->lock, &attr) != 0) {
                (void) munmap(sh, sizeof(*sh));
                return NULL;
        }
        (void) pthread_mutexattr_destroy(&attr);
        eventagg_init(&sh->agg, (uint64_t) LAUNCHER_AGG_INTERVAL_S * 1000, 4, NULL, NULL);
        return sh;
}

/* Records an event; a log that cannot be written loses it (lib/ does not print), ignoring. */
static void event(const struct launcher_cfg *cfg, enum audit_type type, json_t *fields)
{
        struct ca_error err = {0};

        if (fields && cfg->events && audit_emit(cfg->events, type, cfg->session, fields, &err) < 0)
                err.code = 0;
        json_decref(fields);
}

static const struct manifest_server *find_server(const struct launcher_cfg *cfg,
                                                 const char *name)
{
        const struct manifest_server *s = manifest_find(cfg->manifest, name);

        return s && s->transport == MANIFEST_STDIO ? s : NULL;
}

/* ---- the sandboxed child (after fork: report failures through the pipe, then _exit) ---- */

static void child_fail(int pipe_fd, const char *step, const char *detail)
{
        char msg[300];
        int n = snprintf(msg, sizeof(msg), "sandbox setup failed at '%s': %s", step, detail);

        if (n > 0)
                (void) !write(pipe_fd, msg, (size_t) n < sizeof(msg) ? (size_t) n : sizeof(msg) - 1);
        _exit(127); /* forked child: a failed sandbox never returns to the caller */
}

#define CHILD_TRY(cond, step)                                                                   \
        do {                                                                                    \
                if (!(cond))                                                                    \
                        child_fail(pipe_fd, (step), strerror(errno));                           \
        } while (0)

struct spawn_ctx {
        const struct launcher_cfg *cfg;
        const char *name;
        uid_t uid;
        const struct manifest_server *server;
        const struct broker_credential *cred; /* NULL: no secrets */
        int fds[3];
        int pipe_fd;
        int sync_w, ack_r; /* child -> reaper "redeemed"; reaper -> child "socket gone" */
        char tmpfs[512];
        char broker_sock[600]; /* the session socket, bind-mounted into the tmpfs */
};

/* The server's limits, then its UID (privdrop.h). */
static void drop_privileges(const struct spawn_ctx *c)
{
        int pipe_fd = c->pipe_fd;
        struct rlimit nofile = {4096, 4096}, nproc = {512, 512}, core = {0, 0};
        struct rlimit data = {(rlim_t) 8 << 30, (rlim_t) 8 << 30};
        const char *step;
        int r;

        CHILD_TRY(setrlimit(RLIMIT_NOFILE, &nofile) == 0, "rlimits");
        CHILD_TRY(setrlimit(RLIMIT_NPROC, &nproc) == 0, "rlimits");
        CHILD_TRY(setrlimit(RLIMIT_CORE, &core) == 0, "rlimits");
#ifndef CA_SANITIZED
        CHILD_TRY(setrlimit(RLIMIT_DATA, &data) == 0, "rlimits");
#else
        (void) data; /* ASan's shadow and allocator mappings exceed any sane data limit */
#endif
        r = privdrop_become(c->uid, &step);
        if (r < 0)
                child_fail(pipe_fd, step, strerror(-r));
}

/* Redeems the server's capability as its own UID and writes each secret into the tmpfs. */
static size_t redeem(const struct spawn_ctx *c, struct broker_redeemed *got, size_t max)
{
        int pipe_fd = c->pipe_fd;
        struct ca_error err = {0};
        int n, dfd;

        /* Through the session socket as bound into the server's tmpfs. */
        n = brokercred_redeem(c->cred, c->broker_sock, got, max, &err);
        if (n < 0)
                child_fail(pipe_fd, "redeem", err.msg);
        /* Tell the reaper, and wait until it has removed the broker socket from our view. */
        {
                char b = 'r';

                CHILD_TRY(write(c->sync_w, &b, 1) == 1, "redeem");
                CHILD_TRY(read(c->ack_r, &b, 1) == 1, "redeem");
        }
        dfd = open(c->tmpfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        CHILD_TRY(dfd >= 0, "secret files");
        for (int i = 0; i < n; i++) {
                int fd = openat(dfd, got[i].name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
                                                          O_NOFOLLOW,
                                0400);

                if (fd < 0 || write(fd, got[i].value->buf, got[i].value->len) !=
                                      (ssize_t) got[i].value->len)
                        child_fail(pipe_fd, "secret files", strerror(errno));
                (void) close(fd);
        }
        (void) close(dfd);
        return (size_t) n;
}

static char *expand(const struct spawn_ctx *c, const char *tmpl, const struct sandbox_secret *s,
                    size_t n)
{
        struct buf b = BUF_INIT;
        const char *missing = NULL;
        size_t mlen = 0;
        int r = sandbox_expand(tmpl, s, n, &b, &missing, &mlen);

        if (r == -ENOENT) {
                char why[128];
                (void) snprintf(why, sizeof(why), "no secret '%.*s' was granted", (int) mlen,
                                missing);
                child_fail(c->pipe_fd, "placeholders", why);
        }
        if (r < 0)
                child_fail(c->pipe_fd, "placeholders", "bad placeholder");
        return buf_detach(&b, NULL);
}

static void exec_server(struct spawn_ctx *c)
{
        int pipe_fd = c->pipe_fd;
        const struct manifest_server *srv = c->server;
        struct broker_redeemed got[CAP_MAX_SECRETS];
        struct sandbox_secret sec[CAP_MAX_SECRETS];
        size_t n = 0, k = 0;
        char **argv = calloc(srv->args.len + 2, sizeof(*argv));
        char **envp = calloc(srv->nenv + 8, sizeof(*envp));
        char *path;

        CHILD_TRY(argv && envp, "allocation");
        drop_privileges(c);
        if (c->cred)
                n = redeem(c, got, CAP_MAX_SECRETS);
        for (size_t i = 0; i < n; i++)
                sec[i] = (struct sandbox_secret){got[i].name, got[i].value};
        path = spawn_find_command(srv->command);
        if (!path)
                child_fail(pipe_fd, "command", "not found in /usr/local/bin:/usr/bin:/bin");
        argv[0] = path;
        for (size_t i = 0; i < srv->args.len; i++)
                argv[i + 1] = expand(c, srv->args.items[i], sec, n);
        CHILD_TRY(asprintf(&envp[k++], "PATH=/usr/local/bin:/usr/bin:/bin") > 0, "env");
        CHILD_TRY(asprintf(&envp[k++], "HOME=%s", c->tmpfs) > 0, "env");
        CHILD_TRY(asprintf(&envp[k++], "LANG=C.UTF-8") > 0, "env");
        CHILD_TRY(asprintf(&envp[k++], "CODING_AGENTS_SECRETS_DIR=%s", c->tmpfs) > 0, "env");
        for (size_t i = 0; i < srv->nenv; i++) {
                char *val = expand(c, srv->env[i].value, sec, n);

                CHILD_TRY(asprintf(&envp[k++], "%s=%s", srv->env[i].name, val) > 0, "env");
                sodium_memzero(val, strlen(val));
                free(val);
        }
        broker_redeemed_clear(got, n);
        /* The agent's own descriptors, exactly: no relay, nothing copied. */
        for (int fd = 0; fd < 3; fd++)
                CHILD_TRY(dup2(c->fds[fd], fd) == fd, "stdio");
        CHILD_TRY(syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0, "close_range");
        CHILD_TRY(chdir(c->tmpfs) == 0, "chdir");
        if (sandbox_seccomp_load(c->cfg->seccomp) < 0)
                child_fail(pipe_fd, "seccomp", "cannot load the filter");
        execve(path, argv, envp);
        child_fail(pipe_fd, "execve", strerror(errno));
}

/* ---- PID 1 of the server's namespace ---- */

/* The secrets' files zeroed and removed as the server's UID (scrub.h), then the tmpfs
 * unmounted. */
static void zero_and_unmount(const char *dir, uid_t uid)
{
        (void) !scrub_dir_as(dir, uid); /* the tmpfs goes anyway, its pages with it */
        (void) umount2(dir, MNT_DETACH);
}

/*
 * A fresh /proc shows what Docker masks in the container's own (issue 17): kernel memory and
 * keys, timers, and writable kernel knobs. The server's /proc gets the same treatment: these
 * covered by /dev/null or an empty read-only tmpfs, those remounted read-only. What a kernel
 * lacks is skipped. Async-signal-safe (a forked child).
 */
static int mask_proc(void)
{
        static const char *const files[] = {"/proc/kcore", "/proc/keys", "/proc/latency_stats",
                                            "/proc/timer_list", "/proc/timer_stats",
                                            "/proc/sched_debug"};
        static const char *const dirs[] = {"/proc/acpi", "/proc/asound", "/proc/scsi"};
        static const char *const read_only[] = {"/proc/bus", "/proc/fs", "/proc/irq",
                                                "/proc/sys", "/proc/sysrq-trigger"};
        struct stat st;

        for (size_t i = 0; i < CA_ELEMENTSOF(files); i++) {
                if (stat(files[i], &st) == 0 &&
                    mount("/dev/null", files[i], NULL, MS_BIND, NULL) < 0)
                        return -errno;
        }
        for (size_t i = 0; i < CA_ELEMENTSOF(dirs); i++) {
                if (stat(dirs[i], &st) == 0 &&
                    mount("tmpfs", dirs[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                          "size=0") < 0)
                        return -errno;
        }
        for (size_t i = 0; i < CA_ELEMENTSOF(read_only); i++) {
                if (stat(read_only[i], &st) < 0)
                        continue;
                if (mount(read_only[i], read_only[i], NULL, MS_BIND | MS_REC, NULL) < 0 ||
                    mount(NULL, read_only[i], NULL,
                          MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                          NULL) < 0)
                        return -errno;
        }
        return 0;
}

static void run_reaper(struct spawn_ctx *c, bool no_network)
{
        int pipe_fd = c->pipe_fd;
        char opts[128];
        int status = 0, sync[2] = {-1, -1}, ack[2] = {-1, -1}, sfd;
        sigset_t mask;
        pid_t pid;

        CHILD_TRY(prctl(PR_SET_PDEATHSIG, SIGKILL) == 0, "pdeathsig");
        /* Signals for the server arrive here (PID 1 ignores what it does not handle); they are
         * read from a signalfd and relayed. The server gets the default mask back (spawn order). */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGCHLD);
        CHILD_TRY(sigprocmask(SIG_BLOCK, &mask, NULL) == 0, "signals");
        sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        CHILD_TRY(sfd >= 0, "signals");
        CHILD_TRY(unshare(CLONE_NEWNS | (no_network ? CLONE_NEWNET : 0)) == 0, "unshare");
        CHILD_TRY(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0, "mount propagation");
        CHILD_TRY(mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0,
                  "mount /proc");
        CHILD_TRY(mask_proc() == 0, "mask /proc");
        CHILD_TRY(mkdir(c->cfg->run_dir, 0755) == 0 || errno == EEXIST, "mkdir run dir");
        CHILD_TRY(mkdir(c->tmpfs, 0700) == 0 || errno == EEXIST, "mkdir tmpfs");
        /* Root's while the broker socket's mount point is made (root has no DAC_OVERRIDE in
         * a session's container), then the server's. */
        (void) snprintf(opts, sizeof(opts), "mode=0700,uid=0,gid=0,size=64m");
        CHILD_TRY(mount("tmpfs", c->tmpfs, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) == 0,
                  "mount tmpfs");
        if (c->cred) {
                /* The server's UID cannot reach the broker's directory: the session socket is
                 * bound into its tmpfs for the redemption only, then unmounted. */
                const char *sock = c->cred->socket;
                struct stat st;
                int fd;

                if (!sock[0])
                        child_fail(pipe_fd, "redeem", "the credential names no socket");
                if (stat(sock, &st) < 0 || !S_ISSOCK(st.st_mode))
                        child_fail(pipe_fd, "redeem",
                                   "the broker's session socket is missing: is the broker running?");
                (void) snprintf(c->broker_sock, sizeof(c->broker_sock), "%s/.broker.sock",
                                c->tmpfs);
                fd = open(c->broker_sock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                CHILD_TRY(fd >= 0, "broker socket");
                (void) close(fd);
                CHILD_TRY(mount(sock, c->broker_sock, NULL, MS_BIND, NULL) == 0, "broker socket");
                CHILD_TRY(pipe2(sync, O_CLOEXEC) == 0 && pipe2(ack, O_CLOEXEC) == 0, "pipe");
                c->sync_w = sync[1];
                c->ack_r = ack[0];
        }
        CHILD_TRY(chown(c->tmpfs, c->uid, c->uid) == 0, "tmpfs owner");
        pid = fork();
        CHILD_TRY(pid >= 0, "fork");
        if (pid == 0) {
                sigset_t none;

                sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                exec_server(c);
        }
        if (c->cred) {
                char b;

                (void) close(sync[1]);
                (void) close(ack[0]);
                /* EOF instead of a byte: the child failed and said why on the error pipe. */
                if (read(sync[0], &b, 1) == 1) {
                        (void) umount2(c->broker_sock, MNT_DETACH);
                        (void) unlink(c->broker_sock);
                        (void) !write(ack[1], &b, 1);
                }
                (void) close(sync[0]);
                (void) close(ack[1]);
        }
        /* Only the server holds the agent's descriptors and the error pipe from here on. */
        for (int fd = 0; fd < 3; fd++)
                (void) close(c->fds[fd]);
        (void) close(pipe_fd);
        for (bool running = true; running;) {
                struct signalfd_siginfo si;

                if (read(sfd, &si, sizeof(si)) != (ssize_t) sizeof(si)) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (si.ssi_signo != SIGCHLD) {
                        (void) kill(pid, (int) si.ssi_signo);
                        continue;
                }
                for (;;) {
                        int st;
                        pid_t w = waitpid(-1, &st, WNOHANG);

                        if (w <= 0) {
                                running = !(w < 0 && errno == ECHILD);
                                break;
                        }
                        if (w == pid) {
                                status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                                /* Whatever the server left behind goes with it. */
                                (void) kill(-1, SIGKILL);
                        }
                }
        }
        zero_and_unmount(c->tmpfs, c->uid);
        _exit(status); /* forked child: PID 1 of the server's namespace ends here */
}

/* ---- the connection handler (a forked process per stub) ---- */

static void send_to_stub(int conn, const struct stub_msg *m)
{
        struct ca_error err = {0};
        json_t *o = stub_msg_json(m);

        /* A stub that went away cannot be told; the events still say what happened. */
        if (o && broker_send(conn, o, NULL, 0, &err) < 0)
                err.code = 0;
        json_decref(o);
}

static int refuse(const struct launcher_cfg *cfg, int conn, const char *name, uid_t caller,
                  const char *why)
{
        struct stub_msg m = {.op = STUB_OP_ERROR};

        char key[EVENTAGG_KEY_MAX];
        uint64_t suppressed = 0;
        bool record = true;
        json_t *fields;

        /* The event first: once the stub has its answer, the record is already there. A caller
         * that keeps asking gets one event per reason and interval, then a count. */
        (void) snprintf(m.message, sizeof(m.message), "%s", why);
        if (cfg->shared) {
                (void) snprintf(key, sizeof(key), "refused/%.80s", why);
                (void) pthread_mutex_lock(&cfg->shared->lock);
                record = eventagg_admit(&cfg->shared->agg, key, (uint64_t) clock_monotonic_ms(),
                                        &suppressed);
                (void) pthread_mutex_unlock(&cfg->shared->lock);
        }
        if (record) {
                fields = json_pack("{s:s, s:i, s:s, s:s}", "name", name, "caller", (int) caller,
                                   "outcome", "refused", "reason", why);
                if (fields && suppressed) {
                        (void) json_object_set_new(fields, "suppressed",
                                                   json_integer((json_int_t) suppressed));
                        (void) json_object_set_new(fields, "interval_s",
                                                   json_integer(LAUNCHER_AGG_INTERVAL_S));
                }
                event(cfg, AUDIT_STUB_STOP, fields);
        }
        send_to_stub(conn, &m);
        return 1;
}

/* The server's pid on the host: the reaper's only child. */
static pid_t child_of(pid_t pid)
{
        char path[64], text[32] = {0};
        _cleanup_close_ int fd = -1;
        uint64_t v;

        (void) snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int) pid, (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, text, sizeof(text) - 1) <= 0)
                return 0;
        text[strcspn(text, " \n")] = '\0';
        if (parse_uint(text, 1, 1 << 22, &v) < 0)
                return 0;
        return (pid_t) v;
}

/* The request: a spawn from the agent's UID with its three descriptors, for a stdio server
 * of the manifest. Returns the server (its name in m->name, the descriptors in fds), or NULL
 * once the stub has been refused (*ret = 1). */
static const struct manifest_server *accept_request(const struct launcher_cfg *cfg, int conn,
                                                    struct stub_msg *m, int fds[3], uid_t *caller,
                                                    int *ret)
{
        static char buf[BROKER_MSG_MAX + 1];
        struct ucred peer;
        socklen_t plen = sizeof(peer);
        struct ca_error err = {0};
        const struct manifest_server *server;
        size_t nfds = 0;
        int n;

        *ret = 1;
        if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &peer, &plen) < 0)
                return NULL;
        *caller = peer.uid;
        n = broker_recv(conn, buf, fds, 3, &nfds, &err);
        if (n <= 0 || stub_msg_parse(buf, (size_t) n, m) < 0 || m->op != STUB_OP_SPAWN) {
                for (size_t i = 0; i < nfds; i++)
                        (void) close(fds[i]);
                *ret = refuse(cfg, conn, "?", peer.uid, "bad request from the stub");
                return NULL;
        }
        if (peer.uid != cfg->agent_uid) {
                *ret = refuse(cfg, conn, m->name, peer.uid, "only the agent's user may start servers");
                return NULL;
        }
        if (nfds != 3) {
                *ret = refuse(cfg, conn, m->name, peer.uid, "the stub must pass exactly 3 descriptors");
                return NULL;
        }
        server = find_server(cfg, m->name);
        if (!server)
                *ret = refuse(cfg, conn, m->name, peer.uid,
                              "no stdio MCP server of that name in this session");
        return server;
}

/* Forks PID 1 of the server's new PID namespace (run_reaper). Returns its pid, or -1 with
 * *why set. */
static pid_t start_reaper(struct spawn_ctx *c, int conn, int *error_r, const char **why)
{
        int pipefd[2];
        pid_t reaper;

        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                *why = "pipe failed";
                return -1;
        }
        c->pipe_fd = pipefd[1];
        if (unshare(CLONE_NEWPID) < 0) {
                *why = "cannot create a PID namespace";
                return -1;
        }
        reaper = fork();
        if (reaper < 0) {
                *why = "fork failed";
                return -1;
        }
        if (reaper == 0) {
                (void) close(pipefd[0]);
                (void) close(conn);
                run_reaper(c, c->server->network_none);
        }
        (void) close(pipefd[1]);
        for (int i = 0; i < 3; i++)
                (void) close(c->fds[i]);
        *error_r = pipefd[0];
        return reaper;
}

/* Relays the stub's signals to the reaper until it exits; returns the server's status. */
static int relay(int conn, pid_t reaper)
{
        static char buf[BROKER_MSG_MAX + 1];
        _cleanup_close_ int pidfd = (int) syscall(SYS_pidfd_open, reaper, 0);
        struct ca_error err = {0};

        for (;;) {
                struct pollfd p[2] = {{.fd = conn, .events = POLLIN},
                                      {.fd = pidfd, .events = POLLIN}};
                int st, n;
                pid_t w = waitpid(reaper, &st, WNOHANG);

                if (w == reaper)
                        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                /* The pidfd becomes readable when the reaper exits. */
                if (poll(p, 2, -1) > 0 && (p[0].revents & (POLLIN | POLLHUP))) {
                        struct stub_msg in;
                        size_t z = 0;

                        n = broker_recv(conn, buf, NULL, 0, &z, &err);
                        if (n <= 0) {
                                /* The stub is gone: so is its server. */
                                (void) kill(reaper, SIGKILL);
                                (void) waitpid(reaper, &st, 0);
                                return 128 + SIGKILL;
                        }
                        if (stub_msg_parse(buf, (size_t) n, &in) == 0 && in.op == STUB_OP_SIGNAL)
                                (void) kill(reaper, in.value);
                }
        }
}

int launcher_serve_stub(const struct launcher_cfg *cfg, int conn)
{
        struct ca_error err = {0};
        struct stub_msg m, e = {.op = STUB_OP_ERROR}, s = {.op = STUB_OP_STARTED};
        struct spawn_ctx c = {.cfg = cfg, .fds = {-1, -1, -1}};
        _cleanup_brokercred_ struct broker_credential cred;
        const char *why = NULL, *network;
        int error_r = -1, ret, status;
        int64_t t0;
        uid_t caller = (uid_t) -1;
        ssize_t k;
        pid_t reaper;

        c.server = accept_request(cfg, conn, &m, c.fds, &caller, &ret);
        if (!c.server)
                return ret;
        c.name = m.name;
        c.uid = c.server->uid;
        network = c.server->network_none ? "none" : "proxy";
        (void) snprintf(c.tmpfs, sizeof(c.tmpfs), "%s/%s", cfg->run_dir, m.name);
        if (c.server->secrets.len) {
                char path[700];

                (void) snprintf(path, sizeof(path), "%s/%s.cred", cfg->cred_dir, m.name);
                if (brokercred_load(path, &cred, &err) < 0)
                        return refuse(cfg, conn, m.name, caller, "no credential for this server");
                c.cred = &cred;
        }
        reaper = start_reaper(&c, conn, &error_r, &why);
        if (reaper < 0)
                return refuse(cfg, conn, m.name, caller, why);
        /* EOF: the server reached execve. Data: a failure, one line. */
        k = read(error_r, e.message, sizeof(e.message) - 1);
        (void) close(error_r);
        if (k > 0) {
                (void) waitpid(reaper, &status, 0);
                event(cfg, AUDIT_STUB_STOP,
                      json_pack("{s:s, s:i, s:s, s:s}", "name", m.name, "uid", (int) c.uid,
                                "outcome", "failed", "reason", e.message));
                send_to_stub(conn, &e);
                return 1;
        }
        s.value = (int) child_of(reaper);
        if (s.value <= 0)
                s.value = (int) reaper;
        event(cfg, AUDIT_STUB_START, json_pack("{s:s, s:i, s:i, s:s}", "name", m.name, "uid",
                                               (int) c.uid, "pid", s.value, "network", network));
        send_to_stub(conn, &s);
        t0 = clock_monotonic_ms();
        status = relay(conn, reaper);
        event(cfg, AUDIT_STUB_STOP,
              json_pack("{s:s, s:i, s:i, s:i, s:I, s:s}", "name", m.name, "uid", (int) c.uid,
                        "pid", s.value, "status", status, "duration_ms",
                        (json_int_t) (clock_monotonic_ms() - t0), "outcome", "exited"));
        {
                struct stub_msg x = {.op = STUB_OP_EXIT, .value = status};

                send_to_stub(conn, &x);
        }
        return 0;
}
