/* SPDX-License-Identifier: MIT */
/*
 * The secret broker daemon (ARCHITECTURE §6, docs/broker.md). One per config root, enforced
 * with a lock; single-threaded; serves the admin socket and one socket per session.
 */
#pragma once

#include "macro.h"

struct ca_error;

/* Redemptions a session may make in one daemon lifetime, and capabilities it may hold. */
#define BROKER_SESSION_REDEMPTIONS 4096
#define BROKER_SESSION_CAPS 256
/* Consecutive failures on a session socket before backoff starts, and its ceiling (seconds). */
#define BROKER_BACKOFF_AFTER 3
#define BROKER_BACKOFF_MAX 60

/*
 * Runs the daemon in the foreground until SIGTERM/SIGINT. When `ready_fd` >= 0, one byte is
 * written to it (and it is closed) once every socket is listening. Returns 0 after a clean
 * stop; -EALREADY when another daemon holds the lock for this config root.
 */
int broker_daemon_run(const char *config_root, int ready_fd, struct ca_error *err) CA_MUST_CHECK;

/*
 * Makes sure a daemon serves `config_root`: when its admin socket does not answer, starts
 * `coding-agents broker serve` in a new session (posix_spawn of `self_exe`) and waits until it
 * reports ready through a pipe (no polling, no sleeps).
 */
int broker_ensure_running(const char *self_exe, const char *config_root,
                          struct ca_error *err) CA_MUST_CHECK;
