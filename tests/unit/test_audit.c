/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/audit: the hash chain, tamper detection and writer behaviour. Concurrent
 * writer *processes* are covered by tests/integration/events.sh. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "audit.h"
#include "buf.h"
#include "error.h"
#include "fileio.h"

struct fixture {
        char *dir;
        char path[512];
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        f->dir = make_tmpdir();
        (void) snprintf(f->path, sizeof(f->path), "%s/sub/security-events.log", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        rm_rf(f->dir);
        free(f);
        return 0;
}

static void append_n(const char *path, int n)
{
        struct audit_log *log = NULL;
        struct ca_error err = {0};

        assert_int_equal(audit_open(path, &log, &err), 0);
        for (int i = 0; i < n; i++) {
                json_t *fields = json_pack("{s:i, s:s}", "use", i, "stub", "GITHUB_TOKEN");
                assert_int_equal(audit_append(log, AUDIT_CAPABILITY_REDEEMED, "s1", fields, NULL,
                                              &err),
                                 0);
                json_decref(fields);
        }
        audit_close(log);
}

static int verify(const char *path, struct audit_verify_result *res)
{
        struct ca_error err = {0};
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        int r;

        assert_true(fd >= 0);
        r = audit_verify_fd(fd, res, &err);
        (void) close(fd);
        return r;
}

/* Reads the log into an array of lines (without '\n'). */
static size_t read_lines(const char *path, char ***ret)
{
        struct buf b = BUF_INIT;
        struct ca_error err = {0};
        char **lines = calloc(4096, sizeof(*lines));
        size_t n = 0;

        assert_non_null(lines);
        assert_int_equal(fileio_read_path(path, 1 << 24, &b, &err), 0);
        for (char *p = b.data; p && *p;) {
                char *nl = strchr(p, '\n');
                assert_non_null(nl);
                assert_true(n < 4096);
                lines[n++] = strndup(p, (size_t) (nl - p));
                p = nl + 1;
        }
        buf_clear(&b);
        *ret = lines;
        return n;
}

static void write_lines(const char *path, char **lines, size_t n)
{
        struct buf b = BUF_INIT;
        struct ca_error err = {0};

        for (size_t i = 0; i < n; i++) {
                if (!lines[i])
                        continue;
                assert_int_equal(buf_printf(&b, "%s\n", lines[i]), 0);
        }
        assert_int_equal(fileio_write_atomic(path, b.data, b.len, 0600, &err), 0);
        buf_clear(&b);
}

static void free_lines(char **lines, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(lines[i]);
        free(lines);
}

static void test_audit_append_chain_intact(void **state)
{
        struct fixture *f = *state;
        struct audit_verify_result res;
        struct audit_record rec;
        struct ca_error err = {0};
        char hash[DIGEST_SHA256_HEX_LEN + 1];
        char **lines;
        size_t n;

        append_n(f->path, 3);
        assert_int_equal(verify(f->path, &res), 0);
        assert_int_equal(res.lines, 3);
        assert_int_equal(res.bad_line, 0);

        n = read_lines(f->path, &lines);
        assert_int_equal(n, 3);
        assert_int_equal(audit_record_parse(lines[0], strlen(lines[0]), &rec, &err), 0);
        assert_int_equal(rec.seq, 1);
        assert_string_equal(rec.prev, "0000000000000000000000000000000000000000000000000000000000000000");
        assert_string_equal(rec.type, "capability-redeemed");
        assert_string_equal(rec.session, "s1");
        assert_int_equal(json_integer_value(json_object_get(rec.fields, "use")), 0);
        audit_record_clear(&rec);
        /* Each prev is the SHA-256 of the line before it; head is the hash of the last. */
        assert_int_equal(audit_line_hash(lines[0], strlen(lines[0]), hash), 0);
        assert_int_equal(audit_record_parse(lines[1], strlen(lines[1]), &rec, &err), 0);
        assert_string_equal(rec.prev, hash);
        audit_record_clear(&rec);
        assert_int_equal(audit_line_hash(lines[2], strlen(lines[2]), hash), 0);
        assert_string_equal(res.head, hash);
        /* Lines are canonical JSON: sorted keys, no spaces. */
        {
                static const char prefix[] =
                        "{\"fields\":{\"stub\":\"GITHUB_TOKEN\",\"use\":0},\"prev\":";
                assert_int_equal(strncmp(lines[0], prefix, strlen(prefix)), 0);
        }
        free_lines(lines, n);
}

static void test_audit_verify_detects_modified_line(void **state)
{
        struct fixture *f = *state;
        struct audit_verify_result res;
        char **lines;
        size_t n;
        char *p;

        append_n(f->path, 10);
        n = read_lines(f->path, &lines);
        p = strstr(lines[3], "\"use\":3");
        assert_non_null(p);
        p[6] = '7'; /* same length, still valid JSON */
        write_lines(f->path, lines, n);
        assert_int_equal(verify(f->path, &res), 1);
        assert_int_equal(res.bad_line, 4);
        assert_string_equal(res.reason, "modified: its hash does not match \"prev\" of line 5");
        free_lines(lines, n);
}

static void test_audit_verify_detects_deleted_line(void **state)
{
        struct fixture *f = *state;
        struct audit_verify_result res;
        char **lines;
        size_t n;

        append_n(f->path, 10);
        n = read_lines(f->path, &lines);
        free(lines[4]);
        lines[4] = NULL;
        write_lines(f->path, lines, n);
        assert_int_equal(verify(f->path, &res), 1);
        assert_int_equal(res.bad_line, 5);
        assert_non_null(strstr(res.reason, "sequence number 6, expected 5"));
        free_lines(lines, n);

        /* Deleting the first line is caught too. */
        assert_int_equal(unlink(f->path), 0);
        append_n(f->path, 3);
        n = read_lines(f->path, &lines);
        free(lines[0]);
        lines[0] = NULL;
        write_lines(f->path, lines, n);
        assert_int_equal(verify(f->path, &res), 1);
        assert_int_equal(res.bad_line, 1);
        free_lines(lines, n);
}

static void test_audit_verify_detects_reordered_lines(void **state)
{
        struct fixture *f = *state;
        struct audit_verify_result res;
        char **lines;
        char *tmp;
        size_t n;

        append_n(f->path, 10);
        n = read_lines(f->path, &lines);
        tmp = lines[2];
        lines[2] = lines[3];
        lines[3] = tmp;
        write_lines(f->path, lines, n);
        assert_int_equal(verify(f->path, &res), 1);
        assert_int_equal(res.bad_line, 3);
        assert_non_null(strstr(res.reason, "reordered"));
        free_lines(lines, n);
}

static void test_audit_append_interleaved_handles(void **state)
{
        struct fixture *f = *state;
        struct audit_log *a = NULL;
        struct audit_log *b = NULL;
        struct audit_verify_result res;
        struct ca_error err = {0};
        uint64_t seq = 0;

        /* Two handles: each must notice the other's appends instead of trusting its cache. */
        assert_int_equal(audit_open(f->path, &a, &err), 0);
        assert_int_equal(audit_open(f->path, &b, &err), 0);
        for (int i = 0; i < 20; i++) {
                assert_int_equal(audit_append(i % 3 ? a : b, AUDIT_STUB_START, NULL, NULL, &seq,
                                              &err),
                                 0);
                assert_int_equal(seq, (uint64_t) i + 1);
        }
        audit_close(a);
        audit_close(b);
        assert_int_equal(verify(f->path, &res), 0);
        assert_int_equal(res.lines, 20);
}

static void test_audit_append_after_torn_line(void **state)
{
        struct fixture *f = *state;
        struct audit_verify_result res;
        int fd;

        append_n(f->path, 2);
        fd = open(f->path, O_WRONLY | O_APPEND | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "{\"trunc", 7), 7);
        (void) close(fd);
        assert_int_equal(verify(f->path, &res), 1);
        assert_int_equal(res.bad_line, 3);
        assert_non_null(strstr(res.reason, "incomplete"));

