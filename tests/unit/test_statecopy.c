/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/statecopy: an agent's state copied, a hostile one refused entry by entry. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "statecopy.h"

static const char *const top[] = {"projects", "history.jsonl", "missing", NULL};

struct seen {
        char paths[32][256];
        char whys[32][64];
        size_t n;
};

static void note(void *ctx, const char *path, const char *why)
{
        struct seen *s = ctx;

        if (s->n < 32) {
                (void) snprintf(s->paths[s->n], sizeof(s->paths[0]), "%s", path);
                (void) snprintf(s->whys[s->n], sizeof(s->whys[0]), "%s", why);
                s->n++;
        }
}

static const char *why_of(const struct seen *s, const char *path)
{
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->paths[i], path) == 0)
                        return s->whys[i];
        return NULL;
}

static int no_secret(void *ctx, const uint8_t *data, size_t len, const char **why)
{
        (void) ctx;
        if (memmem(data, len, "sk-ant-secret", 13)) {
                *why = "holds a stored secret";
                return 1;
        }
        return 0;
}

static void at(char *out, size_t size, const char *dir, const char *rel)
{
        (void) snprintf(out, size, "%s/%s", dir, rel);
}

static int copy(const char *src, const char *dst, struct statecopy_limits lim, struct seen *s,
                struct statecopy_result *res)
{
        struct statecopy_opts o = {.top = top, .lim = lim, .read_fsuid = -1, .owner = -1,
                                   .check = no_secret, .refused = note, .ctx = s};
        struct ca_error err = {0};
        int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int dfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r;

        assert_true(sfd >= 0 && dfd >= 0);
        r = statecopy_tree(sfd, dfd, &o, res, &err);
        (void) close(sfd);
        (void) close(dfd);
        return r;
}

static void test_copy_and_refusals(void **state)
{
        char *src = make_tmpdir(), *dst = make_tmpdir(), *outside = make_tmpdir();
        char p[512], q[512];
        struct statecopy_result res;
        struct seen s = {0};
        struct stat st;
        int fd;
        (void) state;

        at(p, sizeof(p), src, "projects");
        assert_int_equal(mkdir(p, 0700), 0);
        at(p, sizeof(p), src, "projects/-workspace");
        assert_int_equal(mkdir(p, 0700), 0);
        at(p, sizeof(p), src, "projects/-workspace/a.jsonl");
        write_file(p, "{\"conversation\":1}\n");
        at(p, sizeof(p), src, "history.jsonl");
        write_file(p, "history\n");
        at(p, sizeof(p), src, ".credentials.json"); /* not on the list: never looked at */
        write_file(p, "{\"token\":\"x\"}");
        /* The hostile part: a link to a secret file, a link to a directory, a FIFO, a sparse
         * 10 GB file, a file with a stored secret, a name with a newline. */
        at(q, sizeof(q), outside, "shadow");
        write_file(q, "root:x:");
        at(p, sizeof(p), src, "projects/shadow");
        assert_int_equal(symlink(q, p), 0);
        at(p, sizeof(p), src, "projects/escape");
        assert_int_equal(symlink(outside, p), 0);
        at(p, sizeof(p), src, "projects/fifo");
        assert_int_equal(mkfifo(p, 0600), 0);
        at(p, sizeof(p), src, "projects/big");
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t) 10 << 30), 0);
        (void) close(fd);
        at(p, sizeof(p), src, "projects/login.jsonl");
        write_file(p, "the key was sk-ant-secret-123");
        at(p, sizeof(p), src, "projects/bad\nname");
        write_file(p, "x");

        assert_int_equal(copy(src, dst, (struct statecopy_limits) STATECOPY_LIMITS_DEFAULT, &s,
                              &res),
                         0);
        assert_int_equal(res.files, 2);
        assert_int_equal(res.refused, 6);
        assert_string_equal(why_of(&s, "projects/shadow"), "a symbolic link");
        assert_string_equal(why_of(&s, "projects/escape"), "a symbolic link");
        assert_string_equal(why_of(&s, "projects/fifo"), "a special file (device, FIFO or socket)");
        assert_string_equal(why_of(&s, "projects/big"), "larger than the limit for one file");
        assert_string_equal(why_of(&s, "projects/login.jsonl"), "holds a stored secret");
        assert_string_equal(why_of(&s, "projects/?"), "a name with a control character");
        at(p, sizeof(p), dst, "projects/-workspace/a.jsonl");
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_size, 19);
        assert_int_equal(st.st_mode & 07777, 0600);
        at(p, sizeof(p), dst, ".credentials.json");
        assert_int_equal(lstat(p, &st), -1);
        at(p, sizeof(p), dst, "projects/shadow");
        assert_int_equal(lstat(p, &st), -1);
        at(p, sizeof(p), dst, "projects/big");
        assert_int_equal(lstat(p, &st), -1);

        /* Copied again onto itself: what is there is refused, not overwritten. */
        s.n = 0;
        assert_int_equal(copy(src, dst, (struct statecopy_limits) STATECOPY_LIMITS_DEFAULT, &s,
                              &res),
                         0);
        assert_int_equal(res.files, 0);
        assert_string_equal(why_of(&s, "history.jsonl"), "already there");
        rm_rf(src);
        rm_rf(dst);
        rm_rf(outside);
}

