/* SPDX-License-Identifier: MIT */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "error.h"
#include "eventcat.h"
#include "fileio.h"
#include "journal.h"
#include "lines.h"

static const char *const type_names[AUDIT_TYPE_MAX] = {
        [AUDIT_SESSION_CONFIG] = "session-config",
        [AUDIT_CAPABILITIES_ISSUED] = "capabilities-issued",
        [AUDIT_CAPABILITY_REDEEMED] = "capability-redeemed",
        [AUDIT_CAPABILITY_DENIED] = "capability-denied",
        [AUDIT_CAPABILITY_REVOKED] = "capability-revoked",
        [AUDIT_BROKER_START] = "broker-start",
        [AUDIT_BROKER_STOP] = "broker-stop",
        [AUDIT_STORE_CHANGED] = "store-changed",
        [AUDIT_HELPER_START] = "helper-start",
        [AUDIT_HELPER_STOP] = "helper-stop",
        [AUDIT_HELPER_HEALTH] = "helper-health",
        [AUDIT_HELPER_LIMIT] = "helper-limit",
        [AUDIT_STUB_START] = "stub-start",
        [AUDIT_STUB_STOP] = "stub-stop",
        [AUDIT_PIN_MISMATCH] = "pin-mismatch",
        [AUDIT_PROXY_DENIED] = "proxy-denied",
        [AUDIT_PROXY_LIMIT] = "proxy-limit",
        [AUDIT_DNS_DENIED] = "dns-denied",
        [AUDIT_INTEGRITY_OK] = "integrity-ok",
        [AUDIT_INTEGRITY_FAILED] = "integrity-failed",
        [AUDIT_ENV_DETECT] = "env-detect",
        [AUDIT_RUNTIME_BLOCKED] = "runtime-blocked",
        [AUDIT_OVERRIDE_USED] = "override-used",
        [AUDIT_AUDIT_AGENT] = "audit-agent",
        [AUDIT_TRUST_CHANGED] = "trust-changed",
        [AUDIT_HELPER_DENIED] = "helper-denied",
        [AUDIT_SESSION_START] = "session-start",
        [AUDIT_SESSION_STOP] = "session-stop",
        [AUDIT_SESSION_REMOVED] = "session-removed",
        [AUDIT_WORKSPACE_CONFIG_APPROVED] = "workspace-config-approved",
        [AUDIT_WORKSPACE_CONFIG_REFUSED] = "workspace-config-refused",
        [AUDIT_WORKSPACE_GIT_CHANGED] = "workspace-git-changed",
        [AUDIT_PROXY_LOG_MALFORMED] = "proxy-log-malformed",
        [AUDIT_CREDENTIAL_UPDATED] = "credential-updated",
        [AUDIT_CREDENTIAL_REFRESH] = "credential-refresh",
        [AUDIT_MODEL_USAGE] = "model-usage",
        [AUDIT_EXEC_ROUTED] = "exec-routed",
        [AUDIT_EXEC_DENIED] = "exec-denied",
        [AUDIT_INSTALL_REFUSED] = "install-refused",
        [AUDIT_SESSION_ENFORCEMENT] = "session-enforcement",
        [AUDIT_DOCTOR] = "doctor",
        [AUDIT_STATE_LOADED] = "state-loaded",
        [AUDIT_STATE_SAVED] = "state-saved",
        [AUDIT_STATE_REFUSED] = "state-refused",
        [AUDIT_IMAGE_PULLED] = "image-pulled",
        [AUDIT_IMAGE_REFUSED] = "image-refused",
        [AUDIT_WORKSPACE_OBJECTS] = "workspace-objects",
};

static const char genesis[DIGEST_SHA256_HEX_LEN + 1] =
        "0000000000000000000000000000000000000000000000000000000000000000";

const char *audit_type_name(enum audit_type type)
{
        if ((unsigned) type >= AUDIT_TYPE_MAX)
                return NULL;
        return type_names[type];
}

int audit_type_from_name(const char *name)
{
        for (int i = 0; i < AUDIT_TYPE_MAX; i++) {
                if (strcmp(type_names[i], name) == 0)
                        return i;
        }
        return -EINVAL;
}

int audit_line_hash(const char *line, size_t len, char out[DIGEST_SHA256_HEX_LEN + 1])
{
        uint8_t md[DIGEST_SHA256_LEN];
        int r = digest_sha256(line, len, md);

        if (r < 0)
                return r;
        digest_hex(md, sizeof(md), out);
        return 0;
}

