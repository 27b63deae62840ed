/* SPDX-License-Identifier: MIT */
/*
 * task-runner: runs the commands the agent CLI's shells are asked for (ARCHITECTURE §8b) as the
 * workload user, never as the CLI's. agent-init starts it as root before the agent; the shell
 * shim (ca-shell), which the CLI's process tree runs as bash and sh, hands it each command with
 * its stdin, stdout and stderr (container/lib/runproto.h: descriptors, no relayed bytes).
 *
 * For each connection (the client's UID only; one thread each): the command runs in a process group and session
 * of its own, as --as, in the caller's directory (only under an --allow-cwd prefix, after
 * symlinks), with the caller's environment minus what is not a workload's business (the helpers'
 * tokens, API keys, the CLIs' configuration paths: run_env_kept) and the workload user's HOME,
 * USER and LOGNAME. The signals the shim forwards (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH,
 * SIGSTOP for its Ctrl-Z, SIGCONT) go to the command's process group; the shim going away (the CLI killed it: a timeout) kills the group; the
 * command's wait status goes back to the shim, which ends the same way.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "image.h"
#include "json.h"
#include "log.h"
#include "parse.h"
#include "privdrop.h"
#include "runproto.h"

#define MAX_CWD_PREFIXES 8
#define MAX_ENV 4096

static const char usage[] =
        "usage: task-runner --listen PATH --client-uid UID --as UID [--shells DIR]\n"
        "                   [--home DIR] [--allow-cwd PREFIX]...\n"
        "\n"
        "Runs the commands the shell shim (ca-shell) hands it, as UID --as, for connections from\n"
        "--client-uid only (the socket is made 0600 for it). --shells: the real bash and dash\n"
        "(default " IMAGE_SHELLS_DIR "). --home: the workload user's home. --allow-cwd: where a\n"
        "command may run (default /workspace and /tmp). Until SIGTERM.\n";

struct runner {
        const char *listen;
        uid_t client, as;
        const char *shells;
        const char *home;
        const char *cwd_prefixes[MAX_CWD_PREFIXES];
        size_t ncwd;
};

static int fail_usage(const char *msg, const char *arg)
{
        log_error("%s%s%s", msg, arg ? ": " : "", arg ? arg : "");
        return 2;
}

/* Whether `dir` (real path) is one of the prefixes or under it. */
static bool cwd_allowed(const struct runner *rn, const char *dir)
{
        for (size_t i = 0; i < rn->ncwd; i++) {
                size_t n = strlen(rn->cwd_prefixes[i]);

                if (strncmp(dir, rn->cwd_prefixes[i], n) == 0 && (dir[n] == '\0' || dir[n] == '/'))
                        return true;
        }
        return false;
}

static void reply_error(int conn, const char *msg)
{
        (void) !run_send(conn, json_pack("{s:s, s:s}", "op", "error", "message", msg), NULL, 0);
}

/* The command's environment: the caller's, filtered, with the workload user's identity (the
 * last three entries allocated: env_free). */
static char **command_env(const struct runner *rn, const struct run_msg *m)
{
        char **env = calloc(MAX_ENV + 4, sizeof(*env));
        size_t n = 0;

        if (!env)
                return NULL;
        for (size_t i = 0; i < m->envc && n < MAX_ENV; i++)
                if (run_env_kept(m->env[i]))
                        env[n++] = (char *) m->env[i];
        if (asprintf(&env[n], "HOME=%s", rn->home) < 0 ||
            asprintf(&env[n + 1], "USER=%s", "agentuser") < 0 ||
            asprintf(&env[n + 2], "LOGNAME=%s", "agentuser") < 0) {
                env[n] = env[n + 1] = env[n + 2] = NULL;
                free(env);
                return NULL;
        }
        return env;
}

static void env_free(char **env)
{
        size_t n = 0;

        while (env[n])
                n++;
        for (size_t i = n - 3; i < n; i++)
                free(env[i]);
        free(env);
}

struct spawn {
        const struct runner *rn;
        const struct run_msg *m;
        const char *dir;
        const int *fds;
        const char *path;
        char **env;
};

/* The child's stack, on the calling thread's own (suspended until the execve: CLONE_VFORK):
 * a heap block this size would be mapped and unmapped for every command. */
#define SPAWN_STACK ((size_t) 64 << 10)

/* The command's process, until its execve: its own session and group, the workload user, the
 * caller's fds. It shares the thread's memory (CLONE_VM) and allocates nothing. */
