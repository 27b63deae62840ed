/* SPDX-License-Identifier: MIT */
/*
 * coding-agents image build: the agent image, assembled here and loaded into the Docker engine
 * (POST /images/load), reproducibly: the same inputs and SOURCE_DATE_EPOCH give the same
 * layers and config, so the same image id (docs/running-agents.md, "The agent image").
 * (image pull, the published one verified: cmd_image_pull.c.)
 *
 *   base   <cache>/base-<key>/ and its layer base-<key>.tar: an mmdebstrap --variant=minbase
 *          rootfs of Debian bookworm with docker/agent/packages, from the mirror the machine's
 *          apt sources name (or --mirror), made with SOURCE_DATE_EPOCH. Once per key (mirror,
 *          package list, epoch).
 *   agent  the second layer, from a staging tree: the users agentuser and agentcli, Node.js
 *          (the host's binary), the agent CLIs (npm ci from docker/agent/package-lock.json,
 *          and Copilot's unpacked package, cached per lockfile in <cache>/cli-<lock>/), our
 *          container programs, the shells replaced by the shim.
 *   image  coding-agents-agent:<inputs>, <inputs> hashing every input (the image carries it as
 *          the label io.coding-agents.inputs, so an unchanged build is skipped); also tagged
 *          coding-agents-agent:current, which sessions use.
 *
 * Programs run with argv arrays (mmdebstrap, npm, node, cp); nothing goes through a shell.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "aptsrc.h"
#include "buf.h"
#include "cleanup.h"
#include "cli.h"
#include "digest.h"
#include "error.h"
#include "fileio.h"
#include "image.h"
#include "json.h"
#include "layer.h"
#include "parse.h"
#include "paths.h"
#include "profile.h"
#include "runtime/preflight.h"
#include "session.h"
#include "spawn.h"

const char image_usage[] =
        "usage: coding-agents image build [--endpoint SOCKET] [--cache DIR] [--mirror URL]\n"
        "           [--rebuild] [--quiet]\n"
        "       coding-agents image pull [--endpoint SOCKET] [--ca-file PEM] [--trusted-root FILE]\n"
        "           [--certificate-identity ID] [--certificate-oidc-issuer URL]\n"
        "           [--quiet] [REFERENCE]\n"
        "\n"
        "build: assembles the agent image and loads it into the Docker engine, only when an\n"
        "input changed, in two layers:\n"
        "  base   Debian bookworm (mmdebstrap --variant=minbase, from the mirror your apt\n"
        "         sources name, or --mirror: e.g. a snapshot.debian.org URL, which pins every\n"
        "         package's version) with the packages in docker/agent/packages;\n"
        "  agent  users agentuser (1000) and agentcli (1001), Node.js (this host's 'node'),\n"
        "         the agent CLIs from npm at the versions pinned in docker/agent/package-lock.json,\n"
        "         and coding-agents' container programs next to this binary.\n"
        "The build is reproducible: the same inputs and SOURCE_DATE_EPOCH (from the environment;\n"
        "default: this release's date) give the same layers and the same image id, which it\n"
        "prints. --rebuild makes everything anew, cached or not (a reproducibility check).\n"
        "The result is tagged coding-agents-agent:current. Downloads, the base and the npm\n"
        "install are cached in --cache (default ~/.cache/coding-agents). It needs root\n"
        "(mmdebstrap).\n"
        "\n"
        "pull: the published image instead, verified before the engine may use it. REFERENCE is\n"
        "REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST] (default ghcr.io/" CA_RELEASE_REPOSITORY
        "/agent:v" CA_VERSION ",\n"
        "lower-cased). Its manifest's digest must have a cosign signature naming that digest and\n"
        "repository, by the release's image workflow (https://github.com/" CA_RELEASE_REPOSITORY "/\n"
        ".github/workflows/image.yml@refs/tags/v" CA_VERSION ", issuer\n"
        "https://token.actions.githubusercontent.com) unless another is given, whose\n"
        "certificate and transparency-log entry verify offline against the trusted root (the\n"
        "shipped Sigstore root unless --trusted-root). Then the engine pulls it by that digest,\n"
        "never by the tag; it must carry this install's agent-init, and is tagged\n"
        "coding-agents-agent:current. The registry is reached over https only (--ca-file: its\n"
        "certificate authorities, PEM), anonymously. Events: image-pulled or image-refused.\n"
        "Exit status: 0 pulled, 1 refused or failed, 2 usage or malformed input.\n";

/* What changes in how the image is assembled here changes this, and so every image's inputs. */
#define IMAGE_RECIPE "2"
#define IMAGE_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct build {
        struct runtime *rt;
        const char *cache;
        const char *mirror;        /* --mirror, or NULL: the apt sources' */
        char docker_dir[PATH_MAX]; /* .../docker */
        char bin_dir[PATH_MAX];    /* where agent-init & co. are */
        char *node;                /* the host's node binary */
        bool quiet;
        bool rebuild;              /* make everything anew, cached or not */
        int64_t epoch;             /* SOURCE_DATE_EPOCH */
        char base_key[17];
        char base_dir[PATH_MAX];   /* the base rootfs */
        char base_layer[PATH_MAX]; /* its layer */
        char cli_dir[PATH_MAX];    /* agents/ (npm ci) and cache/ (Copilot unpacked) */
        json_int_t started; /* when this build began (engine "Created" times are seconds) */
};

/* snprintf that reports truncation (paths here must fit, or the build stops). */
static void pathf(char *out, size_t size, const char *fmt, ...) CA_PRINTF(3, 4);
static void pathf(char *out, size_t size, const char *fmt, ...)
{
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(out, size, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= size)
                out[0] = '\0'; /* an empty path fails loudly at its first use */
}

