/* SPDX-License-Identifier: MIT */
/*
 * egress-proxy: the supervisor that runs inside a session's squid sidecar (and in the tests'
 * network namespaces). `run` starts dnsmasq and squid on a directory that `coding-agents proxy
 * config` rendered, says when both answer, and with --session follows their logs into the
 * host's event log through `events`, which turns squid's and dnsmasq's lines into proxy-denied,
 * proxy-limit and dns-denied events. It holds no secret. See docs/network-proxy.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "capability.h"
#include "cleanup.h"
#include "clock.h"
#include "error.h"
#include "eventagg.h"
#include "fileio.h"
#include "json.h"
#include "lines.h"
#include "log.h"
#include "parse.h"
#include "paths.h"
#include "proxylog.h"
#include "spawn.h"

static const char usage[] =
        "usage: egress-proxy run --dir DIR [--squid PATH] [--dnsmasq PATH]\n"
        "                        [--session ID --events-log FILE] [--listen-subnet CIDR]\n"
        "       egress-proxy events --dir DIR --log FILE [--follow] [--session ID]\n"
        "\n"
        "The egress proxy's supervisor, on a directory 'coding-agents proxy config' rendered.\n"
        "\n"
        "run     runs dnsmasq and squid in the foreground until SIGTERM/SIGINT; prints\n"
        "        'proxy ready' once both answer. Meant for the proxy's own network namespace\n"
        "        (the sidecar container or a test namespace): dnsmasq takes 127.0.0.1:53.\n"
        "        --listen-subnet CIDR: squid listens only on this host's address in CIDR (a\n"
        "        session's sidecar: on the session's network, not on the egress one). With\n"
        "        --session and --events-log it also runs 'events --follow' into FILE (a\n"
        "        session's sidecar: the host's log, mounted).\n"
        "events  reads DIR/run/access.log and DIR/run/dnsmasq.log from where it last\n"
        "        stopped and appends proxy-denied, proxy-limit and dns-denied events to FILE;\n"
        "        --follow keeps waiting for new lines. Malformed lines are counted and\n"
        "        reported (proxy-log-malformed), never fatal.\n"
        "\n"
        "See docs/network-proxy.md.\n";

static int help(void)
{
        (void) fputs(usage, stdout);
        return fflush(stdout) == 0 ? 0 : 1;
}

static int usage_error(const char *fmt, ...) CA_PRINTF(1, 2);

static int usage_error(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_vmsg(LOG_LEVEL_ERROR, fmt, ap);
        va_end(ap);
        (void) fputs("try 'egress-proxy --help'\n", stderr);
        return 2;
}

static int prog_error(const char *fmt, ...) CA_PRINTF(1, 2);

static int prog_error(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_vmsg(LOG_LEVEL_ERROR, fmt, ap);
        va_end(ap);
        return 1;
}

static int fail(const struct ca_error *err)
{
        log_error("%s", err->msg[0] ? err->msg : "unknown error");
        return ca_error_exit_status(err);
}

static int finish(int status)
{
        if (fflush(stdout) != 0 || ferror(stdout)) {
                log_error("cannot write to standard output");
                return status ? status : 1;
        }
        return status;
}

/* ---- shared: the rendered directory ---- */

struct proxy_dir {
        char *dir; /* absolute */
        json_t *summary;
        uint16_t port;
};

static void proxy_dir_clear(struct proxy_dir *p)
{
        free(p->dir);
        json_decref(p->summary);
        memset(p, 0, sizeof(*p));
}

