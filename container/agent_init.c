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
#include <sys/fsuid.h>
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
#include "log.h"
#include "macro.h"
#include "manifest.h"
#include "modelcred.h"
#include "parse.h"
#include "privdrop.h"
#include "runproto.h"
#include "scrub.h"
#include "secret.h"
#include "statecopy.h"

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
        "scrubs the homes. Exits with COMMAND's status. --quiet: warnings and errors only.\n"
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

#define say log_info
#define die init_die

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

/* Scrubs a home as its owner (scrub.h), then removes it. */
static void scrub_home(const char *path, uid_t uid)
{
        if (scrub_remove_dir(path, uid) < 0)
                log_warn("cannot scrub %s, ignoring", path);
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

/* A new file `name` in the agent's configuration directory, 0600 agentcli: 0, or -1 (errno). */
static int install_cli_file(const char *agent_dir, const char *name, const void *data,
                            size_t len)
{
        _cleanup_close_ int dfd = open(agent_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int fd = -1;

        if (dfd >= 0)
                fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 || fileio_write_all(fd, data, len) < 0 ||
            fchown(fd, AGENTCLI_UID, AGENTCLI_UID) < 0)
                return -1;
        return 0;
}

/* install_cli_file() as agentcli, once its directory is its own (this process no longer has
 * CAP_DAC_OVERRIDE to enter it). */
static int install_cli_file_as_cli(const char *agent_dir, const char *name, const void *data,
                                   size_t len)
{
        const char *step;
        int status;
        pid_t pid = fork();

        if (pid < 0)
                return -1;
        if (pid == 0)
                _exit(privdrop_become(AGENTCLI_UID, &step) < 0 ||
                      install_cli_file(agent_dir, name, data, len) < 0); /* forked child */
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -1;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
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
        /* Only the control plane's mount of the session socket, whatever the file names. */
        n = brokercred_redeem(&cred, IMAGE_BROKER_SOCKET, got, 1, &err);
        brokercred_clear(&cred);
        if (n < 0)
                die("the broker refused the %s credential: %s", agent, err.msg);
        if (n != 1 || !(c = image_credential_find(agent, got[0].name))) {
                broker_redeemed_clear(got, (size_t) n);
                die("the broker returned an unexpected secret for %s", agent);
        }
        if (c->file) {
                if (install_cli_file(agent_dir, c->file, got[0].value->buf, got[0].value->len) <
                    0) {
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
 * Starts a control-plane program as root with its stdout a pipe, and waits for its first line:
 * one that begins with `ready` means it is serving; anything else, or its end, stops the session.
 */
static pid_t start_ready(char *const *args, const char *ready, const char *what)
{
        int pipefd[2];
        char line[128] = "";
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                die("pipe: %s", strerror(errno));
        pid = fork();
        if (pid < 0)
                die("fork: %s", strerror(errno));
        if (pid == 0) {
                sigset_t none;

                /* This process's signals are blocked (its signalfd): not the program's. */
                sigemptyset(&none);
                if (sigprocmask(SIG_SETMASK, &none, NULL) < 0 ||
                    dup2(pipefd[1], STDOUT_FILENO) < 0)
                        _exit(126);
                execv(args[0], args);
                _exit(127);
        }
        (void) close(pipefd[1]);
        for (size_t got = 0; got + 1 < sizeof(line);) {
                ssize_t r = read(pipefd[0], line + got, 1);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0 || line[got] == '\n')
                        break;
                got++;
        }
        (void) close(pipefd[0]);
        if (strncmp(line, ready, strlen(ready)) != 0)
                die("%s did not start", what);
        return pid;
}

/*
 * The stdio MCP servers (docs/stubs.md): when the session's manifest names any, links
 * mcp-stub-<name> for each into IMAGE_STUB_BIN (on agentcli's PATH) and starts
 * mcp-stub-launcher as root, keeping CAP_SYS_ADMIN for the servers' namespaces (this process
 * drops it right after), and waits until it listens. Its per-server credentials are the
 * host's, in the control directory.
 */
static pid_t launcher_pid;
static pid_t runner_pid;
static pid_t guard_pid;

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
                if (pid != (long) launcher_pid && pid != (long) runner_pid &&
                    pid != (long) guard_pid &&
                    !init_helpers_owns(helpers, (pid_t) pid))
                        return false;
        }
        return true;
}

/* The session manifest, validated (manifest.h); empty when the session has none (agent-init
 * run by hand). */
static void load_manifest(struct manifest *m)
{
        struct ca_error err = {0};

        if (access(IMAGE_CONFIG_DIR "/manifest.json", F_OK) < 0)
                return;
        if (manifest_load(IMAGE_CONFIG_DIR "/manifest.json", m, &err) < 0)
                die("%s", err.msg);
}

static void start_stub_launcher(const struct manifest *m)
{
        int n = 0;

        if (!m->json)
                return;
        if ((mkdir(IMAGE_STUB_BIN, 0755) < 0 && errno != EEXIST) || chmod(IMAGE_STUB_BIN, 0755) < 0)
                die("cannot create %s: %s", IMAGE_STUB_BIN, strerror(errno));
        for (size_t i = 0; i < m->nservers; i++) {
                char link[300];

                if (m->servers[i].transport != MANIFEST_STDIO)
                        continue;
                (void) snprintf(link, sizeof(link), "%s/mcp-stub-%s", IMAGE_STUB_BIN,
                                m->servers[i].name);
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
        {
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
                launcher_pid = start_ready(args, "ready", "mcp-stub-launcher");
        }
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

CA_NORETURN static void exec_child(const struct child_opts *o)
{
        char *env[26 + CA_ELEMENTSOF(o->extra)];
        size_t n = 0;
        char home[320], user[64], logname[64], agentvar[400], term[96], tmuxdir[340];
        const char *t = secure_getenv("TERM");
        const char *session = secure_getenv("CODING_AGENTS_SESSION");
        char sess[160];
        const char *step;
        /* The CLI's primary group is the workload user's (its own stays a supplementary
         * one), and both create files group-writable: what the CLI writes in the workspace the
         * commands it runs can change, and the other way round. */
        const gid_t own = (gid_t) o->uid;
        int r = o->uid == AGENTCLI_UID
                        ? privdrop_become_member(o->uid, (gid_t) AGENTUSER_UID, &own, 1, &step)
                        : privdrop_become(o->uid, &step);

        if (r < 0)
                die("cannot become %s (%s): %s", o->user, step, strerror(-r));
        umask(002);
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
        /* The git the CLI runs itself (its status, its history) runs none of the repository's
         * programs: no hooks, no fsmonitor, no ext:: transport; what git would still run
         * through a shell (filters, pagers) goes through the shim, as agentuser. The task
         * runner leaves these out of the workload's environment. */
        env[n++] = (char *) "GIT_CONFIG_COUNT=3";
        env[n++] = (char *) "GIT_CONFIG_KEY_0=core.hooksPath";
        env[n++] = (char *) "GIT_CONFIG_VALUE_0=/dev/null";
        env[n++] = (char *) "GIT_CONFIG_KEY_1=core.fsmonitor";
        env[n++] = (char *) "GIT_CONFIG_VALUE_1=false";
        env[n++] = (char *) "GIT_CONFIG_KEY_2=protocol.ext.allow";
        env[n++] = (char *) "GIT_CONFIG_VALUE_2=never";
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

/* What main's phases share. */
struct init_run {
        struct child_opts co;
        const char *agent;
        const char *proxy;
        const char *session;
        uint64_t grace;
        bool hidepid;
        char cli_home[256];
        char user_home[256];
        char agent_dir[320];
        char *credential_env;
        char proxy_env[4][300];
        char model_env[2][160];
        struct manifest manifest;
        int sfd;
        pid_t child;
};

/* ---- the agent CLI's saved state (issue 26) ------------------------------------------------ */

static void state_refused(void *ctx, const char *path, const char *why)
{
        const struct init_run *run = ctx;

        log_warn("the %s state: left out %s: %s", run->agent, path, why);
        init_event(AUDIT_STATE_REFUSED, run->session,
                   json_pack("{s:s, s:s, s:s, s:s}", "agent", run->agent, "path", path, "reason",
                             why, "where", "container"));
}

/* At launch, as root into the agent's directory (still root's): what the host saved, each
 * file handed to agentcli. The rendered configuration is there first and wins. A state that
 * cannot be brought in whole stops the session: it would be saved back without the rest. */
static void load_state(struct init_run *run)
{
        _cleanup_close_ int src = -1, dst = -1;
        struct statecopy_opts o = {
                .top = statecopy_agent_top(run->agent),
                .lim = STATECOPY_LIMITS_DEFAULT,
                .read_fsuid = -1,
                .owner = AGENTCLI_UID,
                .refused = state_refused,
                .ctx = run,
        };
        struct statecopy_result res;
        struct ca_error err = {0};

        if (!o.top || access(IMAGE_STATE_IN, F_OK) < 0)
                return;
        src = open(IMAGE_STATE_IN, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        dst = open(run->agent_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (src < 0 || dst < 0)
                die("cannot open the %s state: %s", run->agent, strerror(errno));
        if (statecopy_tree(src, dst, &o, &res, &err) < 0)
                die("cannot bring in the %s state: %s", run->agent, err.msg);
        say("brought in the %s state: %u files, %llu bytes", run->agent, res.files,
            (unsigned long long) res.bytes);
}

/*
 * At the end, everything stopped: the agent's state, read as agentcli (whose files they are,
 * and who could have put anything there), written as root into the host's state-out/tree,
 * then state-out/done, which tells the host the copy is whole.
 */
static void save_state(const struct init_run *run)
{
        _cleanup_close_ int out = -1, tree = -1, src = -1, done = -1;
        struct statecopy_opts o = {
                .top = statecopy_agent_top(run->agent),
                .lim = STATECOPY_LIMITS_DEFAULT,
                .read_fsuid = AGENTCLI_UID,
                .owner = -1,
                .refused = state_refused,
                .ctx = (void *) run,
        };
        struct statecopy_result res;
        struct ca_error err = {0};

        if (!o.top || !run->agent_dir[0] || access(IMAGE_STATE_OUT, F_OK) < 0)
                return;
        out = open(IMAGE_STATE_OUT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (out < 0 || mkdirat(out, "tree", 0700) < 0 ||
            (tree = openat(out, "tree", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
                log_warn("cannot hand the %s state back: %s", run->agent, strerror(errno));
                return;
        }
        (void) setfsuid(AGENTCLI_UID);
        src = open(run->agent_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        (void) setfsuid(0);
        if (src < 0) {
                log_warn("cannot read the %s state: %s", run->agent, strerror(errno));
                return;
        }
        if (statecopy_tree(src, tree, &o, &res, &err) < 0) {
                log_warn("cannot hand the %s state back: %s", run->agent, err.msg);
                return;
        }
        done = openat(out, "done", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (done < 0) {
                log_warn("cannot hand the %s state back: %s", run->agent, strerror(errno));
                return;
        }
        say("handed the %s state back: %u files, %llu bytes, %u left out", run->agent,
            res.files, (unsigned long long) res.bytes, res.refused);
}

/*
 * The session's own COMMAND is the user's, not the model's: when it is a shell (sh -c ..., the
 * image's bash and sh being the shim that routes agentcli's shells to the task runner), it is
 * the real one. What that shell and the CLI then start goes through the shim.
 */
static void real_shell_for_command(char **argv)
{
        static const char *const real[] = {IMAGE_SHELLS_DIR "/bash", IMAGE_SHELLS_DIR "/dash"};
        const char *slash = argv[0] ? strrchr(argv[0], '/') : NULL;
        const char *base = slash ? slash + 1 : argv[0];

        if (!base || (strcmp(base, "sh") != 0 && strcmp(base, "dash") != 0 &&
                      strcmp(base, "bash") != 0 && strcmp(base, "rbash") != 0))
                return;
        if (slash && strncmp(argv[0], "/usr/bin/", 9) != 0 && strncmp(argv[0], "/bin/", 5) != 0)
                return;
        argv[0] = (char *) real[strcmp(run_shell_for(base), "bash") == 0 ? 0 : 1];
}

/* Options; returns -1 to go on, or the exit status (--help, usage errors). */
static int parse_options(struct init_run *run, int argc, char **argv)
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
        int c;

        while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        (void) fputs(usage, stdout);
                        return 0;
                case 'a':
                        run->agent = optarg;
                        break;
                case 'u':
                        if (strcmp(optarg, "agentuser") == 0) {
                                run->co.uid = AGENTUSER_UID;
                                run->co.user = "agentuser";
                        } else if (strcmp(optarg, "agentcli") != 0) {
                                die("--as takes agentcli or agentuser");
                        }
                        break;
                case 'g':
                        if (parse_uint(optarg, 0, 3600, &run->grace) < 0)
                                die("--grace takes seconds (0-3600)");
                        break;
                case 'P':
                        run->hidepid = false;
                        break;
                case 'q':
                        log_set_level(LOG_LEVEL_WARN);
                        break;
                case 't':
                        run->co.tmux = true;
                        break;
                case 'x':
                        if (strncmp(optarg, "http://", 7) != 0 || strlen(optarg) > 200)
                                die("--proxy takes http://HOST:PORT");
                        run->proxy = optarg;
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
        run->co.argv = argv + optind;
        real_shell_for_command(run->co.argv);
        if (run->co.tmux) {
                /* The command runs in a detached tmux session "agent" of agentcli's own
                 * server, which outlives this client; the session ends with the command. */
                static const char *const pre[] = {"tmux", "-f", "/dev/null", "new-session", "-d",
                                                  "-s", "agent", "-x", "200", "-y", "50"};
                size_t k = CA_ELEMENTSOF(pre), nargs = (size_t) (argc - optind);
                char **v = calloc(k + nargs + 2, sizeof(*v));

                if (!v)
                        die("out of memory");
                for (size_t i = 0; i < k; i++)
                        v[i] = (char *) pre[i];
                /* tmux runs a one-word command through $SHELL -c (here: the shim, which would
                 * hand the agent itself to the task runner); with two or more words it execs. */
                if (nargs == 1)
                        v[k++] = (char *) "/usr/bin/env";
                for (size_t i = 0; i < nargs; i++)
                        v[k + i] = run->co.argv[i];
                run->co.argv = v;
        }
        return -1;
}

/* Signals: forwarded ones and SIGCHLD blocked and read through a signalfd. */
static void take_signals(struct init_run *run)
{
        static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

        sigemptyset(&run->co.mask);
        sigaddset(&run->co.mask, SIGCHLD);
        for (size_t i = 0; i < CA_ELEMENTSOF(forwarded); i++)
                sigaddset(&run->co.mask, forwarded[i]);
        if (sigprocmask(SIG_BLOCK, &run->co.mask, NULL) < 0)
                die("cannot block signals: %s", strerror(errno));
        run->sfd = signalfd(-1, &run->co.mask, SFD_CLOEXEC);
        if (run->sfd < 0)
                die("signalfd: %s", strerror(errno));
}

/* Steps 1-2: /proc, the control directory, the homes, the agent's configuration and
 * credential. */
static void lay_out(struct init_run *run)
{
        if (run->hidepid && mount(NULL, "/proc", NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC,
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
        make_home("agentcli", run->cli_home, sizeof(run->cli_home));
        make_home("agentuser", run->user_home, sizeof(run->user_home));
        run->co.home = run->co.uid == AGENTCLI_UID ? run->cli_home : run->user_home;
        if (run->agent) {
                char src[300];
                size_t i;
                int r;

                for (i = 0; i < CA_ELEMENTSOF(agent_env); i++)
                        if (strcmp(agent_env[i].agent, run->agent) == 0)
                                break;
                if (i == CA_ELEMENTSOF(agent_env))
                        die("unknown agent '%s'", run->agent);
                (void) snprintf(src, sizeof(src), "%s/%s", CONFIG_DIR, run->agent);
                (void) snprintf(run->agent_dir, sizeof(run->agent_dir), "%s/%s", run->cli_home,
                                run->agent);
                r = install_dir(src, run->agent_dir, AGENTCLI_UID);
                if (r < 0)
                        die("cannot install the %s configuration from %s: %s", run->agent, src,
                            strerror(-r));
                run->co.agent_var = agent_env[i].var;
                run->co.agent_dir = run->agent_dir;
                say("installed the %s configuration for agentcli", run->agent);
                load_state(run);
        }
        redeem_credential(run->agent, run->agent_dir, &run->credential_env);
        run->co.credential_env = run->credential_env;
        if (run->agent && chown(run->agent_dir, AGENTCLI_UID, AGENTCLI_UID) < 0)
                die("cannot hand %s over: %s", run->agent_dir, strerror(errno));
        link_cache(run->cli_home, AGENTCLI_UID);
        own_home(run->cli_home, AGENTCLI_UID);
        own_home(run->user_home, AGENTUSER_UID);
}

/*
 * The model helper (a "model-api" server in the manifest): the CLI is pointed at it and holds
 * only the helper's local token -- in its placeholder login file (Claude Code's OAuth login,
 * Codex's auth.json; Codex's provider is in its rendered config.toml) or its environment
 * (an Anthropic API key, Copilot's GitHub token).
 */
static void point_cli_at_model(struct init_run *run)
{
        const struct manifest_server *m = manifest_find(&run->manifest, MANIFEST_MODEL_NAME);
        const char *token = init_helpers_token(helpers, MANIFEST_MODEL_NAME);
        struct child_opts *co = &run->co;
        struct ca_error err = {0};
        int vendor;

        if (!m || !m->model_vendor)
                return;
        vendor = modelcred_vendor_from_name(m->model_vendor);
        if (!token || vendor < 0 || !run->agent)
                die("the model helper has no token or vendor");
        if (m->model_placeholder) {
                _cleanup_json_ json_t *doc = json_deep_copy(m->model_placeholder);
                _cleanup_free_ char *text = NULL;
                const char *file = vendor == MODELCRED_ANTHROPIC ? ".credentials.json" : "auth.json";

                if (!doc || modelcred_placeholder_fill(doc, (enum modelcred_vendor) vendor, token,
                                                       &err) < 0 ||
                    !(text = json_dumps(doc, JSON_COMPACT)))
                        die("cannot make the %s placeholder login: %s", run->agent, err.msg);
                if (install_cli_file_as_cli(run->agent_dir, file, text, strlen(text)) < 0)
                        die("cannot install the %s placeholder login", run->agent);
                sodium_memzero(text, strlen(text));
        }
        if (vendor == MODELCRED_ANTHROPIC) {
                (void) snprintf(run->model_env[0], sizeof(run->model_env[0]),
                                "ANTHROPIC_BASE_URL=http://%s", m->listen);
                if (!m->model_placeholder)
                        (void) snprintf(run->model_env[1], sizeof(run->model_env[1]),
                                        "ANTHROPIC_API_KEY=%s", token);
        } else if (vendor == MODELCRED_COPILOT) {
                (void) snprintf(run->model_env[0], sizeof(run->model_env[0]),
                                "COPILOT_API_URL=http://%s", m->listen);
                (void) snprintf(run->model_env[1], sizeof(run->model_env[1]),
                                "COPILOT_GITHUB_TOKEN=%s", token);
        }
        for (size_t i = 0; i < CA_ELEMENTSOF(run->model_env); i++)
                if (run->model_env[i][0] && co->nextra < CA_ELEMENTSOF(co->extra))
                        co->extra[co->nextra++] = run->model_env[i];
        say("%s talks to the model helper (%s) with a placeholder login", run->agent,
            m->model_vendor);
}

/*
 * The task runner and the exec supervisor (ARCHITECTURE §8b): root, before the agent. The runner
 * listens on IMAGE_RUNNER_SOCKET for agentcli's shells (the image's bash and sh are the shim) and
 * runs their commands as agentuser; the supervisor takes the seccomp listener of each CLI's
 * process tree (the CLI's launcher hands it over on IMAGE_GUARD_SOCKET) and answers its execs.
 * The session does not start without them.
 */
static void start_workload_plane(const struct init_run *run)
{
        char client[16], as[16], gid[16];
        char *runner[] = {(char *) IMAGE_BIN_DIR "/task-runner",
                          (char *) "--listen",
                          (char *) IMAGE_RUNNER_SOCKET,
                          (char *) "--client-uid",
                          client,
                          (char *) "--as",
                          as,
                          (char *) "--home",
                          (char *) run->user_home,
                          NULL};
        char *guard[] = {(char *) IMAGE_BIN_DIR "/exec-guard",
                         (char *) "--supervise",
                         (char *) "--listen",
                         (char *) IMAGE_GUARD_SOCKET,
                         (char *) "--client-uid",
                         client,
                         (char *) "--client-gid",
                         gid,
                         NULL, NULL, NULL, NULL, NULL};
        size_t k = 8;

        (void) snprintf(client, sizeof(client), "%d", AGENTCLI_UID);
        /* The CLI's primary group is agentuser's (exec_child): the supervisor reads its memory
         * with the CLI's file-system UID and GID, which the kernel compares with its own. */
        (void) snprintf(gid, sizeof(gid), "%d", AGENTUSER_UID);
        (void) snprintf(as, sizeof(as), "%d", AGENTUSER_UID);
        runner_pid = start_ready(runner, "task-runner: listening", "the task runner");
        if (access(IMAGE_EVENTS_LOG, F_OK) == 0) {
                guard[k++] = (char *) "--events";
                guard[k++] = (char *) IMAGE_EVENTS_LOG;
        }
        if (run->session) {
                guard[k++] = (char *) "--session";
                guard[k++] = (char *) run->session;
        }
        guard_pid = start_ready(guard, "exec-guard: listening", "the exec supervisor");
        say("task runner and exec supervisor ready: agentcli's shells run as agentuser");
}

/* Step 3 and the servers: the stub launcher (which keeps CAP_SYS_ADMIN), then this process
 * drops it; the remote servers' helpers, healthy before the agent starts, their local tokens
 * (and the proxy, in proxy mode) in the agent's environment only. */
static void start_servers(struct init_run *run)
{
        struct child_opts *co = &run->co;

        load_manifest(&run->manifest);
        start_stub_launcher(&run->manifest);
        drop_sys_admin();
        init_helpers_start(run->manifest.json ? &run->manifest : NULL, run->session, run->proxy,
                           &helpers);
        co->nextra = init_helpers_env(helpers, co->extra, CA_ELEMENTSOF(co->extra) - 6);
        if (run->proxy) {
                static const char *const vars[] = {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                                                   "https_proxy"};

                for (size_t i = 0; i < CA_ELEMENTSOF(vars); i++) {
                        (void) snprintf(run->proxy_env[i], sizeof(run->proxy_env[i]), "%s=%s",
                                        vars[i], run->proxy);
                        co->extra[co->nextra++] = run->proxy_env[i];
                }
                /* The helpers are local: never through the proxy. */
                co->extra[co->nextra++] = "NO_PROXY=127.0.0.1,localhost,::1";
                co->extra[co->nextra++] = "no_proxy=127.0.0.1,localhost,::1";
        }
        point_cli_at_model(run);
        start_workload_plane(run);
}

/* Step 4: the command, as its UID; the credential's copy here is gone once it runs. */
static void start_command(struct init_run *run)
{
        run->child = fork();
        if (run->child < 0)
                die("fork: %s", strerror(errno));
        if (run->child == 0)
                exec_child(&run->co);
        if (run->credential_env) {
                sodium_memzero(run->credential_env, strlen(run->credential_env));
                free(run->credential_env);
                run->credential_env = NULL;
                run->co.credential_env = NULL;
        }
        say("started '%s' as %s (pid %d)", run->co.argv[0], run->co.user, (int) run->child);
}

/* Reaps what ended; true when the session is over (*status set). */
static bool reap(struct init_run *run, int *status)
{
        pid_t p;
        int st;

        while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
                if (init_helpers_reaped(helpers, p, st))
                        continue;
                if (p == runner_pid || p == guard_pid) {
                        say("the %s stopped: the agent's commands cannot run",
                            p == runner_pid ? "task runner" : "exec supervisor");
                        *(p == runner_pid ? &runner_pid : &guard_pid) = 0;
                        continue;
                }
                if (p == run->child) {
                        *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                        run->child = 0;
                }
        }
        if (run->child > 0)
                return false;
        /* The tmux client has set the session up and left: the session lives in its server,
         * reparented to us, until no process is left. */
        return !run->co.tmux || *status != 0 || (p < 0 && errno == ECHILD) ||
               ((launcher_pid > 0 || helpers) && only_control_plane_left());
}

/* Step 5: signals forwarded, zombies reaped, helpers kept alive, until the command is done.
 * Returns its status. */
static int supervise(struct init_run *run)
{
        int status = 0;

        for (;;) {
                struct signalfd_siginfo si;
                struct pollfd pfd[1 + 1 + 64];
                size_t npfd = 1;

                pfd[0] = (struct pollfd){.fd = run->sfd, .events = POLLIN};
                npfd += init_helpers_pollfds(helpers, pfd + 1, CA_ELEMENTSOF(pfd) - 1);
                if (poll(pfd, (nfds_t) npfd, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        die("poll: %s", strerror(errno));
                }
                init_helpers_dispatch(helpers);
                if (!(pfd[0].revents & POLLIN))
                        continue;
                if (read(run->sfd, &si, sizeof(si)) != (ssize_t) sizeof(si)) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        die("signalfd read: %s", strerror(errno));
                }
                if (si.ssi_signo != SIGCHLD) {
                        if (run->child > 0) {
                                (void) kill(run->child, (int) si.ssi_signo);
                                continue;
                        }
                        /* tmux mode, the client gone: a stop request ends the session. */
                        if (si.ssi_signo == SIGWINCH)
                                continue;
                        return 128 + (int) si.ssi_signo;
                }
                if (reap(run, &status))
                        return status;
        }
}

/* The end: everything else stopped, the helpers' and the homes' files scrubbed. */
static void finish(struct init_run *run, int status)
{
        say("'%s' exited with status %d; stopping the rest", run->co.argv[0], status);
        init_helpers_stopping(helpers);
        stop_everything(run->sfd, (unsigned) run->grace);
        init_helpers_finish(helpers);
        helpers = NULL;
        save_state(run);
        scrub_home(run->cli_home, AGENTCLI_UID);
        scrub_home(run->user_home, AGENTUSER_UID);
        manifest_clear(&run->manifest);
        say("homes scrubbed; exiting with %d", status);
}

int main(int argc, char **argv)
{
        struct init_run run = {
                .co = {.uid = AGENTCLI_UID, .user = "agentcli"},
                .session = secure_getenv("CODING_AGENTS_SESSION"),
                .grace = 10,
                .hidepid = true,
                .manifest = MANIFEST_INIT,
                .sfd = -1,
        };
        int status;

        log_init("agent-init");
        /* PID 1 redeems the agent's credential and hosts the stub launcher: no core, not
         * dumpable, and not in /workspace (a relative core pattern writes to the crashing
         * process's directory; the agent itself is started there explicitly). */
        if (secret_protect_process(true) < 0)
                log_warn("cannot protect the process, ignoring");
        status = parse_options(&run, argc, argv);
        if (status >= 0)
                return status;
        if (getuid() != 0)
                die("must start as root (PID 1 of the container)");
        if (sodium_init() < 0)
                die("libsodium failed to initialise");
        take_signals(&run);
        lay_out(&run);
        start_servers(&run);
        start_command(&run);
        status = supervise(&run);
        finish(&run, status);
        return status;
}