static void progress(const char *line, void *userdata)
{
        const struct build *b = userdata;

        if (!b->quiet)
                (void) fprintf(stderr, "  | %s\n", line);
}

/* Runs one step; `extra` adds to the environment (NULL-terminated, may be NULL). */
static int run_env(const struct build *b, const char *cwd, char *const *argv,
                   const char *const *extra, struct ca_error *err)
{
        char home[PATH_MAX + 8], epoch[40];
        char *env[12] = {(char *) IMAGE_PATH, (char *) "LANG=C.UTF-8", home, epoch};
        struct spawn_req req = SPAWN_REQ_INIT;
        size_t n = 4;
        pid_t pid;
        int r;

        /* npm keeps its download cache under HOME: ours, inside the build cache. */
        (void) snprintf(home, sizeof(home), "HOME=%s/home", b->cache);
        (void) snprintf(epoch, sizeof(epoch), "SOURCE_DATE_EPOCH=%lld", (long long) b->epoch);
        for (size_t i = 0; extra && extra[i] && n < CA_ELEMENTSOF(env) - 1; i++) {
                /* An entry of a name already there replaces it: each name once. */
                size_t k = strcspn(extra[i], "="), j = 0;

                while (j < n && strncmp(env[j], extra[i], k + 1) != 0)
                        j++;
                env[j] = (char *) extra[i];
                if (j == n)
                        n++;
        }
        env[n] = NULL;
        req.path = argv[0];
        req.search_path = true;
        req.argv = argv;
        req.envp = env;
        req.cwd = cwd;
        req.stdout_fd = b->quiet ? -1 : 2;
        req.stderr_fd = 2;
        r = spawn_start(&req, &pid, err);
        if (r < 0)
                return r;
        r = spawn_wait(pid, err);
        if (r < 0)
                return ca_error_prefix(err, "%s", argv[0]);
        /* A failed step stops the build: nothing half-made may be loaded or cached. */
        if (r != 0)
                return ca_error_setx(err, EIO, "%s exited with status %d", argv[0], r);
        return 0;
}

static int run(const struct build *b, const char *cwd, char *const *argv, struct ca_error *err)
{
        return run_env(b, cwd, argv, NULL, err);
}

static void remove_tree(const char *path)
{
        struct ca_error err = {0};

        if (fileio_remove_tree(path, &err) < 0)
                (void) fprintf(stderr, "coding-agents: %s\n", err.msg);
}

/* Where the docker/ contexts and our container programs are, for dev and prod. */
static int locate(struct build *b, struct ca_error *err)
{
        struct profile_info p;

        profile_detect(NULL, &p);
        pathf(b->bin_dir, sizeof(b->bin_dir), "%s", p.exe);
        if (strrchr(b->bin_dir, '/'))
                *strrchr(b->bin_dir, '/') = '\0';
        if (session_docker_dir(b->docker_dir, sizeof(b->docker_dir), err) < 0)
                return -ENOENT;
        b->node = spawn_find_command("node");
        if (!b->node)
                return ca_error_setx(err, ENOENT,
                                     "Node.js ('node') not found in PATH: the image carries the "
                                     "host's Node.js; install it (Debian: apt-get install nodejs)");
        return 0;
}

static int read_text(const char *path, struct buf *out, struct ca_error *err)
{
        return fileio_read_path(path, (size_t) 1 << 20, out, err);
}

/* Whether `name` is "<prefix><pid><suffix>" of a build that no longer runs (interrupted). */
static bool dead_leftover(const char *name, const char *prefix, const char *suffix)
{
        size_t n = strlen(prefix), len = strlen(name), sl = strlen(suffix);
        char digits[16];
        uint64_t pid;

        if (len <= n + sl || len - n - sl >= sizeof(digits) || strncmp(name, prefix, n) != 0 ||
            strcmp(name + len - sl, suffix) != 0)
                return false;
        memcpy(digits, name + n, len - n - sl);
        digits[len - n - sl] = '\0';
        return parse_uint(digits, 1, INT32_MAX, &pid) == 0 && kill((pid_t) pid, 0) < 0 &&
               errno == ESRCH;
}

/*
 * Cache entries of earlier inputs go once a build has made its own: names `prefix` followed
 * by 16 hex digits, other than `keep` (and `keep`.tar). What an interrupted build left
 * (".tmp-<pid>") goes too, unless that build still runs.
 */
static void prune_cache(const struct build *b, const char *prefix, const char *keep)
{
        DIR *d = opendir(b->cache);
        size_t n = strlen(prefix), k = strlen(keep);
        struct dirent *de;
        char path[PATH_MAX];

        while (d && (de = readdir(d))) {
                const char *name = de->d_name, *tmp = strstr(name, ".tmp-");

                if (strncmp(name, prefix, n) != 0 || strlen(name) < n + 16 ||
                    strspn(name + n, "0123456789abcdef") < 16 || strcmp(name, keep) == 0 ||
                    (strncmp(name, keep, k) == 0 && strcmp(name + k, ".tar") == 0))
                        continue;
                if (tmp && !dead_leftover(tmp, ".tmp-", ""))
                        continue;
                pathf(path, sizeof(path), "%s/%s", b->cache, name);
                remove_tree(path);
        }
        if (d)
                (void) closedir(d);
}

