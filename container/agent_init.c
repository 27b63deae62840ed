/* SPDX-License-Identifier: MIT */
/*
 * agent-init: PID 1 of an agent container (ARCHITECTURE §5 step 5). Runs as root with the few
 * capabilities the control plane needs (docs/security-model.md lists each), and:
 *
 *   1. remounts /proc with hidepid=invisible, so no UID sees another UID's processes;
 *   2. lays out per-UID homes in the /run/coding-agents tmpfs (each 0700, owned by its UID),
 *      and installs the agent's rendered MCP configuration from the read-only session
 *      directory (/run/coding-agents/config/<agent>/) into agentcli's home;
 *   3. drops CAP_SYS_ADMIN from itself and clears the bounding set it hands on;
 *   4. starts the command as `agentcli` (or `agentuser` with --as agentuser): groups cleared,
 *      setresgid/setresuid, every capability gone, no_new_privs, a fixed environment that
 *      points the agent CLI at its configuration;
 *   5. reaps every zombie, forwards SIGTERM/SIGINT/SIGHUP/SIGQUIT/SIGUSR1/SIGUSR2/SIGWINCH to
 *      the command, and when the command ends: SIGTERM to everything left, SIGKILL after the
 *      grace period, scrubs the homes (files overwritten with zeros, as their owner) and exits
 *      with the command's status (128 + signal when it was killed).
 *
 * It prints one line per step on stderr ("agent-init: ...") and never a secret.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "broker_client.h"
#include "brokercred.h"
#include "buf.h"
#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "image.h"
#include "init.h"
#include "init_helpers.h"
#include "json.h"
#include "secret.h"
#include "macro.h"
#include "parse.h"

#define CONFIG_DIR IMAGE_CONFIG_DIR
#define HOME_DIR IMAGE_HOME_DIR
#define AGENTUSER_UID IMAGE_AGENTUSER_UID
#define AGENTCLI_UID IMAGE_AGENTCLI_UID
#define MAX_CONFIG_FILE ((size_t) 4 << 20)

#if defined(__SANITIZE_ADDRESS__)
/* The sanitizer build runs as PID 1 of a container whose seccomp profile denies ptrace, which
 * LeakSanitizer's stop-the-world needs: leaks are checked by the host-side test runs instead. */
CA_EXPORT const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
        return "detect_leaks=0";
}
#endif

static const char usage[] =
        "usage: agent-init [--agent NAME] [--as agentcli|agentuser] [--grace SECONDS]\n"
        "                  [--proxy http://HOST:PORT] [--tmux] [--no-hidepid] [--quiet]\n"
        "                  -- COMMAND [ARGS...]\n"
        "\n"
        "PID 1 of a coding-agents container: hides processes between UIDs, installs the\n"
        "agent's rendered configuration from " CONFIG_DIR "/NAME into agentcli's tmpfs home,\n"
        "runs COMMAND as agentcli (no capabilities, no_new_privs), forwards signals, reaps\n"
        "zombies, and on exit stops what is left (SIGKILL after --grace, default 10 s) and\n"
        "scrubs the homes. Exits with COMMAND's status. --quiet: errors only.\n"
        "With a session manifest it also starts the stub launcher (stdio servers) and one\n"
        "mcp-helper per remote server, healthy before COMMAND starts; --proxy is the session's\n"
        "egress proxy (the helpers' way out, and HTTP(S)_PROXY for COMMAND).\n";

static const struct {
        const char *agent;
        const char *var;
} agent_env[] = {
        {"claude", "CLAUDE_CONFIG_DIR"},
        {"codex", "CODEX_HOME"},
        {"copilot", "COPILOT_HOME"},
};

static bool quiet;

#define say init_say
#define die init_die

void init_say(const char *fmt, ...)
{
        va_list ap;

        if (quiet)
                return;
        va_start(ap, fmt);
        (void) fputs("agent-init: ", stderr);
        (void) vfprintf(stderr, fmt, ap);
        (void) fputc('\n', stderr);
        va_end(ap);
}