static void test_limits(void **state)
{
        char *src = make_tmpdir(), *dst = make_tmpdir();
        char p[512];
        struct statecopy_result res;
        struct seen s = {0};
        size_t len;
        (void) state;

        /* Depth: projects/d/d/d/... */
        at(p, sizeof(p), src, "projects");
        assert_int_equal(mkdir(p, 0700), 0);
        len = strlen(p);
        for (int i = 0; i < 5; i++) {
                (void) snprintf(p + len, sizeof(p) - len, "/d");
                len += 2;
                assert_int_equal(mkdir(p, 0700), 0);
        }
        at(p, sizeof(p), src, "history.jsonl");
        write_file(p, "0123456789");
        assert_int_equal(copy(src, dst, (struct statecopy_limits){1 << 20, 1 << 20, 100, 3}, &s,
                              &res),
                         0);
        assert_string_equal(why_of(&s, "projects/d/d/d/d"), "deeper than the limit");
        /* The total: the second file does not fit. */
        rm_rf(dst);
        dst = make_tmpdir();
        s.n = 0;
        at(p, sizeof(p), src, "projects/f");
        write_file(p, "0123456789");
        assert_int_equal(copy(src, dst, (struct statecopy_limits){1 << 20, 15, 100, 16}, &s,
                              &res),
                         0);
        assert_int_equal(res.files, 1);
        assert_string_equal(why_of(&s, "history.jsonl"), "over the limit for the whole state");
        /* The count of entries. */
        rm_rf(dst);
        dst = make_tmpdir();
        s.n = 0;
        assert_int_equal(copy(src, dst, (struct statecopy_limits){1 << 20, 1 << 20, 2, 16}, &s,
                              &res),
                         0);
        assert_true(res.refused > 0);
        assert_string_equal(s.whys[0], "over the limit of entries");
        rm_rf(src);
        rm_rf(dst);
}

static void test_names_and_lists(void **state)
{
        (void) state;
        assert_false(statecopy_name_ok(""));
        assert_false(statecopy_name_ok("."));
        assert_false(statecopy_name_ok(".."));
        assert_false(statecopy_name_ok("a/b"));
        assert_false(statecopy_name_ok("a\nb"));
        assert_false(statecopy_name_ok("a\x7f"));
        assert_true(statecopy_name_ok("..."));
        assert_true(statecopy_name_ok("rollout-2026.jsonl"));
        assert_non_null(statecopy_agent_top("claude"));
        assert_non_null(statecopy_agent_top("codex"));
        assert_non_null(statecopy_agent_top("copilot"));
        assert_null(statecopy_agent_top("gemini"));
        assert_null(statecopy_agent_top(NULL));
        /* No list names a login or the rendered configuration. */
        for (const char *a = "claude"; a; a = strcmp(a, "claude") == 0 ? "codex"
                                               : strcmp(a, "codex") == 0 ? "copilot"
                                                                         : NULL)
                for (const char *const *t = statecopy_agent_top(a); *t; t++) {
                        assert_true(strstr(*t, "credential") == NULL);
                        assert_true(strcmp(*t, "auth.json") != 0);
                        assert_true(strcmp(*t, "config.json") != 0);
                        assert_true(strcmp(*t, ".claude.json") != 0);
                        assert_true(strcmp(*t, "config.toml") != 0);
                }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_copy_and_refusals),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_names_and_lists),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
