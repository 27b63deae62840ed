/* SPDX-License-Identifier: MIT */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "capability.h"
#include "cleanup.h"
#include "config.h"
#include "error.h"
#include "fileio.h"
#include "names.h"
#include "secret.h"

#define MASTER_FILE "master.key"
#define MASTER_NEXT "master.key.next"
#define SECRETS_FILE "secrets.json"
#define LOCK_FILE "lock"
#define SECRETS_FILE_MAX ((size_t) 16 << 20)
#define KEY_ID_LEN 16
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES

/*
 * The last loaded (master, secrets.json) pair stays cached while both files are unchanged
 * (same device, inode, size, mtime and ctime, checked under the lock), so a daemon serving
 * many redemptions does not re-read and re-parse them each time. Any other process's write
 * replaces the file (a new inode), which invalidates the cache.
 */
struct store {
        int dirfd;
        int lockfd;
        char *dir;
        uint8_t *cache_master; /* sodium_malloc'd */
        json_t *cache_doc;
        struct stat cache_st_master;
        struct stat cache_st_doc;
};

/* Holds the lock and the loaded state for the duration of one operation. */
struct txn {
        struct store *st;
        uint8_t *master; /* sodium_malloc'd STORE_KEY_LEN bytes */
        json_t *doc;     /* secrets.json contents */
        bool borrowed;   /* master/doc belong to the store's cache */
};

bool store_valid_name(const char *name)
{
        return names_secret_ok(name, strlen(name));
}

int store_dirfd(const struct store *st)
{
        return st->dirfd;
}

static void cache_drop(struct store *st)
{
        if (st->cache_master)
                sodium_free(st->cache_master);
        json_decref(st->cache_doc);
        st->cache_master = NULL;
        st->cache_doc = NULL;
}

static bool same_file(const struct store *st, const char *name, const struct stat *old)
{
        struct stat s;

        if (fstatat(st->dirfd, name, &s, AT_SYMLINK_NOFOLLOW) < 0)
                return false;
        return s.st_dev == old->st_dev && s.st_ino == old->st_ino && s.st_size == old->st_size &&
               s.st_mode == old->st_mode && s.st_uid == old->st_uid &&
               s.st_mtim.tv_sec == old->st_mtim.tv_sec &&
               s.st_mtim.tv_nsec == old->st_mtim.tv_nsec &&
               s.st_ctim.tv_sec == old->st_ctim.tv_sec && s.st_ctim.tv_nsec == old->st_ctim.tv_nsec;
}

/* Hands a freshly loaded (and written) pair to the cache; the txn borrows it from then on. */
static void cache_adopt(struct store *st, struct txn *t)
{
        struct stat sm;
        struct stat sd;

        if (fstatat(st->dirfd, MASTER_FILE, &sm, AT_SYMLINK_NOFOLLOW) < 0 ||
            fstatat(st->dirfd, SECRETS_FILE, &sd, AT_SYMLINK_NOFOLLOW) < 0)
                return;
        cache_drop(st);
        st->cache_master = t->master;
        st->cache_doc = t->doc;
        st->cache_st_master = sm;
        st->cache_st_doc = sd;
        t->borrowed = true;
}

struct store *store_close(struct store *st)
{
        if (!st)
                return NULL;
        cache_drop(st);
        if (st->dirfd >= 0)
                (void) close(st->dirfd);
        if (st->lockfd >= 0)
                (void) close(st->lockfd);
        free(st->dir);
        free(st);
        return NULL;
}

/* The directory holds every secret: it must be ours and closed to everyone else. */
static int check_private(int fd, const char *what, mode_t allowed_perm, struct ca_error *err)
{
        struct stat s;

        if (fstat(fd, &s) < 0)
                return ca_error_set(err, errno, "cannot stat '%s'", what);
        if (s.st_uid != geteuid())
                return ca_error_setx(err, EPERM,
                                     "'%s' belongs to uid %u, not to uid %u: refusing to use it",
                                     what, (unsigned) s.st_uid, (unsigned) geteuid());
        if ((s.st_mode & 07777 & ~allowed_perm) != 0)
                return ca_error_setx(err, EPERM,
                                     "'%s' has mode %04o, which lets others in: run 'chmod %o "
                                     "%s'",
                                     what, (unsigned) (s.st_mode & 07777), (unsigned) allowed_perm,
                                     what);
        return 0;
}