static int proxy_dir_load(const char *dir, struct proxy_dir *p, struct ca_error *err)
{
        _cleanup_free_ char *file = NULL;
        const char *root;
        json_int_t port;

        memset(p, 0, sizeof(*p));
        p->dir = realpath(dir, NULL);
        if (!p->dir)
                return ca_error_set(err, errno, "cannot open the proxy directory '%s'", dir);
        file = paths_join(p->dir, "proxy.json");
        if (!file)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (ca_json_parse_file(file, 1 << 20, &p->summary, err) < 0)
                return ca_error_prefix(err, "not a rendered proxy directory (see 'proxy config')");
        root = json_string_value(json_object_get(p->summary, "root"));
        port = json_integer_value(json_object_get(p->summary, "port"));
        if (json_integer_value(json_object_get(p->summary, "version")) != 1 || !root ||
            port < 1 || port > 65535)
                return ca_error_input(err, "%s: not a proxy.json this version understands", file);
        if (strcmp(root, p->dir) != 0)
                return ca_error_input(err,
                                      "'%s' was rendered for root '%s': run it there (or "
                                      "render again with --root %s)",
                                      dir, root, p->dir);
        p->port = (uint16_t) port;
        return 0;
}

/* ---- run ---- */

static bool squid_listening(struct in_addr addr, uint16_t port)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = addr};
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        return fd >= 0 && connect(fd, (const struct sockaddr *) &a, sizeof(a)) == 0;
}

/*
 * This host's address inside `cidr` ("172.18.0.0/16"): in a session, the sidecar's on the
 * session's network, and only there does squid listen (issue 17: not on the egress network,
 * where other containers could use it, nor on loopback).
 */
static int address_in_subnet(const char *cidr, struct in_addr *ret, struct ca_error *err)
{
        char net[INET_ADDRSTRLEN];
        const char *slash = strchr(cidr, '/');
        struct ifaddrs *ifs = NULL;
        struct in_addr base;
        uint64_t bits = 0;
        uint32_t mask;
        int r = -ENOENT;

        if (!slash || (size_t) (slash - cidr) >= sizeof(net) ||
            parse_uint(slash + 1, 1, 32, &bits) < 0)
                return ca_error_input(err, "bad --listen-subnet '%s' (an IPv4 CIDR)", cidr);
        (void) snprintf(net, sizeof(net), "%.*s", (int) (slash - cidr), cidr);
        if (inet_pton(AF_INET, net, &base) != 1)
                return ca_error_input(err, "bad --listen-subnet '%s' (an IPv4 CIDR)", cidr);
        mask = bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
        if (getifaddrs(&ifs) < 0)
                return ca_error_set(err, errno, "cannot list the network interfaces");
        for (const struct ifaddrs *i = ifs; i; i = i->ifa_next) {
                const struct sockaddr_in *a = (const struct sockaddr_in *) (const void *) i->ifa_addr;

                if (!a || a->sin_family != AF_INET)
                        continue;
                if ((ntohl(a->sin_addr.s_addr) & mask) == (ntohl(base.s_addr) & mask)) {
                        *ret = a->sin_addr;
                        r = 0;
                        break;
                }
        }
        freeifaddrs(ifs);
        return r < 0 ? ca_error_setx(err, ENOENT, "no address of this host is in %s", cidr) : 0;
}

/* run/listen.conf, which squid.conf includes: one address (or all) and the port. */
static int write_listen(int run_fd, const struct in_addr *addr, uint16_t port,
                        struct ca_error *err)
{
        char text[96], ip[INET_ADDRSTRLEN] = "";
        int n;

        if (addr)
                (void) inet_ntop(AF_INET, addr, ip, sizeof(ip));
        n = snprintf(text, sizeof(text), "http_port %s%s%u\n", ip, addr ? ":" : "", port);
        return fileio_write_atomic_at(run_fd, "listen.conf", text, (size_t) n, 0644, err);
}

static bool file_exists_at(int dfd, const char *name)
{
        struct stat st;

        return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_size > 0;
}

/* Squid reads its files after dropping to `pw`: every directory above them must let it in. */
static int check_reachable(const char *dir, const struct passwd *pw, struct ca_error *err)
{
        _cleanup_free_ char *p = strdup(dir);
        char *slash;

        if (!p)
                return ca_error_setx(err, ENOMEM, "out of memory");
        for (;;) {
                struct stat st;

                if (stat(p[0] ? p : "/", &st) < 0)
                        return ca_error_set(err, errno, "cannot stat '%s'", p[0] ? p : "/");
                if (!(st.st_mode & S_IXOTH) && st.st_uid != pw->pw_uid &&
                    !(st.st_gid == pw->pw_gid && (st.st_mode & S_IXGRP)))
                        return ca_error_input(err,
                                              "squid runs as user '%s' and cannot enter '%s' "
                                              "(mode %04o): allow it (chmod o+x) or render "
                                              "elsewhere",
                                              pw->pw_name, p[0] ? p : "/",
                                              (unsigned) (st.st_mode & 07777));
                slash = strrchr(p, '/');
                if (!slash || !p[0])
                        return 0;
                *slash = '\0';
        }
}