static int command_child(void *arg)
{
        const struct spawn *sp = arg;
        const char *step;

        if (setsid() >= 0 && privdrop_become(sp->rn->as, &step) == 0 && chdir(sp->dir) == 0 &&
            dup2(sp->fds[0], 0) >= 0 && dup2(sp->fds[1], 1) >= 0 && dup2(sp->fds[2], 2) >= 0) {
                closefrom(3);
                /* A terminal the shim let go of (ca-shell) becomes the command's controlling
                 * terminal, its group in the foreground; anyone else's stays theirs (EPERM). */
                if (isatty(0))
                        (void) ioctl(0, TIOCSCTTY, 0);
                /* Group-writable, as the CLI's files are (agent-init): each can change the
                 * other's in the workspace. */
                umask(002);
                (void) signal(SIGPIPE, SIG_DFL);
                (void) execve(sp->path, (char *const *) sp->m->argv, sp->env);
        }
        _exit(127); /* the caller sees status 127, as for a missing program */
}

/*
 * Starts the command. Like posix_spawn, a clone sharing this thread's memory until the execve
 * (CLONE_VM | CLONE_VFORK): a fork, even of this small process, costs more than the command's
 * own exec on some machines (virtualised page tables). Returns its pid or -errno.
 */
static pid_t spawn_command(const struct runner *rn, const struct run_msg *m, const char *dir,
                           const int fds[3])
{
        char path[PATH_MAX];
        struct spawn sp = {.rn = rn, .m = m, .dir = dir, .fds = fds, .path = path};
        _Alignas(16) char stack[SPAWN_STACK];
        pid_t pid;
        int e;

        sp.env = command_env(rn, m);
        if (!sp.env)
                return -ENOMEM;
        (void) snprintf(path, sizeof(path), "%s/%s", rn->shells, m->shell);
        pid = clone(command_child, stack + SPAWN_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &sp);
        e = errno;
        env_free(sp.env);
        return pid < 0 ? -e : pid;
}

/* Waits for the child while serving the shim's signals; the shim's end kills the group. */
static int supervise(int conn, pid_t child)
{
        int pidfd = (int) syscall(SYS_pidfd_open, child, 0);
        int status = 0;

        for (;;) {
                struct pollfd p[2] = {{.fd = conn, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
                _cleanup_free_ char *buf = NULL;
                struct run_msg m;
                struct ca_error err = {0};
                size_t nfds = 0;
                ssize_t n;

                if (poll(p, pidfd >= 0 ? 2 : 1, pidfd >= 0 ? -1 : 100) < 0 && errno != EINTR)
                        break;
                if (waitpid(child, &status, WNOHANG) == child)
                        break;
                if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
                        continue;
                n = run_recv(conn, &buf, NULL, 0, &nfds);
                if (n <= 0) {
                        /* The shim is gone (killed: the CLI's timeout): so is the command. */
                        (void) kill(-child, SIGKILL);
                        (void) waitpid(child, &status, 0);
                        break;
                }
                if (run_msg_parse(buf, (size_t) n, &m, &err) == 0) {
                        if (m.op == RUN_OP_SIGNAL)
                                (void) kill(-child, m.value);
                        run_msg_clear(&m);
                }
        }
        if (pidfd >= 0)
                (void) close(pidfd);
        return status;
}

struct conn_job {
        const struct runner *rn;
        int conn;
};

/* The request, checked; the command started. Returns its pid, or -1 with the caller told. */
static pid_t start(const struct runner *rn, int conn)
{
        _cleanup_free_ char *buf = NULL;
        struct run_msg m = {0};
        struct ca_error err = {0};
        struct ucred cred;
        socklen_t clen = sizeof(cred);
        int fds[3] = {-1, -1, -1};
        size_t nfds = 0;
        char dir[PATH_MAX];
        char msg[400] = "";
        ssize_t n;
        pid_t child = -1;

        if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 || cred.uid != rn->client)
                return -1; /* not the client: not a word */
        n = run_recv(conn, &buf, fds, 3, &nfds);
        if (n <= 0 || run_msg_parse(buf, (size_t) n, &m, &err) < 0 || m.op != RUN_OP_RUN ||
            nfds != 3)
                (void) snprintf(msg, sizeof(msg), "task-runner: a malformed request (%.300s)",
                                err.msg[0] ? err.msg : "its descriptors");
        else if (!realpath(m.cwd, dir) || !cwd_allowed(rn, dir))
                (void) snprintf(msg, sizeof(msg),
                                "task-runner: commands run in /workspace or /tmp, not in '%.300s'",
                                m.cwd);
        else if ((child = spawn_command(rn, &m, dir, fds)) < 0)
                (void) snprintf(msg, sizeof(msg), "task-runner: cannot start the command: %s",
                                strerror((int) -child));
        for (size_t i = 0; i < nfds && i < 3; i++)
                (void) close(fds[i]);
        if (m.json)
                run_msg_clear(&m);
        if (child < 0 && msg[0])
                reply_error(conn, msg);
        return child < 0 ? -1 : child;
}

/* One connection, in a thread of its own: the request, the command, its status. */
static void *serve(void *arg)
{
        struct conn_job *job = arg;
        /* A client that connects and says nothing holds only its own thread, and not for long. */
        const struct timeval patience = {.tv_sec = 10};
        const struct timeval forever = {0};
        pid_t child;

        (void) setsockopt(job->conn, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience));
        child = start(job->rn, job->conn);
        if (child > 0) {
                (void) setsockopt(job->conn, SOL_SOCKET, SO_RCVTIMEO, &forever, sizeof(forever));
                int status = supervise(job->conn, child);

                (void) !run_send(job->conn, json_pack("{s:s, s:i}", "op", "exit", "status", status),
                                 NULL, 0);
        }
        (void) close(job->conn);
        free(job);
        return NULL;
}

