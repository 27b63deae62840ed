/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for what `audit` and `audit verify` read: an event log made into a session
 * report (the first byte 'L'), and a DSSE envelope checked against a fixed key (anything else).
 * A report the builder accepts must compare equal to itself and print; an envelope must never
 * verify under a key that did not sign it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "auditreport.h"
#include "buf.h"
#include "dsse.h"
#include "error.h"
#include "fileio.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void log_mode(const uint8_t *data, size_t size)
{
        struct ca_error err = {0};
        json_t *st = NULL;
        int fd = memfd_create("log", MFD_CLOEXEC);

        if (fd < 0)
                return;
        if (fileio_write_all(fd, data, size) == 0 && lseek(fd, 0, SEEK_SET) == 0 &&
            auditreport_build(fd, "s", 0, &st, &err) == 0) {
                FILE *null = fopen("/dev/null", "we");

                if (!auditreport_same(st, st))
                        __builtin_trap();
                if (null) {
                        auditreport_print_text(st, null);
                        (void) fclose(null);
                }
                json_decref(st);
        }
        (void) close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const uint8_t pub[DSSE_PUBKEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        struct ca_error err = {0};
        json_t *env = NULL;

        if (size > 0 && data[0] == 'L') {
                log_mode(data + 1, size - 1);
                return 0;
        }
        if (ca_json_parse((const char *) data, size, "fuzz", &env, &err) == 0) {
                struct buf payload = BUF_INIT;

                /* Nobody holds the secret half of this made-up key: nothing may verify. */
                if (dsse_verify(env, DSSE_INTOTO_TYPE, pub, &payload, &err) == 0)
                        __builtin_trap();
                buf_clear(&payload);
                json_decref(env);
        }
        return 0;
}
