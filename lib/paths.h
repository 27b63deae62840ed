/* SPDX-License-Identifier: MIT */
/*
 * Where things live on the host. The config root is resolved here and nowhere else:
 *
 *   1. $CODING_AGENTS_CONFIG_DIR (must be absolute)
 *   2. $XDG_CONFIG_HOME/<dir> (when set and absolute, as the XDG spec requires)
 *   3. $HOME/.config/<dir>, else the passwd entry's home
 *
 * where <dir> is "coding-agents" for the prod profile and "coding-agents-dev" for dev, so a
 * development build never touches the secrets and logs of an installed release. Environment
 * variables are read with secure_getenv(): a setuid/setgid context ignores them.
 */
#pragma once

#include "macro.h"

struct ca_error;

enum paths_profile {
        PATHS_PROFILE_PROD,
        PATHS_PROFILE_DEV,
};

/* Stores a malloc'd absolute path in *ret. Does not create it. */
int paths_config_root(enum paths_profile profile, char **ret, struct ca_error *err) CA_MUST_CHECK;

/* "a" + "/" + "b" as a malloc'd string (no doubled slash). NULL on OOM. */
char *paths_join(const char *a, const char *b);

/* The event log inside a config root: <root>/security-events.log (malloc'd, NULL on OOM). */
char *paths_events_log(const char *config_root);
