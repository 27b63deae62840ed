/* SPDX-License-Identifier: MIT */
#include "paths.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"

char *paths_join(const char *a, const char *b)
{
        size_t la;
        size_t lb;
        bool slash;
        char *p;

        if (!a || !b)
                return NULL;
        la = strlen(a);
        lb = strlen(b);
        slash = la > 0 && a[la - 1] == '/';
        while (lb > 0 && *b == '/') {
                b++;
                lb--;
        }
        p = malloc(la + lb + 2);
        if (!p)
                return NULL;
        memcpy(p, a, la);
        if (!slash)
                p[la++] = '/';
        memcpy(p + la, b, lb + 1);
        return p;
}

static int home_dir(char **ret, struct ca_error *err)
{
        const char *home = secure_getenv("HOME");
        struct passwd pw;
        struct passwd *res = NULL;
        char pwbuf[4096];
        int r;

        if (home && home[0] == '/') {
                *ret = strdup(home);
                return *ret ? 0 : -ENOMEM;
        }
        r = getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res);
        if (r != 0 || !res)
                return ca_error_setx(err, r ? r : ENOENT,
                                     "cannot find a home directory: set HOME or "
                                     "CODING_AGENTS_CONFIG_DIR");
        if (res->pw_dir[0] != '/')
                return ca_error_setx(err, ENOENT, "home directory '%s' is not absolute",
                                     res->pw_dir);
        *ret = strdup(res->pw_dir);
        return *ret ? 0 : -ENOMEM;
}

int paths_config_root(enum paths_profile profile, char **ret, struct ca_error *err)
{
        const char *dir = profile == PATHS_PROFILE_DEV ? "coding-agents-dev" : "coding-agents";
        const char *env = secure_getenv("CODING_AGENTS_CONFIG_DIR");
        _cleanup_free_ char *home = NULL;
        _cleanup_free_ char *config = NULL;
        char *p;
        int r;

        if (env && env[0] != '\0') {
                if (env[0] != '/')
                        return ca_error_input(err,
                                              "CODING_AGENTS_CONFIG_DIR must be an absolute path, "
                                              "not '%s'",
                                              env);
                p = strdup(env);
                if (!p)
                        return ca_error_setx(err, ENOMEM, "out of memory");
                *ret = p;
                return 0;
        }
        env = secure_getenv("XDG_CONFIG_HOME");
        if (env && env[0] == '/') {
                p = paths_join(env, dir);
        } else {
                r = home_dir(&home, err);
                if (r < 0)
                        return r;
                config = paths_join(home, ".config");
                if (!config)
                        return ca_error_setx(err, ENOMEM, "out of memory");
                p = paths_join(config, dir);
        }
        if (!p)
                return ca_error_setx(err, ENOMEM, "out of memory");
        *ret = p;
        return 0;
}

char *paths_events_log(const char *config_root)
{
        return paths_join(config_root, "security-events.log");
}
