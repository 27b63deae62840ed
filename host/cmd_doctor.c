/* SPDX-License-Identifier: MIT */
/*
 * coding-agents doctor: this machine's posture, check by check, each ok, warn or fail with a
 * remedy. Read-only apart from the event log (the engine gate records a refusal, and the
 * doctor its own summary); it starts nothing (the broker is asked only when it is running),
 * except with --active, whose throwaway session is host/doctor_active.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "broker_client.h"
#include "buf.h"
#include "cleanup.h"
#include "cli.h"
#include "doctor.h"
#include "digest.h"
#include "engine.h"
#include "error.h"
#include "fileio.h"
#include "image.h"
#include "install.h"
#include "json.h"
#include "paths.h"
#include "runtime/preflight.h"
#include "profile.h"
#include "session.h"
#include "sigverify.h"
#include "sums.h"
#include "textsafe.h"

static const char usage[] =
        "usage: coding-agents doctor [--json] [--color[=WHEN]] [--endpoint URL] [--image REF]\n"
        "       coding-agents doctor --active [--agent AGENT] [--network proxy|none] [-o FILE]\n"
        "                                     [-- LAUNCH-OPTION...]\n"
        "\n"
        "Checks this machine's posture for running sessions, each check ok, warn or fail,\n"
        "with a remedy: the container engine (Podman, rootless, userns-remap, no seccomp and\n"
        "old APIs are refused), AppArmor and our profile, cgroup v2, the kernel features the\n"
        "sandbox relies on (pidfd, SO_PEERPIDFD, seccomp user notification, Landlock), WSL,\n"
        "the install's integrity, the config root and the broker's store, the broker, the\n"
        "agent image, and the clock. Records a doctor event.\n"
        "\n"
        "--active also attacks its own sandbox: it launches a throwaway session (with the\n"
        "first agent that has a login, or --agent; in the default proxy mode, or --network\n"
        "none), runs the image's probe in it as agentuser, as agentcli, as an MCP server's UID\n"
        "and as a helper's UID (reads of every secret location, other UIDs' /proc, ptrace, the\n"
        "broker socket, metadata, private, link-local and IPv6 addresses, DNS, mount and user\n"
        "namespaces, capabilities, writes to the root), requires every attempt to be blocked,\n"
        "removes the session, and signs the results like an audit report (-o FILE, default\n"
        "<config root>/doctor-active.json; 'audit verify' checks it). Options after '--' go to\n"
        "'launch' (e.g. --proxy-network NAME --proxy-resolver ADDRESS).\n"
        "\n"
        "  --json          one JSON object: {\"checks\": [...], \"worst\": ...}\n"
        "  --color[=WHEN]  colour the verdicts: auto (a terminal, unless NO_COLOR is set),\n"
        "                  always (a bare --color) or never\n"
        "  --endpoint URL  the engine (default: DOCKER_HOST or the default socket)\n"
        "  --image REF     the agent image (default " IMAGE_CURRENT ")\n"
        "\n"
        "Exit status: 0 when every check is ok, 3 when the worst is a warning, 1 when a check\n"
        "failed, 2 for usage errors.\n";

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#ifndef TIME_ERROR
#define TIME_ERROR 5
#endif

static const char *const verdict_names[] = {"ok", "warn", "fail"};

void doctor_report(struct doctor *d, const char *name, enum verdict v, const char *remedy,
                   const char *fmt, ...)
{
        char detail[1024];
        va_list ap;
        json_t *c;

        va_start(ap, fmt);
        (void) vsnprintf(detail, sizeof(detail), fmt, ap);
        va_end(ap);
        if (v > d->worst)
                d->worst = v;
        c = json_pack("{s:s, s:s, s:s}", "check", name, "result", verdict_names[v], "detail",
                      detail);
        if (c && remedy)
                (void) json_object_set_new(c, "remedy", json_string(remedy));
        if (!c || json_array_append_new(d->checks, c) < 0)
                d->worst = V_FAIL;
}

static void check_engine(struct doctor *d)
{
        struct ca_error err = {0};
        int r = runtime_gate(d->ctx->config_root, d->endpoint, NULL, &d->rt, &d->facts, &err);

        if (r == -EPERM)
                doctor_report(d, "engine", V_FAIL, "use Docker Engine (rootful, seccomp on, no "
                                            "userns-remap, API 1.41 or newer)",
                       "%s", err.msg);
        else if (r < 0)
                doctor_report(d, "engine", V_FAIL, "start the Docker daemon, or point DOCKER_HOST / "
                                            "--endpoint at it",
                       "cannot reach the engine: %s", err.msg);
        else
                doctor_report(d, "engine", V_OK, NULL, "%s %s, API %s, seccomp, cgroup v%d (%s)",
                       d->facts.product, d->facts.version, d->facts.api_version,
                       d->facts.cgroup_version, d->facts.cgroup_systemd ? "systemd" : "cgroupfs");
}

/* An agent image is about 3 GB, and a rebuild needs room for the new one beside the old. */
#define ENGINE_SPACE_MIN ((uint64_t) 8 << 30)

