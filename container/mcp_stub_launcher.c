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
#include "json.h"
#include "launcher.h"
#include "secret.h"
#include "parse.h"
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

int main(int argc, char **argv)
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
        const char *manifest = NULL, *socket_path = NULL;
        struct launcher_cfg cfg = {.run_dir = "/run/mcp"};
        pid_t handlers[MAX_HANDLERS] = {0};
        json_t *mf = NULL;
        struct ca_error err = {0};
        uint64_t uid = UINT64_MAX;
        _cleanup_close_ int lfd = -1, sfd = -1;
        sigset_t mask;
        int c;

        /* It redeems every server's secrets: no core, not dumpable, not in the workspace. */
        cfg.shared = launcher_shared_new();
        if (secret_protect_process(true) < 0)
                (void) fprintf(stderr, "mcp-stub-launcher: cannot protect the process, ignoring\n");

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        (void) fputs(usage, stdout);
                        return 0;
                case 'm':
                        manifest = optarg;
                        break;
                case 's':
                        socket_path = optarg;
                        break;
                case 'u':
                        if (parse_uint(optarg, 1, 0x7fffffff, &uid) < 0) {
                                (void) fprintf(stderr, "mcp-stub-launcher: bad --agent-uid\n");
                                return 2;
                        }
                        break;
                case 'c':
                        cfg.cred_dir = optarg;
                        break;
                case 'e':
                        cfg.events = optarg;
                        break;
                case 'r':
                        cfg.run_dir = optarg;
                        break;
                default:
                        (void) fputs(usage, stderr);
                        return 2;
                }
        }
        if (optind < argc || !manifest || !socket_path || uid == UINT64_MAX || !cfg.cred_dir ||
            cfg.run_dir[0] != '/') {
                (void) fprintf(stderr, "mcp-stub-launcher: --manifest, --socket, --agent-uid and "
                                       "--credentials are required; see --help\n");
                return 2;
        }
        cfg.agent_uid = (uid_t) uid;
        if (geteuid() != 0) {
                (void) fprintf(stderr, "mcp-stub-launcher: must run as root\n");
                return 1;
        }
        if (sodium_init() < 0 || ca_json_parse_file(manifest, 16 << 20, &mf, &err) < 0) {
                (void) fprintf(stderr, "mcp-stub-launcher: %s\n", err.msg);
                return 2;
        }
        cfg.manifest = mf;
        cfg.session = json_string_value(json_object_get(mf, "session"));
        cfg.seccomp = sandbox_seccomp_build(&err);
        if (!cfg.seccomp) {
                (void) fprintf(stderr, "mcp-stub-launcher: %s\n", err.msg);
                return 1;
        }
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGPIPE);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        lfd = usock_listen(socket_path, 0666, &err);
        if (lfd < 0 || sfd < 0) {
                (void) fprintf(stderr, "mcp-stub-launcher: %s\n", err.msg);
                return 1;
        }
        (void) printf("ready\n");
        (void) fflush(stdout);
        for (;;) {
                struct pollfd p[2] = {{.fd = lfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
                struct signalfd_siginfo si;

                if (poll(p, 2, -1) < 0 && errno != EINTR)
                        break;
                if (p[1].revents & POLLIN) {
                        bool stop = false;

                        while (read(sfd, &si, sizeof(si)) == (ssize_t) sizeof(si))
                                stop = stop || si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT;
                        for (pid_t w; (w = waitpid(-1, NULL, WNOHANG)) > 0;) {
                                for (size_t i = 0; i < MAX_HANDLERS; i++) {
                                        if (handlers[i] == w)
                                                handlers[i] = 0;
                                }
                        }
                        if (stop)
                                break;
                }
                if (p[0].revents & POLLIN) {
                        int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                        pid_t h;

                        if (conn < 0)
                                continue;
                        h = fork();
                        if (h > 0) {
                                for (size_t i = 0; i < MAX_HANDLERS; i++) {
                                        if (handlers[i] <= 0) {
                                                handlers[i] = h;
                                                break;
                                        }
                                }
                        }
                        if (h == 0) {
                                sigset_t none;

                                sigemptyset(&none);
                                (void) close(lfd);
                                (void) close(sfd);
                                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                                _exit(launcher_serve_stub(&cfg, conn));
                        }
                        (void) close(conn);
                }
        }
        /* Handlers go with us; their servers' reapers have PDEATHSIG and take the rest. */
        for (size_t i = 0; i < MAX_HANDLERS; i++) {
                if (handlers[i] > 0) {
                        (void) kill(handlers[i], SIGTERM);
                        (void) waitpid(handlers[i], NULL, 0);
                }
        }
        (void) unlink(socket_path);
        sandbox_seccomp_free(cfg.seccomp);
        json_decref(mf);
        return 0;
}
