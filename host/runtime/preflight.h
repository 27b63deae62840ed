/* SPDX-License-Identifier: MIT */
#pragma once

#include "runtime.h"

/*
 * Opens the docker runtime at `endpoint` (NULL: DOCKER_HOST or the default socket) and runs its
 * preflight. A refused engine (-EPERM) is recorded as a runtime-blocked event in the event log
 * of `config_root`, with the engine's facts and the reason. On success hands the runtime over
 * in *ret (when not NULL). `facts` (may be NULL) receives what the engine said.
 */
int runtime_gate(const char *config_root, const char *endpoint, const char *session,
                 struct runtime **ret, struct engine_facts *facts,
                 struct ca_error *err) CA_MUST_CHECK;
