/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include "treecache.h"

static const char *const dirs[] = {"host", "lib"};

static void path(char *out, const char *dir, const char *rel)
{
        (void) snprintf(out, 512, "%s/%s", dir, rel);
}

/* A work tree with a .git directory as git lays it out, every file dated a minute ago (not
 * racy). */
static char *make_tree(void)
{
        char *d = make_tmpdir();
        char p[512];

        path(p, d, ".git");
        assert_int_equal(mkdir(p, 0700), 0);
        path(p, d, ".git/refs");
        assert_int_equal(mkdir(p, 0700), 0);
        path(p, d, ".git/refs/heads");
        assert_int_equal(mkdir(p, 0700), 0);
        path(p, d, ".git/HEAD");
        write_file(p, "ref: refs/heads/main\n");
        path(p, d, ".git/refs/heads/main");
        write_file(p, "1111111111111111111111111111111111111111\n");
        path(p, d, ".git/index");
        write_file(p, "DIRC");
        path(p, d, "host");
        assert_int_equal(mkdir(p, 0755), 0);
        path(p, d, "host/a.c");
        write_file(p, "int a;\n");
        return d;
}

static void age(const char *dir, const char *rel)
{
        struct timeval tv[2];
        char p[512];

        (void) gettimeofday(&tv[0], NULL);
        tv[0].tv_sec -= 60;
        tv[1] = tv[0];
        path(p, dir, rel);
        assert_int_equal(lutimes(p, tv), 0);
}

static void key_at(const char *d, time_t now, struct treecache_key *k)
{
        assert_int_equal(treecache_key(d, dirs, 2, now, k), 0);
        assert_int_equal(strlen(k->hex), 64);
}

static void key_of(const char *d, struct treecache_key *k)
{
        assert_int_equal(treecache_key(d, dirs, 2, time(NULL), k), 0);
        assert_int_equal(strlen(k->hex), 64);
}

/* Every change git's answer depends on changes the key: an edit of a file's content (same
 * size), a new file, a removed file, a commit (the branch ref), the index. */
static void test_treecache_key_follows_the_tree(void **state)
{
        struct treecache_key k0, k1;
        char *d = make_tree();
        char p[512];
        (void) state;

        key_of(d, &k0);
        key_of(d, &k1);
        assert_string_equal(k0.hex, k1.hex);
        /* A file written just now is racy: a key over it is not stored. */
        assert_true(k0.racy);

        /* Same size: only the timestamps tell (a later edit, as age() dates it). */
        path(p, d, "host/a.c");
        write_file(p, "int b;\n");
        age(d, "host/a.c");
        key_of(d, &k1);
        assert_string_not_equal(k0.hex, k1.hex);

        k0 = k1;
        path(p, d, "host/new.c");
        write_file(p, "");
        key_of(d, &k1);
        assert_string_not_equal(k0.hex, k1.hex);

        k0 = k1;
        assert_int_equal(unlink(p), 0);
        key_of(d, &k1);
        assert_string_not_equal(k0.hex, k1.hex);

        k0 = k1;
        path(p, d, ".git/refs/heads/main");
        write_file(p, "2222222222222222222222222222222222222222\n");
        key_of(d, &k1);
        assert_string_not_equal(k0.hex, k1.hex);

        k0 = k1;
        path(p, d, ".git/index");
        write_file(p, "DIRC2");
        key_of(d, &k1);
        assert_string_not_equal(k0.hex, k1.hex);

        /* A tree whose .git is not a directory (a linked work tree) is never keyed. */
        path(p, d, ".git");
        rm_rf(strdup(p));
        write_file(p, "gitdir: /elsewhere\n");
        assert_int_equal(treecache_key(d, dirs, 2, time(NULL), &k1), -ENOTDIR);
        rm_rf(d);
}

/* A stored measurement comes back only under its own key and source; a racy key stores
 * nothing. */
static void test_treecache_store_and_load(void **state)
{
        struct treecache_key k, other;
        json_t *tree = json_pack("{s:s}", "kind", "git"), *dirty = json_array();
        json_t *t = NULL, *dy = NULL;
        char *d = make_tree();
        char cache[512];
        (void) state;

        path(cache, d, "cfg/cache/source-tree.json");
        key_of(d, &k);
        assert_true(k.racy);
        treecache_store(cache, d, &k, tree, dirty);
        assert_int_equal(treecache_load(cache, d, &k, &t, &dy), 0);

        /* The same tree a minute later: nothing is recent any more. */
        key_at(d, time(NULL) + 60, &k);
        assert_false(k.racy);
        treecache_store(cache, d, &k, tree, dirty);
        assert_int_equal(treecache_load(cache, d, &k, &t, &dy), 1);
        assert_true(json_equal(t, tree));
        assert_true(json_is_array(dy));
        json_decref(t);
        json_decref(dy);

        other = k;
        other.hex[0] = other.hex[0] == '0' ? '1' : '0';
        assert_int_equal(treecache_load(cache, d, &other, &t, &dy), 0);
        assert_null(t);
        assert_int_equal(treecache_load(cache, "/elsewhere", &k, &t, &dy), 0);
        json_decref(tree);
        json_decref(dirty);
        rm_rf(d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_treecache_key_follows_the_tree),
                cmocka_unit_test(test_treecache_store_and_load),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