static int parse_options(struct runner *rn, int argc, char **argv)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},         {"listen", required_argument, NULL, 'l'},
                {"client-uid", required_argument, NULL, 'c'}, {"as", required_argument, NULL, 'a'},
                {"shells", required_argument, NULL, 's'}, {"home", required_argument, NULL, 'H'},
                {"allow-cwd", required_argument, NULL, 'w'}, {0},
        };
        uint64_t v;
        int c;
        bool client = false, as = false;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        (void) fputs(usage, stdout);
                        return 0;
                case 'l':
                        rn->listen = optarg;
                        break;
                case 'c':
                case 'a':
                        if (parse_uint(optarg, 1, UINT32_MAX - 1, &v) < 0)
                                return fail_usage("bad UID", optarg);
                        if (c == 'c')
                                rn->client = (uid_t) v, client = true;
                        else
                                rn->as = (uid_t) v, as = true;
                        break;
                case 's':
                        rn->shells = optarg;
                        break;
                case 'H':
                        rn->home = optarg;
                        break;
                case 'w':
                        if (rn->ncwd == MAX_CWD_PREFIXES || optarg[0] != '/')
                                return fail_usage("bad or too many --allow-cwd", optarg);
                        rn->cwd_prefixes[rn->ncwd++] = optarg;
                        break;
                default:
                        return fail_usage("unknown option; see --help", NULL);
                }
        }
        if (optind < argc || !rn->listen || !client || !as)
                return fail_usage("--listen, --client-uid and --as are required", NULL);
        if (rn->as == rn->client)
                return fail_usage("--as must not be the client's UID", NULL);
        if (!rn->ncwd) {
                rn->cwd_prefixes[rn->ncwd++] = IMAGE_WORKSPACE;
                rn->cwd_prefixes[rn->ncwd++] = "/tmp";
        }
        return -1;
}

int main(int argc, char **argv)
{
        struct runner rn = {.shells = IMAGE_SHELLS_DIR, .home = IMAGE_HOME_DIR "/agentuser"};
        int status, lfd;

        log_init("task-runner");
        status = parse_options(&rn, argc, argv);
        if (status >= 0)
                return status;
        /* Before any thread: every command's process then starts with it empty. */
        status = privdrop_clear_bounding();
        if (status < 0) {
                log_error("cannot empty the bounding set: %s", strerror(-status));
                return 1;
        }
        lfd = run_listen(rn.listen, rn.client, (gid_t) rn.client);
        if (lfd < 0) {
                log_error("cannot listen on %s: %s", rn.listen, strerror(-lfd));
                return 1;
        }
        (void) signal(SIGPIPE, SIG_IGN);
        (void) printf("task-runner: listening on %s\n", rn.listen);
        (void) fflush(stdout);
        for (;;) {
                int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                struct conn_job *job;
                pthread_attr_t attr;
                pthread_t t;

                if (conn < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        log_error("accept: %s", strerror(errno));
                        return 1;
                }
                job = malloc(sizeof(*job));
                if (!job || pthread_attr_init(&attr) != 0) {
                        free(job);
                        (void) close(conn);
                        continue;
                }
                *job = (struct conn_job){.rn = &rn, .conn = conn};
                (void) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                if (pthread_create(&t, &attr, serve, job) != 0) {
                        free(job);
                        (void) close(conn);
                }
                (void) pthread_attr_destroy(&attr);
        }
}