/* Free space where the engine keeps its images (unix sockets only: the engine is local). */
static void check_engine_space(struct doctor *d)
{
        struct statvfs sv;
        uint64_t avail;

        if (!d->rt || !d->facts.root_dir[0]) {
                doctor_report(d, "engine-space", V_WARN, NULL,
                              "not checked: no engine, or it does not say where its data is");
                return;
        }
        if (statvfs(d->facts.root_dir, &sv) < 0) {
                doctor_report(d, "engine-space", V_WARN, NULL, "cannot read the free space of %s: %s",
                              text_escape_tmp(d->facts.root_dir), strerror(errno));
                return;
        }
        avail = (uint64_t) sv.f_bavail * sv.f_frsize;
        if (avail < ENGINE_SPACE_MIN)
                doctor_report(d, "engine-space", V_WARN,
                              "free space there (docker image prune; coding-agents image build "
                              "removes our own older images)",
                              "%.1f GB free in %s, the engine's data: an image build needs about "
                              "%.0f GB",
                              (double) avail / 1e9, text_escape_tmp(d->facts.root_dir),
                              (double) ENGINE_SPACE_MIN / 1e9);
        else
                doctor_report(d, "engine-space", V_OK, NULL, "%.1f GB free in %s, the engine's data",
                              (double) avail / 1e9, text_escape_tmp(d->facts.root_dir));
}

static void check_apparmor(struct doctor *d)
{
        char remedy[PATH_MAX + 128], docker[PATH_MAX];
        struct ca_error err = {0};

        if (!runtime_host_apparmor()) {
                doctor_report(d, "apparmor", V_WARN,
                       "enable AppArmor (Debian: it is on by default; check the kernel command "
                       "line for apparmor=0) for a second wall around each session",
                       "this host does not enforce AppArmor: sessions rely on seccomp, "
                       "capabilities, namespaces and Landlock alone");
                return;
        }
        if (session_docker_dir(docker, sizeof(docker), &err) < 0)
                (void) snprintf(docker, sizeof(docker), "<release>/docker");
        (void) snprintf(remedy, sizeof(remedy), "apparmor_parser -r -W %s/profiles/apparmor-coding-agents",
                        docker);
        if (!session_apparmor_profile_loaded())
                doctor_report(d, "apparmor", V_FAIL, remedy,
                       "this host enforces AppArmor but the profile '%s' is not loaded: "
                       "sessions are refused", SESSION_APPARMOR_PROFILE);
        else
                doctor_report(d, "apparmor", V_OK, NULL, "profile '%s' loaded",
                       SESSION_APPARMOR_PROFILE);
}

