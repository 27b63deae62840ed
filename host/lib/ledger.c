/* SPDX-License-Identifier: MIT */
#include "ledger.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "parse.h"
#include "uselog.h"

/*
 * Records are written once (by the broker that issued them, under a fresh random id) and never
 * changed or removed, so the last ones read or written are kept in memory: a daemon redeeming a
 * capability it issued does not open, read and parse its file again. Direct-mapped by the id's
 * first bytes (random), allocated on first use.
 */
#define CACHE_SLOTS 256

struct cached_entry {
        bool used;
        struct ledger_entry e;
};

struct ledger {
        int dirfd;
        int caps;
        int uses; /* older ledgers' one file per use, read once at open */
        int revoked;
        int revoked_sessions;
        struct uselog *log;
        struct cached_entry *cache;
};

static struct cached_entry *cache_slot(struct ledger *l, const uint8_t id[CAP_ID_LEN])
{
        if (!l->cache)
                l->cache = calloc(CACHE_SLOTS, sizeof(*l->cache));
        return l->cache ? &l->cache[(id[0] | (unsigned) id[1] << 8) % CACHE_SLOTS] : NULL;
}

static void cache_put(struct ledger *l, const struct ledger_entry *e)
{
        struct cached_entry *c = cache_slot(l, e->cap.id);

        if (c) {
                c->e = *e;
                c->used = true;
        }
}

static int open_subdir(int parent, const char *name, struct ca_error *err)
{
        int fd;

        if (mkdirat(parent, name, 0700) < 0 && errno != EEXIST)
                return ca_error_set(err, errno, "cannot create ledger directory '%s'", name);
        fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return ca_error_set(err, errno, "cannot open ledger directory '%s'", name);
        return fd;
}

struct ledger *ledger_close(struct ledger *l)
{
        int fds[5];

        if (!l)
                return NULL;
        fds[0] = l->dirfd;
        fds[1] = l->caps;
        fds[2] = l->uses;
        fds[3] = l->revoked;
        fds[4] = l->revoked_sessions;
        for (size_t i = 0; i < CA_ELEMENTSOF(fds); i++) {
                if (fds[i] >= 0)
                        (void) close(fds[i]);
        }
        uselog_close(l->log);
        free(l->cache);
        free(l);
        return NULL;
}

#define ID_HEX_LEN ((size_t) 2 * CAP_ID_LEN)

/* Uses recorded by earlier versions, one file "<id hex>.<n>" each, count as claimed. */
static int import_use_files(struct ledger *l, struct ca_error *err)
{
        int fd = fcntl(l->uses, F_DUPFD_CLOEXEC, 3);
        DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        int r = 0;

        if (!dir) {
                if (fd >= 0)
                        (void) close(fd);
                return ca_error_set(err, errno, "cannot read the ledger's uses");
        }
        while (r == 0 && (de = readdir(dir))) {
                uint8_t id[CAP_ID_LEN];
                size_t got = 0;
                uint64_t n = 0;
                const char *dot = strchr(de->d_name, '.');

                if (!dot || (size_t) (dot - de->d_name) != ID_HEX_LEN ||
                    sodium_hex2bin(id, sizeof(id), de->d_name, ID_HEX_LEN, NULL, &got, NULL) <
                            0 ||
                    got != CAP_ID_LEN || parse_uint(dot + 1, 1, UINT16_MAX, &n) < 0)
                        continue;
                if (uselog_note(l->log, id, (unsigned) n) < 0)
                        r = ca_error_setx(err, ENOMEM, "out of memory");
        }
        (void) closedir(dir);
        return r;
}

int ledger_open(int store_dirfd, struct ledger **ret, struct ca_error *err)
{
        struct ledger *l = calloc(1, sizeof(*l));
        int r;

        if (!l)
                return ca_error_setx(err, ENOMEM, "out of memory");
        l->caps = l->uses = l->revoked = l->revoked_sessions = -1;
        l->dirfd = open_subdir(store_dirfd, "ledger", err);
        r = l->dirfd;
        if (r >= 0)
                r = l->caps = open_subdir(l->dirfd, "caps", err);
        if (r >= 0)
                r = l->uses = open_subdir(l->dirfd, "uses", err);
        if (r >= 0)
                r = l->revoked = open_subdir(l->dirfd, "revoked", err);
        if (r >= 0)
                r = l->revoked_sessions = open_subdir(l->dirfd, "revoked-sessions", err);
        if (r >= 0)
                r = uselog_open(l->dirfd, "uses.log", &l->log, err);
        if (r >= 0)
                r = import_use_files(l, err);
        if (r < 0) {
                ledger_close(l);
                return r;
        }
        *ret = l;
        return 0;
}

