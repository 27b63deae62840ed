/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the proxy log readers: squid access-log and dnsmasq lines are written
 * by processes that handle agent-controlled names, so every byte is untrusted. Each input is
 * split into lines; the first byte picks which reader gets them. Events must be well-formed
 * objects and the name table must stay NUL-terminated.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "json.h"
#include "proxylog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct proxylog pl;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *p, *end;
        bool dns;

        if (size < 1)
                return 0;
        dns = data[0] & 1;
        p = (const char *) data + 1;
        end = (const char *) data + size;
        pl.max_request = 10;
        pl.max_reply = 100;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t len = nl ? (size_t) (nl - p) : (size_t) (end - p);
                const char *type = NULL;
                json_t *fields = NULL;
                int r = dns ? proxylog_feed_dns(&pl, p, len, &type, &fields)
                            : proxylog_feed_access(&pl, p, len, &type, &fields);

                if (r == 1 && (!type || !json_is_object(fields)))
                        __builtin_trap();
                if (r != 1 && fields)
                        __builtin_trap();
                json_decref(fields);
                p += len + 1;
        }
        for (size_t i = 0; i < PROXYLOG_NAMES; i++) {
                if (!memchr(pl.names[i].name, '\0', sizeof(pl.names[i].name)) ||
                    !memchr(pl.names[i].addrs, '\0', sizeof(pl.names[i].addrs)))
                        __builtin_trap();
        }
        return 0;
}