static void check_cgroup(struct doctor *d)
{
        struct stat st;

        if (stat("/sys/fs/cgroup/cgroup.controllers", &st) < 0 ||
            (d->rt && d->facts.cgroup_version != 2))
                doctor_report(d, "cgroup", V_WARN,
                       "boot with the unified hierarchy (systemd.unified_cgroup_hierarchy=1)",
                       "cgroup v1 (or hybrid): supported, but v2 gives each session one "
                       "hierarchy for its limits and the broker's binding");
        else
                doctor_report(d, "cgroup", V_OK, NULL, "cgroup v2; sessions go under %s",
                       d->facts.cgroup_systemd ? "codingagents-<session>.slice"
                                               : "/coding-agents/<session>");
}

static void check_kernel(struct doctor *d)
{
        int sv[2];
        int fd = (int) syscall(SYS_pidfd_open, getpid(), 0);
        unsigned action = SECCOMP_RET_USER_NOTIF;
        long abi;

        if (fd >= 0) {
                (void) close(fd);
                doctor_report(d, "pidfd", V_OK, NULL, "pidfd_open works");
        } else {
                doctor_report(d, "pidfd", V_FAIL, "a kernel of 5.3 or newer",
                       "pidfd_open: %s: the broker cannot pin its peers", strerror(errno));
        }
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
                int pfd = -1;
                socklen_t len = sizeof(pfd);

                if (getsockopt(sv[0], SOL_SOCKET, SO_PEERPIDFD, &pfd, &len) == 0) {
                        doctor_report(d, "so-peerpidfd", V_OK, NULL, "SO_PEERPIDFD works");
                        (void) close(pfd);
                } else {
                        doctor_report(d, "so-peerpidfd", V_WARN, "a kernel of 6.5 or newer",
                               "SO_PEERPIDFD is not available (%s): the broker pins a peer by "
                               "pid and start time instead (redemptions say pidfd_exact: false)",
                               strerror(errno));
                }
                (void) close(sv[0]);
                (void) close(sv[1]);
        }
        if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0)
                doctor_report(d, "seccomp-notify", V_OK, NULL, "seccomp user notification works");
        else
                doctor_report(d, "seccomp-notify", V_FAIL, "a kernel of 5.0 or newer with seccomp",
                       "seccomp user notification is not available (%s): the exec guard cannot "
                       "route the agent CLI's commands",
                       strerror(errno));
        abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
        if (abi >= 1)
                doctor_report(d, "landlock", V_OK, NULL, "Landlock ABI %ld", abi);
        else
                doctor_report(d, "landlock", V_WARN,
                       "a kernel of 5.13 or newer with lsm=...,landlock on its command line",
                       "Landlock is not available (%s): the exec guard relies on seccomp alone",
                       strerror(errno));
}

static void check_wsl(struct doctor *d)
{
        _cleanup_buf_ struct buf rel = BUF_INIT;

        if (fileio_read_path("/proc/sys/kernel/osrelease", 256, &rel, NULL) < 0 ||
            buf_append_char(&rel, '\0') < 0) {
                doctor_report(d, "wsl", V_WARN, NULL, "cannot read the kernel release");
                return;
        }
        if (strstr(rel.data, "Microsoft"))
                doctor_report(d, "wsl", V_FAIL, "wsl --set-version <distribution> 2",
                       "WSL1: it has no container support; coding-agents needs WSL2");
        else if (strstr(rel.data, "microsoft"))
                doctor_report(d, "wsl", V_WARN,
                       "run Docker Engine inside this distribution (not Docker Desktop's "
                       "integration) and keep repositories on the Linux file system",
                       "WSL2: supported; /mnt/c workspaces are slow and their permissions are "
                       "emulated");
        else
                doctor_report(d, "wsl", V_OK, NULL, "not WSL");
}

