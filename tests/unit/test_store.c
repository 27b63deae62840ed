/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/store: sealing, permissions, tampering and crash-safe rotation. The
 * kill -9 loops against the real daemon live in tests/integration/broker_crash.sh. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <sodium.h>

#include "buf.h"
#include "error.h"
#include "fileio.h"
#include "secret.h"
#include "store.h"

struct fixture {
        char *root;
        char dir[512];
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        f->root = make_tmpdir();
        (void) snprintf(f->dir, sizeof(f->dir), "%s/broker.d", f->root);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        rm_rf(f->root);
        free(f);
        return 0;
}

static void put(struct store *st, const char *name, const char *value)
{
        struct ca_secret *s = secret_new_from(value, strlen(value));
        struct ca_error err = {0};

        assert_non_null(s);
        if (store_put(st, name, s, &err) < 0)
                fail_msg("store_put: %s", err.msg);
        secret_free(s);
}

static void expect_secret(struct store *st, const char *name, const char *value)
{
        struct ca_secret *s = NULL;
        struct ca_error err = {0};

        if (store_get(st, name, &s, &err) < 0)
                fail_msg("store_get '%s': %s", name, err.msg);
        assert_int_equal(s->len, strlen(value));
        assert_memory_equal(s->buf, value, s->len);
        secret_free(s);
}

static char *read_all(const char *dir, const char *name, size_t *len)
{
        char path[600];
        struct buf b = BUF_INIT;
        struct ca_error err = {0};

        (void) snprintf(path, sizeof(path), "%s/%s", dir, name);
        assert_int_equal(fileio_read_path(path, 1 << 24, &b, &err), 0);
        if (len)
                *len = b.len;
        return buf_detach(&b, NULL);
}

static void write_all(const char *dir, const char *name, const char *data, size_t len)
{
        char path[600];
        struct ca_error err = {0};

        (void) snprintf(path, sizeof(path), "%s/%s", dir, name);
        assert_int_equal(fileio_write_atomic(path, data, len, 0600, &err), 0);
}

static void test_store_put_get_list_remove(void **state)
{
        struct fixture *f = *state;
        struct store *st = NULL;
        struct ca_secret *s = NULL;
        struct ca_error err = {0};
        json_t *list = NULL;
        struct stat sb;
        char *raw;
        (void) state;

        assert_int_equal(store_open(f->dir, true, &st, &err), 0);
        put(st, "GITHUB_TOKEN", "ghp_SENTINEL_value_1234");
        put(st, "EMPTY", "");
        expect_secret(st, "GITHUB_TOKEN", "ghp_SENTINEL_value_1234");
        expect_secret(st, "EMPTY", "");
        put(st, "GITHUB_TOKEN", "rotated");
        expect_secret(st, "GITHUB_TOKEN", "rotated");

        assert_int_equal(store_list(st, &list, &err), 0);
        assert_int_equal(json_array_size(list), 2);
        assert_null(json_object_get(json_array_get(list, 0), "sealed"));
        json_decref(list);

        /* Plaintext never reaches the disk. */
        raw = read_all(f->dir, "secrets.json", NULL);
        assert_null(strstr(raw, "rotated"));
        assert_null(strstr(raw, "SENTINEL"));
        free(raw);
        assert_int_equal(stat(f->dir, &sb), 0);
        assert_int_equal(sb.st_mode & 07777, 0700);

        assert_int_equal(store_remove(st, "GITHUB_TOKEN", &err), 0);
        assert_int_equal(store_get(st, "GITHUB_TOKEN", &s, &err), -ENOENT);
        assert_int_equal(store_remove(st, "GITHUB_TOKEN", &err), -ENOENT);
        s = secret_new_from("x", 1);
        assert_int_equal(store_put(st, "1BAD", s, &err), -EINVAL);
        secret_free(s);
        assert_true(err.bad_input);
        store_close(st);
}

static void test_store_open_refuses_open_directory(void **state)
{
        struct fixture *f = *state;
        struct store *st = NULL;
        struct ca_error err = {0};

        assert_int_equal(store_open(f->dir, false, &st, &err), -ENOENT);
        assert_int_equal(store_open(f->dir, true, &st, &err), 0);
        put(st, "A", "x");
        store_close(st);
        assert_int_equal(chmod(f->dir, 0750), 0);
        assert_int_equal(store_open(f->dir, false, &st, &err), -EPERM);
        assert_non_null(strstr(err.msg, "has mode 0750"));
        assert_int_equal(chmod(f->dir, 0700), 0);
        /* A readable key file is refused too. */
        {
                char path[600];
                (void) snprintf(path, sizeof(path), "%s/master.key", f->dir);
                assert_int_equal(chmod(path, 0644), 0);
                assert_int_equal(store_open(f->dir, false, &st, &err), 0);
                struct ca_secret *v = secret_new_from("x", 1);
                assert_int_equal(store_put(st, "B", v, &err), -EPERM);
                secret_free(v);
                store_close(st);
                assert_int_equal(chmod(path, 0600), 0);
        }
}

