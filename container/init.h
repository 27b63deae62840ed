/* SPDX-License-Identifier: MIT */
/*
 * What agent-init's two parts (agent_init.c, the program; init_helpers.c, the remote servers'
 * helpers) share, from init_common.c: neither calls into the other's file but through this
 * and init_helpers.h. Progress lines go through lib/log ("agent-init: ...").
 */
#pragma once

#include "audit.h"
#include "json.h"
#include "macro.h"

/* A failure the session cannot start (or go on) with: one log line, then exit 126. */
CA_NORETURN void init_die(const char *fmt, ...) CA_PRINTF(1, 2);

/* Records an event in the host's log (IMAGE_EVENTS_LOG) when the session mounted it;
 * `fields` is consumed (NULL: nothing to record). */
void init_event(enum audit_type type, const char *session, json_t *fields);