/* Which key's signature the install verified (install.h), as recorded beside the release. */
static void check_signer(struct doctor *d, const struct profile_info *p)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_buf_ struct buf rec = BUF_INIT;
        struct ca_error err = {0};
        const char *id;

        if (asprintf(&path, "%s/releases/%s%s", p->prefix, p->version, INSTALL_SIGNER_SUFFIX) < 0) {
                doctor_report(d, "signing-key", V_FAIL, NULL, "out of memory");
                return;
        }
        if (fileio_read_path(path, 256, &rec, &err) < 0 || buf_append_char(&rec, '\0') < 0 ||
            strncmp(rec.data, "key id ", 7) != 0 || strlen(rec.data) != 7 + 16 + 1) {
                doctor_report(d, "signing-key", V_WARN,
                              "install the release again (coding-agents install BUNDLE --pubkey KEY)",
                              "no record of the key that signed release %s (%s)", p->version,
                              err.msg[0] ? err.msg : "malformed");
                return;
        }
        id = rec.data + 7;
        rec.data[7 + 16] = '\0';
        doctor_report(d, "signing-key", V_OK, NULL,
                      "release %s was verified at install against key %s (compare with the key "
                      "the project publishes)",
                      p->version, id);
}

/* The release bundle's SHA-256 recorded at install (install.h: "<hex>  <name>\n"). */
static int recorded_sha256(const struct profile_info *p, uint8_t out[32], struct ca_error *err)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_buf_ struct buf rec = BUF_INIT;
        int r;

        if (asprintf(&path, "%s/releases/%s%s", p->prefix, p->version, INSTALL_SHA256_SUFFIX) < 0) {
                path = NULL;
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        r = fileio_read_path(path, 4096, &rec, err);
        if (r < 0)
                return r;
        if (rec.len < 66 || memcmp(rec.data + 64, "  ", 2) != 0 ||
            sodium_hex2bin(out, 32, rec.data, 64, NULL, NULL, NULL) != 0)
                return ca_error_setx(err, EINVAL, "'%s' is malformed", path);
        return 0;
}

/* The Sigstore bundle verified at install, verified again now: for the recorded SHA-256 of the
 * release bundle, by the release workflow at this version's tag, against the trusted root
 * this release ships. */
static void check_sigstore(struct doctor *d, const struct profile_info *p)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_buf_ struct buf json = BUF_INIT;
        struct ca_error err = {0};
        char root[PATH_MAX], identity[INSTALL_IDENTITY_MAX];
        const struct sigverify_policy policy = {{identity, INSTALL_RELEASE_ISSUER}, NULL};
        uint8_t digest[32];
        int r;

        if (asprintf(&path, "%s/releases/%s%s", p->prefix, p->version, INSTALL_SIGSTORE_SUFFIX) <
            0) {
                path = NULL;
                doctor_report(d, "sigstore", V_FAIL, NULL, "out of memory");
                return;
        }
        r = fileio_read_path(path, SIGBUNDLE_MAX, &json, &err);
        if (r == -ENOENT) {
                doctor_report(d, "sigstore", V_WARN,
                              "install the release with its .sigstore.json beside it "
                              "(coding-agents install BUNDLE --pubkey KEY --require-sigstore)",
                              "release %s was installed without a Sigstore bundle: only its "
                              "minisign signature vouches for it",
                              p->version);
                return;
        }
        if (r >= 0)
                r = recorded_sha256(p, digest, &err);
        if (r >= 0)
                r = session_trusted_root(root, sizeof(root), &err);
        if (r >= 0 && install_release_identity(p->version, identity) < 0)
                r = ca_error_setx(&err, ENAMETOOLONG, "the release's identity is too long");
        if (r >= 0)
                r = sigverify_json(root, json.data ? json.data : "", json.len, path, digest,
                                   &policy, (int64_t) time(NULL), &err);
        if (r < 0)
                doctor_report(d, "sigstore", V_FAIL, "coding-agents install the release again",
                              "release %s: its Sigstore bundle does not verify: %s", p->version,
                              err.msg);
        else
                doctor_report(d, "sigstore", V_OK, NULL,
                              "release %s: its Sigstore bundle verifies: signed by %s (issuer %s)",
                              p->version, identity, INSTALL_RELEASE_ISSUER);
}

