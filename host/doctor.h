/* SPDX-License-Identifier: MIT */
/*
 * The doctor's checks (host/cmd_doctor.c) and its active probe (host/doctor_active.c): each
 * check is {"check", "result": ok|warn|fail, "detail", "remedy"} in `checks`.
 */
#pragma once

#include <stdbool.h>

#include "cli.h"
#include "engine.h"
#include "json.h"
#include "macro.h"

struct runtime;

enum verdict { V_OK, V_WARN, V_FAIL };

#define DOCTOR_MAX_LAUNCH_ARGS 32

struct doctor {
        const struct cli_ctx *ctx;
        const char *endpoint;
        const char *image;
        json_t *checks;
        enum verdict worst;
        struct runtime *rt; /* set when the engine check passed */
        struct engine_facts facts;
        /* --active */
        const char *agent;   /* NULL: the first with a login */
        const char *network; /* "none" or "proxy" */
        const char *output;  /* the signed report; NULL: <config root>/doctor-active.json */
        char **launch_args;  /* what followed "--": more options for `launch` */
        size_t nlaunch_args; /* at most DOCTOR_MAX_LAUNCH_ARGS */
        json_t *probes;      /* [{"user", "uid", "results": [...]}] */
        char report_sha256[65];
};

/* Records one check. `remedy` may be NULL (for ok). */
void doctor_report(struct doctor *d, const char *name, enum verdict v, const char *remedy,
                   const char *fmt, ...) CA_PRINTF(5, 6);

/*
 * The active probe: a throwaway session (launched with this binary, killed after), our probe
 * run in it as agentuser, agentcli, an MCP server's UID and a helper's UID, every attempt
 * required to be blocked; one check per UID, and a signed report of it all.
 */
void doctor_active(struct doctor *d);
