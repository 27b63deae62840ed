/* SPDX-License-Identifier: MIT */
/* Unit tests for host/lib/layer: the same tree gives the same bytes, whatever order it was made
 * in, and each entry is written as the header promises (read back with libarchive). */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "buf.h"
#include "error.h"
#include "fileio.h"
#include "layer.h"

#define EPOCH 1000000000LL

static const char long_name[] =
        "a/this-name-is-longer-than-the-hundred-bytes-a-plain-ustar-header-holds-so-it-needs-"
        "a-pax-record-of-its-own.txt";
static const char latin1_name[] = "caf\xe9"; /* not UTF-8: stored as the bytes it is */

static void mk(const char *root, const char *rel, const char *content, mode_t mode)
{
        char p[1024];

        (void) snprintf(p, sizeof(p), "%s/%s", root, rel);
        if (!content) {
                assert_int_equal(mkdir(p, mode), 0);
                assert_int_equal(chmod(p, mode), 0); /* past the umask */
        } else {
                write_file(p, content);
                assert_int_equal(chmod(p, mode), 0);
        }
}

/* The same tree, made in one order or the reverse: readdir order and inode numbers differ. */
static void make_tree(const char *root, bool reverse)
{
        char p[1024], q[1024];

        assert_int_equal(mkdir(root, 0755), 0);
        for (int step = 0; step < 2; step++) {
                if ((step == 0) != reverse) {
                        mk(root, "a", NULL, 0777);
                        mk(root, long_name, "long\n", 0644);
                        mk(root, "a/z", "zed\n", 0644);
                        (void) snprintf(p, sizeof(p), "%s/a/y", root);
                        assert_int_equal(symlink("z", p), 0);
                        mk(root, "dev", NULL, 0755);
                        mk(root, "dev/node", "dropped\n", 0644);
                        mk(root, "etc", NULL, 0755);
                        mk(root, "etc/resolv.conf", "nameserver 192.0.2.1\n", 0644);
                } else {
                        mk(root, "b", "the file\n", 04755);
                        (void) snprintf(p, sizeof(p), "%s/b", root);
                        (void) snprintf(q, sizeof(q), "%s/c", root);
                        assert_int_equal(link(p, q), 0);
                        (void) snprintf(p, sizeof(p), "%s/f", root);
                        assert_int_equal(mkfifo(p, 0600), 0);
                        mk(root, latin1_name, "latin\n", 0600);
                }
        }
}

/* Reads `tar` back: "name type perm mtime [-> link]" per entry, one per line. */
static void list_tar(const char *tar, struct buf *out)
{
        struct archive *a = archive_read_new();
        struct archive_entry *ae;

        assert_non_null(a);
        assert_int_equal(archive_read_support_format_tar(a), ARCHIVE_OK);
        assert_int_equal(archive_read_open_filename(a, tar, 10240), ARCHIVE_OK);
        while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
                const char *hl = archive_entry_hardlink(ae), *sl = archive_entry_symlink(ae);
                const char *un = archive_entry_uname(ae), *gn = archive_entry_gname(ae);

                assert_true((!un || !*un) && (!gn || !*gn)); /* numeric owners only */
                assert_int_equal(archive_entry_atime_is_set(ae), 0);
                assert_int_equal(archive_entry_ctime_is_set(ae), 0);
                assert_int_equal(buf_printf(out, "%s %o %o %lld %lld%s%s\n",
                                            archive_entry_pathname(ae),
                                            (unsigned) archive_entry_filetype(ae) >> 12,
                                            (unsigned) archive_entry_perm(ae),
                                            (long long) archive_entry_mtime(ae),
                                            (long long) archive_entry_size(ae),
                                            hl ? " => " : sl ? " -> " : "",
                                            hl ? hl : sl ? sl : ""),
                                 0);
        }
        assert_int_equal(archive_read_free(a), ARCHIVE_OK);
}

