/* SPDX-License-Identifier: MIT */
/*
 * bench-toml FILE ROUNDS: parses FILE ROUNDS times in-process and prints the median seconds
 * per parse on stdout ("toml_parse_seconds <s>"). bench/run.sh compares it with Python's
 * tomllib parsing the same file in the same run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "buf.h"
#include "error.h"
#include "fileio.h"
#include "parse.h"
#include "toml.h"

int main(int argc, char **argv)
{
        struct buf b = BUF_INIT;
        struct ca_error err = {0};
        uint64_t rounds = 0;
        double *t;

        if (argc != 3 || parse_uint(argv[2], 1, 100000, &rounds) < 0) {
                (void) fprintf(stderr, "usage: bench-toml FILE ROUNDS\n");
                return 2;
        }
        if (fileio_read_path(argv[1], TOML_MAX_FILE_SIZE, &b, &err) < 0) {
                (void) fprintf(stderr, "bench-toml: %s\n", err.msg);
                return 1;
        }
        t = calloc(rounds, sizeof(*t));
        if (!t)
                return 1;
        for (uint64_t i = 0; i < rounds; i++) {
                struct toml_doc *doc = NULL;
                double start = bench_now();
                if (toml_parse(b.data, b.len, argv[1], &doc, &err) < 0) {
                        (void) fprintf(stderr, "bench-toml: %s\n", err.msg);
                        free(t);
                        buf_clear(&b);
                        return 1;
                }
                toml_doc_free(doc);
                t[i] = bench_now() - start;
        }
        /* The first parse runs on fresh memory, as a command's only parse does; the median is
         * the steady state, as tomllib's rounds are measured. */
        (void) printf("toml_parse_first_seconds %.9f\n", t[0]);
        qsort(t, rounds, sizeof(*t), bench_cmp_double);
        (void) printf("toml_parse_seconds %.9f\n", t[rounds / 2]);
        free(t);
        buf_clear(&b);
        return 0;
}