/* ---- writing ---------------------------------------------------------------------------- */

struct audit_log {
        int fd;
        char *path;
        /* What this handle last wrote: when the file still ends there, the tail need not be
         * read again. Valid only when cache_size != 0. */
        dev_t cache_dev;
        ino_t cache_ino;
        off_t cache_size;
        uint64_t cache_seq;
        char cache_hash[DIGEST_SHA256_HEX_LEN + 1];
};

int audit_open(const char *path, struct audit_log **ret, struct ca_error *err)
{
        _cleanup_close_ int fd = -1;
        struct audit_log *log;
        struct stat st;
        char dir[4096];
        const char *slash = strrchr(path, '/');

        if (slash && slash != path) {
                size_t n = (size_t) (slash - path);
                if (n >= sizeof(dir))
                        return ca_error_setx(err, ENAMETOOLONG, "path too long: '%s'", path);
                memcpy(dir, path, n);
                dir[n] = '\0';
                int r = fileio_mkdir_p(dir, 0700, err);
                if (r < 0)
                        return r;
        }
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0)
                return ca_error_set(err, errno, "cannot open event log '%s'", path);
        if (fstat(fd, &st) < 0)
                return ca_error_set(err, errno, "cannot stat event log '%s'", path);
        if (!S_ISREG(st.st_mode))
                return ca_error_setx(err, EINVAL, "event log '%s' is not a regular file", path);

        log = calloc(1, sizeof(*log));
        if (!log)
                return ca_error_setx(err, ENOMEM, "out of memory");
        log->path = strdup(path);
        if (!log->path) {
                free(log);
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        log->fd = take_fd(&fd);
        *ret = log;
        return 0;
}

struct audit_log *audit_close(struct audit_log *log)
{
        if (!log)
                return NULL;
        if (log->fd >= 0)
                (void) close(log->fd);
        free(log->path);
        free(log);
        return NULL;
}

/* Reads from a separate O_RDONLY descriptor: the log's own fd is write-only. */
static int open_reader(const struct audit_log *log, struct ca_error *err)
{
        int fd = open(log->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);

        if (fd < 0)
                return ca_error_set(err, errno, "cannot read event log '%s'", log->path);
        return fd;
}

/*
 * Finds the last line of a file of `size` bytes (> 0): hashes it and reads its seq. When the
 * file does not end in '\n' (a write cut short by a crash), *ret_torn is set and *ret_start
 * is where that unterminated fragment begins.
 */
static int read_tail(const struct audit_log *log, off_t size, char hash[DIGEST_SHA256_HEX_LEN + 1],
                     uint64_t *ret_seq, bool *ret_torn, off_t *ret_start, struct ca_error *err)
{
        _cleanup_close_ int fd = -1;
        _cleanup_buf_ struct buf line = BUF_INIT;
        char chunk[4096];
        off_t end = size;
        off_t pos;
        off_t start = 0;
        char last;
        bool found = false;
        struct audit_record rec = {0};
        struct ca_error ignored = {0};
        int r;

        fd = open_reader(log, err);
        if (fd < 0)
                return fd;
        if (pread(fd, &last, 1, size - 1) != 1)
                return ca_error_set(err, errno ? errno : EIO, "cannot read event log '%s'",
                                    log->path);
        *ret_torn = last != '\n';
        if (!*ret_torn)
                end = size - 1;

        /* Search backwards for the '\n' before the last line. */
        pos = end;
        while (pos > 0 && !found) {
                size_t n = pos > (off_t) sizeof(chunk) ? sizeof(chunk) : (size_t) pos;
                ssize_t got = pread(fd, chunk, n, pos - (off_t) n);

                if (got != (ssize_t) n)
                        return ca_error_set(err, errno ? errno : EIO,
                                            "cannot read event log '%s'", log->path);
                for (size_t i = n; i > 0; i--) {
                        if (chunk[i - 1] == '\n') {
                                start = pos - (off_t) n + (off_t) i;
                                found = true;
                                break;
                        }
                }
                pos -= (off_t) n;
                if (end - pos > (off_t) (AUDIT_MAX_LINE * 16))
                        return ca_error_setx(err, EMSGSIZE,
                                             "event log '%s' ends in an over-long line",
                                             log->path);
        }
        *ret_start = start;
        if (*ret_torn)
                return 0;
        r = buf_reserve(&line, (size_t) (end - start));
        if (r < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (pread(fd, line.data, (size_t) (end - start), start) != (ssize_t) (end - start))
                return ca_error_set(err, errno ? errno : EIO, "cannot read event log '%s'",
                                    log->path);
        line.len = (size_t) (end - start);
        line.data[line.len] = '\0';
        r = audit_line_hash(line.data, line.len, hash);
        if (r < 0)
                return ca_error_setx(err, EIO, "SHA-256 failed");
        /* A damaged last line still gets chained to; `events verify` reports it. */
        *ret_seq = 0;
        if (audit_record_parse(line.data, line.len, &rec, &ignored) == 0)
                *ret_seq = rec.seq;
        audit_record_clear(&rec);
        return 0;
}

int audit_format_ts(char *out, size_t outlen)
{
        struct timespec ts;
        struct tm tm;
        int n;

        if (clock_gettime(CLOCK_REALTIME, &ts) < 0 || !gmtime_r(&ts.tv_sec, &tm))
                return -errno;
        n = snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000);
        if (n < 0 || (size_t) n >= outlen)
                return -ENOBUFS;
        return 0;
}