static void id_name(const uint8_t id[CAP_ID_LEN], const char *suffix, char *out, size_t outlen)
{
        char hex[2 * CAP_ID_LEN + 1];

        capability_id_hex(id, hex);
        (void) snprintf(out, outlen, "%s%s", hex, suffix);
}

static json_t *entry_json(const struct ledger_entry *e)
{
        const struct capability *c = &e->cap;
        char id[2 * CAP_ID_LEN + 1];
        char hash[2 * CAP_HASH_LEN + 1];
        json_t *secrets = json_array();
        json_t *o;

        for (size_t i = 0; secrets && i < c->nsecrets; i++)
                (void) json_array_append_new(secrets, json_string(c->secrets[i]));
        capability_id_hex(c->id, id);
        o = json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:I}", "id", id, "session", c->session,
                      "stub", c->stub, "secrets", secrets, "uid", (json_int_t) e->uid,
                      "not_before", (json_int_t) c->not_before, "expiry",
                      (json_int_t) c->expiry, "max_uses", (json_int_t) c->max_uses);
        if (o && e->has_cgroup)
                (void) json_object_set_new(o, "cgroup", json_string(e->cgroup));
        if (o && c->has_binary) {
                for (size_t i = 0; i < CAP_HASH_LEN; i++)
                        (void) snprintf(hash + 2 * i, 3, "%02x", c->binary_sha256[i]);
                (void) json_object_set_new(o, "binary_sha256", json_string(hash));
        }
        return o;
}


static int entry_from_json(json_t *o, struct ledger_entry *e)
{
        struct capability *c = &e->cap;
        const char *s;
        json_t *item;
        size_t i;

        memset(e, 0, sizeof(*e));
        if (!parse_hex(json_string_value(json_object_get(o, "id")), c->id, CAP_ID_LEN))
                return -EBADMSG;
        s = json_string_value(json_object_get(o, "session"));
        if (!s || strlen(s) > CAP_SESSION_MAX)
                return -EBADMSG;
        (void) snprintf(c->session, sizeof(c->session), "%s", s);
        s = json_string_value(json_object_get(o, "stub"));
        if (!s || strlen(s) > CAP_STUB_MAX)
                return -EBADMSG;
        (void) snprintf(c->stub, sizeof(c->stub), "%s", s);
        if (json_array_size(json_object_get(o, "secrets")) > CAP_MAX_SECRETS)
                return -EBADMSG;
        json_array_foreach(json_object_get(o, "secrets"), i, item) {
                s = json_string_value(item);
                if (!s || strlen(s) > CAP_SECRET_NAME_MAX)
                        return -EBADMSG;
                (void) snprintf(c->secrets[i], sizeof(c->secrets[i]), "%s", s);
                c->nsecrets++;
        }
        e->uid = (uint32_t) json_integer_value(json_object_get(o, "uid"));
        c->not_before = (uint64_t) json_integer_value(json_object_get(o, "not_before"));
        c->expiry = (uint64_t) json_integer_value(json_object_get(o, "expiry"));
        c->max_uses = (uint16_t) json_integer_value(json_object_get(o, "max_uses"));
        s = json_string_value(json_object_get(o, "cgroup"));
        if (s) {
                if (strlen(s) > LEDGER_CGROUP_MAX)
                        return -EBADMSG;
                e->has_cgroup = true;
                (void) snprintf(e->cgroup, sizeof(e->cgroup), "%s", s);
        }
        s = json_string_value(json_object_get(o, "binary_sha256"));
        if (s) {
                if (!parse_hex(s, c->binary_sha256, CAP_HASH_LEN))
                        return -EBADMSG;
                c->has_binary = true;
        }
        return 0;
}

int ledger_record(struct ledger *l, const struct ledger_entry *e, struct ca_error *err)
{
        _cleanup_json_ json_t *o = entry_json(e);
        _cleanup_buf_ struct buf b = BUF_INIT;
        char name[64];
        int r;

        if (!o)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = ca_json_canonical(o, &b, err);
        if (r < 0)
                return r;
        id_name(e->cap.id, ".json", name, sizeof(name));
        r = fileio_write_atomic_at(l->caps, name, b.data, b.len, 0600, err);
        if (r >= 0)
                cache_put(l, e);
        return r;
}

