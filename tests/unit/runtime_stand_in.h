/* SPDX-License-Identifier: MIT */
/*
 * A STAND-IN for the container engine, for unit tests of the host's session phases only: it
 * implements host/runtime/runtime.h in memory (containers, networks and their endpoints, one
 * image list), records every call, and can fail a chosen call. It is not the Docker engine and
 * is never linked into a program; the e2e tests run the same phases on the real one. What it
 * models of Docker's behaviour is what the phases depend on:
 *
 *   - a network with endpoints cannot be removed (-EBUSY, "has active endpoints");
 *   - removing a container takes its endpoints away, except that with stale endpoints on (what
 *     dockerd --bridge=none does to a started container connected to a network it lacks) a
 *     removed, started container's endpoints stay until a forced disconnect;
 *   - inspecting, removing or disconnecting what is not there: -ENOENT, 0, 0.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Forgets everything (containers, networks, images, calls, faults, settings). */
void stand_in_reset(void);

void stand_in_add_image(const char *ref);
/* A network; `session` (may be NULL) becomes its io.coding-agents.session label. */
void stand_in_add_network(const char *name, bool internal, const char *session);
/* A container on `network` (may be NULL), started or not. */
void stand_in_add_container(const char *name, const char *network, bool started);
void stand_in_stale_endpoints(bool on);

/* The next call of `op` ("remove", "network_remove", ...) fails with -err and `msg`. */
void stand_in_fail(const char *op, int err, const char *msg);

bool stand_in_has_network(const char *name);
bool stand_in_has_container(const char *name);

/* The calls so far, each "op arg[ arg]" ("remove s1", "network_disconnect s1 s1-proxy"). */
size_t stand_in_ncalls(void);
const char *stand_in_call(size_t i);
/* How many calls started with `prefix`. */
size_t stand_in_count(const char *prefix);
