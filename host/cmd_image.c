/* SPDX-License-Identifier: MIT */
/*
 * coding-agents image build: the agent image (docker/agent/Dockerfile) on the Docker engine.
 * (image pull, the published one verified: cmd_image_pull.c.)
 *
 *   base   coding-agents-base:<key>  a debootstrap --variant=minbase rootfs of Debian bookworm
 *          with docker/agent/packages, from the mirror the machine's apt sources name, imported
 *          into the engine. Built once per package list and mirror.
 *   agent  coding-agents-agent:<inputs>  FROM the base: users, Node.js (the host's binary), the
 *          agent CLIs (npm ci from docker/agent/package-lock.json, cached per lockfile), our
 *          container programs. <inputs> hashes every input; the image carries it as the label
 *          io.coding-agents.inputs, so an unchanged build is skipped. The result is also tagged
 *          coding-agents-agent:current, which sessions use.
 *
 * Programs run with argv arrays (debootstrap, tar, npm, cp, rm); nothing goes through a shell.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
#include "paths.h"
#include "profile.h"
#include "runtime/preflight.h"
#include "session.h"
#include "spawn.h"

const char image_usage[] =
        "usage: coding-agents image build [--endpoint SOCKET] [--cache DIR] [--mirror URL] [--quiet]\n"
        "       coding-agents image pull [--endpoint SOCKET] [--ca-file PEM] [--trusted-root FILE]\n"
        "           [--certificate-identity ID] [--certificate-oidc-issuer URL]\n"
        "           [--quiet] [REFERENCE]\n"
        "\n"
        "build: builds the agent image on the Docker engine, only when an input changed:\n"
        "  base   Debian bookworm (debootstrap --variant=minbase, from the mirror your apt\n"
        "         sources name, or --mirror: e.g. a snapshot.debian.org URL, which pins every\n"
        "         package's version) with the packages in docker/agent/packages;\n"
        "  agent  users agentuser (1000) and agentcli (1001), Node.js (this host's 'node'),\n"
        "         the agent CLIs from npm at the versions pinned in docker/agent/package-lock.json,\n"
        "         and coding-agents' container programs next to this binary.\n"
        "The result is tagged coding-agents-agent:current. Downloads and the npm install are\n"
        "cached in --cache (default ~/.cache/coding-agents). debootstrap needs root.\n"
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

struct build {
        struct runtime *rt;
        const char *cache;
        const char *mirror;        /* --mirror, or NULL: the apt sources' */
        char docker_dir[PATH_MAX]; /* .../docker */
        char bin_dir[PATH_MAX];    /* where agent-init & co. are */
        char *node;                /* the host's node binary */
        bool quiet;
        char base_tag[80];
        char agents_dir[PATH_MAX];
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

