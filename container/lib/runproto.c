/* SPDX-License-Identifier: MIT */
/* The shell shim <-> task runner protocol (runproto.h). */
#include "runproto.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "error.h"
#include "json.h"

#define MAX_FDS 3

void run_msg_clear(struct run_msg *m)
{
        free(m->argv);
        free(m->env);
        json_decref(m->json);
        memset(m, 0, sizeof(*m));
}

/* A JSON array of strings (without NUL bytes) as a NULL-terminated vector of borrowed strings. */
static int strv_of(const json_t *a, bool need_eq, const char ***ret, size_t *n,
                   struct ca_error *err)
{
        size_t i;
        json_t *v;
        const char **out;

        if (!json_is_array(a) || json_array_size(a) > RUNPROTO_MAX_ARGS)
                return ca_error_input(err, "not an array of at most %d strings", RUNPROTO_MAX_ARGS);
        out = calloc(json_array_size(a) + 1, sizeof(*out));
        if (!out)
                return ca_error_setx(err, ENOMEM, "out of memory");
        json_array_foreach(a, i, v) {
                const char *s = json_string_value(v);

                if (!s || strlen(s) != json_string_length(v) || (need_eq && !strchr(s, '=')) ||
                    (need_eq && s[0] == '=')) {
                        free(out);
                        return ca_error_input(err, "item %zu is not a %s", i,
                                              need_eq ? "NAME=value string" : "string");
                }
                out[i] = s;
        }
        *ret = out;
        *n = json_array_size(a);
        return 0;
}

