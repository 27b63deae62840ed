/* SPDX-License-Identifier: MIT */
#include "journal.h"

#include <errno.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <syslog.h>
#include <systemd/sd-journal.h>
#endif

bool journal_available(void)
{
#ifdef HAVE_LIBSYSTEMD
        return access("/run/systemd/journal/socket", W_OK) == 0;
#else
        return false;
#endif
}

int journal_send_event(const char *type, const char *session, unsigned long long seq,
                       const char *line_hash, const char *line, size_t line_len)
{
#ifdef HAVE_LIBSYSTEMD
        int r;

        if (!journal_available())
                return -ENOTCONN;
        r = sd_journal_send("MESSAGE=coding-agents security event %s", type,
                            "PRIORITY=%d", LOG_NOTICE, "SYSLOG_IDENTIFIER=coding-agents",
                            "CODING_AGENTS_EVENT=%s", type, "CODING_AGENTS_SESSION=%s",
                            session ? session : "", "CODING_AGENTS_SEQ=%llu", seq,
                            "CODING_AGENTS_LINE_SHA256=%s", line_hash,
                            "CODING_AGENTS_LINE=%.*s", (int) line_len, line, NULL);
        return r < 0 ? r : 0;
#else
        (void) type;
        (void) session;
        (void) seq;
        (void) line_hash;
        (void) line;
        (void) line_len;
        return -EOPNOTSUPP;
#endif
}
