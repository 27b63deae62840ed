/* SPDX-License-Identifier: MIT */
/* What agent-init's parts share (agent_init.c, init_helpers.c). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "macro.h"

/* One "agent-init: ..." line on stderr (nothing with --quiet). */
void init_say(const char *fmt, ...) CA_PRINTF(1, 2);
/* The same, always, then exit 126. */
CA_NORETURN void init_die(const char *fmt, ...) CA_PRINTF(1, 2);

/* In a child about to exec: the bounding set cleared, groups cleared, setresgid/setresuid to
 * `uid`, every capability and the ambient set gone, no_new_privs. Dies on failure. */
void init_become(uid_t uid, const char *user);

/* Scrubs a directory as `uid` (files overwritten with zeros, then removed), then removes it. */
void init_scrub_dir(const char *path, uid_t uid);

/* Records an event in the host's log (IMAGE_EVENTS_LOG) when the session mounted it;
 * `fields` is consumed. */
void init_event(int type, const char *session, void *fields);
