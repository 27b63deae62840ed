/* SPDX-License-Identifier: MIT */
/*
 * Which profile the running binary is in: prod when it resolves to
 * <prefix>/releases/<version>/bin/<program> of an install whose prefix is root-owned and
 * not writable by others, with that release's SHA256SUMS present; dev otherwise (a build tree).
 * The profile picks the config root (paths.h). Launches in prod verify the release's
 * SHA256SUMS before anything else (the sessions issue wires that into `run`).
 */
#pragma once

#include <limits.h>

#include "install.h"
#include "json.h"
#include "macro.h"
#include "paths.h"

struct profile_info {
        enum paths_profile profile;
        char exe[PATH_MAX];
        char release_dir[PATH_MAX]; /* prod only */
        char prefix[PATH_MAX];      /* prod only */
        char version[INSTALL_VERSION_MAX + 1];
};

/* Detects the profile of the binary at `exe` (NULL: this process's /proc/self/exe, detected
 * once per process). Never fails: anything that does not prove prod is dev. */
void profile_detect(const char *exe, struct profile_info *out);

/* Refuses an install prefix (or an ancestor) not owned by root or writable by group/others. */
int profile_check_prefix(const char *prefix, struct ca_error *err) CA_MUST_CHECK;

/*
 * The env-detect event's fields: the profile, the binary, `config_root`, the event log and, in
 * prod, the release, its version and the prefix; `command` when not NULL. NULL on OOM.
 */
json_t *profile_env_json(const struct profile_info *p, const char *config_root,
                         const char *command);

/*
 * The integrity gate in front of anything that sets up a session: in prod, the release this
 * binary runs from must match its SHA256SUMS; a mismatch is recorded (integrity-failed) and
 * refused (-EBADMSG) before anything else happens. In dev there is no release to check: an
 * event records that the session runs from an unverified build tree, and it goes on.
 * `event_log` receives the event; `session` may be NULL.
 */
int profile_preflight(const struct profile_info *p, const char *event_log, const char *session,
                      struct ca_error *err) CA_MUST_CHECK;