static bool printable(const char *s)
{
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

static bool keys_are(const json_t *o, const char *const *keys)
{
        const char *k;
        json_t *v;

        json_object_foreach((json_t *) o, k, v) {
                bool known = false;

                for (const char *const *p = keys; *p; p++)
                        known = known || strcmp(k, *p) == 0;
                if (!known)
                        return false;
        }
        return true;
}

static int parse_run(struct run_msg *m, struct ca_error *err)
{
        static const char *const keys[] = {"op", "shell", "argv", "env", "cwd", NULL};
        const char *shell = json_string_value(json_object_get(m->json, "shell"));
        const char *cwd = json_string_value(json_object_get(m->json, "cwd"));
        int r;

        if (!keys_are(m->json, keys))
                return ca_error_input(err, "run: unexpected field");
        if (!shell || (strcmp(shell, "bash") != 0 && strcmp(shell, "dash") != 0))
                return ca_error_input(err, "run: shell must be bash or dash");
        if (!cwd || cwd[0] != '/' || strlen(cwd) != json_string_length(json_object_get(m->json, "cwd")))
                return ca_error_input(err, "run: cwd must be an absolute path");
        r = strv_of(json_object_get(m->json, "argv"), false, &m->argv, &m->argc, err);
        if (r >= 0 && m->argc == 0)
                r = ca_error_input(err, "run: empty argv");
        if (r >= 0)
                r = strv_of(json_object_get(m->json, "env"), true, &m->env, &m->envc, err);
        if (r < 0)
                return ca_error_prefix(err, "run");
        m->shell = shell;
        m->cwd = cwd;
        return 0;
}

static int parse_int(struct run_msg *m, const char *key, int min, int max, struct ca_error *err)
{
        const char *const keys[] = {"op", key, NULL};
        json_t *v = json_object_get(m->json, key);

        if (!keys_are(m->json, keys) || !json_is_integer(v) || json_integer_value(v) < min ||
            json_integer_value(v) > max)
                return ca_error_input(err, "'%s' must be an integer from %d to %d", key, min, max);
        m->value = (int) json_integer_value(v);
        return 0;
}

int run_msg_parse(const char *data, size_t len, struct run_msg *out, struct ca_error *err)
{
        const char *op;
        int r;

        memset(out, 0, sizeof(*out));
        out->json = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
        op = json_string_value(json_object_get(out->json, "op"));
        if (!json_is_object(out->json) || !op) {
                run_msg_clear(out);
                return ca_error_input(err, "not a message (a JSON object with an op)");
        }
        if (strcmp(op, "run") == 0) {
                out->op = RUN_OP_RUN;
                r = parse_run(out, err);
        } else if (strcmp(op, "signal") == 0) {
                out->op = RUN_OP_SIGNAL;
                r = parse_int(out, "signo", 1, 64, err);
                if (r >= 0 && out->value != SIGINT && out->value != SIGTERM &&
                    out->value != SIGHUP && out->value != SIGQUIT && out->value != SIGWINCH &&
                    out->value != SIGSTOP && out->value != SIGCONT)
                        r = ca_error_input(err, "signal %d is not forwarded", out->value);
        } else if (strcmp(op, "exit") == 0) {
                out->op = RUN_OP_EXIT;
                r = parse_int(out, "status", 0, 0xffff, err);
        } else if (strcmp(op, "error") == 0) {
                static const char *const keys[] = {"op", "message", NULL};

                out->op = RUN_OP_ERROR;
                out->message = json_string_value(json_object_get(out->json, "message"));
                r = keys_are(out->json, keys) && out->message && strlen(out->message) < 512 &&
                                    printable(out->message)
                            ? 0
                            : ca_error_input(err, "error: a one-line message");
        } else {
                r = ca_error_input(err, "unknown op");
        }
        if (r < 0)
                run_msg_clear(out);
        return r;
}

int run_send(int sock, json_t *msg, const int *fds, size_t nfds)
{
        _cleanup_json_ json_t *owned = msg;
        _cleanup_free_ char *text = owned ? json_dumps(owned, JSON_COMPACT | JSON_SORT_KEYS)
                                          : NULL;
        union {
                char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
                struct cmsghdr align;
        } u;
        uint8_t head[4];
        size_t len = text ? strlen(text) : 0, off = 0;

        if (!text)
                return -ENOMEM;
        if (len > RUNPROTO_MAX || nfds > MAX_FDS)
                return -EMSGSIZE;
        head[0] = (uint8_t) (len >> 24);
        head[1] = (uint8_t) (len >> 16);
        head[2] = (uint8_t) (len >> 8);
        head[3] = (uint8_t) len;
        while (off < 4 + len) {
                struct iovec iov[2] = {{head + (off < 4 ? off : 4), off < 4 ? 4 - off : 0},
                                       {text + (off > 4 ? off - 4 : 0), len - (off > 4 ? off - 4 : 0)}};
                struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
                ssize_t n;

                if (off == 0 && nfds) {
                        struct cmsghdr *c;

                        memset(&u, 0, sizeof(u));
                        mh.msg_control = u.buf;
                        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
                        c = CMSG_FIRSTHDR(&mh);
                        c->cmsg_level = SOL_SOCKET;
                        c->cmsg_type = SCM_RIGHTS;
                        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
                        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
                }
                n = sendmsg(sock, &mh, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EIO;
                off += (size_t) n;
        }
        return 0;
}

/* Reads exactly `len` bytes (descriptors only with the first). 1, 0 at the end, or -errno. */
static int read_exact(int sock, void *p, size_t len, int *fds, size_t max_fds, size_t *nfds)
{
        size_t off = 0;

        while (off < len) {
                union {
                        char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
                        struct cmsghdr align;
                } u;
                struct iovec iov = {(char *) p + off, len - off};
                struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
                ssize_t n;

                if (fds) {
                        mh.msg_control = u.buf;
                        mh.msg_controllen = sizeof(u.buf);
                }
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return off == 0 ? 0 : -EPROTO;
                for (struct cmsghdr *c = fds ? CMSG_FIRSTHDR(&mh) : NULL; c;
                     c = CMSG_NXTHDR(&mh, c)) {
                        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

                        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                                continue;
                        for (size_t i = 0; i < k; i++) {
                                int fd;

                                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                                if (*nfds < max_fds)
                                        fds[(*nfds)++] = fd;
                                else
                                        (void) close(fd);
                        }
                }
                fds = NULL; /* descriptors come with the frame's first bytes only */
                off += (size_t) n;
        }
        return 1;
}

ssize_t run_recv(int sock, char **buf, int *fds, size_t max_fds, size_t *nfds)
{
        uint8_t head[4];
        size_t len;
        char *p;
        int r;

        *buf = NULL;
        *nfds = 0;
        r = read_exact(sock, head, 4, fds, max_fds, nfds);
        if (r <= 0)
                return r;
        len = (size_t) head[0] << 24 | (size_t) head[1] << 16 | (size_t) head[2] << 8 | head[3];
        if (len > RUNPROTO_MAX)
                return -EMSGSIZE;
        p = malloc(len + 1);
        if (!p)
                return -ENOMEM;
        r = read_exact(sock, p, len, NULL, 0, nfds);
        if (r <= 0) {
                free(p);
                return r == 0 ? -EPROTO : r;
        }
        p[len] = '\0';
        *buf = p;
        return (ssize_t) len;
}

/* A stream socket and the address for `path`: the fd, or -errno (-ENAMETOOLONG when the path
 * does not fit an address). */
static int run_socket(const char *path, struct sockaddr_un *a)
{
        size_t n = strlen(path);
        int fd;

        if (n >= sizeof(a->sun_path))
                return -ENAMETOOLONG;
        a->sun_family = AF_UNIX;
        memcpy(a->sun_path, path, n + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        return fd < 0 ? -errno : fd;
}

/* Closes `fd` and returns the errno of the step that failed, negated. */
static int run_close_failed(int fd)
{
        int e = -errno;

        (void) close(fd);
        return e;
}

int run_listen(const char *path, uid_t uid, gid_t gid)
{
        struct sockaddr_un a = {0};
        int fd = run_socket(path, &a);

        if (fd < 0)
                return fd;
        (void) unlink(path);
        if (bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0 || chmod(path, 0600) < 0 ||
            chown(path, uid, gid) < 0 || listen(fd, 64) < 0)
                return run_close_failed(fd);
        return fd;
}

int run_connect(const char *path)
{
        struct sockaddr_un a = {0};
        int fd = run_socket(path, &a);

        if (fd < 0)
                return fd;
        if (connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0)
                return run_close_failed(fd);
        return fd;
}

const char *run_shell_for(const char *execfn)
{
        const char *base = execfn ? strrchr(execfn, '/') : NULL;

        base = base ? base + 1 : execfn ? execfn : "";
        return strcmp(base, "bash") == 0 || strcmp(base, "rbash") == 0 ? "bash" : "dash";
}

bool run_env_kept(const char *entry)
{
        static const char *const prefixes[] = {"CODING_AGENTS_TOKEN_", "ANTHROPIC_", "OPENAI_",
                                               "COPILOT_", "CLAUDE_", "CODEX_", "GEMINI_",
                                               "AWS_", "AZURE_", "GOOGLE_",
                                               /* the CLI's own git settings (agent-init) */
                                               "GIT_CONFIG_", NULL};
        static const char *const names[] = {"GITHUB_TOKEN", "GH_TOKEN", "GH_ENTERPRISE_TOKEN",
                                            "GITHUB_ENTERPRISE_TOKEN", "HOME", "USER", "LOGNAME",
                                            "MAIL", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
                                            "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR",
                                            "TMUX", "TMUX_PANE", "TMUX_TMPDIR", "LD_PRELOAD",
                                            "LD_LIBRARY_PATH", "LD_AUDIT", "BASH_ENV", "ENV",
                                            "SHELLOPTS", "BASHOPTS", "PS4", "PROMPT_COMMAND",
                                            NULL};
        const char *eq = strchr(entry, '=');
        size_t n = eq ? (size_t) (eq - entry) : strlen(entry);

        if (!eq || n == 0)
                return false;
        for (const char *const *p = prefixes; *p; p++)
                if (strncmp(entry, *p, strlen(*p)) == 0)
                        return false;
        for (const char *const *p = names; *p; p++)
                if (strlen(*p) == n && strncmp(entry, *p, n) == 0)
                        return false;
        /* API keys and tokens, whatever their vendor: *_API_KEY, *_TOKEN, *_SECRET. */
        if ((n >= 8 && strncmp(entry + n - 8, "_API_KEY", 8) == 0) ||
            (n >= 6 && strncmp(entry + n - 6, "_TOKEN", 6) == 0) ||
            (n >= 7 && strncmp(entry + n - 7, "_SECRET", 7) == 0) ||
            (n >= 9 && strncmp(entry + n - 9, "_PASSWORD", 9) == 0))
                return false;
        /* Exported bash functions run before anything: never across the line. */
        return strncmp(entry, "BASH_FUNC_", 10) != 0;
}