void init_die(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        (void) fputs("agent-init: ", stderr);
        (void) vfprintf(stderr, fmt, ap);
        (void) fputc('\n', stderr);
        va_end(ap);
        exit(126);
}

/* Copies the regular files of `src` into `dst` (created 0700, still root's), each owned by `uid`. */
static int install_dir(const char *src, const char *dst, uid_t uid)
{
        _cleanup_close_ int dfd = -1;
        DIR *d;
        struct dirent *e;
        int r = 0;

        if (mkdir(dst, 0700) < 0 && errno != EEXIST)
                return -errno;
        dfd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        d = opendir(src);
        if (!d)
                return -errno;
        while ((e = readdir(d))) {
                _cleanup_close_ int in = -1, out = -1;
                char buf[65536];
                size_t total = 0;
                ssize_t n;

                if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
                        continue;
                in = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (in < 0) {
                        r = -errno;
                        break;
                }
                out = openat(dfd, e->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                             0600);
                if (out < 0) {
                        r = -errno;
                        break;
                }
                while ((n = read(in, buf, sizeof(buf))) > 0) {
                        total += (size_t) n;
                        if (total > MAX_CONFIG_FILE || write(out, buf, (size_t) n) != n) {
                                r = -EFBIG;
                                break;
                        }
                }
                if (n < 0)
                        r = -errno;
                if (r == 0 && fchown(out, uid, uid) < 0)
                        r = -errno;
                if (r < 0)
                        break;
        }
        (void) closedir(d);
        return r;
}

/* A home: <HOME_DIR>/<name>, 0700, still root's: own_home() hands it over once filled (root
 * has no DAC override here, so it cannot write into a directory it gave away). */
static void make_home(const char *name, char *path, size_t size)
{
        (void) snprintf(path, size, "%s/%s", HOME_DIR, name);
        if ((mkdir(path, 0700) < 0 && errno != EEXIST) || chmod(path, 0700) < 0)
                die("cannot create %s: %s", path, strerror(errno));
}

/* Links each entry of the image's read-only cache (/opt/coding-agents/cache: the unpacked
 * Copilot CLI) into <home>/.cache, so nothing that large lands in the tmpfs. */
static void link_cache(const char *home, uid_t uid)
{
        char dir[320], target[600], link[600];
        DIR *d = opendir(IMAGE_CACHE_DIR);
        struct dirent *e;

        if (!d)
                return;
        (void) snprintf(dir, sizeof(dir), "%s/.cache", home);
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                die("cannot create %s: %s", dir, strerror(errno));
        while ((e = readdir(d))) {
                if (e->d_name[0] == '.')
                        continue;
                (void) snprintf(target, sizeof(target), "%s/%s", IMAGE_CACHE_DIR, e->d_name);
                (void) snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
                if (symlink(target, link) < 0 && errno != EEXIST)
                        die("cannot link %s: %s", link, strerror(errno));
                if (lchown(link, uid, uid) < 0)
                        die("cannot own %s: %s", link, strerror(errno));
        }
        (void) closedir(d);
        if (chown(dir, uid, uid) < 0)
                die("cannot own %s: %s", dir, strerror(errno));
}

static void own_home(const char *path, uid_t uid)
{
        if (chown(path, uid, uid) < 0)
                die("cannot hand %s over: %s", path, strerror(errno));
}

