/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "image.h"

static void test_image_package_list(void **state)
{
        static const char text[] = "# comment\nca-certificates\n  libstdc++6  # why\n\ng++-12\r\n";
        char *list = NULL;
        (void) state;

        assert_int_equal(image_package_list(text, strlen(text), &list, NULL), 0);
        assert_string_equal(list, "ca-certificates,libstdc++6,g++-12");
        free(list);
}

static void test_image_package_list_rejects(void **state)
{
        static const char *const bad[] = {"", "# only comments\n", "Caps\n", "a b\n",
                                           "x\n",  "-flag\n",          "a,b\n", "../x\n"};
        (void) state;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct ca_error err = {0};
                char *list = NULL;

                if (image_package_list(bad[i], strlen(bad[i]), &list, &err) != -EINVAL)
                        fail_msg("accepted '%s'", bad[i]);
                assert_true(err.bad_input);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_image_package_list),
                cmocka_unit_test(test_image_package_list_rejects),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