static void test_store_get_detects_tampering(void **state)
{
        struct fixture *f = *state;
        struct store *st = NULL;
        struct ca_secret *s = NULL;
        struct ca_error err = {0};
        json_t *doc;
        json_t *secrets;
        char *raw;
        size_t len;

        assert_int_equal(store_open(f->dir, true, &st, &err), 0);
        put(st, "A", "alpha");
        put(st, "B", "bravo");

        /* Moving B's sealed value to A fails: the name is the associated data. */
        raw = read_all(f->dir, "secrets.json", &len);
        assert_int_equal(ca_json_parse(raw, len, "s", &doc, &err), 0);
        free(raw);
        secrets = json_object_get(doc, "secrets");
        assert_int_equal(json_object_set(json_object_get(secrets, "A"), "sealed",
                                         json_object_get(json_object_get(secrets, "B"), "sealed")),
                         0);
        raw = json_dumps(doc, JSON_INDENT(2));
        write_all(f->dir, "secrets.json", raw, strlen(raw));
        free(raw);
        assert_int_equal(store_get(st, "A", &s, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "does not authenticate"));
        expect_secret(st, "B", "bravo");

        /* Flipping one ciphertext character fails too. */
        {
                json_t *b = json_object_get(secrets, "B");
                char *sealed = strdup(json_string_value(json_object_get(b, "sealed")));
                sealed[40] = sealed[40] == 'A' ? 'B' : 'A';
                assert_int_equal(json_object_set_new(b, "sealed", json_string(sealed)), 0);
                free(sealed);
        }
        raw = json_dumps(doc, JSON_INDENT(2));
        write_all(f->dir, "secrets.json", raw, strlen(raw));
        free(raw);
        assert_int_equal(store_get(st, "B", &s, &err), -EBADMSG);
        json_decref(doc);
        store_close(st);
}

static void test_store_rotate_master(void **state)
{
        struct fixture *f = *state;
        struct store *st = NULL;
        struct ca_error err = {0};
        char *old_key;
        char *new_key;
        size_t len;

        assert_int_equal(store_open(f->dir, true, &st, &err), 0);
        put(st, "A", "alpha");
        put(st, "B", "bravo");
        old_key = read_all(f->dir, "master.key", &len);
        assert_int_equal(len, STORE_KEY_LEN);
        assert_int_equal(store_rotate_master(st, &err), 0);
        new_key = read_all(f->dir, "master.key", &len);
        assert_memory_not_equal(old_key, new_key, STORE_KEY_LEN);
        expect_secret(st, "A", "alpha");
        expect_secret(st, "B", "bravo");
        free(old_key);
        free(new_key);
        store_close(st);
}

/* A crash after step 1 (next key written, nothing resealed): the rotation is discarded. */
static void test_store_open_discards_unfinished_rotation(void **state)
{
        struct fixture *f = *state;
        struct store *st = NULL;
        struct ca_error err = {0};
        char path[600];
        uint8_t junk[STORE_KEY_LEN];

        assert_int_equal(store_open(f->dir, true, &st, &err), 0);
        put(st, "A", "alpha");
        randombytes_buf(junk, sizeof(junk));
        write_all(f->dir, "master.key.next", (const char *) junk, sizeof(junk));
        expect_secret(st, "A", "alpha");
        (void) snprintf(path, sizeof(path), "%s/master.key.next", f->dir);
        assert_int_equal(access(path, F_OK), -1);
        store_close(st);
}

/* A crash after step 2 (resealed under next, not yet renamed): the rotation is completed. */
static void test_store_open_completes_resealed_rotation(void **state)
{
        struct fixture *f = *state;
        struct store *st = NULL;
        struct ca_error err = {0};
        char *old_key;
        char *new_key;
        char *now_key;
        size_t len;

        assert_int_equal(store_open(f->dir, true, &st, &err), 0);
        put(st, "A", "alpha");
        old_key = read_all(f->dir, "master.key", &len);
        assert_int_equal(store_rotate_master(st, &err), 0);
        new_key = read_all(f->dir, "master.key", &len);
        /* Rebuild the on-disk state between steps 2 and 3. */
        write_all(f->dir, "master.key.next", new_key, STORE_KEY_LEN);
        write_all(f->dir, "master.key", old_key, STORE_KEY_LEN);
        expect_secret(st, "A", "alpha");
        now_key = read_all(f->dir, "master.key", &len);
        assert_memory_equal(now_key, new_key, STORE_KEY_LEN);
        free(old_key);
        free(new_key);
        free(now_key);

        /* A key that matches nothing is reported, not silently replaced. */
        {
                uint8_t junk[STORE_KEY_LEN];
                struct ca_secret *s = NULL;
                randombytes_buf(junk, sizeof(junk));
                write_all(f->dir, "master.key", (const char *) junk, sizeof(junk));
                assert_int_equal(store_get(st, "A", &s, &err), -EBADMSG);
                assert_non_null(strstr(err.msg, "inconsistent"));
        }
        store_close(st);
}

