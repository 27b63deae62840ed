/* SPDX-License-Identifier: MIT */
#include "profile.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "cleanup.h"
#include "error.h"
#include "json.h"
#include "sums.h"

/* Cuts the last path component off `p` in place; false when none is left. */
static bool up(char *p)
{
        char *slash = strrchr(p, '/');

        if (!slash || slash == p)
                return false;
        *slash = '\0';
        return true;
}

int profile_check_prefix(const char *prefix, struct ca_error *err)
{
        char p[4096];
        size_t n = strlen(prefix);

        if (prefix[0] != '/' || n >= sizeof(p))
                return ca_error_input(err, "the prefix must be an absolute path, not '%s'",
                                      prefix);
        memcpy(p, prefix, n + 1);
        /* The prefix and every ancestor up to '/'. */
        for (;;) {
                struct stat st;
                char *slash;

                if (lstat(p, &st) < 0)
                        return ca_error_set(err, errno, "cannot check '%s'", p);
                if (!S_ISDIR(st.st_mode))
                        return ca_error_setx(err, ENOTDIR, "'%s' is not a directory", p);
                if (st.st_uid != 0 || (st.st_mode & 022) != 0)
                        return ca_error_setx(err, EPERM,
                                             "'%s' is %s: an install must live where only root "
                                             "can write (use a root-owned directory, mode 0755)",
                                             p,
                                             st.st_uid != 0 ? "not owned by root"
                                                            : "writable by others than root");
                if (strcmp(p, "/") == 0)
                        return 0;
                slash = strrchr(p, '/');
                if (slash == p)
                        slash[1] = '\0';
                else
                        *slash = '\0';
        }
}

static void detect(const char *exe, struct profile_info *out);

/* This process's own profile does not change while it runs: found once. */
static struct profile_info self;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;

static void detect_self(void)
{
        detect(NULL, &self);
}

void profile_detect(const char *exe, struct profile_info *out)
{
        if (exe) {
                detect(exe, out);
                return;
        }
        (void) pthread_once(&self_once, detect_self);
        *out = self;
}

static void detect(const char *exe, struct profile_info *out)
{
        char path[PATH_MAX];
        char sums[PATH_MAX + 16];
        struct ca_error err = {0};
        const char *version;
        struct stat st;

        memset(out, 0, sizeof(*out));
        out->profile = PATHS_PROFILE_DEV;
        if (!realpath(exe ? exe : "/proc/self/exe", out->exe))
                return;
        /* <prefix>/releases/<version>/bin/coding-agents */
        (void) snprintf(path, sizeof(path), "%s", out->exe);
        if (!up(path) || strcmp(strrchr(path, '/'), "/bin") != 0 || !up(path))
                return;
        if (snprintf(sums, sizeof(sums), "%s/%s", path, SUMS_FILE) >= (int) sizeof(sums) ||
            lstat(sums, &st) < 0 || !S_ISREG(st.st_mode))
                return;
        version = strrchr(path, '/') + 1;
        if (strlen(version) > INSTALL_VERSION_MAX)
                return;
        (void) snprintf(out->release_dir, sizeof(out->release_dir), "%s", path);
        (void) snprintf(out->version, sizeof(out->version), "%s", version);
        if (!up(path) || strcmp(strrchr(path, '/'), "/releases") != 0 || !up(path))
                return;
        if (profile_check_prefix(path, &err) < 0)
                return;
        (void) snprintf(out->prefix, sizeof(out->prefix), "%s", path);
        out->profile = PATHS_PROFILE_PROD;
}

json_t *profile_env_json(const struct profile_info *p, const char *config_root,
                         const char *command)
{
        _cleanup_free_ char *log = paths_events_log(config_root);
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "profile",
                              p->profile == PATHS_PROFILE_PROD ? "prod" : "dev", "binary", p->exe,
                              "config_root", config_root, "event_log", log ? log : "");

        if (o && p->profile == PATHS_PROFILE_PROD) {
                (void) json_object_set_new(o, "release", json_string(p->release_dir));
                (void) json_object_set_new(o, "version", json_string(p->version));
                (void) json_object_set_new(o, "prefix", json_string(p->prefix));
        }
        if (o && command)
                (void) json_object_set_new(o, "command", json_string(command));
        if (!log) {
                json_decref(o);
                return NULL;
        }
        return o;
}

int profile_preflight(const struct profile_info *p, const char *event_log, const char *session,
                      struct ca_error *err)
{
        struct sums_report rep = {0};
        json_t *fields;
        int e;
        int r;

        /* The decision must be on record: a log that cannot be written stops the launch. */
        if (p->profile != PATHS_PROFILE_PROD) {
                fields = json_pack("{s:s, s:s, s:s}", "profile", "dev", "binary", p->exe,
                                   "result", "unverified build tree");
                r = audit_emit(event_log, AUDIT_INTEGRITY_OK, session, fields, err);
                json_decref(fields);
                return r;
        }
        r = sums_verify_dir(p->release_dir, 0, &rep, err);
        fields = json_pack("{s:s, s:s, s:s, s:I}", "profile", "prod", "release", p->release_dir,
                           "version", p->version, "problems", (json_int_t) rep.problems);
        if (fields && rep.problems)
                (void) json_object_set_new(
                        fields, "first",
                        json_stringn(rep.text.data, rep.text.len > 2000 ? 2000 : rep.text.len));
        if (r >= 0) {
                e = audit_emit(event_log, r == 0 ? AUDIT_INTEGRITY_OK : AUDIT_INTEGRITY_FAILED,
                               session, fields, err);
                if (e < 0) {
                        json_decref(fields);
                        sums_report_clear(&rep);
                        return e;
                }
        }
        json_decref(fields);
        if (r > 0)
                r = ca_error_setx(err, EBADMSG,
                                  "the installed release '%s' failed its integrity check (%zu "
                                  "problem%s): refusing to start; run 'coding-agents verify' "
                                  "and reinstall",
                                  p->release_dir, rep.problems, rep.problems == 1 ? "" : "s");
        sums_report_clear(&rep);
        return r < 0 ? r : 0;
}