static int prepare_run_dir(const char *dir, int *ret_fd, struct ca_error *err)
{
        _cleanup_free_ char *run = paths_join(dir, "run");
        _cleanup_close_ int fd = -1;

        if (!run)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (mkdir(run, 0750) < 0 && errno != EEXIST)
                return ca_error_set(err, errno, "cannot create '%s'", run);
        fd = open(run, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return ca_error_set(err, errno, "cannot open '%s'", run);
        /* Started as root, squid drops to its own user ("proxy" on Debian) before writing. */
        if (geteuid() == 0) {
                const struct passwd *pw = getpwnam("proxy");

                if (pw && check_reachable(dir, pw, err) < 0)
                        return -EINVAL;
                if (pw && fchown(fd, pw->pw_uid, pw->pw_gid) < 0)
                        return ca_error_set(err, errno, "cannot hand '%s' to user proxy", run);
        }
        (void) unlinkat(fd, "squid.pid", 0);
        (void) unlinkat(fd, "dnsmasq.pid", 0);
        *ret_fd = take_fd(&fd);
        return 0;
}

static pid_t start_child(const char *path, char *const *argv, struct ca_error *err)
{
        static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
        struct spawn_req req = SPAWN_REQ_INIT;
        pid_t pid;

        req.path = path;
        req.argv = argv;
        req.envp = envp;
        req.stdout_fd = STDERR_FILENO;
        req.stderr_fd = STDERR_FILENO;
        if (spawn_start(&req, &pid, err) < 0)
                return -1;
        return pid;
}

static void stop_children(pid_t *pids, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (pids[i] > 0)
                        (void) kill(pids[i], SIGTERM);
        }
        for (size_t i = 0; i < n; i++) {
                if (pids[i] > 0)
                        (void) waitpid(pids[i], NULL, 0);
                pids[i] = -1;
        }
}

/* What `run`'s phases share. */
struct proxy_run {
        const char *dir, *squid, *dnsmasq, *session, *events_log, *subnet;
        struct in_addr listen_addr;
        struct proxy_dir pd;
        char *squid_conf, *dnsmasq_conf, *conf_arg;
        int run_fd, sfd;
        pid_t pids[3]; /* dnsmasq, squid, the log reader */
};

static void proxy_run_clear(struct proxy_run *pr)
{
        stop_children(pr->pids, CA_ELEMENTSOF(pr->pids));
        proxy_dir_clear(&pr->pd);
        free(pr->squid_conf);
        free(pr->dnsmasq_conf);
        free(pr->conf_arg);
        if (pr->run_fd >= 0)
                (void) close(pr->run_fd);
        if (pr->sfd >= 0)
                (void) close(pr->sfd);
}

/* `run`'s options; -1 to go on, or the exit status. */
static int run_options(struct proxy_run *pr, int argc, char **argv)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"dir", required_argument, NULL, 'd'},
                {"squid", required_argument, NULL, 's'},
                {"dnsmasq", required_argument, NULL, 'D'},
                {"session", required_argument, NULL, 'S'},
                {"events-log", required_argument, NULL, 'E'},
                {"listen-subnet", required_argument, NULL, 'L'},
                {0},
        };
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "hd:", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return help();
                case 'd':
                        pr->dir = optarg;
                        break;
                case 's':
                        pr->squid = optarg;
                        break;
                case 'D':
                        pr->dnsmasq = optarg;
                        break;
                case 'S':
                        if (!capability_valid_session(optarg))
                                return usage_error("bad session id '%s'", optarg);
                        pr->session = optarg;
                        break;
                case 'E':
                        pr->events_log = optarg;
                        break;
                case 'L':
                        pr->subnet = optarg;
                        break;
                default:
                        return usage_error("unknown option");
                }
        }
        if (optind < argc)
                return usage_error("unexpected argument '%s'", argv[optind]);
        if (!pr->dir)
                return usage_error("--dir DIR is required");
        if (!pr->session != !pr->events_log || (pr->events_log && pr->events_log[0] != '/'))
                return usage_error("--session and --events-log (absolute) go together");
        if (pr->squid[0] != '/' || pr->dnsmasq[0] != '/')
                return usage_error("--squid and --dnsmasq take absolute paths");
        return -1;
}