static void check_install(struct doctor *d)
{
        struct profile_info p;
        struct sums_report rep = {0};
        struct ca_error err = {0};

        profile_detect(NULL, &p);
        if (p.profile != PATHS_PROFILE_PROD) {
                doctor_report(d, "install", V_WARN,
                       "install a signed release (coding-agents install BUNDLE --pubkey KEY)",
                       "running from a build tree (%s): there is no release to verify",
                       text_escape_tmp(p.exe));
                return;
        }
        if (sums_verify_dir(p.release_dir, 0, &rep, &err) < 0)
                doctor_report(d, "install", V_FAIL, "coding-agents install the release again",
                       "cannot verify %s: %s", p.release_dir, err.msg);
        else if (rep.problems)
                doctor_report(d, "install", V_FAIL,
                       "coding-agents rollback, or install the release again",
                       "release %s does not match its SHA256SUMS: %zu problem(s)", p.version,
                       rep.problems);
        else
                doctor_report(d, "install", V_OK, NULL, "release %s: %zu files match SHA256SUMS",
                       p.version, rep.checked);
        sums_report_clear(&rep);
        check_signer(d, &p);
        check_sigstore(d, &p);
}

/* `path` is ours and not open to others (beyond `allowed` mode bits: a failure when `strict`,
 * a warning when not). */
static void check_private(struct doctor *d, const char *name, const char *path, mode_t allowed,
                          bool strict)
{
        struct stat st;
        char remedy[PATH_MAX + 64];

        if (lstat(path, &st) < 0) {
                doctor_report(d, name, errno == ENOENT ? V_OK : V_FAIL, NULL, "%s: %s", path,
                              errno == ENOENT ? "does not exist yet (made on first use)"
                                              : strerror(errno));
                return;
        }
        (void) snprintf(remedy, sizeof(remedy), "chmod %04o '%s'", (unsigned) allowed, path);
        if (S_ISLNK(st.st_mode) || st.st_uid != geteuid())
                doctor_report(d, name, V_FAIL, "remove it; coding-agents makes it again",
                       "%s is a symlink or belongs to uid %u", path, (unsigned) st.st_uid);
        else if (st.st_mode & 07777 & ~allowed)
                doctor_report(d, name, strict ? V_FAIL : V_WARN, remedy,
                              "%s has mode %04o: others can see into it", path,
                              (unsigned) (st.st_mode & 07777));
        else
                doctor_report(d, name, V_OK, NULL, "%s: ours, mode %04o", path,
                       (unsigned) (st.st_mode & 07777));
}

static void check_broker(struct doctor *d)
{
        _cleanup_free_ char *sock = broker_admin_socket(d->ctx->config_root);
        _cleanup_json_ json_t *req = json_pack("{s:s}", "op", "health");
        _cleanup_json_ json_t *reply = NULL;
        struct ca_error err = {0};
        size_t nfds = 0;

        if (!sock || !req) {
                doctor_report(d, "broker", V_FAIL, NULL, "out of memory");
                return;
        }
        if (access(sock, F_OK) < 0)
                doctor_report(d, "broker", V_OK, NULL, "not running (it starts on first use)");
        else if (broker_call(sock, req, NULL, 0, &reply, NULL, 0, &nfds, &err) < 0)
                doctor_report(d, "broker", V_WARN, "coding-agents broker start",
                       "its socket is there but it does not answer: %s", err.msg);
        else
                doctor_report(d, "broker", V_OK, NULL,
                       "up (pid %" JSON_INTEGER_FORMAT ", version %s, %" JSON_INTEGER_FORMAT
                       " live sessions)",
                       json_integer_value(json_object_get(reply, "pid")),
                       json_string_value(json_object_get(reply, "version")),
                       json_integer_value(json_object_get(reply, "sessions")));
}

