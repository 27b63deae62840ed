/* SPDX-License-Identifier: MIT */
/*
 * The docker runtime (runtime.h): Docker Engine API v1.41 over the engine's Unix socket with
 * libcurl. One easy handle per runtime, so consecutive calls reuse the connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "httphead.h"
#include "json.h"
#include "runtime.h"
#include "usock.h"

#define API_PREFIX "http://localhost/v1.41"
#define MAX_ANSWER ((size_t) 32 << 20)

struct runtime {
        CURL *curl;
        char *socket;
};

struct call {
        const char *method;
        const char *body;        /* JSON body, or NULL */
        size_t body_len;
        int upload_fd;           /* tar body when >= 0 */
        curl_off_t upload_size;
        const char *content_type;
        struct buf answer;       /* the answer, unless streamed */
        bool too_big;
        long status;
        char server[64];
        /* Streaming: called per chunk instead of filling `answer`; returns false to abort. */
        bool (*chunk)(struct call *c, const char *data, size_t len);
        void *userdata;
        int cb_error;            /* set by `chunk` on failure */
        CURL *curl;              /* for the status while streaming */
};

static size_t on_write(char *data, size_t size, size_t n, void *userdata)
{
        struct call *c = userdata;
        size_t len = size * n;

        if (c->chunk) {
                if (c->status == 0)
                        (void) curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->status);
                return c->chunk(c, data, len) ? len : 0;
        }
        if (c->answer.len + len > MAX_ANSWER) {
                c->too_big = true;
                return 0;
        }
        return buf_append(&c->answer, data, len) < 0 ? 0 : len;
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
        struct call *c = userdata;
        size_t len = size * n;

        if (len > 7 && strncasecmp(data, "Server:", 7) == 0) {
                size_t i = 7, o = 0;

                while (i < len && data[i] == ' ')
                        i++;
                for (; i < len && o + 1 < sizeof(c->server); i++)
                        if ((unsigned char) data[i] >= 0x20 && (unsigned char) data[i] < 0x7f)
                                c->server[o++] = data[i];
                c->server[o] = '\0';
        }
        return len;
}

static size_t on_read(char *data, size_t size, size_t n, void *userdata)
{
        struct call *c = userdata;
        ssize_t r;

        do
                r = read(c->upload_fd, data, size * n);
        while (r < 0 && errno == EINTR);
        return r < 0 ? CURL_READFUNC_ABORT : (size_t) r;
}

/* The engine's {"message": "..."} as printable text, or the status. */
static const char *engine_message(const struct call *c, char *out, size_t size)
{
        _cleanup_json_ json_t *v = NULL;
        const char *m = NULL;
        size_t o = 0;

        if (c->answer.len && ca_json_parse(c->answer.data, c->answer.len, "engine", &v, NULL) == 0)
                m = json_string_value(json_object_get(v, "message"));
        if (!m) {
                (void) snprintf(out, size, "HTTP status %ld", c->status);
                return out;
        }
        for (; *m && o + 1 < size; m++)
                out[o++] = (unsigned char) *m >= 0x20 && (unsigned char) *m < 0x7f ? *m : '?';
        out[o] = '\0';
        return out;
}