/* squid's own check of the configuration. */
static int squid_parse(const struct proxy_run *pr)
{
        char *const pargv[] = {(char *) "squid", (char *) "-k", (char *) "parse", (char *) "-f",
                               pr->squid_conf, NULL};
        static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
        struct spawn_req req = SPAWN_REQ_INIT;
        _cleanup_buf_ struct buf parse_out = BUF_INIT;
        struct ca_error err = {0};
        int r;

        req.path = pr->squid;
        req.argv = pargv;
        req.envp = envp;
        req.stderr_fd = STDERR_FILENO; /* squid says what it refuses there */
        r = spawn_capture(&req, 1 << 20, &parse_out, &err);
        if (r > 0)
                (void) ca_error_setx(&err, EINVAL, "squid refused the configuration '%s' "
                                                   "(squid -k parse exited with status %d)",
                                     pr->squid_conf, r);
        if (r != 0) {
                if (parse_out.len)
                        (void) fwrite(parse_out.data, 1, parse_out.len, stderr);
                return fail(&err);
        }
        return -1;
}

/* The rendered directory, its run/ directory and listen.conf, and a configuration squid
 * accepts, before anything starts. -1 to go on, or the exit status. */
static int run_prepare(struct proxy_run *pr)
{
        struct ca_error err = {0};

        if (pr->subnet && address_in_subnet(pr->subnet, &pr->listen_addr, &err) < 0)
                return fail(&err);
        if (proxy_dir_load(pr->dir, &pr->pd, &err) < 0 ||
            prepare_run_dir(pr->pd.dir, &pr->run_fd, &err) < 0 ||
            write_listen(pr->run_fd, pr->subnet ? &pr->listen_addr : NULL, pr->pd.port, &err) < 0)
                return fail(&err);
        pr->squid_conf = paths_join(pr->pd.dir, "squid.conf");
        pr->dnsmasq_conf = paths_join(pr->pd.dir, "dnsmasq.conf");
        if (!pr->squid_conf || !pr->dnsmasq_conf ||
            asprintf(&pr->conf_arg, "--conf-file=%s", pr->dnsmasq_conf) < 0) {
                pr->conf_arg = NULL;
                return prog_error("out of memory");
        }
        return squid_parse(pr);
}

/* dnsmasq and squid, then readiness: squid accepts on its port and dnsmasq has written its
 * pid file (after binding), checked every 10 ms for at most 60 s, a child exiting ending it
 * early; then, with a session, the log reader. True when everything runs. */
static bool run_start(struct proxy_run *pr)
{
        char *const dargv[] = {(char *) "dnsmasq", (char *) "--keep-in-foreground", pr->conf_arg,
                               NULL};
        char *const sargv[] = {(char *) "squid", (char *) "-N", (char *) "-f", pr->squid_conf,
                               NULL};
        struct ca_error err = {0};
        sigset_t mask;
        bool ready = false;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
            (pr->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
                (void) prog_error("signalfd failed: %m");
                return false;
        }
        pr->pids[0] = start_child(pr->dnsmasq, dargv, &err);
        if (pr->pids[0] > 0)
                pr->pids[1] = start_child(pr->squid, sargv, &err);
        if (pr->pids[0] < 0 || pr->pids[1] < 0) {
                (void) fail(&err);
                return false;
        }
        for (int i = 0; i < 6000 && !ready; i++) {
                struct pollfd p = {.fd = pr->sfd, .events = POLLIN};

                ready = file_exists_at(pr->run_fd, "dnsmasq.pid") &&
                        squid_listening(pr->listen_addr, pr->pd.port);
                if (!ready && poll(&p, 1, 10) > 0)
                        break;
        }
        if (ready && pr->session) {
                /* The log reader: this program again, following the logs into the host's. */
                char *const eargv[] = {(char *) "egress-proxy", (char *) "events", (char *) "--dir",
                                       pr->pd.dir, (char *) "--follow", (char *) "--session",
                                       (char *) pr->session, (char *) "--log",
                                       (char *) pr->events_log, NULL};

                pr->pids[2] = start_child("/proc/self/exe", eargv, &err);
                if (pr->pids[2] < 0) {
                        (void) fail(&err);
                        return false;
                }
        }
        if (!ready)
                (void) prog_error("the proxy did not come up; see %s/run/cache.log", pr->pd.dir);
        return ready;
}

