/* SPDX-License-Identifier: MIT */
/* agent-init's helpers (init_helpers.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "brokercred.h"
#include "buf.h"
#include "cleanup.h"
#include "clock.h"
#include "error.h"
#include "fileio.h"
#include "image.h"
#include "init.h"
#include "init_helpers.h"
#include "log.h"
#include "manifest.h"
#include "privdrop.h"
#include "scrub.h"

#define MAX_HELPERS 64
/* Restarts: 0.5 s, 1 s, 2 s ... 30 s at most; the capability allows 8 redemptions. */
#define RESTART_FIRST_MS 500
#define RESTART_MAX_MS 30000
#define MAX_RESTARTS 7
/* How long a helper may take to listen (its broker redemption included), and to answer. */
#define START_TIMEOUT_MS 30000
#define HEALTH_TIMEOUT_MS 10000
/* The broker socket, as the helper sees it. */
#define HELPER_BROKER_FD 3
#define HELPER_EVENTS_FD 4

struct helper {
        const struct manifest_server *srv;
        const char *name;
        uid_t uid;
        unsigned port;
        char dir[300];
        pid_t pid;
        int events_r;
        char line[PIPE_BUF + 1];
        size_t line_len;
        unsigned restarts;
        int64_t restart_at; /* ms, 0: none due */
        char env[112];      /* CODING_AGENTS_TOKEN_<port>=<token> */
        char token[72];     /* 64 hex ("gho_" first for Copilot's model helper) */
};

struct init_helpers {
        const char *session;
        const char *proxy;
        int broker_fd; /* O_PATH */
        int timer_fd;
        bool stopping;
        size_t n;
        struct helper h[MAX_HELPERS];
};

/* ---- the helper's events ------------------------------------------------------------------ */

static void helper_line(struct init_helpers *hs, struct helper *h, const char *line)
{
        static const enum audit_type allowed[] = {
                AUDIT_HELPER_START,  AUDIT_HELPER_STOP,  AUDIT_HELPER_HEALTH,
                AUDIT_HELPER_LIMIT,  AUDIT_HELPER_DENIED, AUDIT_PIN_MISMATCH,
                AUDIT_CREDENTIAL_REFRESH, AUDIT_MODEL_USAGE};
        _cleanup_json_ json_t *ev = json_loads(line, 0, NULL);
        const char *type = json_string_value(json_object_get(ev, "type"));
        json_t *fields = json_object_get(ev, "fields");
        int t = type ? audit_type_from_name(type) : -1;
        bool ok = false;

        for (size_t i = 0; i < CA_ELEMENTSOF(allowed); i++)
                ok = ok || t == (int) allowed[i];
        if (!ok || !json_is_object(fields)) {
                log_warn("helper %s sent an event that is not one of its own, ignoring", h->name);
                return;
        }
        /* The name is ours to say. */
        (void) json_object_set_new(fields, "helper", json_string(h->name));
        init_event((enum audit_type) t, hs->session, json_incref(fields));
}

/* Reads what the pipe has (it is non-blocking); complete lines become events. */
static void drain_events(struct init_helpers *hs, struct helper *h)
{
        char buf[4096];
        ssize_t n;

        while (h->events_r >= 0 && (n = read(h->events_r, buf, sizeof(buf))) != 0) {
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return;
                        break;
                }
                for (ssize_t i = 0; i < n; i++) {
                        if (buf[i] != '\n') {
                                if (h->line_len < PIPE_BUF)
                                        h->line[h->line_len] = buf[i];
                                h->line_len++;
                                continue;
                        }
                        if (h->line_len <= PIPE_BUF) {
                                h->line[h->line_len] = '\0';
                                helper_line(hs, h, h->line);
                        }
                        h->line_len = 0;
                }
        }
        /* End of file (or an error): the helper is gone. */
        if (h->events_r >= 0)
                (void) close(h->events_r);
        h->events_r = -1;
        h->line_len = 0;
}

