/* SPDX-License-Identifier: MIT */
/*
 * bench-render CONFIG OUTDIR ROUNDS: loads CONFIG (once per agent, as render does) and renders
 * the three agents in memory, ROUNDS times, then again including the atomic write of the
 * session into a fresh directory under OUTDIR; prints the median seconds of each. bench/run.sh
 * compares the in-memory figure with Python doing the minimum equivalent (tomllib load + json
 * dumps, in memory) on the same file in the same run; the write is reported on its own.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "config.h"
#include "error.h"
#include "parse.h"
#include "render.h"

int main(int argc, char **argv)
{
        uint64_t rounds = 0;
        double *t;

        if (argc != 4 || parse_uint(argv[3], 1, 100000, &rounds) < 0) {
                (void) fprintf(stderr, "usage: bench-render CONFIG OUTDIR ROUNDS\n");
                return 2;
        }
        t = calloc(2 * rounds, sizeof(*t));
        if (!t)
                return 1;
        for (uint64_t i = 0; i < 2 * rounds; i++) {
                struct config cfgs[RENDER_AGENTS] = {CONFIG_INIT, CONFIG_INIT, CONFIG_INIT};
                const struct config *cp[RENDER_AGENTS];
                const char *files[] = {argv[1]};
                struct render_opts o = {.session = "bench", .agents = 7};
                struct render_result res;
                struct ca_error err = {0};
                bool write = i >= rounds;
                char dir[4096];
                char sha[65];
                double t0 = bench_now();

                for (int a = 0; a < RENDER_AGENTS; a++) {
                        if (config_load(&cfgs[a], files, 1, &err) < 0) {
                                (void) fprintf(stderr, "bench-render: %s\n", err.msg);
                                return 1;
                        }
                        cp[a] = &cfgs[a];
                }
                (void) snprintf(dir, sizeof(dir), "%s/r%llu", argv[2], (unsigned long long) i);
                if (render_build(cp, &o, &res, &err) < 0 ||
                    (write && render_write(&res, dir, sha, &err) < 0)) {
                        (void) fprintf(stderr, "bench-render: %s\n", err.msg);
                        return 1;
                }
                t[i] = bench_now() - t0;
                render_result_clear(&res);
                for (int a = 0; a < RENDER_AGENTS; a++)
                        config_clear(&cfgs[a]);
        }
        qsort(t, rounds, sizeof(*t), bench_cmp_double);
        qsort(t + rounds, rounds, sizeof(*t), bench_cmp_double);
        (void) printf("render_seconds %.9f %.9f\n", t[rounds / 2], t[rounds + rounds / 2]);
        free(t);
        return 0;
}