static void test_layer_reproducible(void **state)
{
        static const char *const drop[] = {"dev/*", NULL};
        static const char *const empty[] = {"etc/resolv.conf", NULL};
        struct layer_opts o = {.epoch = EPOCH, .drop = drop, .empty = empty};
        struct layer_info ia, ib, im;
        struct buf x = BUF_INIT, y = BUF_INIT, list = BUF_INIT;
        struct ca_error err = {0};
        char *dir = make_tmpdir();
        char ra[512], rb[512], ta[512], tb[512], p[1024];
        uint8_t md[DIGEST_SHA256_LEN];
        struct timespec old[2] = {{.tv_sec = 700000000}, {.tv_sec = 700000000}};
        (void) state;

        (void) snprintf(ra, sizeof(ra), "%s/one", dir);
        (void) snprintf(rb, sizeof(rb), "%s/two", dir);
        (void) snprintf(ta, sizeof(ta), "%s/one.tar", dir);
        (void) snprintf(tb, sizeof(tb), "%s/two.tar", dir);
        make_tree(ra, false);
        make_tree(rb, true);
        /* An mtime before the epoch is kept as it is (in both trees). */
        for (int i = 0; i < 2; i++) {
                (void) snprintf(p, sizeof(p), "%s/a/z", i ? rb : ra);
                assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
        }
        assert_int_equal(layer_write(ra, ta, &o, &ia, &err), 0);
        assert_int_equal(layer_write(rb, tb, &o, &ib, &err), 0);
        assert_int_equal(fileio_read_path(ta, 1 << 20, &x, &err), 0);
        assert_int_equal(fileio_read_path(tb, 1 << 20, &y, &err), 0);
        assert_int_equal(x.len, y.len);
        assert_memory_equal(x.data, y.data, x.len);
        assert_memory_equal(ia.diff_id, ib.diff_id, sizeof(ia.diff_id));
        assert_int_equal(ia.size, x.len);
        assert_int_equal(digest_sha256(x.data, x.len, md), 0);
        assert_memory_equal(md, ia.diff_id, sizeof(md));
        assert_int_equal(layer_measure(ta, &im, &err), 0);
        assert_memory_equal(im.diff_id, ia.diff_id, sizeof(md));
        assert_int_equal(im.size, ia.size);

        /* Bytewise order, each directory before what it holds; the setuid bit gone; mtimes
         * clamped; the hard link's first name is the file; dev's entries and etc/resolv.conf's
         * content left out; the long and the latin-1 names intact. */
        list_tar(ta, &list);
        assert_int_equal(buf_append_char(&list, '\0'), 0);
        (void) snprintf(p, sizeof(p),
                        "a/ 4 777 %lld 0\n"
                        "a/this-name-is-longer-than-the-hundred-bytes-a-plain-ustar-header-holds-"
                        "so-it-needs-a-pax-record-of-its-own.txt 10 644 %lld 5\n"
                        "a/y 12 777 %lld 0 -> z\n"
                        "a/z 10 644 700000000 4\n"
                        "b 10 755 %lld 9\n"
                        "c 0 755 %lld 0 => b\n" /* a link has no type of its own */
                        "caf\xe9 10 600 %lld 6\n"
                        "dev/ 4 755 %lld 0\n"
                        "etc/ 4 755 %lld 0\n"
                        "etc/resolv.conf 10 644 %lld 0\n"
                        "f 1 600 %lld 0\n",
                        EPOCH, EPOCH, EPOCH, EPOCH, EPOCH, EPOCH, EPOCH, EPOCH, EPOCH, EPOCH);
        assert_string_equal(list.data, p);

        /* What the image adds: nothing writable by group or others. */
        buf_clear(&list);
        o.no_group_other_write = true;
        assert_int_equal(layer_write(ra, ta, &o, &ia, &err), 0);
        list_tar(ta, &list);
        assert_int_equal(buf_append_char(&list, '\0'), 0);
        assert_non_null(strstr(list.data, "a/ 4 755 "));
        assert_non_null(strstr(list.data, "a/y 12 777 ")); /* a link's mode means nothing */
        buf_clear(&list);

        /* What we stage from caches: every time is the epoch, the old one too. */
        o.fixed_mtime = true;
        assert_int_equal(layer_write(ra, ta, &o, &ia, &err), 0);
        list_tar(ta, &list);
        assert_int_equal(buf_append_char(&list, '\0'), 0);
        (void) snprintf(p, sizeof(p), "\na/z 10 644 %lld 4\n", EPOCH);
        assert_non_null(strstr(list.data, p));
        assert_null(strstr(list.data, " 700000000 "));
        buf_clear(&list);

        assert_int_equal(layer_write("/nonexistent", ta, &o, &ia, &err), -ENOENT);
        buf_clear(&x);
        buf_clear(&y);
        rm_rf(dir);
}

static void test_layer_archive(void **state)
{
        static const char config[] = "{\"architecture\":\"amd64\"}";
        struct layer_opts o = {.epoch = EPOCH};
        struct layer_info info;
        struct buf list = BUF_INIT, want = BUF_INIT;
        struct ca_error err = {0};
        char *dir = make_tmpdir();
        char root[512], tar[512], out[512], hex[DIGEST_SHA256_HEX_LEN + 1];
        char chex[DIGEST_SHA256_HEX_LEN + 1];
        const char *layers[1] = {tar};
        uint8_t md[DIGEST_SHA256_LEN];
        (void) state;

        (void) snprintf(root, sizeof(root), "%s/root", dir);
        (void) snprintf(tar, sizeof(tar), "%s/layer.tar", dir);
        (void) snprintf(out, sizeof(out), "%s/image.tar", dir);
        make_tree(root, false);
        assert_int_equal(layer_write(root, tar, &o, &info, &err), 0);
        assert_int_equal(layer_archive_write(out, layers, &info, 1, config, strlen(config),
                                             "repo:tag", EPOCH, &err),
                         0);
        digest_hex(info.diff_id, sizeof(info.diff_id), hex);
        assert_int_equal(digest_sha256(config, strlen(config), md), 0);
        digest_hex(md, sizeof(md), chex);
        list_tar(out, &list);
        assert_int_equal(buf_append_char(&list, '\0'), 0);
        assert_int_equal(buf_printf(&want,
                                    "blobs/sha256/%s 10 644 %lld %zu\n"
                                    "blobs/sha256/%s 10 644 %lld %llu\n",
                                    chex, EPOCH, strlen(config), hex, EPOCH,
                                    (unsigned long long) info.size),
                         0);
        assert_int_equal(strncmp(list.data, want.data, want.len), 0);
        assert_non_null(strstr(list.data, "\nmanifest.json 10 644 "));
        assert_int_equal(layer_archive_write(out, (const char *[]){"/nonexistent"}, &info, 1,
                                             config, strlen(config), "repo:tag", EPOCH, &err),
                         -ENOENT);
        buf_clear(&list);
        buf_clear(&want);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_layer_reproducible),
                cmocka_unit_test(test_layer_archive),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