/* What an interrupted build left in the cache: a staging tree and gigabytes of archives. */
static void prune_leftovers(const struct build *b)
{
        static const char *const kinds[][2] = {
                {"stage-", ""},   {"agent-", ".tar"},   {"image-", ".tar"},
                {"context-", ""}, {"context-", ".tar"}, {"rootfs-", ""}, {"rootfs-", ".tar"},
        };
        DIR *d = opendir(b->cache);
        struct dirent *de;
        char path[PATH_MAX];

        while (d && (de = readdir(d))) {
                for (size_t i = 0; i < CA_ELEMENTSOF(kinds); i++) {
                        if (!dead_leftover(de->d_name, kinds[i][0], kinds[i][1]))
                                continue;
                        pathf(path, sizeof(path), "%s/%s", b->cache, de->d_name);
                        remove_tree(path);
                        break;
                }
        }
        if (d)
                (void) closedir(d);
}

static const char *const base_drop[] = {
        "dev/*",                 /* the engine makes /dev */
        "proc/*",
        "sys/*",
        "var/lib/apt/lists/*",   /* the package lists: 50 MB, of no use in a session */
        "var/cache/apt/*.bin",
        "var/cache/apt/archives/*.deb",
        "var/log/*.log",
        "var/log/apt/*",
        NULL,
};
/* Copied from the host by mmdebstrap; the engine mounts its own over them. */
static const char *const base_empty[] = {"etc/resolv.conf", "etc/hostname", NULL};

