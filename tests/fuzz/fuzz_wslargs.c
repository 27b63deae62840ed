/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the Windows launcher's parsers and translations (windows/wslargs.c):
 * wsl.exe's table, install.sh's header, and an argument translated then quoted, which the C
 * runtime's rules must split back into one argument.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../windows/crt-split.h"
#include "wslargs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool never(const char *relative, void *ctx)
{
        (void) relative;
        (void) ctx;
        return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const struct wsl_paths paths = {"Debian", "/mnt/", never, NULL};
        struct wsl_distro d[8];
        char value[128], *arg = malloc(size + 1), split[8192];
        struct buf out = BUF_INIT, line = BUF_INIT;
        const char *why = NULL;

        if (!arg)
                return 0;
        if (wsl_parse_list((const char *) data, size, d, 8) > 0 && d[0].name[0] == '\0')
                __builtin_trap();
        (void) wsl_installer_field((const char *) data, size, "BUNDLE_SHA256", value, sizeof(value));
        memcpy(arg, data, size);
        arg[size] = '\0';
        if (wsl_translate_arg(&paths, arg, &out, &why) == 0 && size < 2048) {
                if (wsl_quote_arg(&line, out.data ? out.data : "") < 0)
                        __builtin_trap();
                if (crt_split(line.data, split, sizeof(split)) != 1 ||
                    strcmp(split, out.data ? out.data : "") != 0)
                        __builtin_trap();
        }
        buf_clear(&out);
        buf_clear(&line);
        free(arg);
        return 0;
}