        /* The next writer cuts the fragment (a write a crash cut short) and continues the chain
         * from the last complete line. */
        append_n(f->path, 1);
        assert_int_equal(verify(f->path, &res), 0);
        assert_int_equal(res.lines, 3);

        /* Even when the fragment is all there is. */
        assert_int_equal(unlink(f->path), 0);
        fd = open(f->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "{\"x", 3), 3);
        (void) close(fd);
        append_n(f->path, 2);
        assert_int_equal(verify(f->path, &res), 0);
        assert_int_equal(res.lines, 2);
}

static void test_audit_append_limits(void **state)
{
        struct fixture *f = *state;
        struct audit_log *log = NULL;
        struct ca_error err = {0};
        char *big = malloc(AUDIT_MAX_LINE + 1);
        json_t *fields;

        assert_non_null(big);
        memset(big, 'x', AUDIT_MAX_LINE);
        big[AUDIT_MAX_LINE] = '\0';
        fields = json_pack("{s:s}", "reason", big);
        assert_int_equal(audit_open(f->path, &log, &err), 0);
        assert_int_equal(audit_append(log, AUDIT_STUB_STOP, NULL, fields, NULL, &err), -EMSGSIZE);
        json_decref(fields);
        fields = json_pack("{s:f}", "status", 1.5);
        assert_int_equal(audit_append(log, AUDIT_STUB_STOP, NULL, fields, NULL, &err), -EINVAL);
        json_decref(fields);
        assert_int_equal(audit_append(log, AUDIT_TYPE_MAX, NULL, NULL, NULL, &err), -EINVAL);
        audit_close(log);
        free(big);
}