/* Removes everything under the directory fd `dfd`, overwriting regular files with zeros. */
static void scrub_at(int dfd)
{
        DIR *d = fdopendir(dfd);
        struct dirent *e;

        if (!d) {
                (void) close(dfd);
                return;
        }
        while ((e = readdir(d))) {
                struct stat st;

                if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
                        continue;
                if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        int sub = openat(dirfd(d), e->d_name,
                                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

                        if (sub >= 0)
                                scrub_at(sub);
                        (void) unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
                        continue;
                }
                if (S_ISREG(st.st_mode)) {
                        int fd = openat(dirfd(d), e->d_name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

                        if (fd >= 0) {
                                static const char zeros[65536];
                                off_t left = st.st_size;

                                while (left > 0) {
                                        size_t n = left > (off_t) sizeof(zeros) ? sizeof(zeros)
                                                                                 : (size_t) left;
                                        if (write(fd, zeros, n) != (ssize_t) n)
                                                break;
                                        left -= (off_t) n;
                                }
                                (void) fsync(fd);
                                (void) close(fd);
                        }
                }
                (void) unlinkat(dirfd(d), e->d_name, 0);
        }
        (void) closedir(d);
}

/* Scrubs a home as its owner (root has no DAC override here), then removes it. */
void init_scrub_dir(const char *path, uid_t uid)
{
        pid_t pid = fork();

        if (pid == 0) {
                int fd;

                if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
                    setresuid(uid, uid, uid) < 0)
                        _exit(1);
                fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd >= 0)
                        scrub_at(fd);
                _exit(0);
        }
        if (pid > 0)
                (void) waitpid(pid, NULL, 0);
        if (rmdir(path) < 0 && errno != ENOENT)
                say("cannot remove %s: %s", path, strerror(errno));
}

/* Drops CAP_SYS_ADMIN from this process for good; the rest stays for the control plane. */
static void drop_sys_admin(void)
{
        cap_t caps = cap_get_proc();
        cap_value_t v = CAP_SYS_ADMIN;

        if (!caps || cap_set_flag(caps, CAP_EFFECTIVE, 1, &v, CAP_CLEAR) < 0 ||
            cap_set_flag(caps, CAP_PERMITTED, 1, &v, CAP_CLEAR) < 0 ||
            cap_set_flag(caps, CAP_INHERITABLE, 1, &v, CAP_CLEAR) < 0 || cap_set_proc(caps) < 0)
                die("cannot drop CAP_SYS_ADMIN: %s", strerror(errno));
        cap_free(caps);
        if (prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0) < 0 && errno != EINVAL)
                die("cannot drop CAP_SYS_ADMIN from the bounding set: %s", strerror(errno));
}

/*
 * Redeems the agent CLI credential (IMAGE_CREDENTIAL, bind-mounted by the host) at the
 * session's broker socket, as root in this process: the broker attests UID 0, the session's
 * cgroup and this binary's SHA-256. A file credential is written into `agent_dir` (0600,
 * agentcli); an environment credential is returned in *env_value ("NAME=value", for the CLI
 * only). No credential file: nothing to do. Any failure stops the session.
 */
