/* SPDX-License-Identifier: MIT */
/*
 * ca-probe: our own negative test, shipped in the image for `coding-agents doctor --active`.
 * Run as any UID inside a session, it tries what a hostile workload would and prints one JSON
 * line per attempt: {"probe": NAME, "blocked": true|false, "detail": "..."}. Every attempt
 * must be blocked; the exit status is 0 when all were, 1 when one was not.
 *
 * It attacks nothing outside the session: file reads, /proc, ptrace and namespaces are the
 * container's own; the network attempts are connects from inside the session's network
 * namespace (to addresses a session must not reach), with a short timeout, and send no data.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image.h"
#include "json.h"
#include "macro.h"
#include "parse.h"

static bool all_blocked = true;

/* One result line. `blocked` false marks the session as failing the probe. */
CA_PRINTF(3, 4)
static void result(const char *probe, bool blocked, const char *fmt, ...)
{
        char detail[512];
        json_t *o;
        char *line;
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(detail, sizeof(detail), fmt, ap);
        va_end(ap);
        all_blocked = all_blocked && blocked;
        o = json_pack("{s:s, s:b, s:s}", "probe", probe, "blocked", blocked, "detail", detail);
        line = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
        if (line)
                (void) printf("%s\n", line);
        else
                all_blocked = false;
        free(line);
        json_decref(o);
}

static void read_file(const char *path)
{
        char probe[300];
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

        (void) snprintf(probe, sizeof(probe), "read %s", path);
        if (fd < 0) {
                result(probe, true, "%s", strerror(errno));
                return;
        }
        {
                char c;
                ssize_t n = read(fd, &c, 1);
                int e = errno;

                (void) close(fd);
                /* A directory opens but does not read: what matters is its listing. */
                if (n < 0 && e == EISDIR) {
                        DIR *d = opendir(path);

                        result(probe, d == NULL, "%s", d ? "listed" : strerror(errno));
                        if (d)
                                (void) closedir(d);
                        return;
                }
                result(probe, n < 0, "%s", n < 0 ? strerror(e) : "readable");
        }
}

/* Other UIDs' processes: their environment and memory must stay closed. */
static void other_procs(void)
{
        DIR *d = opendir("/proc");
        struct dirent *e;
        unsigned tried = 0, opened = 0;
        char first[64] = "";

        if (!d) {
                result("/proc of other UIDs", true, "/proc: %s", strerror(errno));
                return;
        }
        while ((e = readdir(d))) {
                char path[64];
                struct stat st;
                uint64_t pid;
                int fd;

                if (e->d_name[0] < '1' || e->d_name[0] > '9')
                        continue;
                (void) snprintf(path, sizeof(path), "/proc/%.16s", e->d_name);
                if (stat(path, &st) < 0 || st.st_uid == geteuid())
                        continue;
                for (int k = 0; k < 2; k++) {
                        (void) snprintf(path, sizeof(path), "/proc/%.16s/%s", e->d_name,
                                        k ? "mem" : "environ");
                        tried++;
                        fd = open(path, O_RDONLY | O_CLOEXEC);
                        if (fd >= 0) {
                                char c;

                                if (read(fd, &c, 1) >= 0 && !first[0]) {
                                        opened++;
                                        (void) snprintf(first, sizeof(first), "%s", path);
                                }
                                (void) close(fd);
                        }
                }
                if (parse_uint(e->d_name, 1, INT32_MAX, &pid) == 0 &&
                    ptrace(PTRACE_ATTACH, (pid_t) pid, NULL, NULL) == 0) {
                        (void) ptrace(PTRACE_DETACH, (pid_t) pid, NULL, NULL);
                        result("ptrace another UID", false, "attached to pid %.16s", e->d_name);
                }
        }
        (void) closedir(d);
        result("/proc of other UIDs", opened == 0, "%u files tried%s%s", tried,
               opened ? ", readable: " : "", first);
        errno = 0;
        if (ptrace(PTRACE_ATTACH, 1, NULL, NULL) == 0) {
                (void) ptrace(PTRACE_DETACH, 1, NULL, NULL);
                result("ptrace pid 1", false, "attached");
        } else {
                result("ptrace pid 1", true, "%s", strerror(errno));
        }
}

static void unix_connect(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        char probe[300];
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int r;

        (void) snprintf(probe, sizeof(probe), "connect %s", path);
        (void) snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        r = fd < 0 ? -1 : connect(fd, (struct sockaddr *) &sa, sizeof(sa));
        result(probe, r < 0, "%s", r < 0 ? strerror(errno) : "connected");
        if (fd >= 0)
                (void) close(fd);
}

/* A TCP connect from inside the session, 2 s at most; nothing is sent. */
static void tcp_connect(const char *what, const char *addr, const char *port)
{
        struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                                 .ai_socktype = SOCK_STREAM};
        struct addrinfo *ai = NULL;
        char probe[200];
        int fd, r;

        (void) snprintf(probe, sizeof(probe), "connect %s %s", what, addr);
        if (getaddrinfo(addr, port, &hints, &ai) != 0) {
                result(probe, true, "no such address here");
                return;
        }
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        r = fd < 0 ? -1 : connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (r < 0 && errno == EINPROGRESS) {
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                int e = 0;
                socklen_t len = sizeof(e);

                if (poll(&p, 1, 2000) == 1 &&
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0) {
                        errno = e;
                        r = e ? -1 : 0;
                } else {
                        errno = ETIMEDOUT;
                }
        }
        result(probe, r < 0, "%s", r < 0 ? strerror(errno) : "connected");
        if (fd >= 0)
                (void) close(fd);
        freeaddrinfo(ai);
}