static void check_image(struct doctor *d)
{
        _cleanup_json_ json_t *img = NULL;
        _cleanup_free_ char *init = cli_sibling("agent-init");
        char want[DIGEST_SHA256_HEX_LEN + 1];
        struct ca_error err = {0};
        int r;

        if (!d->rt) {
                doctor_report(d, "image", V_WARN, NULL, "not checked: no usable engine");
                return;
        }
        r = runtime_image_inspect(d->rt, d->image, &img, &err);
        if (r < 0) {
                doctor_report(d, "image", V_FAIL, NULL, "cannot ask the engine: %s", err.msg);
                return;
        }
        if (r == 0) {
                doctor_report(d, "image", V_FAIL, "coding-agents image build",
                       "no image '%s' on the engine", text_escape_tmp(d->image));
                return;
        }
        if (!init || digest_file_hex(init, want, &err) < 0)
                doctor_report(d, "image", V_FAIL, NULL, "cannot hash this install's agent-init: %s",
                       err.msg);
        else if (!session_image_current(img, want))
                doctor_report(d, "image", V_FAIL, "coding-agents image build",
                       "'%s' was not built from this install's agent-init: sessions would be "
                       "refused their credential",
                       text_escape_tmp(d->image));
        else
                doctor_report(d, "image", V_OK, NULL,
                              "'%s' is current (%.19s): built by this install, with its agent "
                              "CLIs, and squid and dnsmasq for the session's proxy",
                       text_escape_tmp(d->image),
                       json_is_string(json_object_get(img, "Id"))
                               ? json_string_value(json_object_get(img, "Id"))
                               : "?");
}

static void check_clock(struct doctor *d)
{
        struct timex tx = {0};
        int state = adjtimex(&tx);
        time_t now = time(NULL);

        if (now < 1767225600) /* 2026-01-01 */
                doctor_report(d, "clock", V_FAIL, "set the clock (and enable systemd-timesyncd)",
                       "the clock says %ld: certificate and capability expiry checks cannot "
                       "work", (long) now);
        else if (state == TIME_ERROR)
                doctor_report(d, "clock", V_WARN, "enable systemd-timesyncd or chrony",
                       "the clock is not synchronised: certificate and capability expiry "
                       "checks depend on it");
        else
                doctor_report(d, "clock", V_OK, NULL, "synchronised");
}

static void print_text(const struct doctor *d, bool color)
{
        /* ok green, warn yellow, fail bold red (SGR); the padding stays outside the colour. */
        static const char *const sgr[] = {"\033[32m", "\033[33m", "\033[1;31m"};
        size_t i;
        json_t *c;

        json_array_foreach(d->checks, i, c) {
                const char *remedy = json_string_value(json_object_get(c, "remedy"));
                const char *res = json_string_value(json_object_get(c, "result"));
                size_t k = 0;

                while (k < 2 && strcmp(res, verdict_names[k]) != 0)
                        k++;
                (void) printf("%s%s%s%*s %-15s %s\n", color ? sgr[k] : "", res,
                              color ? "\033[0m" : "", (int) (5 - strlen(res)), "",
                              json_string_value(json_object_get(c, "check")),
                              text_escape_tmp(json_string_value(json_object_get(c, "detail"))));
                if (remedy && strcmp(json_string_value(json_object_get(c, "result")), "ok") != 0)
                        (void) printf("      remedy: %s\n", text_escape_tmp(remedy));
        }
}

static void record(const struct doctor *d, bool active)
{
        json_t *failed = json_array();
        size_t i, counts[3] = {0};
        json_t *c, *f;

        json_array_foreach(d->checks, i, c) {
                const char *res = json_string_value(json_object_get(c, "result"));

                for (size_t k = 0; k < 3; k++)
                        counts[k] += strcmp(res, verdict_names[k]) == 0;
                if (failed && strcmp(res, "ok") != 0)
                        (void) json_array_append(failed, json_object_get(c, "check"));
        }
        f = json_pack("{s:b, s:I, s:I, s:I, s:o}", "active", active, "ok", (json_int_t) counts[0],
                      "warn", (json_int_t) counts[1], "fail", (json_int_t) counts[2],
                      "failed_checks", failed);
        if (f && d->report_sha256[0])
                (void) json_object_set_new(f, "report_sha256", json_string(d->report_sha256));
        (void) session_emit(d->ctx->config_root, AUDIT_DOCTOR, NULL, f);
}