static void redeem_credential(const char *agent, const char *agent_dir, char **env_value)
{
        struct broker_credential cred;
        struct broker_redeemed got[1];
        struct ca_error err = {0};
        const struct image_credential *c;
        int n;

        *env_value = NULL;
        if (access(IMAGE_CREDENTIAL, F_OK) < 0)
                return;
        if (!agent)
                die("a credential was given without --agent");
        if (brokercred_load(IMAGE_CREDENTIAL, &cred, &err) < 0)
                die("%s", err.msg);
        n = brokercred_redeem(&cred, NULL, got, 1, &err);
        brokercred_clear(&cred);
        if (n < 0)
                die("the broker refused the %s credential: %s", agent, err.msg);
        if (n != 1 || !(c = image_credential_find(agent, got[0].name))) {
                broker_redeemed_clear(got, (size_t) n);
                die("the broker returned an unexpected secret for %s", agent);
        }
        if (c->file) {
                _cleanup_close_ int dfd = open(agent_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int fd = -1;

                if (dfd >= 0)
                        fd = openat(dfd, c->file,
                                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0 || fileio_write_all(fd, got[0].value->buf, got[0].value->len) < 0 ||
                    fchown(fd, AGENTCLI_UID, AGENTCLI_UID) < 0) {
                        broker_redeemed_clear(got, 1);
                        die("cannot install the %s credential: %s", agent, strerror(errno));
                }
        } else if (c->env) {
                size_t len = strlen(c->env) + 1 + got[0].value->len + 1;

                *env_value = malloc(len);
                if (!*env_value) {
                        broker_redeemed_clear(got, 1);
                        die("out of memory");
                }
                (void) snprintf(*env_value, len, "%s=%.*s", c->env, (int) got[0].value->len,
                                (const char *) got[0].value->buf);
        }
        broker_redeemed_clear(got, 1);
        say("redeemed the %s credential for agentcli", agent);
}

/*
 * The stdio MCP servers (docs/stubs.md): when the session's manifest names any, links
 * mcp-stub-<name> for each into IMAGE_STUB_BIN (on agentcli's PATH) and starts
 * mcp-stub-launcher as root, keeping CAP_SYS_ADMIN for the servers' namespaces (this process
 * drops it right after), and waits until it listens. Its per-server credentials are the
 * host's, in the control directory.
 */
static pid_t launcher_pid;

static struct init_helpers *helpers;

/* Whether this process has no child left but the control plane's: the stub launcher and the
 * helpers (/proc/.../children). */
static bool only_control_plane_left(void)
{
        char path[64], buf[4096];
        ssize_t n;
        int fd;

        (void) snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int) gettid());
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = read(fd, buf, sizeof(buf) - 1);
        (void) close(fd);
        if (n < 0)
                return false;
        buf[n] = '\0';
        for (char *tok = buf; *tok;) {
                long pid = 0;

                while (*tok == ' ')
                        tok++;
                if (!*tok)
                        break;
                while (*tok >= '0' && *tok <= '9')
                        pid = pid * 10 + (*tok++ - '0');
                if (pid != (long) launcher_pid && !init_helpers_owns(helpers, (pid_t) pid))
                        return false;
        }
        return true;
}

/* The session manifest, or NULL when the session has none (agent-init run by hand). */
static json_t *load_manifest(void)
{
        _cleanup_buf_ struct buf text = BUF_INIT;
        struct ca_error err = {0};
        json_t *manifest = NULL;

        if (access(IMAGE_CONFIG_DIR "/manifest.json", F_OK) < 0)
                return NULL;
        if (fileio_read_path(IMAGE_CONFIG_DIR "/manifest.json", (size_t) 16 << 20, &text, &err) <
                    0 ||
            ca_json_parse(text.data, text.len, "manifest.json", &manifest, &err) < 0)
                die("%s", err.msg);
        return manifest;
}

static void start_stub_launcher(const json_t *manifest)
{
        int pipefd[2], n = 0;
        char line[16] = "";
        size_t i;
        json_t *srv;
        pid_t pid;

        if (!manifest)
                return;
        if ((mkdir(IMAGE_STUB_BIN, 0755) < 0 && errno != EEXIST) || chmod(IMAGE_STUB_BIN, 0755) < 0)
                die("cannot create %s: %s", IMAGE_STUB_BIN, strerror(errno));
        json_array_foreach(json_object_get(manifest, "servers"), i, srv) {
                const char *name = json_string_value(json_object_get(srv, "name"));
                const char *t = json_string_value(json_object_get(srv, "transport"));
                char link[300];

                if (!name || !t || strcmp(t, "stdio") != 0 || strchr(name, '/'))
                        continue;
                (void) snprintf(link, sizeof(link), "%s/mcp-stub-%s", IMAGE_STUB_BIN, name);
                if (symlink(IMAGE_BIN_DIR "/mcp-stub", link) < 0 && errno != EEXIST)
                        die("cannot link %s: %s", link, strerror(errno));
                n++;
        }
        if (n == 0)
                return;
        /* (umask is 077 here: modes are set explicitly.) */
        if ((mkdir(IMAGE_STUB_RUN, 0711) < 0 && errno != EEXIST) || chmod(IMAGE_STUB_RUN, 0711) < 0 ||
            (mkdir(IMAGE_STUB_CREDENTIALS, 0700) < 0 && errno != EEXIST))
                die("cannot create the stubs' directories: %s", strerror(errno));
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                die("pipe: %s", strerror(errno));
        pid = fork();
        if (pid < 0)
                die("fork: %s", strerror(errno));
        if (pid == 0) {
                char uid[16];
                char *args[] = {(char *) IMAGE_BIN_DIR "/mcp-stub-launcher",
                                (char *) "--manifest",
                                (char *) IMAGE_CONFIG_DIR "/manifest.json",
                                (char *) "--socket",
                                (char *) IMAGE_STUB_SOCKET,
                                (char *) "--agent-uid",
                                uid,
                                (char *) "--credentials",
                                (char *) IMAGE_STUB_CREDENTIALS,
                                (char *) "--run-dir",
                                (char *) IMAGE_STUB_RUN,
                                NULL, NULL, NULL};

                /* Its stub-start / stub-stop events go to the host's log (with the manifest's
                 * session). */
                if (access(IMAGE_EVENTS_LOG, F_OK) == 0) {
                        args[11] = (char *) "--events";
                        args[12] = (char *) IMAGE_EVENTS_LOG;
                }

                (void) snprintf(uid, sizeof(uid), "%d", AGENTCLI_UID);
                if (dup2(pipefd[1], STDOUT_FILENO) < 0)
                        _exit(126);
                execv(args[0], args);
                _exit(127);
        }
        launcher_pid = pid;
        (void) close(pipefd[1]);
        /* "ready\n" once it listens; anything else (or its end) is a failure. */
        for (size_t got = 0; got + 1 < sizeof(line);) {
                ssize_t r = read(pipefd[0], line + got, 1);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0 || line[got] == '\n')
                        break;
                got++;
        }
        (void) close(pipefd[0]);
        if (strncmp(line, "ready", 5) != 0)
                die("mcp-stub-launcher did not start");
        say("stub launcher ready for %d stdio server%s", n, n == 1 ? "" : "s");
}

