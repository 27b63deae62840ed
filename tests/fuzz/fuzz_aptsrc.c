/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for what the image build reads from text files: apt's sources (the mirror
 * for debootstrap) and docker/agent/packages. The first byte picks the reader. A mirror must
 * be a terminated http(s) URI; a package list only package-name characters and commas.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aptsrc.h"
#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *text = (const char *) data + 1;
        char out[64];
        char *list = NULL;

        if (size < 1)
                return 0;
        if (data[0] & 1) {
                if (image_package_list(text, size - 1, &list, NULL) == 0) {
                        if (strspn(list, "abcdefghijklmnopqrstuvwxyz0123456789+.-,") !=
                            strlen(list))
                                __builtin_trap();
                        free(list);
                }
                return 0;
        }
        if (aptsrc_mirror(text, size - 1, "bookworm", out, sizeof(out)) == 0) {
                size_t n = strnlen(out, sizeof(out));

                if (n == sizeof(out) || (strncmp(out, "http://", 7) != 0 &&
                                         strncmp(out, "https://", 8) != 0))
                        __builtin_trap();
        }
        return 0;
}
