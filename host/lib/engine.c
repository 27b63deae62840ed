/* SPDX-License-Identifier: MIT */
/* Engine facts and the preflight verdict (engine.h). */
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "error.h"
#include "parse.h"

static void copy_str(char *dst, size_t size, const char *src)
{
        size_t n = 0;

        /* Printable ASCII only: these strings end up in terminal messages and events. */
        for (; src && *src && n + 1 < size; src++)
                if ((unsigned char) *src >= 0x20 && (unsigned char) *src < 0x7f)
                        dst[n++] = *src;
        dst[n] = '\0';
}

static bool contains(const char *s, const char *needle)
{
        return s && strstr(s, needle) != NULL;
}

/* "1.41" -> 1, 41. */
static int parse_api(const char *s, int *major, int *minor)
{
        char part[16];
        const char *dot = strchr(s, '.');
        uint64_t a, b;

        if (!dot || (size_t) (dot - s) >= sizeof(part))
                return -EINVAL;
        memcpy(part, s, (size_t) (dot - s));
        part[dot - s] = '\0';
        if (parse_uint(part, 0, 1000, &a) < 0 || parse_uint(dot + 1, 0, 1000, &b) < 0)
                return -EINVAL;
        *major = (int) a;
        *minor = (int) b;
        return 0;
}

static void scan_security_options(const json_t *opts, struct engine_facts *f)
{
        size_t i;
        json_t *o;

        json_array_foreach(opts, i, o) {
                const char *s = json_string_value(o);

                if (!s)
                        continue;
                if (strncmp(s, "name=seccomp", 12) == 0 && (s[12] == '\0' || s[12] == ','))
                        f->seccomp = !contains(s, "profile=unconfined");
                else if (strncmp(s, "name=apparmor", 13) == 0)
                        f->apparmor = true;
                else if (strncmp(s, "name=rootless", 13) == 0)
                        f->rootless = true;
                else if (strncmp(s, "name=userns", 11) == 0)
                        f->userns = true;
        }
}

int engine_facts_parse(const json_t *version, const json_t *info, const char *server_header,
                       struct engine_facts *f, struct ca_error *err)
{
        const json_t *components;
        const char *api;
        size_t i;
        json_t *c;

        memset(f, 0, sizeof(*f));
        if (!json_is_object(version))
                return ca_error_setx(err, EPROTO, "engine /version: not a JSON object");
        api = json_string_value(json_object_get(version, "ApiVersion"));
        if (!api)
                return ca_error_setx(err, EPROTO, "engine /version: no ApiVersion");
        copy_str(f->api_version, sizeof(f->api_version), api);
        if (parse_api(f->api_version, &f->api_major, &f->api_minor) < 0)
                return ca_error_setx(err, EPROTO, "engine /version: bad ApiVersion '%s'",
                                     f->api_version);
        copy_str(f->version, sizeof(f->version),
                 json_string_value(json_object_get(version, "Version")));
        copy_str(f->product, sizeof(f->product), "docker");
        components = json_object_get(version, "Components");
        json_array_foreach(components, i, c) {
                const char *name = json_string_value(json_object_get(c, "Name"));

                if (contains(name, "Podman"))
                        f->podman = true;
        }
        if (contains(json_string_value(json_object_get(json_object_get(version, "Platform"),
                                                       "Name")),
                     "Podman") ||
            contains(server_header, "Libpod"))
                f->podman = true;
        if (f->podman)
                copy_str(f->product, sizeof(f->product), "podman");
        if (json_is_object(info)) {
                const char *cg = json_string_value(json_object_get(info, "CgroupVersion"));

                scan_security_options(json_object_get(info, "SecurityOptions"), f);
                copy_str(f->os, sizeof(f->os),
                         json_string_value(json_object_get(info, "OperatingSystem")));
                copy_str(f->root_dir, sizeof(f->root_dir),
                         json_string_value(json_object_get(info, "DockerRootDir")));
                if (cg && (strcmp(cg, "1") == 0 || strcmp(cg, "2") == 0))
                        f->cgroup_version = cg[0] - '0';
                cg = json_string_value(json_object_get(info, "CgroupDriver"));
                f->cgroup_systemd = cg && strcmp(cg, "systemd") == 0;
        }
        return 0;
}

int engine_facts_check(const struct engine_facts *f, bool host_apparmor, struct ca_error *err)
{
        if (f->podman)
                return ca_error_setx(
                        err, EPERM,
                        "the engine is Podman %s (Docker-compatible API): refused. The hardening "
                        "relies on Docker's handling of seccomp profiles, tmpfs options, pids "
                        "limits and capabilities, and the broker attests callers by host UID and "
                        "cgroup, which Podman's compatibility layer does not guarantee. Remedy: "
                        "install Docker Engine (Debian: apt-get install docker.io) and point "
                        "DOCKER_HOST at its socket",
                        f->version);
        if (f->api_major < ENGINE_MIN_API_MAJOR ||
            (f->api_major == ENGINE_MIN_API_MAJOR && f->api_minor < ENGINE_MIN_API_MINOR))
                return ca_error_setx(err, EPERM,
                                     "the engine speaks Engine API %s, older than %d.%d: "
                                     "refused. Remedy: upgrade to Docker Engine 20.10 or later",
                                     f->api_version, ENGINE_MIN_API_MAJOR, ENGINE_MIN_API_MINOR);
        if (f->rootless || f->userns)
                return ca_error_setx(err, EPERM,
                                     "the engine runs %s: refused, because container UIDs would "
                                     "not be the host UIDs the broker attests. Remedy: use the "
                                     "system Docker daemon without userns-remap",
                                     f->rootless ? "rootless" : "with user-namespace remapping");
        if (!f->seccomp)
                return ca_error_setx(err, EPERM,
                                     "the engine has no seccomp support (or runs unconfined): "
                                     "refused. Remedy: use a Docker Engine built with seccomp "
                                     "(Debian's docker.io is)");
        if (host_apparmor && !f->apparmor)
                return ca_error_setx(err, EPERM,
                                     "AppArmor is enabled on this host but the engine does not "
                                     "support it: refused. Remedy: enable AppArmor in the "
                                     "Docker daemon");
        return 0;
}

json_t *engine_facts_json(const struct engine_facts *f)
{
        return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:i, s:s}", "product", f->product,
                         "version", f->version, "api_version", f->api_version, "os", f->os,
                         "seccomp", f->seccomp, "apparmor", f->apparmor, "rootless", f->rootless,
                         "userns", f->userns, "cgroup_version", f->cgroup_version, "cgroup_driver",
                         f->cgroup_systemd ? "systemd" : "cgroupfs");
}