int store_open(const char *dir, bool create, struct store **ret, struct ca_error *err)
{
        _cleanup_close_ int dfd = -1;
        _cleanup_close_ int lfd = -1;
        struct store *st;
        int r;

        if (create) {
                r = fileio_mkdir_p(dir, 0700, err);
                if (r < 0)
                        return r;
        }
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0) {
                if (errno == ENOENT)
                        return ca_error_setx(err, ENOENT,
                                             "no secret store at '%s' (store a secret first)",
                                             dir);
                return ca_error_set(err, errno, "cannot open secret store '%s'", dir);
        }
        r = check_private(dfd, dir, 0700, err);
        if (r < 0)
                return r;
        lfd = openat(dfd, LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (lfd < 0)
                return ca_error_set(err, errno, "cannot open '%s/%s'", dir, LOCK_FILE);
        st = calloc(1, sizeof(*st));
        if (!st)
                return ca_error_setx(err, ENOMEM, "out of memory");
        st->dir = strdup(dir);
        if (!st->dir) {
                free(st);
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        st->dirfd = take_fd(&dfd);
        st->lockfd = take_fd(&lfd);
        *ret = st;
        return 0;
}

/* ---- key files ---------------------------------------------------------------------------- */

static void key_id(const uint8_t *master, char out[2 * KEY_ID_LEN + 1])
{
        uint8_t id[KEY_ID_LEN];

        /* A keyed hash names the key without revealing anything usable about it. */
        crypto_generichash(id, sizeof(id), (const unsigned char *) "coding-agents key id", 20,
                           master, STORE_KEY_LEN);
        sodium_bin2hex(out, 2 * KEY_ID_LEN + 1, id, sizeof(id));
}

/* Reads a key file into guarded memory. Returns 0, -ENOENT, or an error. */
static int read_key(struct store *st, const char *name, uint8_t **ret, struct ca_error *err)
{
        _cleanup_close_ int fd = -1;
        uint8_t *key;
        ssize_t n;
        int r;

        fd = openat(st->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                if (errno == ENOENT)
                        return -ENOENT;
                return ca_error_set(err, errno, "cannot open '%s/%s'", st->dir, name);
        }
        r = check_private(fd, name, 0600, err);
        if (r < 0)
                return r;
        key = sodium_malloc(STORE_KEY_LEN + 1);
        if (!key)
                return ca_error_setx(err, ENOMEM, "cannot allocate secure memory");
        do {
                n = read(fd, key, STORE_KEY_LEN + 1);
        } while (n < 0 && errno == EINTR);
        if (n != STORE_KEY_LEN) {
                sodium_free(key);
                return ca_error_setx(err, EBADMSG, "'%s/%s' is not a %d-byte key", st->dir, name,
                                     STORE_KEY_LEN);
        }
        *ret = key;
        return 0;
}

static int write_new_key(struct store *st, const char *name, uint8_t **ret, struct ca_error *err)
{
        uint8_t *key = sodium_malloc(STORE_KEY_LEN);
        int r;

        if (!key)
                return ca_error_setx(err, ENOMEM, "cannot allocate secure memory");
        randombytes_buf(key, STORE_KEY_LEN);
        r = fileio_write_atomic_at(st->dirfd, name, key, STORE_KEY_LEN, 0600, err);
        if (r < 0) {
                sodium_free(key);
                return r;
        }
        *ret = key;
        return 0;
}

static int read_doc(struct store *st, json_t **ret, struct ca_error *err)
{
        _cleanup_close_ int fd = -1;
        _cleanup_buf_ struct buf b = BUF_INIT;
        json_t *doc = NULL;
        int r;

        fd = openat(st->dirfd, SECRETS_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                if (errno == ENOENT)
                        return -ENOENT;
                return ca_error_set(err, errno, "cannot open '%s/%s'", st->dir, SECRETS_FILE);
        }
        r = fileio_read_fd(fd, SECRETS_FILE_MAX, &b, err);
        if (r < 0)
                return ca_error_prefix(err, "reading '%s/%s'", st->dir, SECRETS_FILE);
        r = ca_json_parse(b.data ? b.data : "", b.len, SECRETS_FILE, &doc, err);
        if (r < 0)
                return r;
        if (!json_is_object(doc) || json_integer_value(json_object_get(doc, "version")) != 1 ||
            !json_is_string(json_object_get(doc, "key_id")) ||
            !json_is_object(json_object_get(doc, "secrets"))) {
                json_decref(doc);
                return ca_error_setx(err, EBADMSG, "'%s/%s' is damaged", st->dir, SECRETS_FILE);
        }
        *ret = doc;
        return 0;
}

static int write_doc(struct store *st, json_t *doc, struct ca_error *err)
{
        _cleanup_buf_ struct buf b = BUF_INIT;
        int r = ca_json_pretty(doc, &b, err);

        if (r < 0)
                return r;
        return fileio_write_atomic_at(st->dirfd, SECRETS_FILE, b.data, b.len, 0600, err);
}

/*
 * Writes the (mutated) document. On success the cache follows the new file; on failure the
 * in-memory document no longer matches the disk, so the cache is dropped.
 */
static int txn_commit(struct txn *t, struct ca_error *err)
{
        struct store *st = t->st;
        int r = write_doc(st, t->doc, err);

        if (r < 0) {
                if (t->borrowed) {
                        cache_drop(st);
                        t->master = NULL;
                        t->doc = NULL;
                }
                return r;
        }
        if (t->borrowed) {
                struct stat sd;
                if (fstatat(st->dirfd, SECRETS_FILE, &sd, AT_SYMLINK_NOFOLLOW) == 0) {
                        st->cache_st_doc = sd;
                } else {
                        cache_drop(st);
                        t->master = NULL;
                        t->doc = NULL;
                }
        } else {
                cache_adopt(st, t);
        }
        return 0;
}

/* Takes the loaded state out of the cache, for operations that replace the master key. */
static void txn_own(struct txn *t)
{
        if (!t->borrowed)
                return;
        t->st->cache_master = NULL;
        t->st->cache_doc = NULL;
        t->borrowed = false;
}

static void txn_end(struct txn *t)
{
        if (!t->borrowed) {
                if (t->master)
                        sodium_free(t->master);
                json_decref(t->doc);
        }
        t->master = NULL;
        t->doc = NULL;
        if (t->st)
                (void) flock(t->st->lockfd, LOCK_UN);
        t->st = NULL;
}

/*
 * Locks the store and loads a consistent (master, secrets.json) pair, finishing or discarding
 * an interrupted rotation first.
 */
static int txn_begin(struct store *st, struct txn *t, struct ca_error *err)
{
        uint8_t *next = NULL;
        char have[2 * KEY_ID_LEN + 1];
        const char *want;
        int r;

        memset(t, 0, sizeof(*t));
        while (flock(st->lockfd, LOCK_EX) < 0) {
                if (errno != EINTR)
                        return ca_error_set(err, errno, "cannot lock the secret store");
        }
        t->st = st;
        if (st->cache_master && same_file(st, MASTER_FILE, &st->cache_st_master) &&
            same_file(st, SECRETS_FILE, &st->cache_st_doc) &&
            faccessat(st->dirfd, MASTER_NEXT, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
                t->master = st->cache_master;
                t->doc = st->cache_doc;
                t->borrowed = true;
                return 0;
        }
        cache_drop(st);

        r = read_key(st, MASTER_FILE, &t->master, err);
        if (r < 0 && r != -ENOENT)
                goto fail;
        r = read_doc(st, &t->doc, err);
        if (r == -ENOENT) {
                /* A new store (or one whose first write never completed). */
                if (!t->master) {
                        r = write_new_key(st, MASTER_FILE, &t->master, err);
                        if (r < 0)
                                goto fail;
                }
                key_id(t->master, have);
                t->doc = json_pack("{s:i, s:s, s:{}}", "version", 1, "key_id", have, "secrets");
                if (!t->doc) {
                        r = ca_error_setx(err, ENOMEM, "out of memory");
                        goto fail;
                }
                (void) unlinkat(st->dirfd, MASTER_NEXT, 0);
                return 0;
        }
        if (r < 0)
                goto fail;

        want = json_string_value(json_object_get(t->doc, "key_id"));
        if (t->master) {
                key_id(t->master, have);
                if (strcmp(have, want) == 0) {
                        /* A rotation that never got as far as resealing: discard it. */
                        (void) unlinkat(st->dirfd, MASTER_NEXT, 0);
                        cache_adopt(st, t);
                        return 0;
                }
        }
        r = read_key(st, MASTER_NEXT, &next, err);
        if (r == 0) {
                key_id(next, have);
                if (strcmp(have, want) == 0) {
                        /* Resealed but not yet renamed: finish the rotation. */
                        if (renameat(st->dirfd, MASTER_NEXT, st->dirfd, MASTER_FILE) < 0 ||
                            fsync(st->dirfd) < 0) {
                                sodium_free(next);
                                r = ca_error_set(err, errno, "cannot complete key rotation");
                                goto fail;
                        }
                        if (t->master)
                                sodium_free(t->master);
                        t->master = next;
                        cache_adopt(st, t);
                        return 0;
                }
                sodium_free(next);
        }
        r = ca_error_setx(err, EBADMSG,
                          "secret store '%s' is inconsistent: '%s' was sealed with a master key "
                          "that is not present",
                          st->dir, SECRETS_FILE);
fail:
        txn_end(t);
        return r;
}

/* ---- sealing -------------------------------------------------------------------------------- */

static int seal_key(const uint8_t *master, uint8_t out[STORE_KEY_LEN])
{
        return crypto_kdf_derive_from_key(out, STORE_KEY_LEN, 2, "caseal01", master) == 0 ? 0
                                                                                         : -EIO;
}

static int seal(const uint8_t *master, const char *name, const struct ca_secret *value,
                json_t **ret_b64, struct ca_error *err)
{
        uint8_t key[STORE_KEY_LEN];
        size_t len = NONCE_LEN + value->len + TAG_LEN;
        size_t b64len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
        uint8_t *blob = malloc(len);
        char *b64 = malloc(b64len);
        unsigned long long clen = 0;
        int r;

        if (!blob || !b64) {
                r = ca_error_setx(err, ENOMEM, "out of memory");
                goto out;
        }
        randombytes_buf(blob, NONCE_LEN);
        r = seal_key(master, key);
        if (r == 0)
                r = crypto_aead_xchacha20poly1305_ietf_encrypt(
                        blob + NONCE_LEN, &clen, value->buf, value->len,
                        (const unsigned char *) name, strlen(name), NULL, blob, key);
        sodium_memzero(key, sizeof(key));
        if (r != 0) {
                r = ca_error_setx(err, EIO, "sealing '%s' failed", name);
                goto out;
        }
        sodium_bin2base64(b64, b64len, blob, len, sodium_base64_VARIANT_ORIGINAL);
        *ret_b64 = json_string(b64);
        r = *ret_b64 ? 0 : ca_error_setx(err, ENOMEM, "out of memory");
out:
        free(blob);
        free(b64);
        return r;
}

static int unseal(const uint8_t *master, const char *name, const char *b64, struct ca_secret **ret,
                  struct ca_error *err)
{
        uint8_t key[STORE_KEY_LEN];
        size_t b64len = strlen(b64);
        size_t cap = b64len / 4 * 3 + 3;
        uint8_t *blob = malloc(cap);
        size_t len = 0;
        struct ca_secret *s;
        unsigned long long mlen = 0;
        int r;

        if (!blob)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (sodium_base642bin(blob, cap, b64, b64len, NULL, &len, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0 ||
            len < NONCE_LEN + TAG_LEN || len - NONCE_LEN - TAG_LEN > SECRET_MAX_LEN) {
                free(blob);
                return ca_error_setx(err, EBADMSG, "sealed value of '%s' is damaged", name);
        }
        s = secret_new(len - NONCE_LEN - TAG_LEN);
        if (!s) {
                free(blob);
                return ca_error_setx(err, ENOMEM, "cannot allocate secure memory");
        }
        r = seal_key(master, key);
        if (r == 0)
                r = crypto_aead_xchacha20poly1305_ietf_decrypt(
                        s->buf, &mlen, NULL, blob + NONCE_LEN, len - NONCE_LEN,
                        (const unsigned char *) name, strlen(name), blob, key);
        sodium_memzero(key, sizeof(key));
        free(blob);
        if (r != 0 || mlen != s->len) {
                secret_free(s);
                return ca_error_setx(err, EBADMSG,
                                     "sealed value of '%s' does not authenticate (tampered "
                                     "with, or moved from another name)",
                                     name);
        }
        *ret = s;
        return 0;
}

static void now_ts(char *out, size_t outlen)
{
        time_t t = time(NULL);
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                (void) snprintf(out, outlen, "unknown");
}

/* ---- operations ------------------------------------------------------------------------------ */

int store_put(struct store *st, const char *name, const struct ca_secret *value,
              struct ca_error *err)
{
        struct txn t;
        json_t *secrets;
        json_t *old;
        json_t *sealed = NULL;
        json_t *entry;
        char ts[32];
        int r;

        if (!store_valid_name(name))
                return ca_error_input(err,
                                      "bad secret name '%s': letters, digits and '_', not "
                                      "starting with a digit",
                                      name);
        r = txn_begin(st, &t, err);
        if (r < 0)
                return r;
        secrets = json_object_get(t.doc, "secrets");
        old = json_object_get(secrets, name);
        if (!old && json_object_size(secrets) >= STORE_MAX_SECRETS) {
                r = ca_error_setx(err, ENOSPC, "the store holds %d secrets already",
                                  STORE_MAX_SECRETS);
                goto out;
        }
        /* The same value again (sessions store the agent CLI's login at every launch): nothing
         * to write, and no fsync. */
        if (old && json_is_string(json_object_get(old, "sealed"))) {
                struct ca_secret *cur = NULL;

                if (unseal(t.master, name, json_string_value(json_object_get(old, "sealed")), &cur,
                           NULL) == 0) {
                        bool same = secret_equal(cur, value);

                        secret_free(cur);
                        if (same) {
                                r = 1;
                                goto out;
                        }
                }
        }
        r = seal(t.master, name, value, &sealed, err);
        if (r < 0)
                goto out;
        now_ts(ts, sizeof(ts));
        entry = json_pack("{s:o, s:I, s:s, s:s}", "sealed", sealed, "size", (json_int_t) value->len,
                          "created",
                          old && json_is_string(json_object_get(old, "created"))
                                  ? json_string_value(json_object_get(old, "created"))
                                  : ts,
                          "updated", ts);
        if (!entry || json_object_set_new(secrets, name, entry) < 0) {
                r = ca_error_setx(err, ENOMEM, "out of memory");
                goto out;
        }
        r = txn_commit(&t, err);
out:
        txn_end(&t);
        return r;
}

int store_get(struct store *st, const char *name, struct ca_secret **ret, struct ca_error *err)
{
        struct txn t;
        json_t *entry;
        const char *b64;
        int r;

        r = txn_begin(st, &t, err);
        if (r < 0)
                return r;
        entry = json_object_get(json_object_get(t.doc, "secrets"), name);
        b64 = json_string_value(json_object_get(entry, "sealed"));
        if (!entry)
                r = ca_error_setx(err, ENOENT, "no secret named '%s' in the store", name);
        else if (!b64)
                r = ca_error_setx(err, EBADMSG, "entry '%s' in the store is damaged", name);
        else
                r = unseal(t.master, name, b64, ret, err);
        txn_end(&t);
        return r;
}

int store_remove(struct store *st, const char *name, struct ca_error *err)
{
        struct txn t;
        int r;

        r = txn_begin(st, &t, err);
        if (r < 0)
                return r;
        if (json_object_del(json_object_get(t.doc, "secrets"), name) < 0)
                r = ca_error_setx(err, ENOENT, "no secret named '%s' in the store", name);
        else
                r = txn_commit(&t, err);
        txn_end(&t);
        return r;
}

int store_list(struct store *st, json_t **ret, struct ca_error *err)
{
        struct txn t;
        const char *name;
        json_t *entry;
        json_t *out;
        int r;

        r = txn_begin(st, &t, err);
        if (r < 0)
                return r;
        out = json_array();
        json_object_foreach(json_object_get(t.doc, "secrets"), name, entry) {
                json_t *row = json_pack("{s:s, s:O?, s:O?, s:O?}", "name", name, "size",
                                        json_object_get(entry, "size"), "created",
                                        json_object_get(entry, "created"), "updated",
                                        json_object_get(entry, "updated"));
                if (!out || !row || json_array_append_new(out, row) < 0) {
                        json_decref(out);
                        txn_end(&t);
                        return ca_error_setx(err, ENOMEM, "out of memory");
                }
        }
        txn_end(&t);
        *ret = out;
        return 0;
}

int store_capability_keys(struct store *st, const struct capability *cap,
                          uint8_t mac[CAP_KEY_LEN], uint8_t proof[CAP_KEY_LEN],
                          struct ca_error *err)
{
        struct txn t;
        int r = txn_begin(st, &t, err);

        if (r < 0)
                return r;
        r = capability_mac_key(t.master, cap->session, mac);
        if (r >= 0)
                r = capability_proof_key(t.master, cap->session, cap->stub, cap->id, proof);
        txn_end(&t);
        if (r < 0) {
                sodium_memzero(mac, CAP_KEY_LEN);
                sodium_memzero(proof, CAP_KEY_LEN);
                return ca_error_setx(err, EIO, "cannot derive the capability's keys");
        }
        return 0;
}

int store_rotate_master(struct store *st, struct ca_error *err)
{
        struct txn t;
        uint8_t *next = NULL;
        const char *name;
        json_t *entry;
        char id[2 * KEY_ID_LEN + 1];
        int r;

        r = txn_begin(st, &t, err);
        if (r < 0)
                return r;
        txn_own(&t);
        /* 1. The new key goes next to the old one. */
        r = write_new_key(st, MASTER_NEXT, &next, err);
        if (r < 0)
                goto out;
        /* 2. Everything is resealed under it, in one atomic replacement of secrets.json. */
        json_object_foreach(json_object_get(t.doc, "secrets"), name, entry) {
                struct ca_secret *value = NULL;
                json_t *sealed = NULL;

                r = unseal(t.master, name, json_string_value(json_object_get(entry, "sealed")),
                           &value, err);
                if (r < 0)
                        goto out;
                r = seal(next, name, value, &sealed, err);
                secret_free(value);
                if (r < 0)
                        goto out;
                if (json_object_set_new(entry, "sealed", sealed) < 0) {
                        r = ca_error_setx(err, ENOMEM, "out of memory");
                        goto out;
                }
        }
        key_id(next, id);
        if (json_object_set_new(t.doc, "key_id", json_string(id)) < 0) {
                r = ca_error_setx(err, ENOMEM, "out of memory");
                goto out;
        }
        r = write_doc(st, t.doc, err);
        if (r < 0)
                goto out;
        /* 3. The new key replaces the old. */
        if (renameat(st->dirfd, MASTER_NEXT, st->dirfd, MASTER_FILE) < 0 || fsync(st->dirfd) < 0)
                r = ca_error_set(err, errno, "cannot install the new master key");
out:
        if (next)
                sodium_free(next);
        /* On failure before step 3, the next open discards or completes the rotation. */
        txn_end(&t);
        return r;
}