/* Storing the value a name already holds writes nothing; a different value is written. */
static void test_store_put_same_value_writes_nothing(void **state)
{
        struct fixture *f = *state;
        struct store *st = NULL;
        struct ca_secret *a = secret_new_from("value-a", 7);
        struct ca_secret *b = secret_new_from("value-b", 7);
        struct ca_error err = {0};
        struct stat before, after;
        char *path = NULL;

        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal(store_open(f->dir, true, &st, &err), 0);
        assert_int_equal(store_put(st, "TOKEN", a, &err), 0);
        assert_true(asprintf(&path, "%s/secrets.json", f->dir) > 0);
        assert_int_equal(stat(path, &before), 0);
        assert_int_equal(store_put(st, "TOKEN", a, &err), 1);
        assert_int_equal(stat(path, &after), 0);
        assert_int_equal(before.st_ino, after.st_ino); /* not replaced */
        assert_int_equal(store_put(st, "TOKEN", b, &err), 0);
        assert_int_equal(stat(path, &after), 0);
        assert_int_not_equal(before.st_ino, after.st_ino);
        expect_secret(st, "TOKEN", "value-b");
        free(path);
        secret_free(a);
        secret_free(b);
        store_close(st);
}

/* The keys come from the master key, which stays inside: they are what capability.h derives
 * from it, per session and capability, and they change with a rotation. */
static void test_store_capability_keys(void **state)
{
        struct fixture *f = *state;
        struct store *st = NULL;
        struct ca_error err = {0};
        struct capability a = {.session = "s1", .stub = "github", .id = {1}};
        struct capability b = a;
        uint8_t mac1[CAP_KEY_LEN], proof1[CAP_KEY_LEN], mac2[CAP_KEY_LEN], proof2[CAP_KEY_LEN];
        uint8_t want[CAP_KEY_LEN];
        char *master;
        size_t len;

        assert_int_equal(store_open(f->dir, true, &st, &err), 0);
        assert_int_equal(store_capability_keys(st, &a, mac1, proof1, &err), 0);
        master = read_all(f->dir, "master.key", &len);
        assert_int_equal(len, STORE_KEY_LEN);
        assert_int_equal(capability_mac_key((const uint8_t *) master, "s1", want), 0);
        assert_memory_equal(mac1, want, CAP_KEY_LEN);
        assert_int_equal(capability_proof_key((const uint8_t *) master, "s1", "github", a.id, want),
                         0);
        assert_memory_equal(proof1, want, CAP_KEY_LEN);
        /* Another capability of the session: the same MAC key, its own proof key. */
        b.id[0] = 2;
        assert_int_equal(store_capability_keys(st, &b, mac2, proof2, &err), 0);
        assert_memory_equal(mac1, mac2, CAP_KEY_LEN);
        assert_memory_not_equal(proof1, proof2, CAP_KEY_LEN);
        /* Another session: another MAC key. */
        (void) snprintf(b.session, sizeof(b.session), "s2");
        assert_int_equal(store_capability_keys(st, &b, mac2, proof2, &err), 0);
        assert_memory_not_equal(mac1, mac2, CAP_KEY_LEN);
        /* A rotation: what was issued before no longer verifies. */
        assert_int_equal(store_rotate_master(st, &err), 0);
        assert_int_equal(store_capability_keys(st, &a, mac2, proof2, &err), 0);
        assert_memory_not_equal(mac1, mac2, CAP_KEY_LEN);
        free(master);
        store_close(st);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        const struct CMUnitTest tests[] = {
                T(test_store_put_get_list_remove),
                T(test_store_put_same_value_writes_nothing),
                T(test_store_open_refuses_open_directory),
                T(test_store_get_detects_tampering),
                T(test_store_rotate_master),
                T(test_store_capability_keys),
                T(test_store_open_discards_unfinished_rotation),
                T(test_store_open_completes_resealed_rotation),
        };
        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
