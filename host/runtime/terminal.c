/* SPDX-License-Identifier: MIT */
/* The user's terminal joined to a container's (terminal.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "runtime.h"
#include "terminal.h"

bool terminal_interactive(void)
{
        return isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
}

static void report_size(terminal_resize_fn resize, void *userdata)
{
        struct winsize ws;

        if (resize && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
                resize(ws.ws_row, ws.ws_col, userdata);
}

int terminal_pump(int sock, const struct buf *early, terminal_resize_fn resize, void *userdata)
{
        struct termios saved, raw;
        bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
        bool in_open = true;
        sigset_t winch, old;
        _cleanup_close_ int sfd = -1;
        int r = 0;

        sigemptyset(&winch);
        sigaddset(&winch, SIGWINCH);
        if (sigprocmask(SIG_BLOCK, &winch, &old) < 0)
                return -errno;
        sfd = signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0) {
                r = -errno;
                (void) sigprocmask(SIG_SETMASK, &old, NULL);
                return r;
        }
        if (tty) {
                raw = saved;
                cfmakeraw(&raw);
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &raw);
        }
        if (early && early->len && fileio_write_all(STDOUT_FILENO, early->data, early->len) < 0)
                goto out;
        report_size(resize, userdata);
        for (;;) {
                struct pollfd p[3] = {
                        {.fd = sock, .events = POLLIN},
                        {.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN},
                        {.fd = sfd, .events = POLLIN},
                };
                char chunk[16384];
                ssize_t n;

                if (poll(p, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[2].revents & POLLIN) {
                        struct signalfd_siginfo si;

                        while (read(sfd, &si, sizeof(si)) == (ssize_t) sizeof(si))
                                ;
                        report_size(resize, userdata);
                }
                if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                        n = read(STDIN_FILENO, chunk, sizeof(chunk));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                in_open = false;
                                (void) shutdown(sock, SHUT_WR);
                        } else if (fileio_write_all(sock, chunk, (size_t) n) < 0) {
                                in_open = false;
                        }
                }
                if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        n = read(sock, chunk, sizeof(chunk));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0 || fileio_write_all(STDOUT_FILENO, chunk, (size_t) n) < 0)
                                break;
                }
        }
out:
        if (tty)
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        return r;
}

void terminal_resize_container(unsigned rows, unsigned cols, void *userdata)
{
        const struct terminal_target *t = userdata;
        struct ca_error err = {0};
        int r = t->exec ? runtime_exec_resize(t->rt, t->id, rows, cols, &err)
                        : runtime_resize(t->rt, t->id, rows, cols, &err);

        if (r < 0)
                err.code = 0;
}
