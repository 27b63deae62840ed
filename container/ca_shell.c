/* SPDX-License-Identifier: MIT */
/*
 * ca-shell: the shell shim (ARCHITECTURE §8b). In the agent image it is /usr/bin/bash and
 * /usr/bin/dash (so /bin/sh, `bash -lc`, `#!/bin/sh` scripts, $SHELL): run by the agent CLI's
 * UID it hands the command to the task runner, which runs it as the workload user with this
 * process's stdin, stdout and stderr, its directory and (filtered) environment; this process
 * forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGWINCH, stops the command when it is stopped
 * itself (Ctrl-Z: SIGTSTP) and continues it with itself (fg: SIGCONT), and ends as the command
 * did. It never runs the
 * command itself, and never falls back to doing so: no runner, no command (exit 126).
 *
 * Run by any other UID (the workload user, the runner's own commands, MCP servers, root) it
 * execs the real shell at once: which one is decided by the path it was run by (AT_EXECFN):
 * .../bash, .../rbash -> bash, anything else (sh, dash) -> dash.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "image.h"
#include "json.h"
#include "parse.h"
#include "runproto.h"

/* The test build (tests/integration/task_runner.sh) takes its paths and the client's UID from
 * the environment; the image's build never does. */
#ifdef CA_SHELL_TESTABLE
static const char *setting(const char *name, const char *fallback)
{
        const char *v = getenv(name);

        return v && *v ? v : fallback;
}
#else
#define setting(name, fallback) (fallback)
#endif

static void say(const char *msg, const char *arg)
{
        (void) fprintf(stderr, "ca-shell: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
}

CA_NORETURN static void exec_real(const char *shell, char **argv)
{
        char path[512];

        (void) snprintf(path, sizeof(path), "%s/%s", setting("CA_SHELL_SHELLS", IMAGE_SHELLS_DIR),
                        shell);
        (void) execv(path, argv);
        say("cannot run the real shell", strerror(errno));
        _exit(127);
}

static json_t *request(const char *shell, char **argv)
{
        extern char **environ;
        char cwd[4096];
        json_t *a = json_array(), *e = json_array();

        for (char **p = argv; a && *p; p++)
                (void) json_array_append_new(a, json_string(*p));
        for (char **p = environ; e && p && *p; p++)
                if (run_env_kept(*p))
                        (void) json_array_append_new(e, json_string(*p));
        if (!getcwd(cwd, sizeof(cwd)))
                (void) snprintf(cwd, sizeof(cwd), "/nonexistent");
        return json_pack("{s:s, s:s, s:o, s:o, s:s}", "op", "run", "shell", shell, "argv", a,
                         "env", e, "cwd", cwd);
}

/* Ends this process the way the command ended. */
CA_NORETURN static void end_as(int status)
{
        if (WIFSIGNALED(status)) {
                int sig = WTERMSIG(status);
                sigset_t all;

                (void) signal(sig, SIG_DFL);
                sigfillset(&all);
                (void) sigprocmask(SIG_UNBLOCK, &all, NULL);
                (void) raise(sig);
                _exit(128 + sig);
        }
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 126);
}

/*
 * One signal to the command's group. The command runs in a session of its own, whose process
 * group the kernel counts as orphaned: a SIGTSTP there would be dropped, so a stop is SIGSTOP,
 * and this process then stops too, as the shell it stands for would (its SIGCONT, from the
 * CLI's `fg`, continues the command).
 */
static void forward(int sock, int signo)
{
        int to = signo == SIGTSTP ? SIGSTOP : signo;

        (void) !run_send(sock, json_pack("{s:s, s:i}", "op", "signal", "signo", to), NULL, 0);
        if (signo == SIGTSTP)
                (void) raise(SIGSTOP);
}

/*
 * A shell started on a terminal as the leader of its session (a CLI's pseudo-terminal) owns it
 * as its controlling terminal: the command, in a session of its own, can have it only once this
 * process lets go (the runner then makes it the command's, with job control and /dev/tty, as a
 * direct exec would have). Letting go sends SIGHUP and SIGCONT to this process's group: those
 * are dropped; any other signal pending then goes on to the command (up to 8, into `later`).
 */
static size_t hand_terminal_over(int sfd, int later[8])
{
        struct pollfd p = {.fd = sfd, .events = POLLIN};
        struct signalfd_siginfo si;
        size_t n = 0;

        if (!isatty(STDIN_FILENO) || getsid(0) != getpid() || tcgetsid(STDIN_FILENO) != getpid())
                return 0;
        if (ioctl(STDIN_FILENO, TIOCNOTTY) < 0)
                return 0;
        while (poll(&p, 1, 0) > 0 && read(sfd, &si, sizeof(si)) == (ssize_t) sizeof(si))
                if (si.ssi_signo != SIGHUP && si.ssi_signo != SIGCONT && n < 8)
                        later[n++] = (int) si.ssi_signo;
        return n;
}

/* Forwards signals until the runner says how the command ended. */
CA_NORETURN static void follow(int sock, int sfd)
{
        for (;;) {
                struct pollfd p[2] = {{.fd = sock, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
                struct signalfd_siginfo si;
                _cleanup_free_ char *buf = NULL;
                struct run_msg m;
                struct ca_error err = {0};
                size_t nfds = 0;
                ssize_t n;

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        _exit(126);
                }
                if ((p[1].revents & POLLIN) && read(sfd, &si, sizeof(si)) == (ssize_t) sizeof(si))
                        forward(sock, (int) si.ssi_signo);
                if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
                        continue;
                n = run_recv(sock, &buf, NULL, 0, &nfds);
                if (n <= 0 || run_msg_parse(buf, (size_t) n, &m, &err) < 0) {
                        say("the task runner went away", NULL);
                        _exit(126);
                }
                if (m.op == RUN_OP_EXIT)
                        end_as(m.value);
                say(m.op == RUN_OP_ERROR ? m.message : "an unexpected answer from the task runner",
                    NULL);
                _exit(126);
        }
}

int main(int argc, char **argv)
{
        /* The auxiliary vector's value is the address of the path the kernel executed. */
        const char *execfn = (const char *) (uintptr_t) getauxval(AT_EXECFN); /* NOLINT */
        const char *shell = run_shell_for(execfn ? execfn : argv[0]);
        uint64_t client = IMAGE_AGENTCLI_UID;
        const int fds[3] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
        sigset_t mask;
        int later[8];
        size_t nlater = 0;
        int sock, sfd;

        (void) argc;
        if (parse_uint(setting("CA_SHELL_CLIENT_UID", IMAGE_AGENTCLI_UID_STR), 0, UINT32_MAX - 1,
                       &client) < 0 ||
            getuid() != (uid_t) client)
                exec_real(shell, argv);
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGQUIT);
        sigaddset(&mask, SIGWINCH);
        sigaddset(&mask, SIGTSTP);
        sigaddset(&mask, SIGCONT);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        (void) signal(SIGPIPE, SIG_IGN);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        sock = run_connect(setting("CA_SHELL_SOCKET", IMAGE_RUNNER_SOCKET));
        if (sock < 0 || sfd < 0) {
                say("the task runner is not there; the agent's commands run only through it",
                    NULL);
                return 126;
        }
        nlater = hand_terminal_over(sfd, later);
        if (run_send(sock, request(shell, argv), fds, 3) < 0) {
                say("cannot hand the command to the task runner", strerror(errno));
                return 126;
        }
        for (size_t i = 0; i < nlater; i++)
                forward(sock, later[i]);
        follow(sock, sfd);
}