/* Performs `c` on `path` (after the API prefix). Fills c->status; transport errors fail. */
static int perform(struct runtime *rt, const char *path, struct call *c, struct ca_error *err)
{
        _cleanup_free_ char *url = NULL;
        struct curl_slist *hdrs = NULL;
        char ctype[96];
        CURLcode cc;

        if (asprintf(&url, "%s%s", API_PREFIX, path) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        curl_easy_reset(rt->curl);
        c->curl = rt->curl;
        (void) curl_easy_setopt(rt->curl, CURLOPT_UNIX_SOCKET_PATH, rt->socket);
        (void) curl_easy_setopt(rt->curl, CURLOPT_URL, url);
        (void) curl_easy_setopt(rt->curl, CURLOPT_PROTOCOLS_STR, "http");
        (void) curl_easy_setopt(rt->curl, CURLOPT_NOSIGNAL, 1L);
        (void) curl_easy_setopt(rt->curl, CURLOPT_CONNECTTIMEOUT, 10L);
        (void) curl_easy_setopt(rt->curl, CURLOPT_CUSTOMREQUEST, c->method);
        (void) curl_easy_setopt(rt->curl, CURLOPT_WRITEFUNCTION, on_write);
        (void) curl_easy_setopt(rt->curl, CURLOPT_WRITEDATA, c);
        (void) curl_easy_setopt(rt->curl, CURLOPT_HEADERFUNCTION, on_header);
        (void) curl_easy_setopt(rt->curl, CURLOPT_HEADERDATA, c);
        if (c->body || c->upload_fd >= 0) {
                (void) snprintf(ctype, sizeof(ctype), "Content-Type: %s",
                                c->content_type ? c->content_type : "application/json");
                hdrs = curl_slist_append(hdrs, ctype);
                /* No "Expect: 100-continue" round trip before large bodies. */
                hdrs = curl_slist_append(hdrs, "Expect:");
                if (!hdrs)
                        return ca_error_setx(err, ENOMEM, "out of memory");
                (void) curl_easy_setopt(rt->curl, CURLOPT_HTTPHEADER, hdrs);
                (void) curl_easy_setopt(rt->curl, CURLOPT_POST, 1L);
        }
        if (c->body) {
                (void) curl_easy_setopt(rt->curl, CURLOPT_POSTFIELDS, c->body);
                (void) curl_easy_setopt(rt->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                                        (curl_off_t) c->body_len);
        } else if (c->upload_fd >= 0) {
                (void) curl_easy_setopt(rt->curl, CURLOPT_READFUNCTION, on_read);
                (void) curl_easy_setopt(rt->curl, CURLOPT_READDATA, c);
                (void) curl_easy_setopt(rt->curl, CURLOPT_POSTFIELDSIZE_LARGE, c->upload_size);
        }
        cc = curl_easy_perform(rt->curl);
        curl_slist_free_all(hdrs);
        (void) curl_easy_getinfo(rt->curl, CURLINFO_RESPONSE_CODE, &c->status);
        if (cc == CURLE_WRITE_ERROR && c->cb_error)
                return c->cb_error;
        if (cc == CURLE_WRITE_ERROR && c->too_big)
                return ca_error_setx(err, EMSGSIZE, "engine %s %s: answer larger than %zu bytes",
                                     c->method, path, MAX_ANSWER);
        if (cc != CURLE_OK)
                return ca_error_setx(err, cc == CURLE_COULDNT_CONNECT ? ECONNREFUSED : EIO,
                                     "cannot reach the container engine at '%s': %s",
                                     rt->socket, curl_easy_strerror(cc));
        return 0;
}

static void call_init(struct call *c, const char *method)
{
        *c = (struct call){.method = method, .upload_fd = -1, .answer = BUF_INIT};
}

/*
 * A JSON call. `ok` lists the accepted statuses (0-terminated); the answer is decoded into
 * *ret when asked. 404 gives -ENOENT, 409 -EEXIST, each with the engine's message.
 */
static int call_json(struct runtime *rt, const char *method, const char *path, const json_t *body,
                     const long *ok, json_t **ret, struct ca_error *err)
{
        _cleanup_buf_ struct buf req = BUF_INIT;
        struct call c;
        char msg[256];
        int r;

        call_init(&c, method);
        if (body) {
                if (ca_json_canonical(body, &req, err) < 0)
                        return -ENOMEM;
                c.body = req.data;
                c.body_len = req.len;
        }
        r = perform(rt, path, &c, err);
        if (r < 0) {
                buf_clear(&c.answer);
                return r;
        }
        for (; *ok; ok++)
                if (*ok == c.status)
                        break;
        if (!*ok) {
                int code = c.status == 404 ? ENOENT : c.status == 409 ? EEXIST : EIO;

                r = ca_error_setx(err, code, "engine %s %s: %s", method, path,
                                  engine_message(&c, msg, sizeof(msg)));
                buf_clear(&c.answer);
                return r;
        }
        if (ret) {
                r = ca_json_parse(c.answer.data ? c.answer.data : "", c.answer.len, "engine answer",
                                  ret, err);
                buf_clear(&c.answer);
                return r < 0 ? r : (int) c.status;
        }
        buf_clear(&c.answer);
        return (int) c.status;
}

static const long ok_200[] = {200, 0};
static const long ok_204[] = {204, 0};

int runtime_open(const char *name, const char *endpoint, struct runtime **ret,
                 struct ca_error *err)
{
        struct runtime *rt;
        const char *path = endpoint;

        if (strcmp(name, "docker") != 0)
                return ca_error_input(err, "unknown runtime '%s' (supported: docker)", name);
        if (!path) {
                const char *host = secure_getenv("DOCKER_HOST");

                if (host && *host) {
                        if (strncmp(host, "unix://", 7) != 0)
                                return ca_error_input(err,
                                                      "DOCKER_HOST='%s': only unix:// sockets "
                                                      "are supported (a TCP engine would carry "
                                                      "the session's secrets' wiring unprotected)",
                                                      host);
                        path = host + 7;
                } else {
                        path = RUNTIME_DEFAULT_SOCKET;
                }
        }
        rt = calloc(1, sizeof(*rt));
        if (!rt)
                return ca_error_setx(err, ENOMEM, "out of memory");
        rt->socket = strdup(path);
        rt->curl = curl_easy_init();
        if (!rt->socket || !rt->curl) {
                (void) runtime_close(rt);
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        *ret = rt;
        return 0;
}

struct runtime *runtime_close(struct runtime *rt)
{
        if (rt) {
                if (rt->curl)
                        curl_easy_cleanup(rt->curl);
                free(rt->socket);
                free(rt);
        }
        return NULL;
}

const char *runtime_endpoint(const struct runtime *rt)
{
        return rt->socket;
}

bool runtime_host_apparmor(void)
{
        char c = 'N';
        int fd = open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return false;
        if (read(fd, &c, 1) != 1)
                c = 'N';
        (void) close(fd);
        return c == 'Y';
}

int runtime_preflight(struct runtime *rt, struct engine_facts *facts, struct ca_error *err)
{
        _cleanup_json_ json_t *version = NULL;
        _cleanup_json_ json_t *info = NULL;
        struct call c;
        int r;

        memset(facts, 0, sizeof(*facts));
        call_init(&c, "GET");
        r = perform(rt, "/_ping", &c, err);
        buf_clear(&c.answer);
        if (r < 0)
                return r;
        if (c.status != 200)
                return ca_error_setx(err, EPROTO, "'%s' does not answer like a container engine "
                                                  "(GET /_ping: HTTP %ld)",
                                     rt->socket, c.status);
        r = call_json(rt, "GET", "/version", NULL, ok_200, &version, err);
        if (r < 0)
                return r;
        r = call_json(rt, "GET", "/info", NULL, ok_200, &info, err);
        if (r < 0)
                return r;
        r = engine_facts_parse(version, info, c.server, facts, err);
        if (r < 0)
                return r;
        return engine_facts_check(facts, runtime_host_apparmor(), err);
}

/* `s` percent-encoded for a URL query or path segment. */
static char *escape(struct runtime *rt, const char *s)
{
        char *e = curl_easy_escape(rt->curl, s, 0);
        char *copy = e ? strdup(e) : NULL;

        curl_free(e);
        return copy;
}

int runtime_image_inspect(struct runtime *rt, const char *ref, json_t **ret, struct ca_error *err)
{
        _cleanup_free_ char *e = escape(rt, ref);
        _cleanup_free_ char *path = NULL;
        json_t *v = NULL;
        int r;

        if (!e || asprintf(&path, "/images/%s/json", e) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = call_json(rt, "GET", path, NULL, ok_200, &v, err);
        if (r == -ENOENT) {
                ca_error_clear(err);
                return 0;
        }
        if (r < 0)
                return r;
        if (ret)
                *ret = v;
        else
                json_decref(v);
        return 1;
}

/* Progress streams: JSON lines; "error" fails the call, "stream"/"status" go to the caller. */
struct progress {
        struct buf line;
        runtime_progress_fn fn;
        void *userdata;
        struct ca_error *err;
        bool failed;
};

static bool progress_line(struct progress *p, const char *s, size_t len)
{
        _cleanup_json_ json_t *v = NULL;
        const char *text;

        if (len == 0 || ca_json_parse(s, len, "engine progress", &v, NULL) < 0)
                return true;
        text = json_string_value(json_object_get(v, "error"));
        if (text) {
                (void) ca_error_setx(p->err, EIO, "engine: %s", text);
                p->failed = true;
                return true;
        }
        text = json_string_value(json_object_get(v, "stream"));
        if (!text)
                text = json_string_value(json_object_get(v, "status"));
        if (text && p->fn) {
                _cleanup_free_ char *copy = strdup(text);
                size_t n;

                if (!copy)
                        return false;
                n = strlen(copy);
                while (n && (copy[n - 1] == '\n' || copy[n - 1] == '\r'))
                        copy[--n] = '\0';
                if (n)
                        p->fn(copy, p->userdata);
        }
        return true;
}

static bool progress_chunk(struct call *c, const char *data, size_t len)
{
        struct progress *p = c->userdata;

        for (size_t i = 0; i < len; i++) {
                if (data[i] != '\n') {
                        if (p->line.len > MAX_ANSWER || buf_append_char(&p->line, data[i]) < 0) {
                                c->cb_error = ca_error_setx(p->err, EMSGSIZE,
                                                            "engine progress line too long");
                                return false;
                        }
                        continue;
                }
                if (!progress_line(p, p->line.data, p->line.len))
                        return false;
                buf_reset(&p->line);
        }
        return true;
}

/* POSTs `path` with the tar file at `tar_path` as its body (none when NULL), and follows the
 * engine's progress stream to its end. */
static int upload_stream(struct runtime *rt, const char *path, const char *tar_path,
                         runtime_progress_fn fn, void *userdata, struct ca_error *err)
{
        _cleanup_close_ int fd = tar_path ? open(tar_path, O_RDONLY | O_CLOEXEC) : -1;
        struct progress p = {.line = BUF_INIT, .fn = fn, .userdata = userdata, .err = err};
        struct call c;
        struct stat st;
        char msg[256];
        int r;

        if (tar_path && (fd < 0 || fstat(fd, &st) < 0))
                return ca_error_set(err, errno, "cannot open '%s'", tar_path);
        call_init(&c, "POST");
        if (tar_path) {
                c.upload_fd = fd;
                c.upload_size = (curl_off_t) st.st_size;
                c.content_type = "application/x-tar";
        }
        c.chunk = progress_chunk;
        c.userdata = &p;
        r = perform(rt, path, &c, err);
        if (r == 0 && p.line.len)
                (void) progress_line(&p, p.line.data, p.line.len);
        buf_clear(&p.line);
        if (r < 0)
                return r;
        if (c.status != 200) {
                /* Non-200 answers are one JSON object, which the chunk handler saw as a line. */
                return p.failed ? -EIO
                                : ca_error_setx(err, EIO, "engine POST %s: %s", path,
                                                engine_message(&c, msg, sizeof(msg)));
        }
        return p.failed ? -EIO : 0;
}

int runtime_image_load(struct runtime *rt, const char *archive_path, runtime_progress_fn fn,
                       void *userdata, struct ca_error *err)
{
        return upload_stream(rt, "/images/load?quiet=0", archive_path, fn, userdata, err);
}

int runtime_image_pull(struct runtime *rt, const char *name, const char *digest,
                       runtime_progress_fn fn, void *userdata, struct ca_error *err)
{
        _cleanup_buf_ struct buf path = BUF_INIT;
        _cleanup_free_ char *ename = escape(rt, name);
        _cleanup_free_ char *edigest = escape(rt, digest);

        if (!ename || !edigest ||
            buf_printf(&path, "/images/create?fromImage=%s&tag=%s", ename, edigest) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        return upload_stream(rt, path.data, NULL, fn, userdata, err);
}

static json_t *string_array(const char *const *v)
{
        json_t *a = json_array();

        for (size_t i = 0; a && v && v[i]; i++)
                if (json_array_append_new(a, json_string(v[i])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

static json_t *host_config(const struct runtime_spec *s)
{
        json_t *hc, *binds, *tmpfs, *secopt;
        _cleanup_free_ char *seccomp = NULL;

        hc = json_pack("{s:b, s:[s], s:o, s:s, s:I, s:I, s:I, s:b, s:s, s:{s:s}}", "ReadonlyRootfs",
                       1, "CapDrop", "ALL", "CapAdd", string_array(s->cap_add), "NetworkMode",
                       s->network ? s->network : "none", "Memory", (json_int_t) s->memory_bytes,
                       "MemorySwap", (json_int_t) s->memory_bytes, "PidsLimit",
                       (json_int_t) s->pids_limit, "Init", 0, "IpcMode", "private",
                       "LogConfig", "Type", "json-file");
        if (!hc)
                return NULL;
        binds = json_array();
        tmpfs = json_object();
        secopt = json_array();
        (void) json_object_set_new(hc, "Binds", binds);
        (void) json_object_set_new(hc, "Tmpfs", tmpfs);
        (void) json_object_set_new(hc, "SecurityOpt", secopt);
        if (!binds || !tmpfs || !secopt) {
                json_decref(hc);
                return NULL;
        }
        for (size_t i = 0; i < s->nmounts; i++) {
                char *b = NULL;

                if (asprintf(&b, "%s:%s:%s", s->mounts[i].source, s->mounts[i].target,
                             s->mounts[i].read_only ? "ro,rprivate" : "rw,rprivate") < 0 ||
                    json_array_append_new(binds, json_string(b)) < 0) {
                        free(b);
                        json_decref(hc);
                        return NULL;
                }
                free(b);
        }
        for (size_t i = 0; i < s->ntmpfs; i++) {
                char *o = NULL;

                if (asprintf(&o, "nosuid,nodev,noexec,%s", s->tmpfs[i].options) < 0 ||
                    json_object_set_new(tmpfs, s->tmpfs[i].target, json_string(o)) < 0) {
                        free(o);
                        json_decref(hc);
                        return NULL;
                }
                free(o);
        }
        if (json_array_append_new(secopt, json_string("no-new-privileges:true")) < 0)
                goto oom;
        if (s->dns && json_object_set_new(hc, "Dns", string_array(s->dns)) < 0)
                goto oom;
        if (s->cgroup_parent &&
            json_object_set_new(hc, "CgroupParent", json_string(s->cgroup_parent)) < 0)
                goto oom;
        if (s->seccomp_json) {
                if (asprintf(&seccomp, "seccomp=%s", s->seccomp_json) < 0 ||
                    json_array_append_new(secopt, json_string(seccomp)) < 0)
                        goto oom;
        }
        if (s->apparmor) {
                char *a = NULL;

                if (asprintf(&a, "apparmor=%s", s->apparmor) < 0 ||
                    json_array_append_new(secopt, json_string(a)) < 0) {
                        free(a);
                        goto oom;
                }
                free(a);
        }
        return hc;
oom:
        json_decref(hc);
        return NULL;
}

int runtime_create(struct runtime *rt, const struct runtime_spec *s, char id[65],
                   struct ca_error *err)
{
        static const long ok[] = {201, 0};
        _cleanup_json_ json_t *body = NULL;
        _cleanup_json_ json_t *ans = NULL;
        _cleanup_free_ char *ename = escape(rt, s->name);
        _cleanup_free_ char *path = NULL;
        json_t *hc = host_config(s);
        const char *cid;
        int r;

        body = json_pack("{s:s, s:o, s:o, s:O, s:o, s:b, s:b, s:b, s:b, s:b, s:b, s:s, s:b}",
                         "Image", s->image, "Cmd", string_array(s->cmd), "Env",
                         string_array(s->env), "Labels", s->labels ? s->labels : json_object(),
                         "HostConfig", hc, "Tty", s->tty, "OpenStdin", s->tty, "StdinOnce",
                         s->tty, "AttachStdin", s->tty, "AttachStdout", 1, "AttachStderr", 1,
                         "WorkingDir", s->workdir ? s->workdir : "/", "NetworkDisabled",
                         s->network == NULL || strcmp(s->network, "none") == 0);
        if (body && s->entrypoint &&
            json_object_set_new(body, "Entrypoint", string_array(s->entrypoint)) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (!body || !ename || asprintf(&path, "/containers/create?name=%s", ename) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = call_json(rt, "POST", path, body, ok, &ans, err);
        if (r < 0)
                return r;
        cid = json_string_value(json_object_get(ans, "Id"));
        if (!cid || strlen(cid) != 64 || strspn(cid, "0123456789abcdef") != 64)
                return ca_error_setx(err, EPROTO, "engine: container create gave no valid Id");
        memcpy(id, cid, 65);
        return 0;
}

/* POST /containers/<id>/<verb><query>, accepting `ok` statuses; 404 and 304 are "done". */
static int container_post(struct runtime *rt, const char *id, const char *verb, const char *query,
                          const long *ok, struct ca_error *err)
{
        _cleanup_free_ char *eid = escape(rt, id);
        _cleanup_free_ char *path = NULL;

        if (!eid || asprintf(&path, "/containers/%s/%s%s", eid, verb, query) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        return call_json(rt, "POST", path, NULL, ok, NULL, err);
}

int runtime_start(struct runtime *rt, const char *id, struct ca_error *err)
{
        static const long ok[] = {204, 304, 0};
        int r = container_post(rt, id, "start", "", ok, err);

        return r < 0 ? r : 0;
}

int runtime_wait(struct runtime *rt, const char *id, int *exit_code, struct ca_error *err)
{
        _cleanup_free_ char *eid = escape(rt, id);
        _cleanup_free_ char *path = NULL;
        _cleanup_json_ json_t *ans = NULL;
        json_t *code;
        int r;

        if (!eid || asprintf(&path, "/containers/%s/wait", eid) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = call_json(rt, "POST", path, NULL, ok_200, &ans, err);
        if (r < 0)
                return r;
        code = json_object_get(ans, "StatusCode");
        if (!json_is_integer(code))
                return ca_error_setx(err, EPROTO, "engine: wait gave no StatusCode");
        *exit_code = (int) json_integer_value(code);
        return 0;
}

int runtime_stop(struct runtime *rt, const char *id, unsigned grace_seconds, struct ca_error *err)
{
        static const long ok[] = {204, 304, 0};
        char q[32];
        int r;

        (void) snprintf(q, sizeof(q), "?t=%u", grace_seconds);
        r = container_post(rt, id, "stop", q, ok, err);
        if (r == -ENOENT) {
                ca_error_clear(err);
                return 0;
        }
        return r < 0 ? r : 0;
}

int runtime_signal(struct runtime *rt, const char *id, const char *signal, struct ca_error *err)
{
        _cleanup_free_ char *q = NULL;
        int r;

        if (asprintf(&q, "?signal=%s", signal) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = container_post(rt, id, "kill", q, ok_204, err);
        if (r == -ENOENT || r == -EEXIST) { /* gone, or not running (409) */
                ca_error_clear(err);
                return 0;
        }
        return r < 0 ? r : 0;
}

int runtime_remove(struct runtime *rt, const char *id, bool force, struct ca_error *err)
{
        _cleanup_free_ char *eid = escape(rt, id);
        _cleanup_free_ char *path = NULL;
        int r;

        if (!eid || asprintf(&path, "/containers/%s?v=1&force=%d", eid, force ? 1 : 0) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = call_json(rt, "DELETE", path, NULL, ok_204, NULL, err);
        if (r == -ENOENT) {
                ca_error_clear(err);
                return 0;
        }
        /* 409 "removal already in progress" is also done, from our side. */
        if (r == -EEXIST && strstr(err->msg, "in progress")) {
                ca_error_clear(err);
                return 0;
        }
        return r < 0 ? r : 0;
}

int runtime_inspect(struct runtime *rt, const char *id, json_t **ret, struct ca_error *err)
{
        _cleanup_free_ char *eid = escape(rt, id);
        _cleanup_free_ char *path = NULL;
        int r;

        if (!eid || asprintf(&path, "/containers/%s/json", eid) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = call_json(rt, "GET", path, NULL, ok_200, ret, err);
        return r < 0 ? r : 0;
}

int runtime_network_inspect(struct runtime *rt, const char *name, json_t **ret,
                            struct ca_error *err)
{
        _cleanup_free_ char *ename = escape(rt, name);
        _cleanup_free_ char *path = NULL;
        int r;

        if (!ename || asprintf(&path, "/networks/%s", ename) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = call_json(rt, "GET", path, NULL, ok_200, ret, err);
        return r < 0 ? r : 0;
}

/* GET <what>?<all>filters={<filter>:[value]}: an array of the engine's list objects. */
static int list_filtered(struct runtime *rt, const char *what, const char *filter,
                         const char *key, json_t **ret, struct ca_error *err)
{
        _cleanup_json_ json_t *filters = json_pack("{s:[s]}", filter, key);
        _cleanup_buf_ struct buf j = BUF_INIT;
        _cleanup_free_ char *e = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        if (!filters || ca_json_canonical(filters, &j, err) < 0 || buf_append_char(&j, '\0') < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        e = escape(rt, j.data);
        if (!e || asprintf(&path, "%s%sfilters=%s", what,
                           strcmp(what, "/containers/json") == 0 ? "?all=1&" : "?", e) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = call_json(rt, "GET", path, NULL, ok_200, ret, err);
        if (r >= 0 && !json_is_array(*ret)) {
                json_decref(*ret);
                *ret = NULL;
                return ca_error_setx(err, EPROTO, "engine: %s is not an array", what);
        }
        return r < 0 ? r : 0;
}

int runtime_list(struct runtime *rt, const char *key, json_t **ret, struct ca_error *err)
{
        return list_filtered(rt, "/containers/json", "label", key, ret, err);
}

int runtime_network_list(struct runtime *rt, const char *key, json_t **ret, struct ca_error *err)
{
        return list_filtered(rt, "/networks", "label", key, ret, err);
}

int runtime_image_list(struct runtime *rt, const char *repo, json_t **ret, struct ca_error *err)
{
        return list_filtered(rt, "/images/json", "reference", repo, ret, err);
}

int runtime_image_remove(struct runtime *rt, const char *ref, struct ca_error *err)
{
        _cleanup_free_ char *eref = escape(rt, ref);
        _cleanup_free_ char *path = NULL;
        int r;

        if (!eref || asprintf(&path, "/images/%s", eref) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = call_json(rt, "DELETE", path, NULL, ok_200, NULL, err);
        if (r == -ENOENT) {
                ca_error_clear(err);
                return 0;
        }
        /* 409: a container uses it, or another image is built on it. */
        if (r == -EEXIST)
                err->code = EBUSY;
        return r == -EEXIST ? -EBUSY : r < 0 ? r : 0;
}

int runtime_network_create(struct runtime *rt, const char *name, bool internal,
                           const json_t *labels, struct ca_error *err)
{
        static const long ok[] = {201, 0};
        _cleanup_json_ json_t *body = NULL;
        int r;

        /* Internal: the host takes no address on the bridge either (inhibit_ipv4), so the
         * network has no way to the host or, through its routing, anywhere else, whatever
         * the engine's firewall settings. */
        body = json_pack("{s:s, s:s, s:b, s:b, s:O, s:{s:s, s:s, s:s}}", "Name", name, "Driver",
                         "bridge", "Internal", internal, "CheckDuplicate", 1, "Labels",
                         labels ? labels : json_object(), "Options",
                         "com.docker.network.bridge.enable_ip_masquerade",
                         internal ? "false" : "true", "com.docker.network.bridge.enable_icc",
                         "true", "com.docker.network.bridge.inhibit_ipv4",
                         internal ? "true" : "false");
        if (!body)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = call_json(rt, "POST", "/networks/create", body, ok, NULL, err);
        return r < 0 ? r : 0;
}

int runtime_network_connect(struct runtime *rt, const char *name, const char *id,
                            struct ca_error *err)
{
        _cleanup_free_ char *ename = escape(rt, name);
        _cleanup_free_ char *path = NULL;
        _cleanup_json_ json_t *body = json_pack("{s:s}", "Container", id);
        int r;

        if (!ename || !body || asprintf(&path, "/networks/%s/connect", ename) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = call_json(rt, "POST", path, body, ok_200, NULL, err);
        return r < 0 ? r : 0;
}

int runtime_network_disconnect(struct runtime *rt, const char *name, const char *container,
                               bool force, struct ca_error *err)
{
        _cleanup_free_ char *ename = escape(rt, name);
        _cleanup_free_ char *path = NULL;
        _cleanup_json_ json_t *body = json_pack("{s:s, s:b}", "Container", container, "Force",
                                                force);
        int r;

        if (!ename || !body || asprintf(&path, "/networks/%s/disconnect", ename) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = call_json(rt, "POST", path, body, ok_200, NULL, err);
        if (r == -ENOENT) {
                ca_error_clear(err);
                return 0;
        }
        return r < 0 ? r : 0;
}

int runtime_network_remove(struct runtime *rt, const char *name, struct ca_error *err)
{
        _cleanup_free_ char *ename = escape(rt, name);
        _cleanup_free_ char *path = NULL;
        int r;

        if (!ename || asprintf(&path, "/networks/%s", ename) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = call_json(rt, "DELETE", path, NULL, ok_204, NULL, err);
        if (r == -ENOENT) {
                ca_error_clear(err);
                return 0;
        }
        /* 403 "has active endpoints": the caller may take them away and try again. */
        if (r < 0 && err && strstr(err->msg, "active endpoints")) {
                err->code = EBUSY;
                return -EBUSY;
        }
        return r < 0 ? r : 0;
}

/* An attached container's output: 8-byte frame headers (stream, 0, 0, 0, big-endian size)
 * unless it has a terminal. */
struct output {
        int out_fd, err_fd;
        bool tty;
        unsigned char hdr[8];
        size_t hdr_len;
        uint32_t left;
        int stream;
};

/* Feeds stream bytes to the demultiplexer (or straight through for a terminal). */
static bool demux(struct output *l, const char *data, size_t len)
{
        if (l->tty)
                return fileio_write_all(l->out_fd, data, len) == 0;
        while (len) {
                if (l->left == 0) {
                        size_t take = sizeof(l->hdr) - l->hdr_len;

                        if (take > len)
                                take = len;
                        memcpy(l->hdr + l->hdr_len, data, take);
                        l->hdr_len += take;
                        data += take;
                        len -= take;
                        if (l->hdr_len < sizeof(l->hdr))
                                break;
                        l->hdr_len = 0;
                        l->stream = l->hdr[0];
                        l->left = (uint32_t) l->hdr[4] << 24 | (uint32_t) l->hdr[5] << 16 |
                                  (uint32_t) l->hdr[6] << 8 | l->hdr[7];
                        continue;
                }
                size_t take = len < l->left ? len : l->left;

                if (fileio_write_all(l->stream == 2 ? l->err_fd : l->out_fd, data, take) < 0)
                        return false;
                data += take;
                len -= take;
                l->left -= (uint32_t) take;
        }
        return true;
}

int runtime_copy_output(int sock, const struct buf *early, bool tty, int out_fd, int err_fd)
{
        struct output l = {.out_fd = out_fd, .err_fd = err_fd, .tty = tty};
        char chunk[65536];

        if (early && early->len && !demux(&l, early->data, early->len))
                return -EIO;
        for (;;) {
                ssize_t n = read(sock, chunk, sizeof(chunk));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                if (!demux(&l, chunk, (size_t) n))
                        return -EIO;
        }
}

int runtime_image_tag(struct runtime *rt, const char *ref, const char *repo, const char *tag,
                      struct ca_error *err)
{
        static const long ok[] = {200, 201, 0};
        _cleanup_free_ char *eref = escape(rt, ref);
        _cleanup_free_ char *erepo = escape(rt, repo);
        _cleanup_free_ char *etag = escape(rt, tag);
        _cleanup_free_ char *path = NULL;
        int r;

        if (!eref || !erepo || !etag ||
            asprintf(&path, "/images/%s/tag?repo=%s&tag=%s", eref, erepo, etag) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = call_json(rt, "POST", path, NULL, ok, NULL, err);
        return r < 0 ? r : 0;
}

/* ---- upgraded connections (terminals) ------------------------------------------------------ */

/*
 * POSTs `path` (JSON `body`, may be NULL) on a fresh stream connection asking for an upgrade,
 * reads the answer's head (lib/httphead) and hands over the socket.
 */
static int upgrade(struct runtime *rt, const char *path, const char *body, int *ret_fd,
                   struct buf *early, struct ca_error *err)
{
        _cleanup_buf_ struct buf req = BUF_INIT;
        _cleanup_buf_ struct buf in = BUF_INIT;
        size_t blen = body ? strlen(body) : 0;
        int fd, status = 0, head = 0;

        if (buf_printf(&req,
                       "POST /v1.41%s HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
                       "Upgrade: tcp\r\nContent-Type: application/json\r\n"
                       "Content-Length: %zu\r\n\r\n%s",
                       path, blen, body ? body : "") < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        fd = usock_connect_stream(rt->socket, err);
        if (fd < 0)
                return ca_error_prefix(err, "cannot reach the container engine");
        if (fileio_write_all(fd, req.data, req.len) < 0) {
                (void) close(fd);
                return ca_error_set(err, errno, "engine POST %s", path);
        }
        while (head == 0) {
                char chunk[4096];
                ssize_t n = read(fd, chunk, sizeof(chunk));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0 || buf_append(&in, chunk, (size_t) n) < 0) {
                        (void) close(fd);
                        return ca_error_setx(err, EPROTO, "engine POST %s: the connection ended "
                                                          "before an answer",
                                             path);
                }
                head = httphead_parse(in.data, in.len, &status);
        }
        if (head < 0 || (status != 101 && status != 200)) {
                (void) close(fd);
                if (head < 0)
                        return ca_error_setx(err, EPROTO, "engine POST %s: not an HTTP answer",
                                             path);
                return ca_error_setx(err, status == 404 ? ENOENT : EIO,
                                     "engine POST %s: HTTP status %d", path, status);
        }
        if ((size_t) head < in.len && buf_append(early, in.data + head, in.len - (size_t) head) < 0) {
                (void) close(fd);
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        *ret_fd = fd;
        return 0;
}

int runtime_attach(struct runtime *rt, const char *id, bool with_stdin, int *ret_fd,
                   struct buf *early, struct ca_error *err)
{
        _cleanup_free_ char *eid = escape(rt, id);
        _cleanup_free_ char *path = NULL;

        if (!eid || asprintf(&path, "/containers/%s/attach?stream=1&stdin=%d&stdout=1&stderr=1",
                             eid, with_stdin ? 1 : 0) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        return upgrade(rt, path, NULL, ret_fd, early, err);
}

static int resize(struct runtime *rt, const char *kind, const char *id, unsigned rows,
                  unsigned cols, struct ca_error *err)
{
        static const long ok[] = {200, 201, 0};
        _cleanup_free_ char *eid = escape(rt, id);
        _cleanup_free_ char *path = NULL;
        int r;

        if (!eid || asprintf(&path, "/%s/%s/resize?h=%u&w=%u", kind, eid, rows, cols) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = call_json(rt, "POST", path, NULL, ok, NULL, err);
        return r < 0 ? r : 0;
}

int runtime_resize(struct runtime *rt, const char *id, unsigned rows, unsigned cols,
                   struct ca_error *err)
{
        return resize(rt, "containers", id, rows, cols, err);
}

int runtime_exec_resize(struct runtime *rt, const char *exec_id, unsigned rows, unsigned cols,
                        struct ca_error *err)
{
        return resize(rt, "exec", exec_id, rows, cols, err);
}

int runtime_exec_create(struct runtime *rt, const char *id, const char *user,
                        const char *const *cmd, const char *const *env, char exec_id[65],
                        struct ca_error *err)
{
        static const long ok[] = {201, 0};
        _cleanup_free_ char *eid = escape(rt, id);
        _cleanup_free_ char *path = NULL;
        _cleanup_json_ json_t *body = NULL;
        _cleanup_json_ json_t *ans = NULL;
        const char *xid;
        int r;

        body = json_pack("{s:b, s:b, s:b, s:b, s:s, s:o, s:o, s:b}", "AttachStdin", 1,
                         "AttachStdout", 1, "AttachStderr", 1, "Tty", 1, "User", user, "Cmd",
                         string_array(cmd), "Env", string_array(env), "Privileged", 0);
        if (!body || !eid || asprintf(&path, "/containers/%s/exec", eid) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = call_json(rt, "POST", path, body, ok, &ans, err);
        if (r < 0)
                return r;
        xid = json_string_value(json_object_get(ans, "Id"));
        if (!xid || strlen(xid) != 64 || strspn(xid, "0123456789abcdef") != 64)
                return ca_error_setx(err, EPROTO, "engine: exec create gave no valid Id");
        memcpy(exec_id, xid, 65);
        return 0;
}

int runtime_exec_start(struct runtime *rt, const char *exec_id, int *ret_fd, struct buf *early,
                       struct ca_error *err)
{
        _cleanup_free_ char *eid = escape(rt, exec_id);
        _cleanup_free_ char *path = NULL;

        if (!eid || asprintf(&path, "/exec/%s/start", eid) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        return upgrade(rt, path, "{\"Detach\":false,\"Tty\":true}", ret_fd, early, err);
}

int runtime_exec_status(struct runtime *rt, const char *exec_id, int *exit_code,
                        struct ca_error *err)
{
        _cleanup_free_ char *eid = escape(rt, exec_id);
        _cleanup_free_ char *path = NULL;
        _cleanup_json_ json_t *ans = NULL;
        json_t *code;
        int r;

        if (!eid || asprintf(&path, "/exec/%s/json", eid) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        /* The stream can close a moment before the engine has recorded the exit: the engine
         * offers no way to wait for an exec, so ask again, briefly (at most ~5 s). */
        for (int attempt = 0; attempt < 500; attempt++) {
                const struct timespec pause = {0, 10000000L}; /* 10 ms */

                json_decref(ans);
                ans = NULL;
                r = call_json(rt, "GET", path, NULL, ok_200, &ans, err);
                if (r < 0)
                        return r;
                code = json_object_get(ans, "ExitCode");
                if (!json_is_true(json_object_get(ans, "Running")) && json_is_integer(code)) {
                        *exit_code = (int) json_integer_value(code);
                        return 0;
                }
                (void) nanosleep(&pause, NULL);
        }
        return ca_error_setx(err, ETIMEDOUT, "engine: the exec did not report its exit status");
}
