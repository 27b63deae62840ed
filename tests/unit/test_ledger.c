/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/ledger: records, use claims, revocations, the walk. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>

#include <sodium.h>

#include "error.h"
#include "ledger.h"

static struct ledger_entry entry(const char *session)
{
        struct ledger_entry e;

        memset(&e, 0, sizeof(e));
        randombytes_buf(e.cap.id, CAP_ID_LEN);
        (void) snprintf(e.cap.session, sizeof(e.cap.session), "%s", session);
        (void) snprintf(e.cap.stub, sizeof(e.cap.stub), "github");
        (void) snprintf(e.cap.secrets[0], sizeof(e.cap.secrets[0]), "GITHUB_TOKEN");
        e.cap.nsecrets = 1;
        e.cap.not_before = 10;
        e.cap.expiry = 20;
        e.cap.max_uses = 2;
        e.cap.has_binary = true;
        memset(e.cap.binary_sha256, 0x5a, CAP_HASH_LEN);
        e.uid = 61001;
        e.has_cgroup = true;
        (void) snprintf(e.cgroup, sizeof(e.cgroup), "/docker/abc");
        return e;
}

static int count_cb(const struct ledger_entry *e, void *userdata)
{
        (void) e;
        (*(int *) userdata)++;
        return 0;
}

static void test_ledger_record_lookup_claim_revoke(void **state)
{
        char *dir = make_tmpdir();
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct ledger *l = NULL;
        struct ledger_entry e = entry("s1");
        struct ledger_entry f = entry("s2");
        struct ledger_entry got;
        struct ca_error err = {0};
        int n = 0;
        (void) state;

        assert_int_equal(ledger_open(dfd, &l, &err), 0);
        assert_int_equal(ledger_lookup(l, e.cap.id, &got, &err), -ENOENT);
        assert_int_equal(ledger_record(l, &e, &err), 0);
        assert_int_equal(ledger_record(l, &f, &err), 0);
        assert_int_equal(ledger_lookup(l, e.cap.id, &got, &err), 0);
        assert_memory_equal(got.cap.id, e.cap.id, CAP_ID_LEN);
        assert_string_equal(got.cap.session, "s1");
        assert_string_equal(got.cgroup, "/docker/abc");
        assert_true(got.cap.has_binary);
        assert_memory_equal(got.cap.binary_sha256, e.cap.binary_sha256, CAP_HASH_LEN);
        assert_int_equal(got.uid, 61001);
        assert_int_equal(got.cap.max_uses, 2);

        /* Two uses, then none left; durable claims are in the journal, so a new handle sees
         * them. */
        assert_int_equal(ledger_claim_use(l, e.cap.id, 2, &err), 1);
        assert_int_equal(ledger_claim_use(l, e.cap.id, 2, &err), 2);
        assert_int_equal(ledger_claim_use(l, e.cap.id, 2, &err), -EALREADY);
        assert_int_equal(ledger_uses(l, e.cap.id, 2), 2);
        ledger_close(l);
        assert_int_equal(ledger_open(dfd, &l, &err), 0);
        assert_int_equal(ledger_claim_use(l, e.cap.id, 2, &err), -EALREADY);

        assert_false(ledger_is_revoked(l, f.cap.id, "s2"));
        assert_int_equal(ledger_revoke_cap(l, f.cap.id, &err), 0);
        assert_true(ledger_is_revoked(l, f.cap.id, NULL));
        assert_false(ledger_is_revoked(l, e.cap.id, "s1"));
        assert_int_equal(ledger_revoke_session(l, "s1", &err), 0);
        assert_true(ledger_is_revoked(l, e.cap.id, "s1"));
        assert_int_equal(ledger_revoke_session(l, "../escape", &err), -EINVAL);
        {
                uint8_t unknown[CAP_ID_LEN] = {0};
                assert_int_equal(ledger_revoke_cap(l, unknown, &err), -ENOENT);
        }
        assert_int_equal(ledger_foreach(l, count_cb, &n, &err), 0);
        assert_int_equal(n, 2);
        ledger_close(l);
        (void) close(dfd);
        rm_rf(dir);
}

/* Records kept in memory: two ids that share a slot never answer for each other, and a new
 * handle reads the files. */
static void test_ledger_cache(void **state)
{
        char *dir = make_tmpdir();
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct ledger *l = NULL;
        struct ledger_entry e = entry("s1");
        struct ledger_entry f = entry("s2");
        struct ledger_entry got;
        struct ca_error err = {0};
        (void) state;

        memcpy(f.cap.id, e.cap.id, 2); /* the same slot */
        f.cap.id[CAP_ID_LEN - 1] ^= 0xff;
        assert_int_equal(ledger_open(dfd, &l, &err), 0);
        assert_int_equal(ledger_record(l, &e, &err), 0);
        assert_int_equal(ledger_record(l, &f, &err), 0);
        for (int round = 0; round < 2; round++) {
                assert_int_equal(ledger_lookup(l, e.cap.id, &got, &err), 0);
                assert_memory_equal(got.cap.id, e.cap.id, CAP_ID_LEN);
                assert_string_equal(got.cap.session, "s1");
                assert_int_equal(ledger_lookup(l, f.cap.id, &got, &err), 0);
                assert_memory_equal(got.cap.id, f.cap.id, CAP_ID_LEN);
                assert_string_equal(got.cap.session, "s2");
                ledger_close(l);
                assert_int_equal(ledger_open(dfd, &l, &err), 0);
        }
        ledger_close(l);
        (void) close(dfd);
        rm_rf(dir);
}

/* A use an earlier version recorded as a file (ledger/uses/<id>.<n>) still counts. */
static void test_ledger_reads_older_use_files(void **state)
{
        char *dir = make_tmpdir();
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct ledger_entry e = entry("s1");
        struct ca_error err = {0};
        struct ledger *l = NULL;
        char hex[2 * CAP_ID_LEN + 1], path[1024];
        (void) state;

        assert_int_equal(ledger_open(dfd, &l, &err), 0);
        ledger_close(l);
        sodium_bin2hex(hex, sizeof(hex), e.cap.id, CAP_ID_LEN);
        (void) snprintf(path, sizeof(path), "%s/ledger/uses/%s.1", dir, hex);
        write_file(path, "");
        assert_int_equal(ledger_open(dfd, &l, &err), 0);
        assert_int_equal(ledger_uses(l, e.cap.id, 2), 1);
        assert_int_equal(ledger_claim_use(l, e.cap.id, 2, &err), 2);
        assert_int_equal(ledger_claim_use(l, e.cap.id, 2, &err), -EALREADY);
        ledger_close(l);
        (void) close(dfd);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ledger_record_lookup_claim_revoke),
                cmocka_unit_test(test_ledger_cache),
                cmocka_unit_test(test_ledger_reads_older_use_files),
        };
        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
