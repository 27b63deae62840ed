/* SPDX-License-Identifier: MIT */
/*
 * The audit report of one session: an in-toto Statement (v1) made from the event log.
 *
 *   subject    [{"name": "session/<id>", "digest": {"sha256": H}}], H the SHA-256 of the
 *              session's event lines (each with its '\n'), in log order, up to last_seq
 *   predicate  what the session could reach and what it did: identity and times, the release
 *              or tree measurement, the image, the manifest, the enforcement the engine applied,
 *              every server, every capability issued, redeemed, denied and revoked, denials and
 *              limits, integrity and runtime-gate results, exec routing counts, and the chain:
 *              the line hashes at the session's first and last event and the log's head
 *
 * The predicate is a function of the log up to last_seq (and of `generated`, the one field
 * that is not): `audit verify` rebuilds it from the log and compares, so a report cannot be
 * made to say something the log does not, and a log edited after signing no longer matches.
 * The log's chain is checked while it is read; a broken chain refuses the report.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "macro.h"

struct ca_error;

#define AUDITREPORT_STATEMENT_TYPE "https://in-toto.io/Statement/v1"
#define AUDITREPORT_PREDICATE_TYPE "https://coding-agents.dev/attestation/session-audit/v1"
/* The predicate of `doctor --active`'s report (host/doctor_active.c): the probe's results. */
#define AUDITREPORT_PROBE_PREDICATE_TYPE "https://coding-agents.dev/attestation/sandbox-probe/v1"

/*
 * Builds the statement for `session` from the log read from `fd`, with the events up to
 * sequence number `upto` (0: all). -ENOENT when the log holds no event of the session,
 * -EBADMSG when the chain is broken before `upto`.
 */
int auditreport_build(int fd, const char *session, uint64_t upto, json_t **ret,
                      struct ca_error *err) CA_MUST_CHECK;

/* True when two statements say the same about the log (everything but `generated`). */
bool auditreport_same(const json_t *a, const json_t *b);

/* The statement for people. */
void auditreport_print_text(const json_t *statement, FILE *out);
