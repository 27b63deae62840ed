/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/stubproto: the mcp-stub <-> launcher messages. */
#include "testutil.h"

#include <errno.h>
#include <signal.h>

#include "json.h"
#include "stubproto.h"

static int parse(const char *s, struct stub_msg *m)
{
        return stub_msg_parse(s, strlen(s), m);
}

static void test_round_trip(void **state)
{
        const struct stub_msg msgs[] = {
                {.op = STUB_OP_SPAWN, .name = "everything"},
                {.op = STUB_OP_SIGNAL, .value = SIGTERM},
                {.op = STUB_OP_STARTED, .value = 4242},
                {.op = STUB_OP_EXIT, .value = 137},
                {.op = STUB_OP_ERROR, .message = "sandbox setup failed at 'redeem': denied"},
        };
        (void) state;

        for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
                json_t *o = stub_msg_json(&msgs[i]);
                char *text = json_dumps(o, JSON_COMPACT);
                struct stub_msg back;

                assert_non_null(text);
                assert_int_equal(parse(text, &back), 0);
                assert_int_equal(back.op, msgs[i].op);
                assert_int_equal(back.value, msgs[i].value);
                assert_string_equal(back.name, msgs[i].name);
                assert_string_equal(back.message, msgs[i].message);
                free(text);
                json_decref(o);
        }
}

static void test_refused(void **state)
{
        static const char *const bad[] = {
                "", "[]", "{}", "{\"op\":\"spawn\"}", "{\"op\":\"spawn\",\"name\":\"../x\"}",
                "{\"op\":\"spawn\",\"name\":\"Upper\"}", "{\"op\":\"spawn\",\"name\":\"-x\"}",
                "{\"op\":\"spawn\",\"name\":\"abcdefghijklmnopqrstuvw\"}",
                "{\"op\":\"spawn\",\"name\":\"x\",\"extra\":1}", "{\"op\":\"signal\",\"signo\":9}",
                "{\"op\":\"signal\",\"signo\":\"15\"}", "{\"op\":\"exit\",\"status\":256}",
                "{\"op\":\"exit\",\"status\":-1}", "{\"op\":\"started\",\"pid\":0}",
                "{\"op\":\"error\",\"message\":\"two\\nlines\"}", "{\"op\":\"nope\",\"x\":1}",
                NULL,
        };
        struct stub_msg m;
        (void) state;

        for (const char *const *p = bad; *p; p++) {
                if (parse(*p, &m) == 0)
                        fail_msg("accepted %s", *p);
        }
}

static void test_argv0(void **state)
{
        (void) state;
        assert_string_equal(stub_name_from_argv0("/usr/local/bin/mcp-stub-github"), "github");
        assert_string_equal(stub_name_from_argv0("mcp-stub-a_b-1"), "a_b-1");
        assert_null(stub_name_from_argv0("mcp-stub"));
        assert_null(stub_name_from_argv0("mcp-stub-"));
        assert_null(stub_name_from_argv0("/x/mcp-stub-Bad"));
        assert_null(stub_name_from_argv0("/x/other-github"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_argv0),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
