/* SPDX-License-Identifier: MIT */
/*
 * bench-audit DIR COUNT: appends COUNT events through the hash-chained event log, then COUNT
 * lines of the same size with plain O_APPEND writes (no lock, no chain), and prints both rates
 * and their ratio. Both run in this process, one after the other, on the same file system.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "bench.h"
#include "buf.h"
#include "error.h"
#include "fileio.h"
#include "json.h"
#include "parse.h"
#include "paths.h"

int main(int argc, char **argv)
{
        struct audit_log *log = NULL;
        struct ca_error err = {0};
        uint64_t count = 0;
        char *chain_path;
        char *plain_path;
        struct buf line = BUF_INIT;
        json_t *fields;
        double t0;
        double chain_s;
        double plain_s;
        int fd;

        if (argc != 3 || parse_uint(argv[2], 1, 10000000, &count) < 0) {
                (void) fprintf(stderr, "usage: bench-audit DIR COUNT\n");
                return 2;
        }
        chain_path = paths_join(argv[1], "chain.log");
        plain_path = paths_join(argv[1], "plain.log");
        fields = json_pack("{s:s, s:s, s:i}", "stub", "github", "cap_id", "GITHUB_TOKEN",
                           "uid", 61001);
        if (!chain_path || !plain_path || !fields || audit_open(chain_path, &log, &err) < 0) {
                (void) fprintf(stderr, "bench-audit: %s\n", err.msg);
                return 1;
        }

        t0 = bench_now();
        for (uint64_t i = 0; i < count; i++) {
                if (audit_append(log, AUDIT_CAPABILITY_REDEEMED, "bench-session", fields, NULL,
                                 &err) < 0) {
                        (void) fprintf(stderr, "bench-audit: %s\n", err.msg);
                        return 1;
                }
        }
        chain_s = bench_now() - t0;
        audit_close(log);

        /* The baseline: a line of the same shape, serialised the same way, appended plainly. */
        fd = open(plain_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return 1;
        t0 = bench_now();
        for (uint64_t i = 0; i < count; i++) {
                json_t *o = json_pack("{s:s, s:s, s:I, s:O}", "type", "capability-redeemed",
                                      "session", "bench-session", "seq", (json_int_t) i,
                                      "fields", fields);
                buf_reset(&line);
                if (!o || ca_json_canonical(o, &line, &err) < 0 || buf_append_char(&line, '\n') < 0 ||
                    fileio_write_all(fd, line.data, line.len) < 0)
                        return 1;
                json_decref(o);
        }
        plain_s = bench_now() - t0;
        (void) close(fd);

        (void) printf("events: %llu\n", (unsigned long long) count);
        (void) printf("hash-chained appends/s: %.0f\n", (double) count / chain_s);
        (void) printf("plain appends/s:        %.0f\n", (double) count / plain_s);
        (void) printf("ratio chained/plain throughput: %.2f\n", plain_s / chain_s);
        json_decref(fields);
        buf_clear(&line);
        free(chain_path);
        free(plain_path);
        return 0;
}
