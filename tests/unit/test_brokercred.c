/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/brokercred: the one writer and reader of broker credential files. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "brokercred.h"
#include "buf.h"
#include "capability.h"
#include "error.h"

static char cap_text[CAP_TEXT_MAX + 1];

static int setup(void **state)
{
        struct capability c = {.nsecrets = 1, .max_uses = 1, .not_before = 1, .expiry = 2};
        uint8_t key[CAP_KEY_LEN] = {0};
        (void) state;

        assert_true(sodium_init() >= 0);
        (void) snprintf(c.session, sizeof(c.session), "s1");
        (void) snprintf(c.stub, sizeof(c.stub), "github");
        (void) snprintf(c.secrets[0], sizeof(c.secrets[0]), "TOKEN");
        assert_true(capability_encode(&c, key, cap_text, sizeof(cap_text)) > 0);
        return 0;
}

static void test_brokercred_roundtrip(void **state)
{
        char dir[] = "/tmp/ca-brokercred.XXXXXX";
        char path[64];
        char hex[2 * CAP_KEY_LEN + 1];
        struct broker_credential c;
        struct ca_error err = {0};
        struct stat st;
        (void) state;

        memset(hex, 'a', sizeof(hex) - 1);
        hex[sizeof(hex) - 1] = '\0';
        assert_non_null(mkdtemp(dir));
        (void) snprintf(path, sizeof(path), "%s/c.cred", dir);
        assert_int_equal(brokercred_write(path, cap_text, hex, "/run/b.sock", "00ff", 99, &err), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(brokercred_load(path, &c, &err), 0);
        assert_string_equal(c.capability, cap_text);
        assert_string_equal(c.socket, "/run/b.sock");
        assert_int_equal(c.key[0], 0xaa);
        assert_int_equal(c.key[CAP_KEY_LEN - 1], 0xaa);
        brokercred_clear(&c);
        assert_int_equal(c.key[0], 0);
        /* A link is not followed. */
        {
                char link[80];

                (void) snprintf(link, sizeof(link), "%s/link", dir);
                assert_int_equal(symlink(path, link), 0);
                assert_true(brokercred_load(link, &c, &err) < 0);
                (void) unlink(link);
        }
        (void) unlink(path);
        (void) rmdir(dir);
}

static void test_brokercred_refusals(void **state)
{
        struct broker_credential c;
        struct ca_error err = {0};
        char doc[CAP_TEXT_MAX + 256];
        (void) state;

        /* The key must be exactly 64 hex digits (three readers once took anything). */
        (void) snprintf(doc, sizeof(doc),
                        "{\"capability\":\"%s\",\"key\":\"abcd\",\"socket\":\"/s\"}", cap_text);
        assert_int_equal(brokercred_parse(doc, strlen(doc), "c", &c, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "64 hex digits"));
        (void) snprintf(doc, sizeof(doc),
                        "{\"capability\":\"%s\",\"key\":\"%064d\",\"socket\":\"relative\"}",
                        cap_text, 0);
        assert_int_equal(brokercred_parse(doc, strlen(doc), "c", &c, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "absolute"));
        (void) snprintf(doc, sizeof(doc),
                        "{\"capability\":\"cap1.AAAA\",\"key\":\"%064d\",\"socket\":\"/s\"}", 0);
        assert_int_equal(brokercred_parse(doc, strlen(doc), "c", &c, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "no longer accepts (cap1.; this version issues cap2.)"));
        (void) snprintf(doc, sizeof(doc),
                        "{\"capability\":\"%s\",\"key\":\"%064d\",\"socket\":\"/s\",\"x\":1}",
                        cap_text, 0);
        assert_int_equal(brokercred_parse(doc, strlen(doc), "c", &c, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "unknown member 'x'"));
        assert_int_equal(brokercred_parse("[]", 2, "c", &c, &err), -EINVAL);
        /* Nothing that does not parse is written. */
        assert_true(brokercred_write("/tmp/never-written.cred", cap_text, "zz", "/s", NULL, 0,
                                     &err) < 0);
        assert_int_equal(access("/tmp/never-written.cred", F_OK), -1);
}

/* agent-init hands a helper the same capability and key naming another socket. */
static void test_brokercred_write_as(void **state)
{
        char dir[] = "/tmp/ca-brokercred.XXXXXX";
        char a[64], b[64];
        char hex[2 * CAP_KEY_LEN + 1];
        struct broker_credential c, again;
        struct ca_error err = {0};
        struct stat st;
        (void) state;

        memset(hex, '5', sizeof(hex) - 1);
        hex[sizeof(hex) - 1] = '\0';
        assert_non_null(mkdtemp(dir));
        (void) snprintf(a, sizeof(a), "%s/a.cred", dir);
        (void) snprintf(b, sizeof(b), "%s/b.cred", dir);
        assert_int_equal(brokercred_write(a, cap_text, hex, "/run/b.sock", NULL, 0, &err), 0);
        assert_int_equal(brokercred_load(a, &c, &err), 0);
        assert_int_equal(brokercred_write_as(b, &c, "/proc/self/fd/3", &err), 0);
        assert_int_equal(stat(b, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(brokercred_load(b, &again, &err), 0);
        assert_string_equal(again.socket, "/proc/self/fd/3");
        assert_string_equal(again.capability, c.capability);
        assert_memory_equal(again.key, c.key, sizeof(c.key));
        /* A socket a reader would refuse is refused here, and nothing is written. */
        assert_int_equal(brokercred_write_as(a, &c, "relative.sock", &err), -EINVAL);
        assert_int_equal(brokercred_load(a, &again, &err), 0);
        assert_string_equal(again.socket, "/run/b.sock");
        brokercred_clear(&c);
        brokercred_clear(&again);
        assert_int_equal(unlink(a), 0);
        assert_int_equal(unlink(b), 0);
        assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_brokercred_roundtrip),
                cmocka_unit_test(test_brokercred_refusals),
                cmocka_unit_test(test_brokercred_write_as),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
