/* SPDX-License-Identifier: MIT */
#include "install.h"
#include "profile.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <fts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "bundle.h"
#include "cleanup.h"
#include "digest.h"
#include "error.h"
#include "fileio.h"
#include "paths.h"
#include "sign.h"
#include "sigverify.h"
#include "sums.h"

#define TOP_PREFIX "coding-agents-"

int install_version_cmp(const char *a, const char *b)
{
        while (*a || *b) {
                unsigned long x = 0;
                unsigned long y = 0;

                while (*a >= '0' && *a <= '9')
                        x = x * 10 + (unsigned long) (*a++ - '0');
                while (*b >= '0' && *b <= '9')
                        y = y * 10 + (unsigned long) (*b++ - '0');
                if (x != y)
                        return x < y ? -1 : 1;
                if (*a != *b)
                        return *a == '.' ? 1 : *b == '.' ? -1 : (*a < *b ? -1 : 1);
                if (*a)
                        a++;
                if (*b)
                        b++;
        }
        return 0;
}

/* Copies a version checked with valid_version() (so at most INSTALL_VERSION_MAX bytes). */
static void copy_version(char out[INSTALL_VERSION_MAX + 1], const char *v)
{
        size_t n = strnlen(v, INSTALL_VERSION_MAX);

        memcpy(out, v, n);
        out[n] = '\0';
}

static bool valid_version(const char *v)
{
        size_t n = strlen(v);

        if (n == 0 || n > INSTALL_VERSION_MAX || v[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = v[i];
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '.' || c == '-' ||
                      c == '+'))
                        return false;
        }
        return !strstr(v, "..");
}

int install_link_version(const char *prefix, const char *link, char out[INSTALL_VERSION_MAX + 1],
                         struct ca_error *err)
{
        _cleanup_free_ char *path = paths_join(prefix, link);
        char target[512];
        ssize_t n;

        out[0] = '\0';
        if (!path)
                return ca_error_setx(err, ENOMEM, "out of memory");
        n = readlink(path, target, sizeof(target) - 1);
        if (n < 0)
                return errno == ENOENT ? 0 : ca_error_set(err, errno, "cannot read '%s'", path);
        target[n] = '\0';
        if (strncmp(target, "releases/", 9) != 0 || !valid_version(target + 9))
                return ca_error_setx(err, EINVAL, "'%s' points somewhere unexpected: '%s'", path,
                                     target);
        copy_version(out, target + 9);
        return 0;
}

/* Points prefix/<link> at releases/<version> with one rename(2). */
static int switch_link(int pfd, const char *link, const char *version, struct ca_error *err)
{
        char target[128];
        char tmp[64];

        (void) snprintf(target, sizeof(target), "releases/%s", version);
        (void) snprintf(tmp, sizeof(tmp), ".%s.tmp", link);
        (void) unlinkat(pfd, tmp, 0);
        if (symlinkat(target, pfd, tmp) < 0)
                return ca_error_set(err, errno, "cannot create the '%s' link", link);
        if (renameat(pfd, tmp, pfd, link) < 0) {
                (void) unlinkat(pfd, tmp, 0);
                return ca_error_set(err, errno, "cannot switch '%s'", link);
        }
        if (fsync(pfd) < 0)
                return ca_error_set(err, errno, "cannot persist '%s'", link);
        return 0;
}

static void rm_tree(const char *path)
{
        char *const roots[] = {(char *) path, NULL};
        FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
        FTSENT *e;

        if (!fts)
                return;
        for (e = fts_read(fts); e; e = fts_read(fts)) {
                if (e->fts_info == FTS_D)
                        (void) chmod(e->fts_path, 0700);
                else if (e->fts_info == FTS_DP)
                        (void) rmdir(e->fts_path);
                else
                        (void) unlink(e->fts_path);
        }
        (void) fts_close(fts);
}