/* ---- its directory ------------------------------------------------------------------------ */

static int write_file(const char *dir, const char *name, const void *data, size_t len, uid_t uid)
{
        char path[400];
        _cleanup_close_ int fd = -1;

        (void) snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        if (fileio_write_all(fd, data, len) < 0 || fchown(fd, uid, uid) < 0)
                return -errno;
        return 0;
}

/* The credential (socket: our descriptor 3), the token and the bundle, fresh for each start
 * (the helper zeroes them when it exits). */
static void fill_dir(const struct helper *h, bool *has_bundle)
{
        _cleanup_buf_ struct buf text = BUF_INIT;
        _cleanup_brokercred_ struct broker_credential cred;
        struct ca_error err = {0};
        char src[400], dst[400], sock[32];
        int r;

        (void) snprintf(src, sizeof(src), "%s/%s.cred", IMAGE_HELPER_CREDENTIALS, h->name);
        (void) snprintf(dst, sizeof(dst), "%s/credential.json", h->dir);
        (void) snprintf(sock, sizeof(sock), "/proc/self/fd/%d", HELPER_BROKER_FD);
        if (brokercred_load(src, &cred, &err) < 0 ||
            brokercred_write_as(dst, &cred, sock, &err) < 0)
                init_die("helper %s: %s", h->name, err.msg);
        if (lchown(dst, h->uid, h->uid) < 0)
                init_die("helper %s: cannot hand %s over: %s", h->name, dst, strerror(errno));
        r = write_file(h->dir, "token", h->token, strlen(h->token), h->uid);
        if (r < 0)
                init_die("helper %s: cannot fill %s: %s", h->name, h->dir, strerror(-r));
        /* The model helper's login to the sidecar's squid (its vendor's hosts are its alone). */
        (void) snprintf(src, sizeof(src), "%s/proxy-auth", IMAGE_HELPER_CREDENTIALS);
        if (h->srv->model_vendor && access(src, F_OK) == 0) {
                buf_reset(&text);
                if (fileio_read_path(src, 4096, &text, &err) < 0)
                        init_die("helper %s: %s", h->name, err.msg);
                r = write_file(h->dir, "proxy-auth", text.data, text.len, h->uid);
                sodium_memzero(text.data, text.cap);
                if (r < 0)
                        init_die("helper %s: cannot fill %s: %s", h->name, h->dir, strerror(-r));
        }
        (void) snprintf(src, sizeof(src), "%s/%s.pem", IMAGE_HELPER_CREDENTIALS, h->name);
        *has_bundle = access(src, F_OK) == 0;
        if (*has_bundle) {
                buf_reset(&text);
                if (fileio_read_path(src, (size_t) 4 << 20, &text, &err) < 0)
                        init_die("helper %s: %s", h->name, err.msg);
                r = write_file(h->dir, "ca.pem", text.data, text.len, h->uid);
                if (r < 0)
                        init_die("helper %s: cannot fill %s: %s", h->name, h->dir, strerror(-r));
        }
}

/* ---- starting one --------------------------------------------------------------------------- */

static void add_arg(const char **argv, size_t *n, size_t max, const char *a)
{
        if (*n + 1 < max)
                argv[(*n)++] = a;
}

/* `option item` for each item. */
static void add_args(const char **argv, size_t *n, size_t max, const char *option,
                     const struct manifest_strv *items)
{
        for (size_t i = 0; i < items->len; i++) {
                add_arg(argv, n, max, option);
                add_arg(argv, n, max, items->items[i]);
        }
}