struct child_opts {
        uid_t uid;
        const char *user;
        const char *home;
        const char *agent_var;   /* CLAUDE_CONFIG_DIR ..., or NULL */
        const char *agent_dir;
        const char *credential_env; /* "NAME=value" or NULL */
        bool tmux;                  /* TMUX_TMPDIR = home: the agent's tmux socket is private */
        const char *extra[72];      /* helper tokens, proxy settings */
        size_t nextra;
        char **argv;
        sigset_t mask;
};

void init_become(uid_t uid, const char *user)
{
        cap_t none;

        /* Bounding set first (needs CAP_SETPCAP), then the UID change clears the rest. */
        for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        die("cannot clear the bounding set: %s", strerror(errno));
        if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
            setresuid(uid, uid, uid) < 0)
                die("cannot become %s: %s", user, strerror(errno));
        none = cap_init();
        if (!none || cap_set_proc(none) < 0)
                die("cannot clear capabilities: %s", strerror(errno));
        cap_free(none);
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 ||
            prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                die("cannot lock privileges: %s", strerror(errno));
}

CA_NORETURN static void exec_child(const struct child_opts *o)
{
        char *env[18 + CA_ELEMENTSOF(o->extra)];
        size_t n = 0;
        char home[320], user[64], logname[64], agentvar[400], term[96], tmuxdir[340];
        const char *t = secure_getenv("TERM");
        const char *session = secure_getenv("CODING_AGENTS_SESSION");
        char sess[160];

        init_become(o->uid, o->user);
        if (sigprocmask(SIG_UNBLOCK, &o->mask, NULL) < 0)
                die("cannot unblock signals: %s", strerror(errno));
        (void) snprintf(home, sizeof(home), "HOME=%s", o->home);
        (void) snprintf(user, sizeof(user), "USER=%s", o->user);
        (void) snprintf(logname, sizeof(logname), "LOGNAME=%s", o->user);
        env[n++] = (char *) "PATH=" IMAGE_STUB_BIN ":/usr/local/bin:/usr/bin:/bin";
        env[n++] = home;
        env[n++] = user;
        env[n++] = logname;
        env[n++] = (char *) "LANG=C.UTF-8";
        env[n++] = (char *) "SHELL=/bin/bash";
        /* The vendor CLIs must not update themselves in a read-only image. */
        env[n++] = (char *) "DISABLE_AUTOUPDATER=1";
        env[n++] = (char *) "NO_UPDATE_NOTIFIER=1";
        if (t && strlen(t) < 64) {
                (void) snprintf(term, sizeof(term), "TERM=%s", t);
                env[n++] = term;
        }
        if (session && strlen(session) < 120) {
                (void) snprintf(sess, sizeof(sess), "CODING_AGENTS_SESSION=%s", session);
                env[n++] = sess;
        }
        if (o->agent_var) {
                (void) snprintf(agentvar, sizeof(agentvar), "%s=%s", o->agent_var, o->agent_dir);
                env[n++] = agentvar;
        }
        if (o->credential_env)
                env[n++] = (char *) o->credential_env;
        if (o->tmux) {
                (void) snprintf(tmuxdir, sizeof(tmuxdir), "TMUX_TMPDIR=%s", o->home);
                env[n++] = tmuxdir;
        }
        for (size_t i = 0; i < o->nextra; i++)
                env[n++] = (char *) o->extra[i];
        env[n] = NULL;
        if (chdir(IMAGE_WORKSPACE) < 0 && chdir(o->home) < 0)
                die("cannot enter /workspace: %s", strerror(errno));
        environ = env;
        execvp(o->argv[0], o->argv);
        say("cannot run '%s': %s", o->argv[0], strerror(errno));
        _exit(127);
}