/* Leftovers of interrupted installs: temporary directories and links. */
static void clean_leftovers(const char *releases, int pfd)
{
        _cleanup_close_ int rfd = open(releases, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d;
        struct dirent *de;

        (void) unlinkat(pfd, ".current.tmp", 0);
        (void) unlinkat(pfd, ".previous.tmp", 0);
        if (rfd < 0)
                return;
        d = fdopendir(rfd);
        if (!d)
                return;
        (void) take_fd(&rfd); /* the DIR owns it now */
        for (de = readdir(d); de; de = readdir(d)) {
                if (strncmp(de->d_name, ".incoming-", 10) == 0) {
                        _cleanup_free_ char *p = paths_join(releases, de->d_name);
                        if (p)
                                rm_tree(p);
                }
        }
        (void) closedir(d);
}

/* <releases>/<version>.signer: which key vouched for the release (`doctor` reports it). */
static int record_signer(const char *releases, const char *version, const char *keyid,
                         struct ca_error *err)
{
        _cleanup_free_ char *path = NULL;
        char line[64];
        int n = snprintf(line, sizeof(line), "key id %s\n", keyid);

        if (asprintf(&path, "%s/%s%s", releases, version, INSTALL_SIGNER_SUFFIX) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        return fileio_write_atomic(path, line, (size_t) n, 0444, err);
}

/* The private copy's SHA-256 into `hex`; when one is expected, it must be that. */
static int check_hash(const char *file, const char *name, const char *want,
                      char hex[DIGEST_SHA256_HEX_LEN + 1], struct ca_error *err)
{
        int r = digest_file_hex(file, hex, err);

        if (r < 0)
                return r;
        if (want && strcmp(hex, want) != 0)
                return ca_error_setx(err, EBADMSG,
                                     "'%s' has SHA-256 %s, expected %s: refusing to install",
                                     name, hex, want);
        return 0;
}

/*
 * The bundle, copied once into a sealed memfd: the hash, the signature and the extraction then
 * all read that copy (through /proc/self/fd), so the file cannot be swapped between the checks
 * and the unpacking (issue 17), whoever else can write where it lies.
 */
#define BUNDLE_MAX ((size_t) 1 << 30)

static int snapshot_bundle(const char *path, int *ret_fd, char *fdpath, size_t fdpath_len,
                           struct ca_error *err)
{
        _cleanup_close_ int in = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        _cleanup_close_ int mfd = -1;
        struct stat st;
        off_t copied = 0;

        if (in < 0)
                return ca_error_set(err, errno, "cannot open '%s'", path);
        if (fstat(in, &st) < 0)
                return ca_error_set(err, errno, "cannot stat '%s'", path);
        if (!S_ISREG(st.st_mode) || (uint64_t) st.st_size > BUNDLE_MAX)
                return ca_error_input(err, "'%s' is not a regular file of at most 1 GiB", path);
        mfd = memfd_create("bundle", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (mfd < 0)
                return ca_error_set(err, errno, "memfd_create failed");
        while (copied < st.st_size) {
                ssize_t n = copy_file_range(in, NULL, mfd, NULL, (size_t) (st.st_size - copied), 0);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS)) {
                        char chunk[65536];

                        n = read(in, chunk, sizeof(chunk));
                        if (n > 0 && fileio_write_all(mfd, chunk, (size_t) n) < 0)
                                n = -1;
                }
                if (n < 0)
                        return ca_error_set(err, errno, "cannot copy '%s'", path);
                if (n == 0)
                        break;
                copied += n;
        }
        if (fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
                return ca_error_set(err, errno, "cannot seal the copy of '%s'", path);
        (void) snprintf(fdpath, fdpath_len, "/proc/self/fd/%d", mfd);
        *ret_fd = take_fd(&mfd);
        return 0;
}

/* The private copy's hash (when one is expected) and signature; the signer's key id. */
static int verify_bundle(const struct install_request *req, const char *bundle,
                         struct install_result *res, struct ca_error *err)
{
        _cleanup_free_ char *sig = NULL;
        int r = check_hash(bundle, req->bundle, req->sha256, res->sha256, err);

        if (r < 0)
                return r;
        if (!req->sig && asprintf(&sig, "%s.minisig", req->bundle) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = sign_verify(req->pubkey, bundle, req->sig ? req->sig : sig, NULL, err);
        if (r >= 0)
                r = sign_key_id(req->pubkey, res->signer, err);
        if (r < 0)
                return ca_error_prefix(err, "refusing to install '%s'", req->bundle);
        return 0;
}

int install_release_identity(const char *version, char out[INSTALL_IDENTITY_MAX])
{
        int n = snprintf(out, INSTALL_IDENTITY_MAX,
                         "https://github.com/%s/.github/workflows/release.yml@refs/tags/v%s",
                         CA_RELEASE_REPOSITORY, version);

        return n < 0 || n >= INSTALL_IDENTITY_MAX ? -ENAMETOOLONG : 0;
}

/* The Sigstore bundle that came with the release bundle (install.h), read into `json` and
 * verified for the private copy's SHA-256 by the release workflow at `version`'s tag. None
 * beside the bundle is accepted unless one was named or is required. */
static int verify_sigstore(const struct install_request *req, const char *version,
                           struct install_result *res, struct buf *json, struct ca_error *err)
{
        _cleanup_free_ char *beside = NULL;
        const char *path = req->sigstore;
        const struct sigverify_policy policy = {{res->identity, INSTALL_RELEASE_ISSUER}, NULL};
        uint8_t digest[DIGEST_SHA256_LEN];
        int r;

        if (!path && asprintf(&beside, "%s%s", req->bundle, INSTALL_SIGSTORE_SUFFIX) < 0) {
                beside = NULL;
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        if (!path)
                path = beside;
        r = fileio_read_path(path, SIGBUNDLE_MAX, json, err);
        if (r == -ENOENT && !req->sigstore && !req->require_sigstore) {
                ca_error_clear(err);
                return 0;
        }
        if (r == 0 && !req->trusted_root)
                r = ca_error_setx(err, EINVAL, "no Sigstore trusted root to verify '%s' with",
                                  path);
        if (r == 0 && install_release_identity(version, res->identity) < 0)
                r = ca_error_setx(err, ENAMETOOLONG, "the release's identity is too long");
        if (r == 0 &&
            sodium_hex2bin(digest, sizeof(digest), res->sha256, 64, NULL, NULL, NULL) != 0)
                r = ca_error_setx(err, EINVAL, "the bundle's SHA-256 is malformed");
        if (r == 0)
                r = sigverify_json(req->trusted_root, json->data ? json->data : "", json->len,
                                   path, digest, &policy, (int64_t) time(NULL), err);
        if (r < 0) {
                res->identity[0] = '\0';
                return ca_error_prefix(err, "refusing to install '%s': Sigstore", req->bundle);
        }
        return 0;
}

/* <releases>/<version>.sha256 always; <version>.sigstore.json when one was verified (and a
 * stale one from an earlier install of that version goes). */
static int record_provenance(const char *releases, const char *version, const char *bundle,
                             const struct install_result *res, const struct buf *sigstore,
                             struct ca_error *err)
{
        _cleanup_free_ char *sums = NULL;
        _cleanup_free_ char *sig = NULL;
        _cleanup_free_ char *line = NULL;
        const char *name = strrchr(bundle, '/');
        int n = asprintf(&line, "%s  %s\n", res->sha256, name ? name + 1 : bundle);

        /* asprintf leaves its pointer undefined when it fails: none may reach free(). */
        if (n < 0)
                line = NULL;
        if (n < 0 || asprintf(&sums, "%s/%s%s", releases, version, INSTALL_SHA256_SUFFIX) < 0) {
                sums = NULL;
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        if (asprintf(&sig, "%s/%s%s", releases, version, INSTALL_SIGSTORE_SUFFIX) < 0) {
                sig = NULL;
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        if (fileio_write_atomic(sums, line, (size_t) n, 0444, err) < 0)
                return -err->code;
        if (!res->identity[0])
                return unlink(sig) < 0 && errno != ENOENT
                               ? ca_error_set(err, errno, "cannot remove '%s'", sig)
                               : 0;
        return fileio_write_atomic(sig, sigstore->data, sigstore->len, 0444, err);
}

/* A prefix a Debian package manages is apt's to change. */
static int refuse_dpkg(const char *prefix, struct ca_error *err)
{
        _cleanup_free_ char *marker = paths_join(prefix, INSTALL_DPKG_MARKER);

        if (!marker)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (access(marker, F_OK) == 0)
                return ca_error_setx(err, EPERM,
                                     "'%s' belongs to the Debian package coding-agents: install "
                                     "or remove it with apt (rollback still works)",
                                     prefix);
        return 0;
}

/* What was unpacked into `incoming` (top directory `top`): a release by its name, signed by
 * the release workflow (when a Sigstore bundle came with it), matching its SHA256SUMS. */
static int check_unpacked(const struct install_request *req, const char *incoming,
                          const char *top, struct install_result *res, struct buf *sigstore,
                          struct ca_error *err)
{
        const char *version = top + strlen(TOP_PREFIX);
        struct sums_report rep = {0};
        int r;

        if (strncmp(top, TOP_PREFIX, strlen(TOP_PREFIX)) != 0 || !valid_version(version))
                return ca_error_setx(err, EINVAL, "'%s' is not a coding-agents release bundle",
                                     req->bundle);
        r = verify_sigstore(req, version, res, sigstore, err);
        if (r < 0)
                return r;
        r = sums_verify_dir(incoming, 0, &rep, err);
        if (r > 0)
                r = ca_error_setx(err, EBADMSG,
                                  "the unpacked release does not match its SHA256SUMS:\n%s",
                                  rep.text.data ? rep.text.data : "");
        sums_report_clear(&rep);
        return r;
}

int install_bundle(const struct install_request *req, struct install_result *res,
                   struct ca_error *err)
{
        _cleanup_buf_ struct buf sigstore = BUF_INIT;
        _cleanup_free_ char *releases = NULL;
        _cleanup_free_ char *incoming = NULL;
        _cleanup_free_ char *target = NULL;
        _cleanup_close_ int pfd = -1;
        _cleanup_close_ int bfd = -1;
        char bundle[64];
        struct sums_report rep = {0};
        char top[128];
        char current[INSTALL_VERSION_MAX + 1];
        const char *version;
        int r;

        memset(res, 0, sizeof(*res));
        if (fileio_mkdir_p(req->prefix, 0755, err) < 0)
                return -err->code;
        r = profile_check_prefix(req->prefix, err);
        if (r == 0)
                r = refuse_dpkg(req->prefix, err);
        if (r < 0)
                return r;
        /* One private copy, then hash and signature: nothing is unpacked from an unverified
         * bundle, and what was verified is what is unpacked. */
        r = snapshot_bundle(req->bundle, &bfd, bundle, sizeof(bundle), err);
        if (r < 0)
                return r;
        r = verify_bundle(req, bundle, res, err);
        if (r < 0)
                return r;

        pfd = open(req->prefix, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        releases = paths_join(req->prefix, "releases");
        if (pfd < 0 || !releases)
                return ca_error_set(err, pfd < 0 ? errno : ENOMEM, "cannot open '%s'",
                                    req->prefix);
        if (mkdirat(pfd, "releases", 0755) < 0 && errno != EEXIST)
                return ca_error_set(err, errno, "cannot create '%s'", releases);
        clean_leftovers(releases, pfd);
        if (asprintf(&incoming, "%s/.incoming-XXXXXX", releases) < 0) {
                incoming = NULL;
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        if (!mkdtemp(incoming))
                return ca_error_set(err, errno, "cannot create a directory in '%s'", releases);
        r = bundle_extract(bundle, incoming, top, sizeof(top), err);
        if (r < 0)
                goto fail;
        version = top + strlen(TOP_PREFIX);
        r = check_unpacked(req, incoming, top, res, &sigstore, err);
        if (r < 0)
                goto fail;

        r = install_link_version(req->prefix, "current", current, err);
        if (r < 0)
                goto fail;
        if (current[0] && install_version_cmp(version, current) < 0) {
                if (!req->allow_downgrade) {
                        r = ca_error_setx(err, EPERM,
                                          "'%s' is version %s, older than the installed %s: "
                                          "refusing a downgrade (--allow-downgrade overrides)",
                                          req->bundle, version, current);
                        goto fail;
                }
                res->downgrade = true;
        }
        copy_version(res->version, version);
        copy_version(res->previous, current);
        target = paths_join(releases, version);
        if (!target) {
                r = ca_error_setx(err, ENOMEM, "out of memory");
                goto fail;
        }
        if (chmod(incoming, 0755) < 0) {
                r = ca_error_set(err, errno, "cannot chmod '%s'", incoming);
                goto fail;
        }
        if (rename(incoming, target) < 0) {
                if (errno != EEXIST && errno != ENOTEMPTY) {
                        r = ca_error_set(err, errno, "cannot move the release into '%s'", target);
                        goto fail;
                }
                /* Already installed: the copy there must still verify. */
                rm_tree(incoming);
                r = sums_verify_dir(target, 0, &rep, err);
                sums_report_clear(&rep);
                if (r != 0)
                        return r < 0 ? r
                                     : ca_error_setx(err, EBADMSG,
                                                     "'%s' exists and fails its integrity check",
                                                     target);
        }
        if (fsync(pfd) < 0)
                return ca_error_set(err, errno, "cannot persist '%s'", releases);
        r = record_signer(releases, version, res->signer, err);
        if (r >= 0)
                r = record_provenance(releases, version, req->bundle, res, &sigstore, err);
        if (r < 0)
                return r;
        /* previous first, then current: each switch is one rename. */
        if (current[0] && strcmp(current, version) != 0) {
                r = switch_link(pfd, "previous", current, err);
                if (r < 0)
                        return r;
        }
        return switch_link(pfd, "current", version, err);
fail:
        rm_tree(incoming);
        return r;
}

int install_rollback(const char *prefix, struct install_result *res, struct ca_error *err)
{
        _cleanup_close_ int pfd = -1;
        char prev[INSTALL_VERSION_MAX + 1];
        char cur[INSTALL_VERSION_MAX + 1];
        int r;

        memset(res, 0, sizeof(*res));
        r = profile_check_prefix(prefix, err);
        if (r >= 0)
                r = install_link_version(prefix, "previous", prev, err);
        if (r >= 0)
                r = install_link_version(prefix, "current", cur, err);
        if (r < 0)
                return r;
        if (!prev[0])
                return ca_error_setx(err, ENOENT, "no previous release to roll back to in '%s'",
                                     prefix);
        pfd = open(prefix, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (pfd < 0)
                return ca_error_set(err, errno, "cannot open '%s'", prefix);
        r = switch_link(pfd, "current", prev, err);
        if (r >= 0 && cur[0])
                r = switch_link(pfd, "previous", cur, err);
        copy_version(res->version, prev);
        copy_version(res->previous, cur);
        return r;
}

int install_uninstall(const char *prefix, struct ca_error *err)
{
        _cleanup_free_ char *releases = paths_join(prefix, "releases");
        _cleanup_free_ char *cur = paths_join(prefix, "current");
        _cleanup_free_ char *prev = paths_join(prefix, "previous");
        int r = profile_check_prefix(prefix, err);

        if (r == 0)
                r = refuse_dpkg(prefix, err);
        if (r < 0)
                return r;
        if (!releases || !cur || !prev)
                return ca_error_setx(err, ENOMEM, "out of memory");
        /* current goes first: from then on nothing looks installed. */
        if ((unlink(cur) < 0 && errno != ENOENT) || (unlink(prev) < 0 && errno != ENOENT))
                return ca_error_set(err, errno, "cannot remove the links in '%s'", prefix);
        rm_tree(releases);
        return 0;
}