CA_NORETURN static void exec_helper(const struct init_helpers *hs, const struct helper *h,
                                    int events_w, int out_w, bool has_bundle)
{
        const char *argv[96];
        size_t n = 0;
        char cred[400], token[400], ca[400], proxy_auth[400], fdarg[16];
        char *env[] = {(char *) "PATH=/usr/bin:/bin", (char *) "LANG=C.UTF-8", NULL};
        const char *step;

        (void) snprintf(cred, sizeof(cred), "%s/credential.json", h->dir);
        (void) snprintf(token, sizeof(token), "%s/token", h->dir);
        (void) snprintf(ca, sizeof(ca), "%s/ca.pem", h->dir);
        (void) snprintf(proxy_auth, sizeof(proxy_auth), "%s/proxy-auth", h->dir);
        (void) snprintf(fdarg, sizeof(fdarg), "%d", HELPER_EVENTS_FD);
        add_arg(argv, &n, 96, IMAGE_BIN_DIR "/mcp-helper");
        add_arg(argv, &n, 96, "--name");
        add_arg(argv, &n, 96, h->name);
        add_arg(argv, &n, 96, "--upstream");
        add_arg(argv, &n, 96, h->srv->url);
        add_arg(argv, &n, 96, "--listen");
        add_arg(argv, &n, 96, h->srv->listen);
        add_arg(argv, &n, 96, "--credential");
        add_arg(argv, &n, 96, cred);
        add_arg(argv, &n, 96, "--token-file");
        add_arg(argv, &n, 96, token);
        add_arg(argv, &n, 96, "--events-fd");
        add_arg(argv, &n, 96, fdarg);
        /* Only the agent CLI (and agent-init's health probes, as root: the control plane) talk
         * to helpers: any other UID (workloads, MCP servers) is refused before it costs a
         * thread (issue 17). */
        add_arg(argv, &n, 96, "--peer-uid");
        add_arg(argv, &n, 96, "0");
        add_arg(argv, &n, 96, "--peer-uid");
        add_arg(argv, &n, 96, IMAGE_AGENTCLI_UID_STR);
        if (hs->session) {
                add_arg(argv, &n, 96, "--session");
                add_arg(argv, &n, 96, hs->session);
        }
        if (hs->proxy) {
                add_arg(argv, &n, 96, "--proxy");
                add_arg(argv, &n, 96, hs->proxy);
        }
        if (has_bundle) {
                add_arg(argv, &n, 96, "--ca-file");
                add_arg(argv, &n, 96, ca);
        }
        if (hs->proxy && access(proxy_auth, F_OK) == 0) {
                add_arg(argv, &n, 96, "--proxy-auth-file");
                add_arg(argv, &n, 96, proxy_auth);
        }
        if (h->srv->model_vendor) {
                /* The model helper: the vendor's API at "/", the login refreshed here. */
                add_arg(argv, &n, 96, "--model");
                add_arg(argv, &n, 96, h->srv->model_vendor);
                add_arg(argv, &n, 96, "--base-path");
                add_arg(argv, &n, 96, "/");
                if (h->srv->model_token_url) {
                        add_arg(argv, &n, 96, "--token-url");
                        add_arg(argv, &n, 96, h->srv->model_token_url);
                }
        }
        add_args(argv, &n, 96, "--pin", &h->srv->pins);
        add_args(argv, &n, 96, "--allow-method", &h->srv->allow_methods);
        add_args(argv, &n, 96, "--allow-path", &h->srv->allow_paths);
        if (n + 1 >= 96)
                init_die("helper %s: too many pins and allowed methods and paths", h->name);
        argv[n] = NULL;

        /* Descriptors: 0 /dev/null, 1 the "listening" pipe, 2 ours, 3 the broker, 4 events. */
        if (dup2(hs->broker_fd, 100) < 0 || dup2(events_w, 101) < 0 || dup2(out_w, 102) < 0 ||
            dup2(100, HELPER_BROKER_FD) < 0 || dup2(101, HELPER_EVENTS_FD) < 0 ||
            dup2(102, STDOUT_FILENO) < 0)
                _exit(126);
        {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

                if (null < 0 || dup2(null, STDIN_FILENO) < 0)
                        _exit(126);
        }
        closefrom(HELPER_EVENTS_FD + 1);
        if (privdrop_become(h->uid, &step) < 0)
                _exit(126); /* forked child: agent-init sees the helper never listen */
        (void) execve(argv[0], (char *const *) argv, env);
        _exit(127);
}