/* Waits for everything but us to be gone, SIGKILL after `grace` seconds. */
static void stop_everything(int sfd, unsigned grace)
{
        _cleanup_close_ int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
        struct itimerspec its = {.it_value = {.tv_sec = (time_t) grace}};
        bool killed = false;

        if (kill(-1, SIGTERM) < 0 && errno == ESRCH)
                return;
        if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0) {
                (void) kill(-1, SIGKILL);
                killed = true;
        }
        for (;;) {
                struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN}, {.fd = tfd, .events = POLLIN}};
                struct signalfd_siginfo si;

                while (waitpid(-1, NULL, WNOHANG) > 0)
                        ;
                if (kill(-1, 0) < 0 && errno == ESRCH)
                        return;
                if (poll(pfd, tfd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
                        return;
                if (pfd[0].revents & POLLIN)
                        (void) !read(sfd, &si, sizeof(si));
                if (tfd >= 0 && (pfd[1].revents & POLLIN) && !killed) {
                        uint64_t x;

                        (void) !read(tfd, &x, sizeof(x));
                        say("grace period over: SIGKILL to what is left");
                        (void) kill(-1, SIGKILL);
                        killed = true;
                }
        }
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"agent", required_argument, NULL, 'a'},
                {"as", required_argument, NULL, 'u'},
                {"grace", required_argument, NULL, 'g'},
                {"no-hidepid", no_argument, NULL, 'P'},
                {"quiet", no_argument, NULL, 'q'},
                {"tmux", no_argument, NULL, 't'},
                {"proxy", required_argument, NULL, 'x'},
                {0},
        };
        static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
        struct child_opts co = {.uid = AGENTCLI_UID, .user = "agentcli"};
        char cli_home[256], user_home[256], agent_dir[320] = "";
        char *credential_env = NULL;
        const char *agent = NULL, *proxy = NULL;
        const char *session = secure_getenv("CODING_AGENTS_SESSION");
        _cleanup_json_ json_t *manifest = NULL;
        char proxy_env[4][300];
        uint64_t grace = 10;
        bool hidepid = true;
        int c, sfd, status = 0;
        pid_t child;

        /* PID 1 redeems the agent's credential and hosts the stub launcher: no core, not
         * dumpable, and not in /workspace (a relative core pattern writes to the crashing
         * process's directory; the agent itself is started there explicitly). */
        if (secret_protect_process(true) < 0)
                say("cannot protect the process, ignoring");

        while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        (void) fputs(usage, stdout);
                        return 0;
                case 'a':
                        agent = optarg;
                        break;
                case 'u':
                        if (strcmp(optarg, "agentuser") == 0) {
                                co.uid = AGENTUSER_UID;
                                co.user = "agentuser";
                        } else if (strcmp(optarg, "agentcli") != 0) {
                                die("--as takes agentcli or agentuser");
                        }
                        break;
                case 'g':
                        if (parse_uint(optarg, 0, 3600, &grace) < 0)
                                die("--grace takes seconds (0-3600)");
                        break;
                case 'P':
                        hidepid = false;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 't':
                        co.tmux = true;
                        break;
                case 'x':
                        if (strncmp(optarg, "http://", 7) != 0 || strlen(optarg) > 200)
                                die("--proxy takes http://HOST:PORT");
                        proxy = optarg;
                        break;
                default:
                        (void) fputs(usage, stderr);
                        return 2;
                }
        }
        if (optind >= argc) {
                (void) fputs(usage, stderr);
                return 2;
        }
        co.argv = argv + optind;
        if (co.tmux) {
                /* The command runs in a detached tmux session "agent" of agentcli's own
                 * server, which outlives this client; the session ends with the command. */
                static const char *const pre[] = {"tmux", "-f", "/dev/null", "new-session", "-d",
                                                  "-s", "agent", "-x", "200", "-y", "50"};
                size_t k = CA_ELEMENTSOF(pre), nargs = (size_t) (argc - optind);
                char **v = calloc(k + nargs + 1, sizeof(*v));

                if (!v)
                        die("out of memory");
                for (size_t i = 0; i < k; i++)
                        v[i] = (char *) pre[i];
                for (size_t i = 0; i < nargs; i++)
                        v[k + i] = argv[optind + (int) i];
                co.argv = v;
        }
        if (getuid() != 0)
                die("must start as root (PID 1 of the container)");
        if (sodium_init() < 0)
                die("libsodium failed to initialise");
        sigemptyset(&co.mask);
        sigaddset(&co.mask, SIGCHLD);
        for (size_t i = 0; i < CA_ELEMENTSOF(forwarded); i++)
                sigaddset(&co.mask, forwarded[i]);
        if (sigprocmask(SIG_BLOCK, &co.mask, NULL) < 0)
                die("cannot block signals: %s", strerror(errno));
        sfd = signalfd(-1, &co.mask, SFD_CLOEXEC);
        if (sfd < 0)
                die("signalfd: %s", strerror(errno));

        if (hidepid && mount(NULL, "/proc", NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                             "hidepid=invisible") < 0)
                die("cannot remount /proc with hidepid: %s", strerror(errno));
        umask(077);
        /* The broker socket and the credential: the control plane's alone, before anything
         * else runs. */
        if (chmod(IMAGE_CONTROL_DIR, 0700) < 0 && errno != ENOENT)
                die("cannot close %s: %s", IMAGE_CONTROL_DIR, strerror(errno));
        /* 0711: each UID reaches its own home, nobody lists the others. */
        if ((mkdir(HOME_DIR, 0711) < 0 && errno != EEXIST) || chmod(HOME_DIR, 0711) < 0)
                die("cannot create %s: %s", HOME_DIR, strerror(errno));
        make_home("agentcli", cli_home, sizeof(cli_home));
        make_home("agentuser", user_home, sizeof(user_home));
        co.home = co.uid == AGENTCLI_UID ? cli_home : user_home;
        if (agent) {
                char src[300];
                size_t i;

                for (i = 0; i < CA_ELEMENTSOF(agent_env); i++)
                        if (strcmp(agent_env[i].agent, agent) == 0)
                                break;
                if (i == CA_ELEMENTSOF(agent_env))
                        die("unknown agent '%s'", agent);
                (void) snprintf(src, sizeof(src), "%s/%s", CONFIG_DIR, agent);
                (void) snprintf(agent_dir, sizeof(agent_dir), "%s/%s", cli_home, agent);
                int r = install_dir(src, agent_dir, AGENTCLI_UID);

                if (r < 0)
                        die("cannot install the %s configuration from %s: %s", agent, src,
                            strerror(-r));
                co.agent_var = agent_env[i].var;
                co.agent_dir = agent_dir;
                say("installed the %s configuration for agentcli", agent);
        }
        redeem_credential(agent, agent_dir, &credential_env);
        co.credential_env = credential_env;
        if (agent && chown(agent_dir, AGENTCLI_UID, AGENTCLI_UID) < 0)
                die("cannot hand %s over: %s", agent_dir, strerror(errno));
        link_cache(cli_home, AGENTCLI_UID);
        own_home(cli_home, AGENTCLI_UID);
        own_home(user_home, AGENTUSER_UID);
        manifest = load_manifest();
        start_stub_launcher(manifest);
        drop_sys_admin();
        /* The remote servers' helpers, healthy before the agent starts; their local tokens
         * (and the proxy, in proxy mode) are in the agent's environment only. */
        init_helpers_start(manifest, session, proxy, &helpers);
        co.nextra = init_helpers_env(helpers, co.extra, CA_ELEMENTSOF(co.extra) - 6);
        if (proxy) {
                static const char *const vars[] = {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                                                   "https_proxy"};

                for (size_t i = 0; i < CA_ELEMENTSOF(vars); i++) {
                        (void) snprintf(proxy_env[i], sizeof(proxy_env[i]), "%s=%s", vars[i],
                                        proxy);
                        co.extra[co.nextra++] = proxy_env[i];
                }
                /* The helpers are local: never through the proxy. */
                co.extra[co.nextra++] = "NO_PROXY=127.0.0.1,localhost,::1";
                co.extra[co.nextra++] = "no_proxy=127.0.0.1,localhost,::1";
        }

        child = fork();
        if (child < 0)
                die("fork: %s", strerror(errno));
        if (child == 0)
                exec_child(&co);
        if (credential_env) {
                sodium_memzero(credential_env, strlen(credential_env));
                free(credential_env);
                co.credential_env = NULL;
        }
        say("started '%s' as %s (pid %d)", co.argv[0], co.user, (int) child);

        for (;;) {
                struct signalfd_siginfo si;
                pid_t p;
                int st;

                struct pollfd pfd[1 + 1 + 64];
                size_t npfd = 1;

                pfd[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
                npfd += init_helpers_pollfds(helpers, pfd + 1, CA_ELEMENTSOF(pfd) - 1);
                if (poll(pfd, (nfds_t) npfd, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        die("poll: %s", strerror(errno));
                }
                init_helpers_dispatch(helpers);
                if (!(pfd[0].revents & POLLIN))
                        continue;
                if (read(sfd, &si, sizeof(si)) != (ssize_t) sizeof(si)) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        die("signalfd read: %s", strerror(errno));
                }
                if (si.ssi_signo != SIGCHLD) {
                        if (child > 0) {
                                (void) kill(child, (int) si.ssi_signo);
                                continue;
                        }
                        /* tmux mode, the client gone: a stop request ends the session. */
                        if (si.ssi_signo == SIGWINCH)
                                continue;
                        status = 128 + (int) si.ssi_signo;
                        break;
                }
                while ((p = waitpid(-1, &st, WNOHANG)) > 0)
                        if (init_helpers_reaped(helpers, p, st))
                                continue;
                        else if (p == child) {
                                status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                                child = 0;
                        }
                if (child > 0)
                        continue;
                /* The tmux client has set the session up and left: the session lives in its
                 * server, reparented to us, until no process is left. */
                if (!co.tmux || status != 0 || (p < 0 && errno == ECHILD) ||
                    ((launcher_pid > 0 || helpers) && only_control_plane_left()))
                        break;
        }
        say("'%s' exited with status %d; stopping the rest", co.argv[0], status);
        init_helpers_stopping(helpers);
        stop_everything(sfd, (unsigned) grace);
        init_helpers_finish(helpers);
        helpers = NULL;
        init_scrub_dir(cli_home, AGENTCLI_UID);
        init_scrub_dir(user_home, AGENTUSER_UID);
        say("homes scrubbed; exiting with %d", status);
        return status;
}
