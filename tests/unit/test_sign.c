/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/sign; interoperability with the real minisign is in
 * tests/integration/release_sign.sh. */
#include "testutil.h"

#include <errno.h>
#include <sys/stat.h>

#include <sodium.h>

#include "error.h"
#include "sign.h"

static void test_sign_roundtrip_and_tamper(void **state)
{
        char *dir = make_tmpdir();
        char pub[512];
        char sec[512];
        char file[512];
        char sig[512];
        char *comment = NULL;
        struct ca_error err = {0};
        struct stat st;
        (void) state;

        (void) snprintf(pub, sizeof(pub), "%s/k.pub", dir);
        (void) snprintf(sec, sizeof(sec), "%s/k.sec", dir);
        (void) snprintf(file, sizeof(file), "%s/f", dir);
        (void) snprintf(sig, sizeof(sig), "%s/f.minisig", dir);
        write_file(file, "release bytes");
        assert_int_equal(sign_keygen(pub, sec, &err), 0);
        assert_int_equal(stat(sec, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(sign_keygen(pub, sec, &err), -EEXIST);
        assert_int_equal(sign_file(sec, file, "version:1", sig, &err), 0);
        assert_int_equal(sign_verify(pub, file, sig, &comment, &err), 0);
        assert_string_equal(comment, "version:1");
        free(comment);

        write_file(file, "release byteS");
        assert_int_equal(sign_verify(pub, file, sig, NULL, &err), -EBADMSG);
        assert_int_equal(sign_file(sec, file, "two\nlines", sig, &err), -EINVAL);
        assert_int_equal(sign_verify(sec, file, sig, NULL, &err), -EINVAL);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sign_roundtrip_and_tamper),
        };
        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