/* Reads one line from `fd` within `timeout_ms`. */
static bool read_line(int fd, char *line, size_t size, int timeout_ms)
{
        int64_t deadline = clock_monotonic_ms() + timeout_ms;
        size_t got = 0;

        while (got + 1 < size) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int64_t left = deadline - clock_monotonic_ms();
                ssize_t r;

                if (left <= 0 || poll(&p, 1, (int) left) <= 0)
                        break;
                r = read(fd, line + got, 1);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0 || line[got] == '\n')
                        break;
                got++;
        }
        line[got] = '\0';
        return got > 0;
}

/* GET /healthz on the helper's port: 0 when it answers 200. */
static int check_health(const struct helper *h, char *detail, size_t size)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) h->port)};
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        char req[160], resp[512];
        size_t got = 0;
        int64_t deadline = clock_monotonic_ms() + HEALTH_TIMEOUT_MS;
        int n;

        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        n = snprintf(req, sizeof(req),
                     "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n\r\n",
                     h->port);
        if (fd < 0 || connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0 ||
            fileio_write_all(fd, req, (size_t) n) < 0) {
                (void) snprintf(detail, size, "cannot connect: %s", strerror(errno));
                return -1;
        }
        while (got + 1 < sizeof(resp)) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int64_t left = deadline - clock_monotonic_ms();
                ssize_t r;

                if (left <= 0 || poll(&p, 1, (int) left) <= 0)
                        break;
                r = read(fd, resp + got, sizeof(resp) - 1 - got);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                got += (size_t) r;
        }
        resp[got] = '\0';
        if (strncmp(resp, "HTTP/1.1 200 ", 13) != 0) {
                (void) snprintf(detail, size, "/healthz answered '%.40s'", resp);
                return -1;
        }
        (void) snprintf(detail, size, "/healthz 200");
        return 0;
}