int cmd_doctor(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"json", no_argument, NULL, 'j'},
                {"endpoint", required_argument, NULL, 'e'},
                {"image", required_argument, NULL, 'i'},
                {"active", no_argument, NULL, 'a'},
                {"agent", required_argument, NULL, 'A'},
                {"network", required_argument, NULL, 'n'},
                {"output", required_argument, NULL, 'o'},
                {"color", optional_argument, NULL, 'C'},
                {0},
        };
        struct doctor d = {.ctx = ctx, .image = IMAGE_CURRENT, .checks = json_array(),
                           .network = "proxy"};
        _cleanup_free_ char *root_store = NULL;
        enum cli_color color = CLI_COLOR_AUTO;
        bool json = false, active = false;
        int status, c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        json_decref(d.checks);
                        return cli_help(usage);
                case 'j':
                        json = true;
                        break;
                case 'e':
                        d.endpoint = optarg;
                        break;
                case 'i':
                        d.image = optarg;
                        break;
                case 'a':
                        active = true;
                        break;
                case 'A':
                        d.agent = optarg;
                        break;
                case 'n':
                        d.network = optarg;
                        break;
                case 'o':
                        d.output = optarg;
                        break;
                case 'C':
                        status = cli_color_option(ctx, optarg, &color);
                        if (status >= 0) {
                                json_decref(d.checks);
                                return status;
                        }
                        break;
                default:
                        json_decref(d.checks);
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (active && optind < argc && strcmp(argv[optind - 1], "--") == 0 &&
            argc - optind <= DOCTOR_MAX_LAUNCH_ARGS) {
                d.launch_args = argv + optind;
                d.nlaunch_args = (size_t) (argc - optind);
                optind = argc;
        }
        if (optind < argc || (!active && (d.agent || d.output)) ||
            !d.network ||
            (strcmp(d.network, "proxy") != 0 && strcmp(d.network, "none") != 0)) {
                json_decref(d.checks);
                return cli_usage_error(ctx, "doctor takes no arguments; --agent, --network and "
                                            "-o go with --active; --network is proxy or none");
        }
        if (!d.checks)
                return cli_error("out of memory");
        check_engine(&d);
        check_apparmor(&d);
        check_cgroup(&d);
        check_kernel(&d);
        check_wsl(&d);
        check_install(&d);
        check_private(&d, "config-root", ctx->config_root, 0700, false);
        root_store = paths_join(ctx->config_root, "broker.d");
        if (root_store) {
                _cleanup_free_ char *master = paths_join(root_store, "master.key");

                check_private(&d, "broker-store", root_store, 0700, true);
                if (master)
                        check_private(&d, "broker-key", master, 0600, true);
        }
        check_broker(&d);
        check_image(&d);
        check_engine_space(&d);
        check_clock(&d);
        if (active)
                doctor_active(&d);
        record(&d, active);
        if (json) {
                _cleanup_json_ json_t *o = json_pack("{s:O, s:s}", "checks", d.checks, "worst",
                                                     verdict_names[d.worst]);

                if (o && d.probes)
                        (void) json_object_set(o, "probes", d.probes);
                _cleanup_buf_ struct buf b = BUF_INIT;
                struct ca_error err = {0};

                if (!o || ca_json_pretty(o, &b, &err) < 0)
                        (void) cli_error("cannot print the report");
                else
                        (void) fwrite(b.data, 1, b.len, stdout);
        } else {
                print_text(&d, cli_color_on(color, STDOUT_FILENO));
        }
        runtime_close(d.rt);
        json_decref(d.checks);
        json_decref(d.probes);
        status = d.worst == V_FAIL ? CLI_FAIL : d.worst == V_WARN ? 3 : CLI_OK;
        return cli_finish(status);
}