static int load_entry(int dirfd, const char *name, struct ledger_entry *out, struct ca_error *err)
{
        _cleanup_close_ int fd = -1;
        _cleanup_buf_ struct buf b = BUF_INIT;
        _cleanup_json_ json_t *o = NULL;
        int r;

        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? -ENOENT
                                       : ca_error_set(err, errno, "cannot open ledger entry");
        r = fileio_read_fd(fd, 16384, &b, err);
        if (r < 0)
                return r;
        r = ca_json_parse(b.data ? b.data : "", b.len, name, &o, err);
        if (r < 0)
                return r;
        if (entry_from_json(o, out) < 0)
                return ca_error_setx(err, EBADMSG, "ledger entry '%s' is damaged", name);
        return 0;
}

int ledger_lookup(struct ledger *l, const uint8_t id[CAP_ID_LEN], struct ledger_entry *out,
                  struct ca_error *err)
{
        struct cached_entry *c = cache_slot(l, id);
        char name[64];
        int r;

        if (c && c->used && memcmp(c->e.cap.id, id, CAP_ID_LEN) == 0) {
                *out = c->e;
                return 0;
        }
        id_name(id, ".json", name, sizeof(name));
        r = load_entry(l->caps, name, out, err);
        /* Only what the file says about this id: a damaged or mismatched record is not kept. */
        if (r >= 0 && memcmp(out->cap.id, id, CAP_ID_LEN) == 0)
                cache_put(l, out);
        return r;
}

int ledger_claim_use(struct ledger *l, const uint8_t id[CAP_ID_LEN], uint16_t max_uses,
                     struct ca_error *err)
{
        struct uselog_claim c = {.max_uses = max_uses};
        int r;

        memcpy(c.id, id, CAP_ID_LEN);
        r = uselog_claim(l->log, &c, 1, err);
        if (r < 0)
                return r;
        return c.result == -EALREADY ? ca_error_setx(err, EALREADY, "capability already used")
                                     : c.result;
}

int ledger_claim_uses(struct ledger *l, struct uselog_claim *c, size_t n, struct ca_error *err)
{
        return uselog_claim(l->log, c, n, err);
}

unsigned ledger_uses(struct ledger *l, const uint8_t id[CAP_ID_LEN], uint16_t max_uses)
{
        unsigned used = uselog_count(l->log, id);

        return used < max_uses ? used : max_uses;
}

bool ledger_is_revoked(struct ledger *l, const uint8_t id[CAP_ID_LEN], const char *session)
{
        char name[64];

        id_name(id, "", name, sizeof(name));
        return faccessat(l->revoked, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
               (session && faccessat(l->revoked_sessions, session, F_OK,
                                     AT_SYMLINK_NOFOLLOW) == 0);
}

static int mark(int dirfd, const char *name, struct ca_error *err)
{
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

        if (fd < 0)
                return ca_error_set(err, errno, "cannot record a revocation");
        (void) close(fd);
        if (fsync(dirfd) < 0)
                return ca_error_set(err, errno, "cannot persist a revocation");
        return 0;
}

int ledger_revoke_cap(struct ledger *l, const uint8_t id[CAP_ID_LEN], struct ca_error *err)
{
        char name[64];
        struct ledger_entry e;
        int r;

        r = ledger_lookup(l, id, &e, err);
        if (r == -ENOENT)
                return ca_error_setx(err, ENOENT, "no such capability");
        if (r < 0)
                return r;
        id_name(id, "", name, sizeof(name));
        return mark(l->revoked, name, err);
}

int ledger_revoke_session(struct ledger *l, const char *session, struct ca_error *err)
{
        if (!capability_valid_session(session))
                return ca_error_input(err, "bad session id '%s'", session);
        return mark(l->revoked_sessions, session, err);
}

int ledger_foreach(struct ledger *l, int (*cb)(const struct ledger_entry *e, void *userdata),
                   void *userdata, struct ca_error *err)
{
        int fd = fcntl(l->caps, F_DUPFD_CLOEXEC, 3);
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (fd < 0)
                return ca_error_set(err, errno, "cannot read the ledger");
        d = fdopendir(fd);
        if (!d) {
                (void) close(fd);
                return ca_error_set(err, errno, "cannot read the ledger");
        }
        rewinddir(d);
        while (r == 0) {
                struct ledger_entry e;
                size_t n;

                de = readdir(d);
                if (!de)
                        break;
                n = strlen(de->d_name);

                if (n != (size_t) 2 * CAP_ID_LEN + 5 ||
                    strcmp(de->d_name + (size_t) 2 * CAP_ID_LEN, ".json") != 0)
                        continue;
                r = load_entry(l->caps, de->d_name, &e, err);
                if (r == -ENOENT) {
                        r = 0;
                        continue;
                }
                if (r < 0)
                        break;
                r = cb(&e, userdata);
        }
        (void) closedir(d);
        return r;
}
