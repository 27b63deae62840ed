/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>
#include <string.h>

#include "aptsrc.h"

static int mirror(const char *text, char *out, size_t size)
{
        return aptsrc_mirror(text, strlen(text), "bookworm", out, size);
}

static void test_aptsrc_deb822(void **state)
{
        char out[128];
        (void) state;

        /* What Debian 12 images ship (debian.sources), security stanza second. */
        assert_int_equal(mirror("Types: deb\nURIs: http://deb.debian.org/debian/\n"
                                "Suites: bookworm bookworm-updates\nComponents: main\n"
                                "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
                                "Types: deb\nURIs: http://deb.debian.org/debian-security\n"
                                "Suites: bookworm-security\nComponents: main\n",
                                out, sizeof(out)),
                         0);
        assert_string_equal(out, "http://deb.debian.org/debian");
        /* deb-src only, wrong suite, disabled, no main: nothing. */
        assert_int_equal(mirror("Types: deb-src\nURIs: http://a/debian\nSuites: bookworm\n"
                                "Components: main\n\nTypes: deb\nURIs: http://b/debian\n"
                                "Suites: bookworm-updates\nComponents: main\n\nTypes: deb\n"
                                "URIs: http://c/debian\nSuites: bookworm\nComponents: main\n"
                                "Enabled: no\n\nTypes: deb\nURIs: http://d/debian\n"
                                "Suites: bookworm\nComponents: contrib\n",
                                out, sizeof(out)),
                         -ENOENT);
        assert_int_equal(mirror("Types: deb\nURIs: file:/srv/x https://m.example/debian\n"
                                "Suites: bookworm\nComponents: main contrib",
                                out, sizeof(out)),
                         0);
        assert_string_equal(out, "https://m.example/debian");
}

static void test_aptsrc_one_line(void **state)
{
        char out[128];
        (void) state;

        assert_int_equal(mirror("# comment\ndeb-src http://s/debian bookworm main\n"
                                "deb [arch=amd64 signed-by=/k.gpg] http://mirror.local/debian/ "
                                "bookworm main contrib\n",
                                out, sizeof(out)),
                         0);
        assert_string_equal(out, "http://mirror.local/debian");
        assert_int_equal(mirror("deb http://m/debian bookworm-updates main\n", out, sizeof(out)),
                         -ENOENT);
        assert_int_equal(mirror("deb cdrom:[Debian]/ bookworm main\n", out, sizeof(out)),
                         -ENOENT);
        assert_int_equal(mirror("deb http://m/debian bookworm main\n", out, 8), -ENAMETOOLONG);
        assert_int_equal(mirror("", out, sizeof(out)), -ENOENT);
        /* A URI with a NUL, a control byte or no host is no mirror (found by fuzz_aptsrc). */
        assert_int_equal(aptsrc_mirror("deb http://\0x/debian bookworm main\n", 36, "bookworm",
                                       out, sizeof(out)),
                         -ENOENT);
        assert_int_equal(mirror("deb http:/// bookworm main\n", out, sizeof(out)), -ENOENT);
        assert_int_equal(mirror("deb http://m\001/d bookworm main\n", out, sizeof(out)), -ENOENT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_aptsrc_deb822),
                cmocka_unit_test(test_aptsrc_one_line),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
