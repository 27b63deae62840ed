/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>
#include <sys/stat.h>

#include "error.h"
#include "fileio.h"
#include "tree.h"

static void test_tree_list_sorted_no_follow(void **state)
{
        char *dir = make_tmpdir();
        char p[600];
        struct tree t;
        struct ca_error err = {0};
        (void) state;

        (void) snprintf(p, sizeof(p), "%s/b/c", dir);
        assert_int_equal(fileio_mkdir_p(p, 0755, &err), 0);
        (void) snprintf(p, sizeof(p), "%s/b/c/x", dir);
        write_file(p, "12345");
        (void) snprintf(p, sizeof(p), "%s/a", dir);
        write_file(p, "");
        assert_int_equal(chmod(p, 0755), 0);
        (void) snprintf(p, sizeof(p), "%s/link", dir);
        assert_int_equal(symlink("/etc", p), 0);
        assert_int_equal(tree_list(dir, 100, &t, &err), 0);
        assert_int_equal(t.n, 5);
        assert_string_equal(t.items[0].path, "a");
        assert_true(t.items[0].exec);
        assert_string_equal(t.items[1].path, "b");
        assert_int_equal(t.items[1].kind, TREE_DIR);
        assert_string_equal(t.items[3].path, "b/c/x");
        assert_int_equal(t.items[3].size, 5);
        assert_string_equal(t.items[4].path, "link");
        assert_int_equal(t.items[4].kind, TREE_OTHER);
        tree_clear(&t);
        assert_int_equal(tree_list(dir, 3, &t, &err), -EFBIG);
        assert_null(t.items);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tree_list_sorted_no_follow),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