/* The base: an mmdebstrap rootfs and its layer, once per key. */
static int ensure_base(struct build *b, struct ca_error *err)
{
        _cleanup_buf_ struct buf pk = BUF_INIT, key = BUF_INIT, src = BUF_INIT;
        _cleanup_free_ char *pkgs = NULL, *pkgfile = NULL, *include = NULL;
        char mirror[512], hex[DIGEST_SHA256_HEX_LEN + 1], tmp[PATH_MAX], name[32];
        uint8_t md[DIGEST_SHA256_LEN];
        struct layer_opts lo = {
                .epoch = b->epoch, .drop = base_drop, .empty = base_empty, .sync = true};
        struct layer_info info;
        struct stat st;
        int r;

        if (asprintf(&pkgfile, "%s/agent/packages", b->docker_dir) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = read_text(pkgfile, &pk, err);
        if (r < 0)
                return r;
        r = image_package_list(pk.data, pk.len, &pkgs, err);
        if (r < 0)
                return ca_error_prefix(err, "%s", pkgfile);
        if (b->mirror) {
                size_t n = strlen(b->mirror);

                while (n > 1 && b->mirror[n - 1] == '/')
                        n--;
                (void) snprintf(mirror, sizeof(mirror), "%.*s", (int) n, b->mirror);
        } else if (read_text("/etc/apt/sources.list.d/debian.sources", &src, NULL) < 0 ||
                   aptsrc_mirror(src.data, src.len, "bookworm", mirror, sizeof(mirror)) < 0) {
                buf_reset(&src);
                if (read_text("/etc/apt/sources.list", &src, NULL) < 0 ||
                    aptsrc_mirror(src.data, src.len, "bookworm", mirror, sizeof(mirror)) < 0)
                        return ca_error_setx(err, ENOENT,
                                             "no Debian bookworm mirror in /etc/apt/sources.list"
                                             "{,.d/debian.sources}: the base is fetched from the "
                                             "mirror your apt uses");
        }
        if (buf_printf(&key, "mmdebstrap minbase bookworm\n%s\n%s\n%lld\n%s\n", mirror, pkgs,
                       (long long) b->epoch, IMAGE_RECIPE) < 0 ||
            digest_sha256(key.data, key.len, md) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        digest_hex(md, sizeof(md), hex);
        (void) snprintf(b->base_key, sizeof(b->base_key), "%.16s", hex);
        pathf(b->base_dir, sizeof(b->base_dir), "%s/base-%s", b->cache, b->base_key);
        pathf(b->base_layer, sizeof(b->base_layer), "%s.tar", b->base_dir);
        if (!b->rebuild && stat(b->base_dir, &st) == 0 && stat(b->base_layer, &st) == 0)
                return 0;
        {
                _cleanup_free_ char *tool = spawn_find_command("mmdebstrap");

                if (!tool)
                        return ca_error_setx(err, ENOENT,
                                             "mmdebstrap not found: the base is made with it "
                                             "(Debian: apt-get install mmdebstrap)");
        }
        (void) fprintf(stderr, "image: base %s: mmdebstrap from %s\n", b->base_key, mirror);
        pathf(tmp, sizeof(tmp), "%s.tmp-%d", b->base_dir, (int) getpid());
        if (asprintf(&include, "--include=%s", pkgs) < 0) {
                include = NULL;
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        {
                char *argv[] = {(char *) "mmdebstrap", (char *) "--variant=minbase",
                                (char *) "--mode=root", (char *) "--format=directory",
                                (char *) (b->quiet ? "--quiet" : "--verbose"), include,
                                (char *) "bookworm", tmp, mirror, NULL};

                r = run(b, NULL, argv, err);
        }
        if (r == 0)
                r = layer_write(tmp, b->base_layer, &lo, &info, err);
        if (r == 0) {
                remove_tree(b->base_dir);
                if (rename(tmp, b->base_dir) < 0)
                        r = ca_error_set(err, errno, "cannot rename '%s'", tmp);
        }
        if (r < 0) {
                remove_tree(tmp);
                (void) unlink(b->base_layer);
                return r;
        }
        (void) snprintf(name, sizeof(name), "base-%s", b->base_key);
        prune_cache(b, "base-", name);
        return 0;
}

/* Copies `from` to `to` with cp (--reflink where the file system can). */
static int copy(const struct build *b, const char *opt, const char *from, const char *to,
                struct ca_error *err)
{
        char *argv[] = {(char *) "cp", (char *) opt, (char *) from, (char *) to, NULL};

        return run(b, NULL, argv, err);
}

/*
 * The CLIs' own code runs as this user, offline: their install scripts and Copilot's first
 * start. Not root on the host: a CLI is the code sessions confine, and a poisoned version
 * pinned in the lockfile would otherwise run as root here at build time. An id nothing on a
 * Debian system uses (nobody is 65534, shared by daemons).
 */
#define BUILD_UID "65533"

/* `argv` in its own network namespace, as BUILD_UID with no capabilities: sandboxed[] must
 * have room for 11 more entries than argv has. */
static void sandboxed(char **out, char *const *argv)
{
        static const char reuid[] = "--reuid=" BUILD_UID, regid[] = "--regid=" BUILD_UID;
        static const char *const pre[] = {
                "unshare",        "--net",           "--",
                "setpriv",        reuid,             regid,
                "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
                "--no-new-privs", "--",
        };
        size_t n = 0;

        for (size_t i = 0; i < CA_ELEMENTSOF(pre); i++)
                out[n++] = (char *) pre[i];
        for (size_t i = 0; argv[i]; i++)
                out[n++] = argv[i];
        out[n] = NULL;
}

/* The subdirectories agents, cache and home of `work` (never `work` itself: it stays root's,
 * so that the sandbox cannot move it, or what it holds, elsewhere) given to `owner`. Links are
 * changed, never followed. */
static int chown_work(const struct build *b, const char *owner, const char *work,
                      struct ca_error *err)
{
        char dirs[3][PATH_MAX + 8];
        char *argv[] = {(char *) "chown", (char *) "-R", (char *) "-P", (char *) "--no-dereference",
                        (char *) owner, dirs[0], dirs[1], dirs[2], NULL};

        pathf(dirs[0], sizeof(dirs[0]), "%s/agents", work);
        pathf(dirs[1], sizeof(dirs[1]), "%s/cache", work);
        pathf(dirs[2], sizeof(dirs[2]), "%s/home", work);
        return run(b, NULL, argv, err);
}

/*
 * The agent CLIs: `npm ci --ignore-scripts` from the committed lockfile as root (npm checks
 * each package against the lockfile's integrity hash; no package code runs), then their
 * install scripts (`npm rebuild`) and Copilot's unpacking as BUILD_UID, offline, in a work
 * directory of its own. Once per lockfile.
 */
static int install_agents(const struct build *b, const char *work, struct ca_error *err)
{
        char agents[PATH_MAX + 8], loader[PATH_MAX + 64], xdg[PATH_MAX + 32];
        char home[PATH_MAX + 16], from[PATH_MAX], to[PATH_MAX + 32];
        char *ci[] = {(char *) "npm", (char *) "ci", (char *) "--ignore-scripts",
                      (char *) "--omit=dev", (char *) "--no-audit", (char *) "--no-fund",
                      (char *) "--loglevel=error", (char *) "--update-notifier=false", NULL};
        char *rebuild[] = {(char *) "npm", (char *) "rebuild", (char *) "--offline",
                           (char *) "--loglevel=error", (char *) "--update-notifier=false", NULL};
        /* Copilot unpacks itself into ~/.cache on first start (~235 MB): done here, once; the
         * image has it in IMAGE_CACHE_DIR, which agent-init links into agentcli's home. */
        char *unpack[] = {b->node, loader, (char *) "--version", NULL};
        char *argv[24];
        const char *rebuild_env[] = {home, NULL};
        const char *unpack_env[] = {xdg, "HOME=/nonexistent", NULL};
        int r = 0;

        pathf(agents, sizeof(agents), "%s/agents", work);
        pathf(loader, sizeof(loader), "%s/node_modules/@github/copilot/npm-loader.js", agents);
        pathf(xdg, sizeof(xdg), "XDG_CACHE_HOME=%s/cache", work);
        pathf(home, sizeof(home), "HOME=%s/home", work);
        for (int i = 0; i < 3; i++) {
                pathf(to, sizeof(to), "%s/%s", work, i == 0 ? "agents" : i == 1 ? "cache" : "home");
                if (mkdir(to, 0755) < 0 || chmod(to, 0755) < 0)
                        return ca_error_set(err, errno, "cannot create '%s'", to);
        }
        for (int i = 0; r == 0 && i < 2; i++) {
                const char *file = i ? "package-lock.json" : "package.json";
                _cleanup_buf_ struct buf f = BUF_INIT;

                pathf(from, sizeof(from), "%s/agent/%s", b->docker_dir, file);
                pathf(to, sizeof(to), "%s/%s", agents, file);
                r = read_text(from, &f, err);
                if (r == 0)
                        r = fileio_write_atomic(to, f.data, f.len, 0644, err);
        }
        if (r == 0)
                r = run(b, agents, ci, err);
        if (r == 0)
                r = chown_work(b, BUILD_UID ":" BUILD_UID, work, err);
        sandboxed(argv, rebuild);
        if (r == 0)
                r = run_env(b, agents, argv, rebuild_env, err);
        sandboxed(argv, unpack);
        if (r == 0)
                r = run_env(b, NULL, argv, unpack_env, err);
        if (r == 0)
                r = chown_work(b, "0:0", work, err);
        pathf(to, sizeof(to), "%s/home", work);
        if (r == 0)
                remove_tree(to);
        return r;
}

static int ensure_agents(struct build *b, const char *lock_hex, struct ca_error *err)
{
        char tmp[PATH_MAX], name[32], work[] = "/var/tmp/coding-agents-cli.XXXXXX";
        struct stat st;
        int r;

        pathf(b->cli_dir, sizeof(b->cli_dir), "%s/cli-%.16s", b->cache, lock_hex);
        if (!b->rebuild && stat(b->cli_dir, &st) == 0)
                return 0;
        (void) fprintf(stderr, "image: installing the agent CLIs (npm ci; their scripts as "
                               "uid " BUILD_UID ", offline)\n");
        pathf(tmp, sizeof(tmp), "%s.tmp-%d", b->cli_dir, (int) getpid());
        /* BUILD_UID must reach it: not inside the cache, which is ours alone (0700). */
        if (!mkdtemp(work) || chmod(work, 0755) < 0)
                return ca_error_set(err, errno, "cannot create a work directory in /var/tmp");
        r = install_agents(b, work, err);
        if (r == 0 && chmod(work, 0700) < 0)
                r = ca_error_set(err, errno, "cannot chmod '%s'", work);
        if (r == 0 && rename(work, tmp) < 0) {
                /* Another file system: copied, then the work directory goes. */
                r = errno == EXDEV ? copy(b, "-a", work, tmp, err)
                                   : ca_error_set(err, errno, "cannot rename '%s'", work);
        }
        if (lstat(work, &st) == 0)
                remove_tree(work);
        if (r == 0) {
                remove_tree(b->cli_dir);
                if (rename(tmp, b->cli_dir) < 0)
                        r = ca_error_set(err, errno, "cannot rename '%s'", tmp);
        }
        if (r < 0) {
                remove_tree(tmp);
                return r;
        }
        (void) snprintf(name, sizeof(name), "cli-%.16s", lock_hex);
        prune_cache(b, "cli-", name);
        prune_cache(b, "agents-", "-"); /* the layout before image recipe 2 */
        return 0;
}

/* The base's `file` (etc/passwd...) with `lines` appended, its owner and mode kept. */
static int add_lines(const struct build *b, const char *stage, const char *file,
                     const char *lines, struct ca_error *err)
{
        _cleanup_buf_ struct buf f = BUF_INIT;
        _cleanup_close_ int fd = -1;
        char from[PATH_MAX], to[PATH_MAX];
        struct stat st;
        int r;

        pathf(from, sizeof(from), "%s/%s", b->base_dir, file);
        pathf(to, sizeof(to), "%s/%s", stage, file);
        r = read_text(from, &f, err);
        if (r < 0)
                return r;
        if (stat(from, &st) < 0)
                return ca_error_set(err, errno, "cannot stat '%s'", from);
        if ((f.len && f.data[f.len - 1] != '\n' && buf_append_char(&f, '\n') < 0) ||
            buf_printf(&f, "%s", lines) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 || fileio_write_all(fd, f.data, f.len) < 0 ||
            fchown(fd, st.st_uid, st.st_gid) < 0 || fchmod(fd, st.st_mode & 07777) < 0)
                return ca_error_set(err, errno, "cannot write '%s'", to);
        return 0;
}

/*
 * The agent layer's tree: what the image adds to the base. agentuser: workloads and attached
 * shells. agentcli: the vendor CLI. 57000-64999 stay free for the per-server mcp_* UIDs
 * (helpers 57000+, stubs 61000+; see lib/render.h), which need no passwd entries.
 */
static int stage_agent(const struct build *b, const char *stage, struct ca_error *err)
{
        static const char *const dirs[] = {
                "etc", "usr", "usr/bin", "usr/lib", "usr/lib/coding-agents",
                "usr/lib/coding-agents/bin", "usr/lib/coding-agents/shells", "usr/local",
                "usr/local/bin", "opt", "opt/coding-agents", "workspace", "run",
                "run/coding-agents",
        };
        static const char *const clis[] = {"claude", "codex", "copilot"};
        /* The workspace belongs to the host user, not to agentcli or agentuser: git inside may
         * use it (safe.directory). */
        static const char gitconfig[] = "[safe]\n\tdirectory = " IMAGE_WORKSPACE "\n";
        char path[PATH_MAX], from[PATH_MAX];
        long days = (long) (b->epoch / 86400);
        char shadow[256], gshadow[128];
        int r = 0;

        for (size_t i = 0; i < CA_ELEMENTSOF(dirs); i++) {
                pathf(path, sizeof(path), "%s/%s", stage, dirs[i]);
                if (mkdir(path, 0755) < 0)
                        return ca_error_set(err, errno, "cannot create '%s'", path);
        }
        (void) snprintf(shadow, sizeof(shadow),
                        "agentuser:!:%ld:0:99999:7:::\nagentcli:!:%ld:0:99999:7:::\n", days, days);
        (void) snprintf(gshadow, sizeof(gshadow), "agentuser:!::\nagentcli:!::\n");
        r = add_lines(b, stage, "etc/passwd",
                      "agentuser:x:1000:1000::" IMAGE_HOME_DIR "/agentuser:/bin/bash\n"
                      "agentcli:x:1001:1001::" IMAGE_HOME_DIR "/agentcli:/bin/bash\n",
                      err);
        if (r == 0)
                r = add_lines(b, stage, "etc/group", "agentuser:x:1000:\nagentcli:x:1001:\n", err);
        if (r == 0)
                r = add_lines(b, stage, "etc/shadow", shadow, err);
        if (r == 0)
                r = add_lines(b, stage, "etc/gshadow", gshadow, err);
        pathf(path, sizeof(path), "%s/etc/gitconfig", stage);
        if (r == 0)
                r = fileio_write_atomic(path, gitconfig, strlen(gitconfig), 0644, err);
        pathf(path, sizeof(path), "%s/usr/local/bin/node", stage);
        if (r == 0)
                r = copy(b, "--reflink=auto", b->node, path, err);
        if (r == 0 && chmod(path, 0755) < 0)
                r = ca_error_set(err, errno, "cannot chmod '%s'", path);
        pathf(path, sizeof(path), "%s%s", stage, IMAGE_BIN_DIR);
        for (size_t i = 0; r == 0 && i < IMAGE_NPROGRAMS; i++) {
                pathf(from, sizeof(from), "%s/%s", b->bin_dir, image_programs[i]);
                r = copy(b, "--preserve=mode", from, path, err);
        }
        /* The shells are the shim (ca-shell): run by agentcli (the vendor CLI and what it
         * starts) they hand their command to the task runner, which runs it as agentuser; run
         * by anyone else they are the real bash and dash, moved (docs/security-model.md). */
        for (int i = 0; r == 0 && i < 2; i++) {
                const char *sh = i ? "dash" : "bash";
                char to[PATH_MAX + 16];

                pathf(from, sizeof(from), "%s/usr/bin/%s", b->base_dir, sh);
                pathf(to, sizeof(to), "%s%s/%s", stage, IMAGE_SHELLS_DIR, sh);
                r = copy(b, "--preserve=mode", from, to, err);
                pathf(from, sizeof(from), "%s/ca-shell", b->bin_dir);
                pathf(to, sizeof(to), "%s/usr/bin/%s", stage, sh);
                if (r == 0)
                        r = copy(b, "--preserve=mode", from, to, err);
        }
        /* The CLIs on PATH are their launcher (exec-guard): run by agentcli, it puts the CLI's
         * process tree under the exec supervisor and Landlock before it runs the CLI. */
        for (size_t i = 0; r == 0 && i < CA_ELEMENTSOF(clis); i++) {
                pathf(path, sizeof(path), "%s/usr/local/bin/%s", stage, clis[i]);
                if (symlink(IMAGE_BIN_DIR "/exec-guard", path) < 0)
                        r = ca_error_set(err, errno, "cannot create '%s'", path);
        }
        /* Hard links: the CLIs are ~850 MB and the cache is on the same file system. */
        pathf(from, sizeof(from), "%s/agents", b->cli_dir);
        pathf(path, sizeof(path), "%s%s", stage, IMAGE_AGENTS_DIR);
        if (r == 0)
                r = copy(b, "-al", from, path, err);
        pathf(from, sizeof(from), "%s/cache", b->cli_dir);
        pathf(path, sizeof(path), "%s%s", stage, IMAGE_CACHE_DIR);
        if (r == 0)
                r = copy(b, "-al", from, path, err);
        return r;
}

/* The engine's name for this machine's architecture. */
static const char *image_arch(void)
{
        struct utsname u;

        if (uname(&u) == 0 && strcmp(u.machine, "aarch64") == 0)
                return "arm64";
        return "amd64";
}

/* The image's config: fixed but for the layers' digests and the labels. */
static int image_config(const struct build *b, const struct layer_info *layers,
                        const char *inputs_hex, const char *init_hex, struct buf *out,
                        struct ca_error *err)
{
        _cleanup_json_ json_t *cfg = NULL;
        char created[32], l0[DIGEST_SHA256_HEX_LEN + 8], l1[DIGEST_SHA256_HEX_LEN + 8];
        char hex[DIGEST_SHA256_HEX_LEN + 1];
        time_t t = (time_t) b->epoch;
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return ca_error_setx(err, EINVAL, "SOURCE_DATE_EPOCH %lld is out of range",
                                     (long long) b->epoch);
        digest_hex(layers[0].diff_id, DIGEST_SHA256_LEN, hex);
        (void) snprintf(l0, sizeof(l0), "sha256:%s", hex);
        digest_hex(layers[1].diff_id, DIGEST_SHA256_LEN, hex);
        (void) snprintf(l1, sizeof(l1), "sha256:%s", hex);
        cfg = json_pack("{s:s, s:s, s:s, s:{s:[s], s:[s], s:s, s:{s:s, s:s}}, s:{s:s, s:[s,s]},"
                        " s:[{s:s, s:s}, {s:s, s:s}]}",
                        "architecture", image_arch(), "os", "linux", "created", created,
                        "config", "Env", IMAGE_PATH, "Entrypoint", IMAGE_BIN_DIR "/agent-init",
                        "WorkingDir", IMAGE_WORKSPACE, "Labels", RUNTIME_LABEL_INPUTS,
                        inputs_hex, IMAGE_LABEL_AGENT_INIT, init_hex, "rootfs", "type", "layers",
                        "diff_ids", l0, l1, "history", "created", created, "created_by",
                        "coding-agents image build: Debian bookworm (mmdebstrap "
                        "--variant=minbase) with docker/agent/packages",
                        "created", created, "created_by",
                        "coding-agents image build: users, Node.js, the agent CLIs, the "
                        "container programs");
        if (!cfg)
                return ca_error_setx(err, ENOMEM, "out of memory");
        return ca_json_canonical(cfg, out, err);
}

/* The agent layer, the image archive, and the load. Prints the image's id. */
static int assemble(struct build *b, const char *tag, const char *inputs_hex,
                    const char *init_hex, struct ca_error *err)
{
        _cleanup_buf_ struct buf config = BUF_INIT;
        /* Staged from our caches, which outlive an epoch (the CLIs' is kept per lockfile):
         * every time set to the epoch, so a cache's age changes no byte. */
        struct layer_opts lo = {.epoch = b->epoch, .fixed_mtime = true,
                                .no_group_other_write = true};
        struct layer_info layers[2];
        char stage[PATH_MAX], agent[PATH_MAX], archive[PATH_MAX];
        char hex[DIGEST_SHA256_HEX_LEN + 1];
        const char *paths[2] = {b->base_layer, agent};
        uint8_t md[DIGEST_SHA256_LEN];
        int r;

        pathf(stage, sizeof(stage), "%s/stage-%d", b->cache, (int) getpid());
        pathf(agent, sizeof(agent), "%s/agent-%d.tar", b->cache, (int) getpid());
        pathf(archive, sizeof(archive), "%s/image-%d.tar", b->cache, (int) getpid());
        if (mkdir(stage, 0755) < 0)
                return ca_error_set(err, errno, "cannot create '%s'", stage);
        r = stage_agent(b, stage, err);
        if (r == 0)
                r = layer_measure(b->base_layer, &layers[0], err);
        if (r == 0)
                r = layer_write(stage, agent, &lo, &layers[1], err);
        remove_tree(stage);
        if (r == 0)
                r = image_config(b, layers, inputs_hex, init_hex, &config, err);
        if (r == 0)
                r = layer_archive_write(archive, paths, layers, 2, config.data, config.len, tag,
                                        b->epoch, err);
        (void) unlink(agent);
        if (r == 0)
                r = runtime_image_load(b->rt, archive, progress, b, err);
        (void) unlink(archive);
        if (r < 0)
                return r;
        if (digest_sha256(config.data, config.len, md) < 0)
                return ca_error_setx(err, EIO, "SHA-256 failed");
        digest_hex(md, sizeof(md), hex);
        (void) fprintf(stderr, "image: %s is sha256:%s\n", tag, hex);
        return 0;
}

static int build_agent(struct build *b, struct ca_error *err)
{
        _cleanup_buf_ struct buf inputs = BUF_INIT;
        char hex[DIGEST_SHA256_HEX_LEN + 1], path[PATH_MAX];
        char tag[96], lock_hex[DIGEST_SHA256_HEX_LEN + 1], init_hex[DIGEST_SHA256_HEX_LEN + 1];
        uint8_t md[DIGEST_SHA256_LEN];
        int r;

        if (buf_printf(&inputs, "recipe %s\nbase %s\nepoch %lld\n", IMAGE_RECIPE, b->base_key,
                       (long long) b->epoch) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < IMAGE_NPROGRAMS + 2; i++) {
                char h[DIGEST_SHA256_HEX_LEN + 1];
                const char *what;

                if (i == 0) {
                        what = "package-lock.json";
                        pathf(path, sizeof(path), "%s/agent/package-lock.json", b->docker_dir);
                } else if (i == 1) {
                        what = "node";
                        pathf(path, sizeof(path), "%s", b->node);
                } else {
                        what = image_programs[i - 2];
                        pathf(path, sizeof(path), "%s/%s", b->bin_dir, what);
                }
                r = digest_file_hex(path, h, err);
                if (r < 0)
                        return r;
                if (i == 0)
                        memcpy(lock_hex, h, sizeof(h));
                if (i == 2)
                        memcpy(init_hex, h, sizeof(h));
                if (buf_printf(&inputs, "%s %s\n", what, h) < 0)
                        return ca_error_setx(err, ENOMEM, "out of memory");
        }
        if (digest_sha256(inputs.data, inputs.len, md) < 0)
                return ca_error_setx(err, EIO, "SHA-256 failed");
        digest_hex(md, sizeof(md), hex);
        (void) snprintf(tag, sizeof(tag), "%s:%.16s", IMAGE_AGENT_REPO, hex);
        r = b->rebuild ? 0 : runtime_image_inspect(b->rt, tag, NULL, err);
        if (r < 0)
                return r;
        if (r == 1) {
                (void) fprintf(stderr, "image: %s is up to date\n", tag);
                goto tag_current;
        }
        r = ensure_agents(b, lock_hex, err);
        if (r < 0)
                return r;
        (void) fprintf(stderr, "image: building %s\n", tag);
        r = assemble(b, tag, hex, init_hex, err);
        if (r < 0)
                return r;
tag_current:
        r = runtime_image_tag(b->rt, tag, IMAGE_AGENT_REPO, IMAGE_CURRENT_TAG, err);
        if (r < 0)
                return r;
        (void) printf("%s (%s:%s)\n", tag, IMAGE_AGENT_REPO, IMAGE_CURRENT_TAG);
        return 0;
}

/* Whether the reference `ref` ("repo:tag") is of `repo`. */
static bool ref_of(const char *ref, const char *repo)
{
        size_t n = strlen(repo);

        return ref && strncmp(ref, repo, n) == 0 && ref[n] == ':';
}

/*
 * Our older images of `repo` are removed once `keep` is built: each rebuild would otherwise
 * leave gigabytes behind. None the engine says was made after this build began (images of
 * recipe 1; a reproducible image's creation time is SOURCE_DATE_EPOCH, so a concurrent build's
 * may go), and only our own references: the engine refuses, and we keep, an image a
 * container (running or not) or another image still uses. Failures here are reported, not
 * fatal: the build itself succeeded.
 */
static void prune(const struct build *b, const char *repo, const char *keep)
{
        _cleanup_json_ json_t *kept = NULL, *images = NULL;
        struct ca_error err = {0};
        const char *keep_id = NULL;
        size_t i, removed = 0, held = 0;
        double bytes = 0;
        json_t *img;

        if (keep && runtime_image_inspect(b->rt, keep, &kept, &err) == 1)
                keep_id = json_string_value(json_object_get(kept, "Id"));
        if ((keep && !keep_id) || runtime_image_list(b->rt, repo, &images, &err) < 0) {
                (void) fprintf(stderr, "image: cannot look for older %s images: %s\n", repo,
                               err.msg[0] ? err.msg : "no id");
                return;
        }
        json_array_foreach(images, i, img) {
                const char *id = json_string_value(json_object_get(img, "Id"));
                json_t *tags = json_object_get(img, "RepoTags"), *t;
                bool gone = true;
                size_t k;

                if (!id || (keep_id && strcmp(id, keep_id) == 0) ||
                    json_integer_value(json_object_get(img, "Created")) > b->started)
                        continue;
                json_array_foreach(tags, k, t) {
                        const char *ref = json_string_value(t);
                        int r;

                        if (!ref_of(ref, repo))
                                continue;
                        ca_error_clear(&err);
                        r = runtime_image_remove(b->rt, ref, &err);
                        if (r < 0 && !b->quiet)
                                (void) fprintf(stderr, "image: kept %s: %s\n", ref, err.msg);
                        gone = gone && r == 0;
                }
                if (gone) {
                        removed++;
                        bytes += (double) json_integer_value(json_object_get(img, "Size"));
                } else {
                        held++;
                }
        }
        if (removed || held)
                (void) fprintf(stderr, "image: removed %zu older %s image(s) (%.1f GB)%s\n",
                               removed, repo, bytes / 1e9,
                               held ? "; kept those still in use" : "");
}

/* SOURCE_DATE_EPOCH from the environment, else this release's date. */
static int source_date_epoch(int64_t *ret)
{
        const char *s = secure_getenv("SOURCE_DATE_EPOCH");
        uint64_t v;

        if (!s || !*s) {
                *ret = CA_SOURCE_DATE_EPOCH;
                return 0;
        }
        /* Up to the last second of the year 9999, which an image's "created" can spell. */
        if (parse_uint(s, 0, 253402300799ULL, &v) < 0)
                return -EINVAL;
        *ret = (int64_t) v;
        return 0;
}

static char *default_cache(void)
{
        const char *xdg = secure_getenv("XDG_CACHE_HOME");
        const char *home = secure_getenv("HOME");
        char *p = NULL;

        if (xdg && xdg[0] == '/')
                return asprintf(&p, "%s/coding-agents", xdg) < 0 ? NULL : p;
        if (home && home[0] == '/')
                return asprintf(&p, "%s/.cache/coding-agents", home) < 0 ? NULL : p;
        return NULL;
}

int cmd_image(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"endpoint", required_argument, NULL, 'e'},
                {"cache", required_argument, NULL, 'c'},
                {"quiet", no_argument, NULL, 'q'},
                {"mirror", required_argument, NULL, 'm'},
                {"rebuild", no_argument, NULL, 'r'},
                {0},
        };
        _cleanup_runtime_ struct runtime *rt = NULL;
        _cleanup_free_ char *cache = NULL;
        const char *endpoint = NULL;
        struct build b = {0};
        struct ca_error err = {0};
        struct stat st;
        int c, r;

        if (argc >= 2 && strcmp(argv[1], "pull") == 0)
                return image_pull(argc - 1, argv + 1, ctx);
        optind = 0;
        while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(image_usage);
                case 'e':
                        endpoint = optarg;
                        break;
                case 'c':
                        free(cache);
                        cache = strdup(optarg);
                        if (!cache)
                                return cli_error("out of memory");
                        break;
                case 'q':
                        b.quiet = true;
                        break;
                case 'r':
                        b.rebuild = true;
                        break;
                case 'm':
                        if (!aptsrc_uri_valid(optarg) || strlen(optarg) >= 500)
                                return cli_usage_error(ctx, "--mirror must be an http:// or "
                                                            "https:// URL, not '%s'",
                                                       optarg);
                        b.mirror = optarg;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (argc - optind != 1 || strcmp(argv[optind], "build") != 0)
                return cli_usage_error(ctx, "image takes one subcommand: build or pull");
        if (!cache && !(cache = default_cache()))
                return cli_error("no cache directory: set HOME or pass --cache");
        if (cache[0] != '/')
                return cli_usage_error(ctx, "--cache must be an absolute path");
        if (fileio_mkdir_p(cache, 0700, &err) < 0)
                return cli_fail(&err);
        /* What is cached here goes into every session's image: it must be ours alone. */
        if (stat(cache, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022))
                return cli_error("the cache '%s' must be owned by you and writable by nobody "
                                 "else (chmod 0700)",
                                 cache);
        if (source_date_epoch(&b.epoch) < 0)
                return cli_usage_error(ctx, "SOURCE_DATE_EPOCH must be a number of seconds "
                                            "since 1970 (0 to 253402300799)");
        b.cache = cache;
        b.started = (json_int_t) time(NULL);
        if (locate(&b, &err) < 0)
                return cli_fail(&err);
        r = runtime_gate(ctx->config_root, endpoint, NULL, &rt, NULL, &err);
        if (r == 0) {
                b.rt = rt;
                r = ensure_base(&b, &err);
        }
        if (r == 0)
                r = build_agent(&b, &err);
        free(b.node);
        if (r < 0)
                return cli_fail(&err);
        prune_leftovers(&b);
        /* Agents first: an old agent image holds on to the base it was built on. */
        prune(&b, IMAGE_AGENT_REPO, IMAGE_CURRENT);
        prune(&b, IMAGE_BASE_REPO, NULL); /* bases were engine images before recipe 2 */
        return cli_finish(CLI_OK);
}
