/* SPDX-License-Identifier: MIT */
/* The answers below are trimmed from what Debian's docker.io 20.10 and podman 4.3 return. */
#include "testutil.h"

#include <errno.h>
#include <string.h>

#include "engine.h"
#include "error.h"
#include "json.h"

static const char docker_version[] =
        "{\"Platform\":{\"Name\":\"\"},\"Components\":[{\"Name\":\"Engine\",\"Version\":"
        "\"20.10.24+dfsg1\"},{\"Name\":\"containerd\",\"Version\":\"1.6.20\"}],"
        "\"Version\":\"20.10.24+dfsg1\",\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\"}";
static const char docker_info[] =
        "{\"SecurityOptions\":[\"name=seccomp,profile=default\"],\"CgroupVersion\":\"1\","
        "\"CgroupDriver\":\"cgroupfs\","
        "\"OperatingSystem\":\"Debian GNU/Linux 12 (bookworm)\","
        "\"DockerRootDir\":\"/var/lib/docker\"}";
static const char podman_version[] =
        "{\"Platform\":{\"Name\":\"linux/amd64/debian-12\"},\"Components\":[{\"Name\":"
        "\"Podman Engine\",\"Version\":\"4.3.1\"}],\"Version\":\"4.3.1\",\"ApiVersion\":"
        "\"1.41\"}";

static json_t *parse(const char *s)
{
        json_t *v = NULL;

        assert_int_equal(ca_json_parse(s, strlen(s), "test", &v, NULL), 0);
        return v;
}

static int assess(const char *version, const char *info, const char *server, bool apparmor,
                  struct engine_facts *f, struct ca_error *err)
{
        json_t *v = parse(version);
        json_t *i = info ? parse(info) : NULL;
        int r = engine_facts_parse(v, i, server, f, err);

        if (r == 0)
                r = engine_facts_check(f, apparmor, err);
        json_decref(v);
        json_decref(i);
        return r;
}

static void test_engine_docker_accepted(void **state)
{
        struct engine_facts f;
        struct ca_error err = {0};
        json_t *j;
        (void) state;

        assert_int_equal(assess(docker_version, docker_info, NULL, false, &f, &err), 0);
        assert_string_equal(f.product, "docker");
        assert_string_equal(f.version, "20.10.24+dfsg1");
        assert_int_equal(f.api_major, 1);
        assert_int_equal(f.api_minor, 41);
        assert_true(f.seccomp);
        assert_int_equal(f.cgroup_version, 1);
        assert_false(f.cgroup_systemd);
        assert_string_equal(f.root_dir, "/var/lib/docker");
        j = engine_facts_json(&f);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "product")), "docker");
        json_decref(j);
}

static void test_engine_podman_refused(void **state)
{
        struct engine_facts f;
        struct ca_error err = {0};
        (void) state;

        assert_int_equal(assess(podman_version, docker_info, NULL, false, &f, &err), -EPERM);
        assert_true(f.podman);
        assert_non_null(strstr(err.msg, "Podman 4.3.1"));
        assert_non_null(strstr(err.msg, "Remedy"));
        /* The Server header alone is enough. */
        assert_int_equal(assess(docker_version, docker_info, "Libpod/4.3.1 (linux)", false, &f,
                                &err),
                         -EPERM);
}

static void test_engine_refusals(void **state)
{
        static const struct {
                const char *version, *info;
                bool apparmor;
                const char *why;
        } cases[] = {
                {"{\"ApiVersion\":\"1.40\"}", "{\"SecurityOptions\":[\"name=seccomp\"]}", false,
                 "older than 1.41"},
                {"{\"ApiVersion\":\"1.41\"}", "{\"SecurityOptions\":[]}", false, "seccomp"},
                {"{\"ApiVersion\":\"1.41\"}",
                 "{\"SecurityOptions\":[\"name=seccomp,profile=unconfined\"]}", false, "seccomp"},
                {"{\"ApiVersion\":\"1.43\"}",
                 "{\"SecurityOptions\":[\"name=seccomp\",\"name=rootless\"]}", false, "rootless"},
                {"{\"ApiVersion\":\"1.43\"}",
                 "{\"SecurityOptions\":[\"name=seccomp\",\"name=userns\"]}", false, "remapping"},
                {"{\"ApiVersion\":\"1.43\"}", "{\"SecurityOptions\":[\"name=seccomp\"]}", true,
                 "AppArmor"},
        };
        (void) state;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct engine_facts f;
                struct ca_error err = {0};

                assert_int_equal(assess(cases[i].version, cases[i].info, NULL, cases[i].apparmor,
                                        &f, &err),
                                 -EPERM);
                if (!strstr(err.msg, cases[i].why))
                        fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].why);
        }
}

static void test_engine_not_an_engine(void **state)
{
        static const char *const bad[] = {"[]", "{}", "{\"ApiVersion\":1}",
                                           "{\"ApiVersion\":\"x.y\"}", "{\"ApiVersion\":\"141\"}"};
        (void) state;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct engine_facts f;
                struct ca_error err = {0};
                json_t *v = parse(bad[i]);

                assert_int_equal(engine_facts_parse(v, NULL, NULL, &f, &err), -EPROTO);
                json_decref(v);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_engine_docker_accepted),
                cmocka_unit_test(test_engine_podman_refused),
                cmocka_unit_test(test_engine_refusals),
                cmocka_unit_test(test_engine_not_an_engine),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