static int run(const struct build *b, const char *cwd, char *const *argv, struct ca_error *err)
{
        static char *const envp[] = {(char *) "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                                              "/usr/bin:/sbin:/bin",
                                     (char *) "LANG=C.UTF-8", NULL, NULL};
        char *env[4] = {envp[0], envp[1], NULL, NULL};
        char home[PATH_MAX + 8];
        struct spawn_req req = SPAWN_REQ_INIT;
        pid_t pid;
        int r;

        /* npm keeps its download cache under HOME: ours, inside the build cache. */
        (void) snprintf(home, sizeof(home), "HOME=%s/home", b->cache);
        env[2] = home;
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
        /* A failed step stops the build: nothing half-made may be imported or cached. */
        if (r != 0)
                return ca_error_setx(err, EIO, "%s exited with status %d", argv[0], r);
        return 0;
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

/* The base image: imported from a debootstrap rootfs when the engine lacks it. */
static int ensure_base(struct build *b, struct ca_error *err)
{
        _cleanup_buf_ struct buf pk = BUF_INIT, key = BUF_INIT, src = BUF_INIT;
        _cleanup_free_ char *pkgs = NULL, *pkgfile = NULL;
        char mirror[512], hex[DIGEST_SHA256_HEX_LEN + 1], rootfs[PATH_MAX], tar[PATH_MAX];
        uint8_t md[DIGEST_SHA256_LEN];
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
        if (buf_printf(&key, "debootstrap minbase bookworm\n%s\n%s\n", mirror, pkgs) < 0 ||
            digest_sha256(key.data, key.len, md) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        digest_hex(md, sizeof(md), hex);
        (void) snprintf(b->base_tag, sizeof(b->base_tag), "%s:%.16s", IMAGE_BASE_REPO, hex);
        r = runtime_image_inspect(b->rt, b->base_tag, NULL, err);
        if (r != 0)
                return r < 0 ? r : 0;
        (void) fprintf(stderr, "image: base %s: debootstrap from %s\n", b->base_tag, mirror);
        pathf(rootfs, sizeof(rootfs), "%s/rootfs-%d", b->cache, (int) getpid());
        pathf(tar, sizeof(tar), "%s/rootfs-%d.tar", b->cache, (int) getpid());
        {
                _cleanup_free_ char *include = NULL;
                char *argv[] = {(char *) "debootstrap", (char *) "--variant=minbase", NULL,
                                (char *) "bookworm", rootfs, mirror, NULL};
                char *tar_argv[] = {(char *) "tar", (char *) "--numeric-owner",
                                    (char *) "--one-file-system", (char *) "-C", rootfs,
                                    (char *) "-cf", tar, (char *) ".", NULL};

                if (asprintf(&include, "--include=%s", pkgs) < 0)
                        return ca_error_setx(err, ENOMEM, "out of memory");
                argv[2] = include;
                r = run(b, NULL, argv, err);
                if (r == 0)
                        r = run(b, NULL, tar_argv, err);
                remove_tree(rootfs);
        }
        if (r == 0) {
                char tag[32];

                (void) snprintf(tag, sizeof(tag), "%.16s", hex);
                r = runtime_image_import(b->rt, tar, IMAGE_BASE_REPO, tag, NULL, progress, b, err);
        }
        (void) unlink(tar);
        return r;
}

/* The agent CLIs: `npm ci` from the committed lockfile, once per lockfile. */
static int ensure_agents(struct build *b, const char *lock_hex, struct ca_error *err)
{
        char tmp[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
        char *argv[] = {(char *) "npm",         (char *) "ci",       (char *) "--omit=dev",
                        (char *) "--no-audit",  (char *) "--no-fund", (char *) "--loglevel=error",
                        (char *) "--update-notifier=false",
                        NULL};
        struct stat st;
        int r;

        pathf(b->agents_dir, sizeof(b->agents_dir), "%s/agents-%.16s", b->cache,
                        lock_hex);
        if (stat(b->agents_dir, &st) == 0)
                return 0;
        (void) fprintf(stderr, "image: installing the agent CLIs (npm ci)\n");
        pathf(tmp, sizeof(tmp), "%s.tmp-%d", b->agents_dir, (int) getpid());
        if (mkdir(tmp, 0700) < 0)
                return ca_error_set(err, errno, "cannot create '%s'", tmp);
        for (int i = 0; i < 2; i++) {
                const char *name = i ? "package-lock.json" : "package.json";
                _cleanup_buf_ struct buf f = BUF_INIT;

                pathf(from, sizeof(from), "%s/agent/%s", b->docker_dir, name);
                pathf(to, sizeof(to), "%s/%s", tmp, name);
                r = read_text(from, &f, err);
                if (r < 0 || (r = fileio_write_atomic(to, f.data, f.len, 0644, err)) < 0) {
                        remove_tree(tmp);
                        return r;
                }
        }
        r = run(b, tmp, argv, err);
        if (r == 0 && rename(tmp, b->agents_dir) < 0)
                r = ca_error_set(err, errno, "cannot rename '%s'", tmp);
        if (r < 0)
                remove_tree(tmp);
        return r;
}

/* Copies `from` to `to` with cp (--reflink where the file system can). */
static int copy(const struct build *b, const char *opt, const char *from, const char *to,
                struct ca_error *err)
{
        char *argv[] = {(char *) "cp", (char *) opt, (char *) from, (char *) to, NULL};

        return run(b, NULL, argv, err);
}

static int build_agent(struct build *b, struct ca_error *err)
{
        _cleanup_buf_ struct buf inputs = BUF_INIT;
        _cleanup_json_ json_t *buildargs = NULL, *labels = NULL;
        char hex[DIGEST_SHA256_HEX_LEN + 1], path[PATH_MAX], ctx[PATH_MAX], tar[PATH_MAX];
        char tag[96], lock_hex[DIGEST_SHA256_HEX_LEN + 1], init_hex[DIGEST_SHA256_HEX_LEN + 1];
        uint8_t md[DIGEST_SHA256_LEN];
        int r;

        if (buf_printf(&inputs, "base %s\n", b->base_tag) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < IMAGE_NPROGRAMS + 3; i++) {
                char h[DIGEST_SHA256_HEX_LEN + 1];
                const char *what;

                if (i == 0) {
                        what = "Dockerfile";
                        pathf(path, sizeof(path), "%s/agent/Dockerfile", b->docker_dir);
                } else if (i == 1) {
                        what = "package-lock.json";
                        pathf(path, sizeof(path), "%s/agent/package-lock.json",
                                        b->docker_dir);
                } else if (i == 2) {
                        what = "node";
                        pathf(path, sizeof(path), "%s", b->node);
                } else {
                        what = image_programs[i - 3];
                        pathf(path, sizeof(path), "%s/%s", b->bin_dir, what);
                }
                r = digest_file_hex(path, h, err);
                if (r < 0)
                        return r;
                if (i == 1)
                        memcpy(lock_hex, h, sizeof(h));
                if (i == 3)
                        memcpy(init_hex, h, sizeof(h));
                if (buf_printf(&inputs, "%s %s\n", what, h) < 0)
                        return ca_error_setx(err, ENOMEM, "out of memory");
        }
        if (digest_sha256(inputs.data, inputs.len, md) < 0)
                return ca_error_setx(err, EIO, "SHA-256 failed");
        digest_hex(md, sizeof(md), hex);
        (void) snprintf(tag, sizeof(tag), "%s:%.16s", IMAGE_AGENT_REPO, hex);
        r = runtime_image_inspect(b->rt, tag, NULL, err);
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
        pathf(ctx, sizeof(ctx), "%s/context-%d", b->cache, (int) getpid());
        pathf(tar, sizeof(tar), "%s/context-%d.tar", b->cache, (int) getpid());
        if (mkdir(ctx, 0700) < 0)
                return ca_error_set(err, errno, "cannot create '%s'", ctx);
        {
                char bin[PATH_MAX + 8], dst[PATH_MAX + 16];
                char *tar_argv[] = {(char *) "tar", (char *) "--numeric-owner", (char *) "-C", ctx,
                                    (char *) "-cf", tar, (char *) ".", NULL};

                pathf(bin, sizeof(bin), "%s/bin", ctx);
                r = mkdir(bin, 0755) < 0 ? ca_error_set(err, errno, "cannot create '%s'", bin) : 0;
                pathf(path, sizeof(path), "%s/agent/Dockerfile", b->docker_dir);
                if (r == 0)
                        r = copy(b, "--preserve=mode", path, ctx, err);
                pathf(dst, sizeof(dst), "%s/node", ctx);
                if (r == 0)
                        r = copy(b, "--reflink=auto", b->node, dst, err);
                for (size_t i = 0; r == 0 && i < IMAGE_NPROGRAMS; i++) {
                        pathf(path, sizeof(path), "%s/%s", b->bin_dir,
                                        image_programs[i]);
                        r = copy(b, "--preserve=mode", path, bin, err);
                }
                /* Hard links: the CLIs are ~850 MB and the cache is on the same file system. */
                pathf(dst, sizeof(dst), "%s/agents", ctx);
                if (r == 0)
                        r = copy(b, "-al", b->agents_dir, dst, err);
                if (r == 0)
                        r = run(b, NULL, tar_argv, err);
        }
        remove_tree(ctx);
        buildargs = json_pack("{s:s}", "BASE", b->base_tag);
        labels = json_pack("{s:s, s:s}", RUNTIME_LABEL_INPUTS, hex, IMAGE_LABEL_AGENT_INIT,
                           init_hex);
        if (r == 0 && (!buildargs || !labels))
                r = ca_error_setx(err, ENOMEM, "out of memory");
        if (r == 0)
                r = runtime_image_build(b->rt, tar, tag, buildargs, labels, progress, b, err);
        (void) unlink(tar);
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
 * leave gigabytes behind. None made after this build began (a concurrent build's are not ours
 * to judge), and only our own references: the engine refuses, and we keep, an image a
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

        if (runtime_image_inspect(b->rt, keep, &kept, &err) == 1)
                keep_id = json_string_value(json_object_get(kept, "Id"));
        if (!keep_id || runtime_image_list(b->rt, repo, &images, &err) < 0) {
                (void) fprintf(stderr, "image: cannot look for older %s images: %s\n", repo,
                               err.msg[0] ? err.msg : "no id");
                return;
        }
        json_array_foreach(images, i, img) {
                const char *id = json_string_value(json_object_get(img, "Id"));
                json_t *tags = json_object_get(img, "RepoTags"), *t;
                bool gone = true;
                size_t k;

                if (!id || strcmp(id, keep_id) == 0 ||
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
        /* Agents first: an old agent image holds on to the base it was built on. */
        prune(&b, IMAGE_AGENT_REPO, IMAGE_CURRENT);
        prune(&b, IMAGE_BASE_REPO, b.base_tag);
        return cli_finish(CLI_OK);
}