/* Until SIGTERM/SIGINT (0) or a child's unexpected end (1). */
static int run_supervise(struct proxy_run *pr)
{
        static const char *const names[] = {"dnsmasq", "squid", "the log reader"};

        for (;;) {
                struct signalfd_siginfo si;
                struct pollfd p = {.fd = pr->sfd, .events = POLLIN};
                bool lost = false;

                if (poll(&p, 1, -1) < 0 && errno != EINTR)
                        return 1;
                if (read(pr->sfd, &si, sizeof(si)) != (ssize_t) sizeof(si))
                        continue;
                if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
                        return 0;
                for (size_t i = 0; i < CA_ELEMENTSOF(pr->pids); i++) {
                        int wst;

                        if (pr->pids[i] > 0 && waitpid(pr->pids[i], &wst, WNOHANG) == pr->pids[i]) {
                                (void) prog_error("%s exited unexpectedly (status %d)", names[i],
                                                  WIFEXITED(wst) ? WEXITSTATUS(wst)
                                                                 : 128 + WTERMSIG(wst));
                                pr->pids[i] = -1;
                                lost = true;
                        }
                }
                if (lost)
                        return 1;
        }
}

static int proxy_run(int argc, char **argv)
{
        struct proxy_run pr = {
                .squid = "/usr/sbin/squid",
                .dnsmasq = "/usr/sbin/dnsmasq",
                .listen_addr = {.s_addr = htonl(INADDR_LOOPBACK)},
                .run_fd = -1,
                .sfd = -1,
                .pids = {-1, -1, -1},
        };
        int status = run_options(&pr, argc, argv);

        if (status < 0)
                status = run_prepare(&pr);
        if (status < 0 && !run_start(&pr))
                status = 1;
        if (status < 0) {
                (void) printf("proxy ready: squid on port %u, resolver 127.0.0.1:53, logs in "
                              "%s/run\n",
                              pr.pd.port, pr.pd.dir);
                (void) fflush(stdout);
                status = run_supervise(&pr);
        }
        proxy_run_clear(&pr);
        return finish(status);
}

/* ---- events ---- */

struct cursor {
        const char *name;
        uint64_t offset;
        uint64_t ino;
};