static void network(void)
{
        struct addrinfo *ai = NULL;
        int r;

        tcp_connect("metadata", "169.254.169.254", "80");
        tcp_connect("link-local", "169.254.1.1", "80");
        tcp_connect("private", "10.0.0.1", "80");
        tcp_connect("private", "172.16.0.1", "80");
        tcp_connect("private", "192.168.0.1", "80");
        tcp_connect("IPv6 unique-local", "fd00::1", "80");
        tcp_connect("IPv6 metadata", "fd00:ec2::254", "80");
        tcp_connect("IPv6 global", "2001:db8::1", "443");
        /* DNS: a session resolves nothing itself (the proxy does, for allowed names). */
        r = getaddrinfo("metadata.google.internal", "80", NULL, &ai);
        result("resolve a name", r != 0, "%s", r ? gai_strerror(r) : "resolved");
        if (ai)
                freeaddrinfo(ai);
}

enum attempt { ATTEMPT_USERNS, ATTEMPT_MOUNTNS, ATTEMPT_MOUNT, ATTEMPT_SETUID };

/* One attempt that would change this process, in a child: 0 when it worked, else its errno. */
static void in_child(const char *probe, enum attempt what)
{
        pid_t pid = fork();
        int status = 0;

        if (pid == 0) {
                int r = -1;

                switch (what) {
                case ATTEMPT_USERNS:
                        r = unshare(CLONE_NEWUSER);
                        break;
                case ATTEMPT_MOUNTNS:
                        r = unshare(CLONE_NEWNS);
                        break;
                case ATTEMPT_MOUNT:
                        r = mount("none", "/tmp", "tmpfs", 0, NULL);
                        break;
                case ATTEMPT_SETUID:
                        r = geteuid() == 0 ? 0 : setuid(0);
                        break;
                }
                _exit(r == 0 ? 0 : (errno & 0x7f) | 0x80);
        }
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
                result(probe, false, "could not try (fork failed)");
                return;
        }
        if (WEXITSTATUS(status) == 0)
                result(probe, false, "it worked");
        else
                result(probe, true, "%s", strerror(WEXITSTATUS(status) & 0x7f));
}

static void privileges(void)
{
        FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        bool caps = false;

        while (f && fgets(line, sizeof(line), f)) {
                if ((strncmp(line, "CapEff:", 7) == 0 || strncmp(line, "CapPrm:", 7) == 0 ||
                     strncmp(line, "CapAmb:", 7) == 0) &&
                    strspn(line + 7, "\t 0") != strlen(line + 7) - 1)
                        caps = true;
        }
        if (f)
                (void) fclose(f);
        result("capabilities", !caps, "%s", caps ? "holds capabilities" : "none effective");
        in_child("unshare user namespace", ATTEMPT_USERNS);
        in_child("unshare mount namespace", ATTEMPT_MOUNTNS);
        in_child("mount tmpfs", ATTEMPT_MOUNT);
        in_child("setuid 0", ATTEMPT_SETUID);
        if (geteuid() == 0)
                result("not root", false, "runs as UID 0");
}

static void write_root(void)
{
        static const char *const paths[] = {"/ca-probe-write", "/usr/bin/ca-probe-write",
                                            IMAGE_BIN_DIR "/ca-probe-write"};

        for (size_t i = 0; i < CA_ELEMENTSOF(paths); i++) {
                char probe[300];
                int fd = open(paths[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

                (void) snprintf(probe, sizeof(probe), "write %s", paths[i]);
                result(probe, fd < 0, "%s", fd < 0 ? strerror(errno) : "created");
                if (fd >= 0) {
                        (void) close(fd);
                        (void) unlink(paths[i]);
                }
        }
}

int main(int argc, char **argv)
{
        static const char *const secrets[] = {
                IMAGE_CREDENTIAL,         IMAGE_CONTROL_DIR, IMAGE_STUB_CREDENTIALS,
                IMAGE_HELPER_CREDENTIALS, IMAGE_EVENTS_LOG,  "/proc/1/environ",
                "/etc/shadow",            "/root",
        };

        if (argc > 1) {
                (void) fprintf(stderr, "usage: ca-probe\n\nTries what a hostile workload "
                                       "would inside a session; one JSON line per attempt.\n");
                return strcmp(argv[1], "--help") == 0 ? 0 : 2;
        }
        /* Its connects aim at addresses no session may reach: from anywhere else they would
         * be real traffic. */
        if (access(IMAGE_RUN_DIR, F_OK) < 0 || !getenv("CODING_AGENTS_SESSION")) {
                (void) fprintf(stderr, "ca-probe: runs inside a coding-agents session only\n");
                return 2;
        }
        (void) setvbuf(stdout, NULL, _IOLBF, 0);
        for (size_t i = 0; i < CA_ELEMENTSOF(secrets); i++)
                read_file(secrets[i]);
        /* The homes of the agent CLI and of its workloads: each one's own, nobody else's. */
        if (geteuid() != IMAGE_AGENTCLI_UID)
                read_file(IMAGE_HOME_DIR "/agentcli");
        if (geteuid() != IMAGE_AGENTUSER_UID)
                read_file(IMAGE_HOME_DIR "/agentuser");
        unix_connect(IMAGE_BROKER_SOCKET);
        /* The task runner and the exec supervisor serve the agent CLI, and nobody else. */
        if (geteuid() != IMAGE_AGENTCLI_UID) {
                unix_connect(IMAGE_RUNNER_SOCKET);
                unix_connect(IMAGE_GUARD_SOCKET);
        }
        unix_connect("/run/docker.sock");
        other_procs();
        privileges();
        write_root();
        network();
        return all_blocked ? 0 : 1;
}
