/* SPDX-License-Identifier: MIT */
/* Unit tests for container/lib/runproto: the shell shim <-> task runner protocol. */
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "error.h"
#include "json.h"
#include "runproto.h"

#define STR(s) s, strlen(s)

static void test_runproto_parse(void **state)
{
        struct run_msg m;
        struct ca_error err = {0};
        (void) state;

        assert_int_equal(run_msg_parse(STR("{\"op\":\"run\",\"shell\":\"dash\",\"argv\":[\"sh\",\"-c\","
                                           "\"true\"],\"env\":[\"A=1\"],\"cwd\":\"/workspace\"}"),
                                       &m, &err),
                         0);
        assert_int_equal(m.op, RUN_OP_RUN);
        assert_string_equal(m.shell, "dash");
        assert_int_equal(m.argc, 3);
        assert_null(m.argv[3]);
        assert_string_equal(m.env[0], "A=1");
        run_msg_clear(&m);
        assert_int_equal(run_msg_parse(STR("{\"op\":\"signal\",\"signo\":15}"), &m, &err), 0);
        assert_int_equal(m.value, SIGTERM);
        run_msg_clear(&m);
        /* The terminal's: a window size change, the shim's Ctrl-Z (as SIGSTOP) and fg. */
        assert_int_equal(run_msg_parse(STR("{\"op\":\"signal\",\"signo\":28}"), &m, &err), 0);
        assert_int_equal(m.value, SIGWINCH);
        run_msg_clear(&m);
        assert_int_equal(run_msg_parse(STR("{\"op\":\"signal\",\"signo\":19}"), &m, &err), 0);
        assert_int_equal(m.value, SIGSTOP);
        run_msg_clear(&m);
        assert_int_equal(run_msg_parse(STR("{\"op\":\"signal\",\"signo\":18}"), &m, &err), 0);
        assert_int_equal(m.value, SIGCONT);
        run_msg_clear(&m);
        /* Refusals, each with a message. */
        static const char *const bad[] = {
                "{\"op\":\"run\",\"shell\":\"zsh\",\"argv\":[\"x\"],\"env\":[],\"cwd\":\"/\"}",
                "{\"op\":\"run\",\"shell\":\"bash\",\"argv\":[],\"env\":[],\"cwd\":\"/\"}",
                "{\"op\":\"run\",\"shell\":\"bash\",\"argv\":[\"x\"],\"env\":[\"NOEQ\"],\"cwd\":\"/\"}",
                "{\"op\":\"run\",\"shell\":\"bash\",\"argv\":[\"x\"],\"env\":[],\"cwd\":\"rel\"}",
                "{\"op\":\"run\",\"shell\":\"bash\",\"argv\":[\"x\"],\"env\":[],\"cwd\":\"/\",\"x\":1}",
                "{\"op\":\"run\",\"shell\":\"bash\",\"argv\":[\"a\\u0000b\"],\"env\":[],\"cwd\":\"/\"}",
                "{\"op\":\"signal\",\"signo\":9}",
                "{\"op\":\"exit\",\"status\":-1}",
                "{\"op\":\"error\",\"message\":\"a\\u001bb\"}",
                "{\"op\":\"fork\"}",
                "[1]",
        };
        for (size_t i = 0; i < CA_ELEMENTSOF(bad); i++) {
                ca_error_clear(&err);
                assert_int_equal(run_msg_parse(STR(bad[i]), &m, &err), -EINVAL);
                assert_true(err.msg[0]);
                assert_null(m.json);
        }
}

static void test_runproto_env_and_shell(void **state)
{
        (void) state;

        assert_true(run_env_kept("PATH=/usr/bin"));
        assert_true(run_env_kept("HTTPS_PROXY=http://p:3128"));
        assert_true(run_env_kept("TERM=xterm"));
        assert_false(run_env_kept("CODING_AGENTS_TOKEN_52100=x"));
        assert_false(run_env_kept("ANTHROPIC_BASE_URL=http://127.0.0.1:52099"));
        assert_false(run_env_kept("OPENAI_API_KEY=x"));
        assert_false(run_env_kept("MY_SERVICE_API_KEY=x"));
        assert_false(run_env_kept("NPM_TOKEN=x"));
        assert_false(run_env_kept("GH_TOKEN=x"));
        assert_false(run_env_kept("CLAUDE_CONFIG_DIR=/x"));
        assert_false(run_env_kept("GIT_CONFIG_COUNT=3"));
        assert_false(run_env_kept("GIT_CONFIG_KEY_0=core.hooksPath"));
        assert_true(run_env_kept("GIT_AUTHOR_NAME=x"));
        assert_false(run_env_kept("HOME=/run/coding-agents/home/agentcli"));
        assert_false(run_env_kept("BASH_FUNC_f%%=() { :; }"));
        assert_false(run_env_kept("LD_PRELOAD=/x"));
        assert_false(run_env_kept("NOEQUALS"));
        assert_string_equal(run_shell_for("/usr/bin/bash"), "bash");
        assert_string_equal(run_shell_for("/bin/rbash"), "bash");
        assert_string_equal(run_shell_for("/bin/sh"), "dash");
        assert_string_equal(run_shell_for("dash"), "dash");
        assert_string_equal(run_shell_for(NULL), "dash");
}

/* Frames over a socket pair, with the three descriptors on the first. */
static void test_runproto_frames(void **state)
{
        int sv[2], fds[3] = {0, 1, 2}, got[3] = {-1, -1, -1};
        char *buf = NULL;
        size_t nfds = 0;
        ssize_t n;
        (void) state;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(run_send(sv[0], json_pack("{s:s, s:i}", "op", "exit", "status", 3), fds,
                                  3),
                         0);
        n = run_recv(sv[1], &buf, got, 3, &nfds);
        assert_true(n > 0);
        assert_string_equal(buf, "{\"op\":\"exit\",\"status\":3}");
        assert_int_equal(nfds, 3);
        for (size_t i = 0; i < 3; i++)
                assert_int_equal(close(got[i]), 0);
        free(buf);
        /* A frame announcing more than the maximum is refused before it is read. */
        {
                const unsigned char huge[4] = {0x7f, 0xff, 0xff, 0xff};

                assert_int_equal(write(sv[0], huge, 4), 4);
                assert_int_equal(run_recv(sv[1], &buf, NULL, 0, &nfds), -EMSGSIZE);
        }
        (void) close(sv[0]);
        /* The peer's end: 0. */
        assert_int_equal(run_recv(sv[1], &buf, NULL, 0, &nfds), 0);
        (void) close(sv[1]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_runproto_parse),
                cmocka_unit_test(test_runproto_env_and_shell),
                cmocka_unit_test(test_runproto_frames),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
