/* SPDX-License-Identifier: MIT */
/*
 * mcp-stub-launcher: runs as root (inside agent-init later; directly in tests) and starts the
 * real MCP server for each mcp-stub that connects (ARCHITECTURE §7). Per connection, in a
 * forked handler:
 *
 *   1. the caller must be the agent's UID (SO_PEERCRED) and name a stdio server of the session
 *      manifest; it sends exactly its three stdio descriptors;
 *   2. a new PID namespace: its PID 1 is a small reaper (it relays signals, never data) in new
 *      mount (and, for network = "none", network) namespaces, with /proc remounted, mount
 *      propagation private and a tmpfs /run/mcp/<name> (0700, owned by mcp_<name>,
 *      nosuid,nodev,noexec) for the secrets;
 *   3. the server process, in CONVENTIONS "Spawning" order: rlimits, bounding set dropped,
 *      groups cleared, setresgid/setresuid to the server's UID, capabilities and the ambient
 *      set cleared, PDEATHSIG, not dumpable; then, *as that UID* (so the broker's attestation
 *      holds), the capability is redeemed; secrets become files in the tmpfs and values of the
 *      manifest's placeholders; the agent's own fds become 0/1/2, every other fd is closed,
 *      seccomp is loaded last, and execve;
 *   4. when the server exits: whatever it left in its namespace is killed, the secret files are
 *      overwritten with zeros and the tmpfs unmounted, the status goes to the stub, and
 *      stub-start / stub-stop events are recorded (never a secret).
 *
 * A failure at any step reaches the stub as one line ("sandbox setup failed at 'redeem': ...")
 * and a stub-stop event with the reason; nothing stays mounted or running.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "cleanup.h"
#include "error.h"
#include "launcher.h"
#include "log.h"
#include "manifest.h"
#include "parse.h"
#include "secret.h"
#include "sandbox.h"
#include "usock.h"

static const char usage[] =
        "usage: mcp-stub-launcher --manifest FILE --socket PATH --agent-uid UID\n"
        "                         --credentials DIR [--events FILE] [--run-dir DIR]\n"
        "\n"
        "Starts the stdio MCP servers of a session, sandboxed, for the mcp-stub-<name> programs\n"
        "the agent runs. Listens on PATH (mode 0666; callers other than UID are refused). The\n"
        "manifest is the one `coding-agents render` wrote; DIR holds one broker credential per\n"
        "server that needs secrets (DIR/<name>.cred). Secrets live in a tmpfs under --run-dir\n"
        "(default /run/mcp) inside the server's own mount namespace. Runs as root; prints\n"
        "'ready' once listening; stops on SIGTERM, taking its servers with it.\n";

#define MAX_HANDLERS 1024

struct launcher_run {
        struct launcher_cfg cfg;
        struct manifest manifest;
        const char *manifest_path;
        const char *socket_path;
        pid_t handlers[MAX_HANDLERS];
        int lfd, sfd;
};

/* Options; returns -1 to go on, or the exit status. */
static int parse_options(struct launcher_run *run, int argc, char **argv)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"manifest", required_argument, NULL, 'm'},
                {"socket", required_argument, NULL, 's'},
                {"agent-uid", required_argument, NULL, 'u'},
                {"credentials", required_argument, NULL, 'c'},
                {"events", required_argument, NULL, 'e'},
                {"run-dir", required_argument, NULL, 'r'},
                {0},
        };
        uint64_t uid = UINT64_MAX;
        int c;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        (void) fputs(usage, stdout);
                        return 0;
                case 'm':
                        run->manifest_path = optarg;
                        break;
                case 's':
                        run->socket_path = optarg;
                        break;
                case 'u':
                        if (parse_uint(optarg, 1, 0x7fffffff, &uid) < 0) {
                                log_error("bad --agent-uid");
                                return 2;
                        }
                        break;
                case 'c':
                        run->cfg.cred_dir = optarg;
                        break;
                case 'e':
                        run->cfg.events = optarg;
                        break;
                case 'r':
                        run->cfg.run_dir = optarg;
                        break;
                default:
                        (void) fputs(usage, stderr);
                        return 2;
                }
        }
        if (optind < argc || !run->manifest_path || !run->socket_path || uid == UINT64_MAX ||
            !run->cfg.cred_dir || run->cfg.run_dir[0] != '/') {
                log_error("--manifest, --socket, --agent-uid and --credentials are required; "
                          "see --help");
                return 2;
        }
        run->cfg.agent_uid = (uid_t) uid;
        return -1;
}

