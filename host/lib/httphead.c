/* SPDX-License-Identifier: MIT */
/* HTTP/1.x response heads (httphead.h). */
#include <errno.h>
#include <string.h>

#include "httphead.h"

static int digit(char c)
{
        return c >= '0' && c <= '9' ? c - '0' : -1;
}

int httphead_parse(const char *data, size_t len, int *status)
{
        size_t scan = len < HTTPHEAD_MAX ? len : HTTPHEAD_MAX;
        size_t i, end = 0;

        /* The status line, as far as it has arrived. */
        for (i = 0; i < scan && i < 12; i++) {
                static const char proto[] = "HTTP/1.";

                if (i < 7 && data[i] != proto[i])
                        return -EPROTO;
                if (i == 7 && data[i] != '0' && data[i] != '1')
                        return -EPROTO;
                if (i == 8 && data[i] != ' ')
                        return -EPROTO;
                if (i >= 9 && digit(data[i]) < 0)
                        return -EPROTO;
        }
        for (i = 0; i + 3 < scan; i++) {
                if (data[i] == '\r' && data[i + 1] == '\n' && data[i + 2] == '\r' &&
                    data[i + 3] == '\n') {
                        end = i + 4;
                        break;
                }
        }
        /* Header bytes: printable, tab, CR LF pairs only (checked on what has arrived). */
        for (i = 0; i < (end ? end : scan); i++) {
                unsigned char c = (unsigned char) data[i];

                if (c == '\r' && i + 1 < scan && data[i + 1] != '\n')
                        return -EPROTO;
                if (c == '\n' && (i == 0 || data[i - 1] != '\r'))
                        return -EPROTO;
                if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
                        return -EPROTO;
        }
        if (!end)
                return len >= HTTPHEAD_MAX ? -EMSGSIZE : 0;
        if (end < 14 || (data[12] != ' ' && data[12] != '\r'))
                return -EPROTO;
        *status = digit(data[9]) * 100 + digit(data[10]) * 10 + digit(data[11]);
        return (int) end;
}
