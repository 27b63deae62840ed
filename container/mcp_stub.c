/* SPDX-License-Identifier: MIT */
/*
 * mcp-stub: what the agent runs as if it were an MCP server (installed as mcp-stub-<name>;
 * argv[0] names the server). Unprivileged and tiny: it hands its own stdin, stdout and stderr
 * to the stub launcher over a Unix socket (SCM_RIGHTS), so the real server reads and writes
 * the agent's pipes directly -- no byte passes through here. Then it waits: SIGINT, SIGTERM
 * and SIGHUP are forwarded, and it exits with the server's status (128+signal when killed).
 *
 * The launcher's socket: $CODING_AGENTS_STUB_SOCKET, else /run/coding-agents/stub.sock.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "broker_proto.h"
#include "cleanup.h"
#include "error.h"
#include "json.h"
#include "stubproto.h"
#include "usock.h"

#define DEFAULT_SOCKET "/run/coding-agents/stub.sock"

static const char *prog = "mcp-stub";

static int die(const char *msg)
{
        (void) fprintf(stderr, "%s: %s\n", prog, msg);
        return 1;
}

static int send_msg(int sock, const struct stub_msg *m, const int *fds, size_t nfds,
                    struct ca_error *err)
{
        _cleanup_json_ json_t *o = stub_msg_json(m);

        if (!o)
                return ca_error_setx(err, ENOMEM, "out of memory");
        return broker_send(sock, o, fds, nfds, err);
}

int main(int argc, char **argv)
{
        static char buf[BROKER_MSG_MAX + 1];
        const char *name = argc > 0 ? stub_name_from_argv0(argv[0]) : NULL;
        const char *path = secure_getenv("CODING_AGENTS_STUB_SOCKET");
        struct stub_msg m = {.op = STUB_OP_SPAWN};
        struct ca_error err = {0};
        _cleanup_close_ int sock = -1, sfd = -1;
        const int fds[3] = {0, 1, 2};
        sigset_t mask;
        bool started = false;

        if (argc > 0)
                prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
        if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
                (void) printf("usage: mcp-stub-<name>\n\nRuns the MCP server <name> of this "
                              "session in its sandbox, on this process's stdin/stdout/stderr.\n"
                              "Takes no arguments: the server's command line comes from the "
                              "session manifest.\n");
                return 0;
        }
        if (!name) {
                (void) die("run me as mcp-stub-<server name>");
                return 2;
        }
        if (argc > 1) {
                (void) die("takes no arguments (the manifest has the server's command line)");
                return 2;
        }
        for (int fd = 0; fd < 3; fd++) {
                if (fcntl(fd, F_GETFD) < 0)
                        return die("stdin, stdout and stderr must be open");
        }
        /* Block the signals we forward before anything can deliver them. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGPIPE);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
            (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0)
                return die("cannot set up signals");
        sock = usock_connect(path && *path ? path : DEFAULT_SOCKET, &err);
        if (sock < 0) {
                (void) fprintf(stderr, "%s: cannot reach the stub launcher: %s\n", prog, err.msg);
                return 1;
        }
        memcpy(m.name, name, strlen(name) + 1);
        if (send_msg(sock, &m, fds, 3, &err) < 0) {
                (void) fprintf(stderr, "%s: %s\n", prog, err.msg);
                return 1;
        }
        for (;;) {
                struct pollfd p[2] = {{.fd = sock, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
                struct stub_msg in;
                size_t nfds = 0;
                int n;

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return die("poll failed");
                }
                if (p[1].revents & POLLIN) {
                        struct signalfd_siginfo si;

                        if (read(sfd, &si, sizeof(si)) == (ssize_t) sizeof(si) &&
                            si.ssi_signo != SIGPIPE) {
                                struct stub_msg s = {.op = STUB_OP_SIGNAL, .value = (int) si.ssi_signo};
                                (void) send_msg(sock, &s, NULL, 0, &err);
                        }
                        continue;
                }
                n = broker_recv(sock, buf, NULL, 0, &nfds, &err);
                if (n <= 0)
                        return die(started ? "the stub launcher went away" :
                                             "the stub launcher closed the connection");
                if (stub_msg_parse(buf, (size_t) n, &in) < 0)
                        return die("bad message from the stub launcher");
                switch (in.op) {
                case STUB_OP_STARTED:
                        /* The server has our stdio now; let go of our copies so the agent
                         * sees EOF exactly when the server closes them. */
                        if (!started) {
                                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                                if (null >= 0) {
                                        (void) dup2(null, 0);
                                        (void) dup2(null, 1);
                                        (void) close(null);
                                }
                        }
                        started = true;
                        break;
                case STUB_OP_EXIT:
                        return in.value;
                case STUB_OP_ERROR:
                        (void) fprintf(stderr, "%s: %s\n", prog, in.message);
                        return 1;
                default:
                        return die("unexpected message from the stub launcher");
                }
        }
}