/* Starts h and waits until it listens and answers /healthz; false when it did not. */
static bool start_one(struct init_helpers *hs, struct helper *h)
{
        int ev[2], out[2];
        bool has_bundle = false, healthy;
        char line[256], detail[128];
        pid_t pid;

        fill_dir(h, &has_bundle);
        if (pipe2(ev, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
                init_die("pipe: %s", strerror(errno));
        pid = fork();
        if (pid < 0)
                init_die("fork: %s", strerror(errno));
        if (pid == 0)
                exec_helper(hs, h, ev[1], out[1], has_bundle);
        (void) close(ev[1]);
        (void) close(out[1]);
        (void) fcntl(ev[0], F_SETFL, O_NONBLOCK);
        h->pid = pid;
        h->events_r = ev[0];
        h->line_len = 0;
        /* "mcp-helper NAME: listening on ..." once it has redeemed and listens. */
        healthy = read_line(out[0], line, sizeof(line), START_TIMEOUT_MS) &&
                  strstr(line, ": listening on ") != NULL;
        (void) close(out[0]);
        drain_events(hs, h);
        if (healthy)
                healthy = check_health(h, detail, sizeof(detail)) == 0;
        else
                (void) snprintf(detail, sizeof(detail), "it did not start listening");
        init_event(AUDIT_HELPER_HEALTH, hs->session,
                   json_pack("{s:s, s:s, s:s, s:s, s:i}", "helper", h->name, "check", "start",
                             "status", healthy ? "ok" : "failed", "detail", detail, "restarts",
                             (int) h->restarts));
        if (!healthy)
                log_warn("helper %s: %s", h->name, detail);
        return healthy;
}

void init_helpers_start(const struct manifest *m, const char *session, const char *proxy,
                        struct init_helpers **ret)
{
        struct init_helpers *hs;
        size_t i, remote = 0;

        *ret = NULL;
        for (i = 0; m && i < m->nservers; i++)
                remote += m->servers[i].transport != MANIFEST_STDIO;
        if (remote == 0)
                return;
        if (remote > MAX_HELPERS)
                init_die("more than %d remote servers", MAX_HELPERS);
        hs = calloc(1, sizeof(*hs));
        if (!hs)
                init_die("out of memory");
        hs->session = session;
        hs->proxy = proxy;
        hs->broker_fd = open(IMAGE_BROKER_SOCKET, O_PATH | O_CLOEXEC);
        hs->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (hs->broker_fd < 0 || hs->timer_fd < 0)
                init_die("the helpers need the broker socket: %s", strerror(errno));
        if ((mkdir(IMAGE_HELPER_RUN, 0711) < 0 && errno != EEXIST) ||
            chmod(IMAGE_HELPER_RUN, 0711) < 0)
                init_die("cannot create %s: %s", IMAGE_HELPER_RUN, strerror(errno));
        for (i = 0; i < m->nservers; i++) {
                const struct manifest_server *srv = &m->servers[i];
                struct helper *h;
                uint8_t raw[32];
                char tok[72];
                /* Copilot takes only a GitHub-shaped token (gho_...) as its login. */
                size_t off = srv->model_vendor && strcmp(srv->model_vendor, "copilot") == 0 ? 4 : 0;

                if (srv->transport == MANIFEST_STDIO)
                        continue;
                h = &hs->h[hs->n++];
                h->srv = srv;
                h->name = srv->name;
                h->uid = srv->uid;
                h->port = srv->port;
                h->events_r = -1;
                (void) snprintf(h->dir, sizeof(h->dir), "%s/%s", IMAGE_HELPER_RUN, h->name);
                /* root's, the helper's group: the helper may write (and scrub) there, root
                 * may replace the files, nobody else enters. */
                if ((mkdir(h->dir, 0770) < 0 && errno != EEXIST) ||
                    chown(h->dir, 0, h->uid) < 0 || chmod(h->dir, 0770) < 0)
                        init_die("cannot create %s: %s", h->dir, strerror(errno));
                randombytes_buf(raw, sizeof(raw));
                memcpy(tok, "gho_", off);
                (void) sodium_bin2hex(tok + off, sizeof(tok) - off, raw, sizeof(raw));
                sodium_memzero(raw, sizeof(raw));
                memcpy(h->token, tok, sizeof(tok));
                (void) snprintf(h->env, sizeof(h->env), "CODING_AGENTS_TOKEN_%u=%s", h->port,
                                tok);
                sodium_memzero(tok, sizeof(tok));
                if (!start_one(hs, h))
                        init_die("remote MCP server '%s': its helper is not healthy", h->name);
        }
        log_info("%zu helper%s ready", hs->n, hs->n == 1 ? "" : "s");
        *ret = hs;
}

size_t init_helpers_env(const struct init_helpers *hs, const char **env, size_t max)
{
        size_t k = 0;

        for (size_t i = 0; hs && i < hs->n && k < max; i++)
                env[k++] = hs->h[i].env;
        return k;
}

size_t init_helpers_pollfds(const struct init_helpers *hs, struct pollfd *pfd, size_t max)
{
        size_t k = 0;

        if (!hs)
                return 0;
        if (k < max)
                pfd[k++] = (struct pollfd){.fd = hs->timer_fd, .events = POLLIN};
        for (size_t i = 0; i < hs->n && k < max; i++)
                if (hs->h[i].events_r >= 0)
                        pfd[k++] = (struct pollfd){.fd = hs->h[i].events_r, .events = POLLIN};
        return k;
}

static void arm_timer(struct init_helpers *hs)
{
        int64_t next = 0;
        struct itimerspec its = {0};

        for (size_t i = 0; i < hs->n; i++)
                if (hs->h[i].restart_at && (!next || hs->h[i].restart_at < next))
                        next = hs->h[i].restart_at;
        if (next) {
                int64_t in = next - clock_monotonic_ms();

                if (in < 1)
                        in = 1;
                its.it_value.tv_sec = (time_t) (in / 1000);
                its.it_value.tv_nsec = (long) (in % 1000) * 1000000L;
        }
        (void) timerfd_settime(hs->timer_fd, 0, &its, NULL);
}

void init_helpers_dispatch(struct init_helpers *hs)
{
        uint64_t x;

        if (!hs)
                return;
        for (size_t i = 0; i < hs->n; i++)
                drain_events(hs, &hs->h[i]);
        if (read(hs->timer_fd, &x, sizeof(x)) != (ssize_t) sizeof(x) || hs->stopping)
                return;
        for (size_t i = 0; i < hs->n; i++) {
                struct helper *h = &hs->h[i];

                if (!h->restart_at || h->restart_at > clock_monotonic_ms())
                        continue;
                h->restart_at = 0;
                log_info("restarting helper %s (restart %u)", h->name, h->restarts);
                (void) start_one(hs, h);
        }
        arm_timer(hs);
}

bool init_helpers_reaped(struct init_helpers *hs, pid_t pid, int status)
{
        for (size_t i = 0; hs && i < hs->n; i++) {
                struct helper *h = &hs->h[i];
                int64_t delay;

                if (h->pid != pid || pid <= 0)
                        continue;
                h->pid = 0;
                drain_events(hs, h);
                if (hs->stopping)
                        return true;
                if (h->restarts >= MAX_RESTARTS) {
                        init_event(AUDIT_HELPER_STOP, hs->session,
                                   json_pack("{s:s, s:s, s:i, s:i}", "helper", h->name, "reason",
                                             "gave-up", "status", status, "restarts",
                                             (int) h->restarts));
                        log_warn("helper %s keeps failing; not restarted again", h->name);
                        return true;
                }
                delay = (int64_t) RESTART_FIRST_MS << h->restarts;
                if (delay > RESTART_MAX_MS)
                        delay = RESTART_MAX_MS;
                h->restarts++;
                h->restart_at = clock_monotonic_ms() + delay;
                init_event(AUDIT_HELPER_STOP, hs->session,
                           json_pack("{s:s, s:s, s:i, s:I}", "helper", h->name, "reason",
                                     "exited", "status", status, "restart_in_ms",
                                     (json_int_t) delay));
                arm_timer(hs);
                return true;
        }
        return false;
}

void init_helpers_stopping(struct init_helpers *hs)
{
        if (hs)
                hs->stopping = true;
}

void init_helpers_finish(struct init_helpers *hs)
{
        if (!hs)
                return;
        for (size_t i = 0; i < hs->n; i++) {
                struct helper *h = &hs->h[i];

                drain_events(hs, h);
                if (scrub_remove_dir(h->dir, h->uid) < 0)
                        log_warn("cannot scrub %s, ignoring", h->dir);
                sodium_memzero(h->token, sizeof(h->token));
                sodium_memzero(h->env, sizeof(h->env));
        }
        (void) close(hs->broker_fd);
        (void) close(hs->timer_fd);
        free(hs);
}

bool init_helpers_owns(const struct init_helpers *hs, pid_t pid)
{
        for (size_t i = 0; hs && i < hs->n; i++)
                if (hs->h[i].pid == pid && pid > 0)
                        return true;
        return false;
}

const char *init_helpers_token(const struct init_helpers *hs, const char *name)
{
        for (size_t i = 0; hs && i < hs->n; i++)
                if (strcmp(hs->h[i].name, name) == 0)
                        return hs->h[i].token;
        return NULL;
}
