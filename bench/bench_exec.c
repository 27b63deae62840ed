/* SPDX-License-Identifier: MIT */
/*
 * bench-exec: whole processes, two legs interleaved (A B A B ...) so that drift on a noisy
 * machine lands in both legs alike; both run with the same environment, stdin from /dev/null
 * and stdout to /dev/null (stderr kept, so a failing command is seen). "%N" in an argument
 * becomes the run's number (for commands that must write somewhere new each time). Prints the
 * median of each leg, the spread (p10..p90) and the ratio A/B; exits 1 when a command fails.
 *
 *   bench-exec ROUNDS [--cwd-b DIR] -- COMMAND_A... -- COMMAND_B...
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "parse.h"

extern char **environ;

struct leg {
        char **argv;
        const char *cwd;
        double *t;
};

/* The leg's argv with "%N" replaced by `n` (static storage: one run at a time). */
static char **expand(char **argv, unsigned long n)
{
        static char *out[64];
        static char buf[64][512];
        size_t i;

        for (i = 0; i < 63 && argv[i]; i++) {
                const char *m = strstr(argv[i], "%N");

                if (!m) {
                        out[i] = argv[i];
                        continue;
                }
                (void) snprintf(buf[i], sizeof(buf[i]), "%.*s%lu%s", (int) (m - argv[i]), argv[i],
                                n, m + 2);
                out[i] = buf[i];
        }
        out[i] = NULL;
        return out;
}

static int run_once(const struct leg *leg, double *took)
{
        static unsigned long runs;
        posix_spawn_file_actions_t fa;
        char **args = expand(leg->argv, runs++);
        double start;
        pid_t pid;
        int status = 0, r;

        if (!args[0])
                return -1;

        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        if (leg->cwd)
                posix_spawn_file_actions_addchdir_np(&fa, leg->cwd);
        start = bench_now();
        r = posix_spawn(&pid, args[0], &fa, NULL, args, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0) {
                (void) fprintf(stderr, "bench-exec: cannot run %s: %s\n", leg->argv[0],
                               strerror(r));
                return -1;
        }
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        *took = bench_now() - start;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                (void) fprintf(stderr, "bench-exec: %s failed (status %d)\n", leg->argv[0],
                               status);
                return -1;
        }
        return 0;
}

static void report(const char *name, double *t, size_t n)
{
        qsort(t, n, sizeof(*t), bench_cmp_double);
        (void) printf("%s_median_ms %.3f\n%s_p10_ms %.3f\n%s_p90_ms %.3f\n", name, t[n / 2] * 1e3,
                      name, t[n / 10] * 1e3, name, t[n - 1 - n / 10] * 1e3);
}

int main(int argc, char **argv)
{
        struct leg a = {0}, b = {0};
        uint64_t rounds = 0;
        int i = 2, r;

        if (argc < 6 || parse_uint(argv[1], 1, 1000000, &rounds) < 0)
                goto usage;
        if (strcmp(argv[i], "--cwd-b") == 0 && i + 1 < argc) {
                b.cwd = argv[i + 1];
                i += 2;
        }
        if (strcmp(argv[i], "--") != 0)
                goto usage;
        a.argv = argv + i + 1;
        for (i = i + 1; i < argc && strcmp(argv[i], "--") != 0; i++)
                ;
        if (i >= argc - 1 || a.argv == argv + i)
                goto usage;
        argv[i] = NULL;
        b.argv = argv + i + 1;
        a.t = calloc(rounds, sizeof(double));
        b.t = calloc(rounds, sizeof(double));
        if (!a.t || !b.t) {
                free(a.t);
                free(b.t);
                return 1;
        }
        /* One untimed pass of each warms the page cache. */
        r = run_once(&a, &a.t[0]) < 0 || run_once(&b, &b.t[0]) < 0;
        for (uint64_t k = 0; !r && k < rounds; k++) {
                const struct leg *first = k % 2 ? &b : &a, *second = k % 2 ? &a : &b;

                r = run_once(first, &first->t[k]) < 0 || run_once(second, &second->t[k]) < 0;
        }
        if (!r) {
                report("a", a.t, rounds);
                report("b", b.t, rounds);
                (void) printf("ratio %.3f\n", a.t[rounds / 2] / b.t[rounds / 2]);
        }
        free(a.t);
        free(b.t);
        return r;
usage:
        (void) fprintf(stderr, "usage: bench-exec ROUNDS [--cwd-b DIR] -- COMMAND_A... -- "
                               "COMMAND_B...\n");
        return 2;
}