/* The manifest, the seccomp filter, the signals, the socket. Returns -1 to go on, or the exit
 * status. */
static int set_up(struct launcher_run *run)
{
        struct ca_error err = {0};
        sigset_t mask;

        if (geteuid() != 0) {
                log_error("must run as root");
                return 1;
        }
        if (sodium_init() < 0 || manifest_load(run->manifest_path, &run->manifest, &err) < 0) {
                log_error("%s", err.msg);
                return 2;
        }
        run->cfg.manifest = &run->manifest;
        run->cfg.session = run->manifest.session;
        run->cfg.seccomp = sandbox_seccomp_build(&err);
        if (!run->cfg.seccomp) {
                log_error("%s", err.msg);
                return 1;
        }
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGPIPE);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        run->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        run->lfd = usock_listen(run->socket_path, 0666, &err);
        if (run->lfd < 0 || run->sfd < 0) {
                log_error("%s", run->sfd < 0 ? strerror(errno) : err.msg);
                return 1;
        }
        return -1;
}

static void track(struct launcher_run *run, pid_t old, pid_t now)
{
        for (size_t i = 0; i < MAX_HANDLERS; i++) {
                if (run->handlers[i] == old) {
                        run->handlers[i] = now;
                        return;
                }
        }
}

/* One forked handler per connection (launcher_serve_stub). */
static void accept_one(struct launcher_run *run)
{
        int conn = accept4(run->lfd, NULL, NULL, SOCK_CLOEXEC);
        pid_t h;

        if (conn < 0)
                return;
        h = fork();
        if (h == 0) {
                sigset_t none;

                sigemptyset(&none);
                (void) close(run->lfd);
                (void) close(run->sfd);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                _exit(launcher_serve_stub(&run->cfg, conn)); /* forked handler: done */
        }
        if (h > 0)
                track(run, 0, h);
        (void) close(conn);
}

/* Serves until SIGTERM or SIGINT. */
static void serve(struct launcher_run *run)
{
        for (;;) {
                struct pollfd p[2] = {{.fd = run->lfd, .events = POLLIN},
                                      {.fd = run->sfd, .events = POLLIN}};
                struct signalfd_siginfo si;

                if (poll(p, 2, -1) < 0 && errno != EINTR)
                        return;
                if (p[1].revents & POLLIN) {
                        bool stop = false;

                        while (read(run->sfd, &si, sizeof(si)) == (ssize_t) sizeof(si))
                                stop = stop || si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT;
                        for (pid_t w; (w = waitpid(-1, NULL, WNOHANG)) > 0;)
                                track(run, w, 0);
                        if (stop)
                                return;
                }
                if (p[0].revents & POLLIN)
                        accept_one(run);
        }
}

int main(int argc, char **argv)
{
        struct launcher_run run = {.cfg = {.run_dir = "/run/mcp"}, .lfd = -1, .sfd = -1};
        int status;

        log_init("mcp-stub-launcher");
        /* It redeems every server's secrets: no core, not dumpable, not in the workspace. */
        run.cfg.shared = launcher_shared_new();
        if (secret_protect_process(true) < 0)
                log_warn("cannot protect the process, ignoring");
        status = parse_options(&run, argc, argv);
        if (status < 0)
                status = set_up(&run);
        if (status >= 0) {
                manifest_clear(&run.manifest);
                return status;
        }
        (void) printf("ready\n");
        (void) fflush(stdout);
        serve(&run);
        /* Handlers go with us; their servers' reapers have PDEATHSIG and take the rest. */
        for (size_t i = 0; i < MAX_HANDLERS; i++) {
                if (run.handlers[i] > 0) {
                        (void) kill(run.handlers[i], SIGTERM);
                        (void) waitpid(run.handlers[i], NULL, 0);
                }
        }
        (void) unlink(run.socket_path);
        (void) close(run.lfd);
        (void) close(run.sfd);
        sandbox_seccomp_free(run.cfg.seccomp);
        manifest_clear(&run.manifest);
        return 0;
}