static void load_state(int run_fd, struct cursor *cur, size_t n)
{
        _cleanup_close_ int fd = openat(run_fd, "events.state", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        _cleanup_buf_ struct buf b = BUF_INIT;
        struct ca_error err = {0};

        if (fd < 0 || fileio_read_fd(fd, 4096, &b, &err) < 0 || buf_append_char(&b, '\0') < 0)
                return;
        for (char *line = b.data, *next; line && *line; line = next) {
                char *f[3], *save = NULL;
                uint64_t off, ino;
                size_t k = 0;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                for (char *t = strtok_r(line, " ", &save); t && k < 3; t = strtok_r(NULL, " ", &save))
                        f[k++] = t;
                if (k != 3 || parse_uint(f[1], 0, UINT64_MAX, &off) < 0 ||
                    parse_uint(f[2], 0, UINT64_MAX, &ino) < 0)
                        continue;
                for (size_t i = 0; i < n; i++) {
                        if (strcmp(cur[i].name, f[0]) == 0) {
                                cur[i].offset = off;
                                cur[i].ino = ino;
                        }
                }
        }
}

static int save_state(int run_fd, const struct cursor *cur, size_t n, struct ca_error *err)
{
        _cleanup_buf_ struct buf b = BUF_INIT;
        int r = 0;

        for (size_t i = 0; r >= 0 && i < n; i++)
                r = buf_printf(&b, "%s %" PRIu64 " %" PRIu64 "\n", cur[i].name, cur[i].offset,
                               cur[i].ino);
        if (r < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        return fileio_write_atomic_at(run_fd, "events.state", b.data, b.len, 0600, err);
}

/*
 * The agent decides what squid and dnsmasq see: every request it makes to a denied host is a
 * proxy-denied line. So events of one type and rule are aggregated (eventagg.h): the first
 * per interval is recorded, the rest counted and carried by the next one ("suppressed"), or
 * by a summary when the interval ends or the follower stops (issue 17).
 */
#define PROXY_AGG_INTERVAL_S 60
#define PROXY_AGG_BURST 8

struct events_ctx {
        struct proxylog pl;
        const char *log;
        const char *session;
        uint64_t events;
        uint64_t malformed_reported;
        struct eventagg agg;
};

/* What distinguishes one kind of denial from another: the rule, reason or limit. */
static const char *agg_detail(const json_t *fields)
{
        static const char *const keys[] = {"rule", "reason", "limit"};

        for (size_t i = 0; i < CA_ELEMENTSOF(keys); i++) {
                const char *v = json_string_value(json_object_get(fields, keys[i]));
                if (v)
                        return v;
        }
        return "";
}

static void agg_summary(const char *key, uint64_t suppressed, void *userdata)
{
        struct events_ctx *ec = userdata;
        const char *slash = strchr(key, '/');
        struct ca_error err = {0};
        char type[64];
        json_t *fields;
        int t;

        if (!slash || (size_t) (slash - key) >= sizeof(type))
                return;
        (void) snprintf(type, sizeof(type), "%.*s", (int) (slash - key), key);
        t = audit_type_from_name(type);
        fields = json_pack("{s:s, s:I, s:i, s:b}", "rule", slash + 1, "suppressed",
                           (json_int_t) suppressed, "interval_s", PROXY_AGG_INTERVAL_S, "summary",
                           1);
        if (t >= 0 && fields &&
            audit_emit(ec->log, (enum audit_type) t, ec->session, fields, &err) < 0)
                log_warn("%s, ignoring", err.msg);
        json_decref(fields);
}

static int emit(struct events_ctx *ec, const char *type, json_t *fields, struct ca_error *err)
{
        _cleanup_buf_ struct buf b = BUF_INIT;
        int t = audit_type_from_name(type);
        char key[EVENTAGG_KEY_MAX];
        uint64_t suppressed = 0;
        int r = 0;

        (void) snprintf(key, sizeof(key), "%s/%s", type, agg_detail(fields));
        if (t < 0) {
                r = ca_error_setx(err, EINVAL, "unknown event type '%s'", type);
        } else if (!eventagg_admit(&ec->agg, key, (uint64_t) clock_monotonic_ms(), &suppressed)) {
                json_decref(fields);
                return 0;
        } else {
                if (suppressed) {
                        (void) json_object_set_new(fields, "suppressed",
                                                   json_integer((json_int_t) suppressed));
                        (void) json_object_set_new(fields, "interval_s",
                                                   json_integer(PROXY_AGG_INTERVAL_S));
                }
                r = audit_emit(ec->log, (enum audit_type) t, ec->session, fields, err);
        }
        /* The fields come from squid's logs of the agent's requests: ASCII only. */
        if (r >= 0 && ca_json_canonical_ascii(fields, &b, err) >= 0)
                (void) printf("%s %.*s\n", type, (int) b.len, b.data);
        json_decref(fields);
        if (r >= 0)
                ec->events++;
        return r;
}

/* Reads the complete lines appended to `cur` since its offset. */
static int drain(int run_fd, struct cursor *cur, struct events_ctx *ec, bool dns,
                 struct ca_error *err)
{
        _cleanup_close_ int fd = openat(run_fd, cur->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct lines lr;
        struct stat st;
        off_t pos;
        int r = 0;

        if (fd < 0)
                return errno == ENOENT ? 0 : ca_error_set(err, errno, "cannot open '%s'", cur->name);
        if (fstat(fd, &st) < 0)
                return ca_error_set(err, errno, "cannot stat '%s'", cur->name);
        if ((uint64_t) st.st_ino != cur->ino || (uint64_t) st.st_size < cur->offset) {
                cur->ino = (uint64_t) st.st_ino; /* new or truncated: from the start */
                cur->offset = 0;
        }
        if (lseek(fd, (off_t) cur->offset, SEEK_SET) < 0)
                return ca_error_set(err, errno, "cannot seek in '%s'", cur->name);
        lines_init(&lr, fd, PROXYLOG_MAX_LINE);
        lr.hold_partial = true;
        for (;;) {
                const char *line, *type = NULL;
                size_t len;
                bool term;
                json_t *fields = NULL;
                struct ca_error lerr = {0};

                r = lines_next(&lr, &line, &len, &term, &lerr);
                if (r == -EMSGSIZE) {
                        ec->pl.lines++;
                        ec->pl.malformed++;
                        continue;
                }
                if (r < 0) {
                        r = ca_error_setx(err, lerr.code, "%s: %s", cur->name, lerr.msg);
                        break;
                }
                if (r == 0)
                        break;
                r = dns ? proxylog_feed_dns(&ec->pl, line, len, &type, &fields)
                        : proxylog_feed_access(&ec->pl, line, len, &type, &fields);
                if (r < 0) {
                        r = ca_error_setx(err, ENOMEM, "out of memory");
                        break;
                }
                if (r == 1 && (r = emit(ec, type, fields, err)) < 0)
                        break;
        }
        pos = lseek(fd, 0, SEEK_CUR);
        if (pos >= 0)
                cur->offset = (uint64_t) pos - (lr.buf.len - lr.start);
        lines_clear(&lr);
        return r < 0 ? r : 0;
}

/* One pass over both logs: the new lines' events, the malformed count, the cursors saved,
 * what the aggregation has due. */
static int events_pass(int run_fd, struct cursor *cur, struct events_ctx *ec, struct ca_error *err)
{
        const struct cursor before[2] = {cur[0], cur[1]};
        int r = 0;

        /* dnsmasq first: its answers name the addresses squid's denials refer to. */
        for (size_t i = 0; r >= 0 && i < 2; i++)
                r = drain(run_fd, &cur[i], ec, i == 0, err);
        /* Lines that do not parse are never silent: counted, in an event. */
        if (r >= 0 && ec->pl.malformed > ec->malformed_reported) {
                r = emit(ec, "proxy-log-malformed",
                         json_pack("{s:s, s:I, s:I}", "reason", "unparsable", "lines",
                                   (json_int_t) (ec->pl.malformed - ec->malformed_reported),
                                   "total", (json_int_t) ec->pl.malformed),
                         err);
                ec->malformed_reported = ec->pl.malformed;
        }
        /* Only when something was read: the state file is in the watched directory, and
         * writing it every pass woke the next one, for ever (a core burnt per session). */
        if (r >= 0 && memcmp(before, cur, sizeof(before)) != 0)
                r = save_state(run_fd, cur, 2, err);
        eventagg_flush(&ec->agg, (uint64_t) clock_monotonic_ms(), false, agg_summary, ec);
        (void) fflush(stdout);
        return r;
}

/* Until the logs change (0), a stop signal (1), or a failure (negative); woken at least once
 * an interval, to record pending counts. */
static int wait_for_lines(int in, int sfd, struct ca_error *err)
{
        char evbuf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        struct pollfd p[2] = {{.fd = in, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};

        if (poll(p, 2, PROXY_AGG_INTERVAL_S * 1000) < 0 && errno != EINTR)
                return ca_error_set(err, errno, "poll failed");
        if (p[1].revents)
                return 1;
        if (p[0].revents && read(in, evbuf, sizeof(evbuf)) < 0 && errno != EINTR)
                return ca_error_set(err, errno, "inotify read failed");
        return 0;
}

static int proxy_events(int argc, char **argv)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"dir", required_argument, NULL, 'd'},
                {"follow", no_argument, NULL, 'f'},
                {"session", required_argument, NULL, 's'},
                {"log", required_argument, NULL, 'l'},
                {0},
        };
        struct cursor cur[2] = {{"dnsmasq.log", 0, 0}, {"access.log", 0, 0}};
        _cleanup_free_ char *log = NULL;
        _cleanup_free_ char *run = NULL;
        struct events_ctx ec = {0};
        struct proxy_dir pd = {0};
        _cleanup_close_ int run_fd = -1, in = -1, sfd = -1;
        struct ca_error err = {0};
        const char *dir = NULL;
        bool follow = false;
        int c, r = 0;

        optind = 0;
        while ((c = getopt_long(argc, argv, "hd:f", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return help();
                case 'd':
                        dir = optarg;
                        break;
                case 'f':
                        follow = true;
                        break;
                case 's':
                        if (!capability_valid_session(optarg))
                                return usage_error("bad session id '%s'", optarg);
                        ec.session = optarg;
                        break;
                case 'l':
                        free(log);
                        log = strdup(optarg);
                        if (!log || optarg[0] != '/')
                                return usage_error("--log takes an absolute path");
                        break;
                default:
                        return usage_error("unknown option");
                }
        }
        if (optind < argc)
                return usage_error("unexpected argument '%s'", argv[optind]);
        if (!dir)
                return usage_error("--dir DIR is required");
        if (!log)
                return usage_error("--log FILE is required (the security event log)");
        if (proxy_dir_load(dir, &pd, &err) < 0) {
                proxy_dir_clear(&pd);
                return fail(&err);
        }
        ec.log = log;
        eventagg_init(&ec.agg, (uint64_t) PROXY_AGG_INTERVAL_S * 1000, PROXY_AGG_BURST, agg_summary, &ec);
        ec.pl.max_request =
                (uint64_t) json_integer_value(json_object_get(pd.summary, "max_request_bytes"));
        ec.pl.max_reply =
                (uint64_t) json_integer_value(json_object_get(pd.summary, "max_reply_bytes"));
        run = paths_join(pd.dir, "run");
        proxy_dir_clear(&pd);
        if (!run)
                return prog_error("out of memory");
        run_fd = open(run, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (run_fd < 0)
                return prog_error("cannot open '%s': %m (has 'egress-proxy run' started?)", run);
        load_state(run_fd, cur, 2);
        if (follow) {
                sigset_t mask;

                sigemptyset(&mask);
                sigaddset(&mask, SIGTERM);
                sigaddset(&mask, SIGINT);
                in = inotify_init1(IN_CLOEXEC);
                if (in < 0 || inotify_add_watch(in, run, IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0)
                        return prog_error("cannot watch '%s': %m", run);
                if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
                    (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0)
                        return prog_error("signalfd failed: %m");
        }
        for (;;) {
                r = events_pass(run_fd, cur, &ec, &err);
                if (r < 0 || !follow)
                        break;
                r = wait_for_lines(in, sfd, &err);
                if (r != 0)
                        break;
        }
        eventagg_flush(&ec.agg, (uint64_t) clock_monotonic_ms(), true, agg_summary, &ec);
        log_info("%" PRIu64 " lines read, %" PRIu64 " events, %" PRIu64 " malformed", ec.pl.lines,
                 ec.events, ec.pl.malformed);
        if (r < 0)
                return fail(&err);
        return finish(0);
}


int main(int argc, char **argv)
{
        log_init("egress-proxy");
        if (argc < 2)
                return usage_error("missing subcommand (run or events)");
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
                return help();
        if (strcmp(argv[1], "run") == 0)
                return proxy_run(argc - 1, argv + 1);
        if (strcmp(argv[1], "events") == 0)
                return proxy_events(argc - 1, argv + 1);
        return usage_error("unknown subcommand '%s'", argv[1]);
}