static int build_line(enum audit_type type, const char *session, const json_t *fields,
                      uint64_t seq, const char *prev, struct buf *out, struct ca_error *err)
{
        _cleanup_json_ json_t *o = NULL;
        char ts[64];
        int r;

        r = audit_format_ts(ts, sizeof(ts));
        if (r < 0)
                return ca_error_set(err, -r, "cannot read the clock");
        if (seq > (uint64_t) INT64_MAX)
                return ca_error_setx(err, EOVERFLOW, "event sequence number overflow");
        o = json_pack("{s:s, s:s, s:I, s:s}", "type", audit_type_name(type), "ts", ts, "seq",
                      (json_int_t) seq, "prev", prev);
        if (!o)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (session && json_object_set_new(o, "session", json_string(session)) < 0)
                return ca_error_setx(err, EINVAL, "event session id is not valid UTF-8");
        if (fields) {
                if (!json_is_object(fields))
                        return ca_error_setx(err, EINVAL, "event fields must be a JSON object");
                /* The copy keeps the caller's object untouched. */
                if (json_object_set_new(o, "fields", json_deep_copy(fields)) < 0)
                        return ca_error_setx(err, ENOMEM, "out of memory");
        } else if (json_object_set_new(o, "fields", json_object()) < 0) {
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        /* ASCII only: untrusted field values (paths, methods, names) cannot act on the terminal
         * of anyone who reads the log, even with cat. */
        r = ca_json_canonical_ascii(o, out, err);
        if (r < 0)
                return r;
        if (out->len > AUDIT_MAX_LINE)
                return ca_error_setx(err, EMSGSIZE, "event longer than %zu bytes",
                                     AUDIT_MAX_LINE);
        return 0;
}

int audit_append(struct audit_log *log, enum audit_type type, const char *session,
                 const json_t *fields, uint64_t *ret_seq, struct ca_error *err)
{
        _cleanup_buf_ struct buf line = BUF_INIT;
        char prev[DIGEST_SHA256_HEX_LEN + 1];
        char hash[DIGEST_SHA256_HEX_LEN + 1];
        uint64_t last_seq = 0;
        bool torn = false;
        struct stat st;
        int r;

        if (!audit_type_name(type))
                return ca_error_setx(err, EINVAL, "unknown event type %d", (int) type);
#ifndef NDEBUG
        {
                /* The catalogue is the log's contract (eventcat.h): in the build the tests run
                 * under, a field it does not name is a bug to stop at. */
                const char *unknown = eventcat_unknown_field(type, fields);

                if (unknown) {
                        (void) fprintf(stderr, "event %s: field '%s' is not in the catalogue "
                                               "(lib/eventcat.c)\n",
                                       audit_type_name(type), unknown);
                        abort();
                }
        }
#endif

        while (flock(log->fd, LOCK_EX) < 0) {
                if (errno != EINTR)
                        return ca_error_set(err, errno, "cannot lock event log '%s'",
                                            log->path);
        }
        if (fstat(log->fd, &st) < 0) {
                r = ca_error_set(err, errno, "cannot stat event log '%s'", log->path);
                goto unlock;
        }
        if (st.st_size == 0) {
                memcpy(prev, genesis, sizeof(prev));
        } else if (log->cache_size != 0 && log->cache_size == st.st_size &&
                   log->cache_dev == st.st_dev && log->cache_ino == st.st_ino) {
                memcpy(prev, log->cache_hash, sizeof(prev));
                last_seq = log->cache_seq;
        } else {
                off_t start = 0;

                r = read_tail(log, st.st_size, prev, &last_seq, &torn, &start, err);
                if (r < 0)
                        goto unlock;
                if (torn) {
                        /* A crash cut the last write short: that fragment never became an
                         * event. Cut it off so the chain continues from the last complete
                         * line, instead of carrying damage forward. */
                        if (ftruncate(log->fd, start) < 0) {
                                r = ca_error_set(err, errno, "cannot repair event log '%s'",
                                                 log->path);
                                goto unlock;
                        }
                        st.st_size = start;
                        memcpy(prev, genesis, sizeof(prev));
                        last_seq = 0;
                        if (start > 0) {
                                r = read_tail(log, start, prev, &last_seq, &torn, &start, err);
                                if (r < 0)
                                        goto unlock;
                        }
                }
        }
        {
                _cleanup_buf_ struct buf body = BUF_INIT;

                r = build_line(type, session, fields, last_seq + 1, prev, &body, err);
                if (r < 0)
                        goto unlock;
                r = audit_line_hash(body.data, body.len, hash);
                if (r < 0) {
                        r = ca_error_setx(err, EIO, "SHA-256 failed");
                        goto unlock;
                }
                if (buf_append(&line, body.data, body.len) < 0 ||
                    buf_append_char(&line, '\n') < 0) {
                        r = ca_error_setx(err, ENOMEM, "out of memory");
                        goto unlock;
                }
                /* One write() of the whole line under the lock: readers never see two writers'
                 * bytes mixed. */
                r = fileio_write_all(log->fd, line.data, line.len);
                if (r < 0) {
                        log->cache_size = 0;
                        r = ca_error_set(err, -r, "cannot append to event log '%s'", log->path);
                        goto unlock;
                }
                (void) journal_send_event(audit_type_name(type), session, last_seq + 1, hash,
                                          body.data, body.len);
        }
        log->cache_dev = st.st_dev;
        log->cache_ino = st.st_ino;
        log->cache_size = st.st_size + (off_t) line.len;
        log->cache_seq = last_seq + 1;
        memcpy(log->cache_hash, hash, sizeof(hash));
        if (ret_seq)
                *ret_seq = last_seq + 1;
        r = 0;
unlock:
        (void) flock(log->fd, LOCK_UN);
        return r;
}

int audit_emit(const char *path, enum audit_type type, const char *session, const json_t *fields,
               struct ca_error *err)
{
        _cleanup_audit_ struct audit_log *log = NULL;
        int r;

        r = audit_open(path, &log, err);
        if (r < 0)
                return r;
        return audit_append(log, type, session, fields, NULL, err);
}

/* ---- reading ---------------------------------------------------------------------------- */

void audit_record_clear(struct audit_record *rec)
{
        json_decref(rec->json);
        memset(rec, 0, sizeof(*rec));
}

static bool is_hex64(const char *s)
{
        size_t i;

        for (i = 0; s[i]; i++) {
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        }
        return i == DIGEST_SHA256_HEX_LEN;
}

int audit_record_parse(const char *line, size_t len, struct audit_record *rec,
                       struct ca_error *err)
{
        json_t *o = NULL;
        const char *key;
        json_t *v;
        json_int_t seq;
        int r;

        memset(rec, 0, sizeof(*rec));
        r = ca_json_parse(line, len, "event", &o, err);
        if (r < 0)
                return r;
        rec->json = o;
        if (!json_is_object(o)) {
                r = ca_error_input(err, "event is not a JSON object");
                goto fail;
        }
        json_object_foreach(o, key, v) {
                if (strcmp(key, "ts") == 0 || strcmp(key, "type") == 0 ||
                    strcmp(key, "prev") == 0 || strcmp(key, "session") == 0) {
                        if (!json_is_string(v)) {
                                r = ca_error_input(err, "event key '%s' is not a string", key);
                                goto fail;
                        }
                } else if (strcmp(key, "seq") == 0) {
                        if (!json_is_integer(v)) {
                                r = ca_error_input(err, "event key 'seq' is not an integer");
                                goto fail;
                        }
                } else if (strcmp(key, "fields") == 0) {
                        if (!json_is_object(v)) {
                                r = ca_error_input(err, "event key 'fields' is not an object");
                                goto fail;
                        }
                } else {
                        r = ca_error_input(err, "unexpected event key '%s'", key);
                        goto fail;
                }
        }
        rec->ts = json_string_value(json_object_get(o, "ts"));
        rec->type = json_string_value(json_object_get(o, "type"));
        rec->prev = json_string_value(json_object_get(o, "prev"));
        rec->session = json_string_value(json_object_get(o, "session"));
        rec->fields = json_object_get(o, "fields");
        if (!rec->ts || !rec->type || !rec->prev || !json_object_get(o, "seq")) {
                r = ca_error_input(err, "event lacks one of 'ts', 'type', 'prev', 'seq'");
                goto fail;
        }
        seq = json_integer_value(json_object_get(o, "seq"));
        if (seq < 1) {
                r = ca_error_input(err, "event sequence number %lld is not positive",
                                   (long long) seq);
                goto fail;
        }
        rec->seq = (uint64_t) seq;
        if (!is_hex64(rec->prev)) {
                r = ca_error_input(err, "event 'prev' is not a SHA-256 hex digest");
                goto fail;
        }
        if (audit_type_from_name(rec->type) < 0) {
                r = ca_error_input(err, "unknown event type '%.64s'", rec->type);
                goto fail;
        }
        return 0;
fail:
        audit_record_clear(rec);
        return r;
}

static int broken(struct audit_verify_result *res, uint64_t line, const char *fmt, ...)
        CA_PRINTF(3, 4);

static int broken(struct audit_verify_result *res, uint64_t line, const char *fmt, ...)
{
        va_list ap;

        res->bad_line = line;
        va_start(ap, fmt);
        (void) vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
        va_end(ap);
        return 1;
}

int audit_verify_fd(int fd, struct audit_verify_result *res, struct ca_error *err)
{
        struct lines lr;
        char prev[DIGEST_SHA256_HEX_LEN + 1];
        int r;

        memset(res, 0, sizeof(*res));
        memcpy(prev, genesis, sizeof(prev));
        memcpy(res->head, genesis, sizeof(res->head));
        lines_init(&lr, fd, AUDIT_MAX_LINE);
        for (;;) {
                struct audit_record rec = {0};
                struct ca_error perr = {0};
                const char *line;
                size_t len;
                bool terminated;
                uint64_t n = res->lines + 1;

                r = lines_next(&lr, &line, &len, &terminated, &perr);
                if (r == -EMSGSIZE) {
                        r = broken(res, n, "line longer than %zu bytes", AUDIT_MAX_LINE);
                        break;
                }
                if (r < 0) {
                        r = ca_error_setx(err, perr.code, "%s", perr.msg);
                        break;
                }
                if (r == 0)
                        break;
                res->lines = n;
                if (!terminated) {
                        r = broken(res, n, "last line is incomplete (no newline): torn write");
                        break;
                }
                if (audit_record_parse(line, len, &rec, &perr) < 0) {
                        r = broken(res, n, "not a valid event: %s", perr.msg);
                        break;
                }
                if (rec.seq != n) {
                        r = broken(res, n,
                                   "sequence number %" PRIu64 ", expected %" PRIu64
                                   ": lines were deleted, inserted or reordered",
                                   rec.seq, n);
                        audit_record_clear(&rec);
                        break;
                }
                if (strcmp(rec.prev, prev) != 0) {
                        /* The sequence is intact, so the previous line itself was changed (or
                         * this line's "prev" was). */
                        if (n == 1)
                                r = broken(res, n, "first line does not start the chain");
                        else
                                r = broken(res, n - 1,
                                           "modified: its hash does not match \"prev\" of "
                                           "line %" PRIu64,
                                           n);
                        audit_record_clear(&rec);
                        break;
                }
                audit_record_clear(&rec);
                r = audit_line_hash(line, len, prev);
                if (r < 0) {
                        r = ca_error_setx(err, EIO, "SHA-256 failed");
                        break;
                }
                memcpy(res->head, prev, sizeof(prev));
        }
        lines_clear(&lr);
        return r;
}