static void test_audit_open_refuses_symlink(void **state)
{
        struct fixture *f = *state;
        struct audit_log *log = NULL;
        struct ca_error err = {0};
        char target[600];
        char link[600];

        (void) snprintf(target, sizeof(target), "%s/target", f->dir);
        (void) snprintf(link, sizeof(link), "%s/link.log", f->dir);
        write_file(target, "");
        assert_int_equal(symlink(target, link), 0);
        assert_int_equal(audit_open(link, &log, &err), -ELOOP);
        assert_null(log);
}

static void test_audit_open_creates_private_file(void **state)
{
        struct fixture *f = *state;
        struct stat st;
        char dir[600];

        append_n(f->path, 1);
        assert_int_equal(stat(f->path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        (void) snprintf(dir, sizeof(dir), "%s/sub", f->dir);
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
}

static void test_audit_record_parse_rejects(void **state)
{
        static const char *const bad[] = {
                "[]",
                "{\"ts\":\"x\",\"type\":\"stub-start\",\"seq\":1}",
                "{\"ts\":\"x\",\"type\":\"stub-start\",\"seq\":0,\"prev\":"
                "\"0000000000000000000000000000000000000000000000000000000000000000\"}",
                "{\"ts\":\"x\",\"type\":\"nope\",\"seq\":1,\"prev\":"
                "\"0000000000000000000000000000000000000000000000000000000000000000\"}",
                "{\"ts\":\"x\",\"type\":\"stub-start\",\"seq\":1,\"prev\":\"00\"}",
                "{\"ts\":\"x\",\"type\":\"stub-start\",\"seq\":1,\"extra\":1,\"prev\":"
                "\"0000000000000000000000000000000000000000000000000000000000000000\"}",
                "{\"ts\":\"x\",\"ts\":\"y\",\"type\":\"stub-start\",\"seq\":1,\"prev\":"
                "\"0000000000000000000000000000000000000000000000000000000000000000\"}",
        };
        (void) state;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct audit_record rec;
                struct ca_error err = {0};
                assert_int_equal(audit_record_parse(bad[i], strlen(bad[i]), &rec, &err), -EINVAL);
                assert_null(rec.json);
        }
}

static void test_audit_type_names(void **state)
{
        (void) state;
        for (int t = 0; t < AUDIT_TYPE_MAX; t++)
                assert_int_equal(audit_type_from_name(audit_type_name((enum audit_type) t)), t);
        assert_int_equal(audit_type_from_name("no-such-event"), -EINVAL);
        assert_null(audit_type_name(AUDIT_TYPE_MAX));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        const struct CMUnitTest tests[] = {
                T(test_audit_append_chain_intact),
                T(test_audit_verify_detects_modified_line),
                T(test_audit_verify_detects_deleted_line),
                T(test_audit_verify_detects_reordered_lines),
                T(test_audit_append_interleaved_handles),
                T(test_audit_append_after_torn_line),
                T(test_audit_append_limits),
                T(test_audit_open_refuses_symlink),
                T(test_audit_open_creates_private_file),
                T(test_audit_record_parse_rejects),
                T(test_audit_type_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
