/* SPDX-License-Identifier: MIT */
#include "stubproto.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

static const char *const ops[] = {
        [STUB_OP_SPAWN] = "spawn", [STUB_OP_SIGNAL] = "signal", [STUB_OP_STARTED] = "started",
        [STUB_OP_EXIT] = "exit",   [STUB_OP_ERROR] = "error",
};

/* Server names: [a-z0-9_-], starting with a letter or digit, as config.c enforces. */
static bool valid_name(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > NAMES_SERVER_MAX || s[0] == '-' || s[0] == '_')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
                        return false;
        }
        return true;
}

int stub_msg_parse(const char *data, size_t len, struct stub_msg *out)
{
        _cleanup_json_ json_t *o = NULL;
        const char *op;
        json_t *v;
        size_t i;

        memset(out, 0, sizeof(*out));
        if (ca_json_parse(data, len, "stub message", &o, NULL) < 0 || !json_is_object(o))
                return -EINVAL;
        op = json_string_value(json_object_get(o, "op"));
        if (!op || json_object_size(o) != 2)
                return -EINVAL;
        for (i = 0; i < CA_ELEMENTSOF(ops); i++) {
                if (strcmp(op, ops[i]) == 0)
                        break;
        }
        if (i == CA_ELEMENTSOF(ops))
                return -EINVAL;
        out->op = (enum stub_op) i;
        switch (out->op) {
        case STUB_OP_SPAWN: {
                const char *name = json_string_value(json_object_get(o, "name"));
                if (!name || !valid_name(name))
                        return -EINVAL;
                memcpy(out->name, name, strlen(name) + 1);
                return 0;
        }
        case STUB_OP_ERROR: {
                const char *m = json_string_value(json_object_get(o, "message"));
                if (!m || strlen(m) >= sizeof(out->message))
                        return -EINVAL;
                for (const char *p = m; *p; p++) {
                        if ((unsigned char) *p < 0x20 || *p == 0x7f)
                                return -EINVAL;
                }
                memcpy(out->message, m, strlen(m) + 1);
                return 0;
        }
        case STUB_OP_SIGNAL:
                v = json_object_get(o, "signo");
                break;
        case STUB_OP_STARTED:
                v = json_object_get(o, "pid");
                break;
        case STUB_OP_EXIT:
                v = json_object_get(o, "status");
                break;
        default:
                return -EINVAL;
        }
        if (!json_is_integer(v))
                return -EINVAL;
        {
                json_int_t n = json_integer_value(v);

                if ((out->op == STUB_OP_SIGNAL && n != SIGINT && n != SIGTERM && n != SIGHUP) ||
                    (out->op == STUB_OP_STARTED && (n < 1 || n > (1 << 22))) ||
                    (out->op == STUB_OP_EXIT && (n < 0 || n > 255)))
                        return -EINVAL;
                out->value = (int) n;
        }
        return 0;
}

json_t *stub_msg_json(const struct stub_msg *m)
{
        switch (m->op) {
        case STUB_OP_SPAWN:
                return json_pack("{s:s, s:s}", "op", "spawn", "name", m->name);
        case STUB_OP_SIGNAL:
                return json_pack("{s:s, s:i}", "op", "signal", "signo", m->value);
        case STUB_OP_STARTED:
                return json_pack("{s:s, s:i}", "op", "started", "pid", m->value);
        case STUB_OP_EXIT:
                return json_pack("{s:s, s:i}", "op", "exit", "status", m->value);
        case STUB_OP_ERROR:
                return json_pack("{s:s, s:s}", "op", "error", "message", m->message);
        }
        return NULL;
}

const char *stub_name_from_argv0(const char *argv0)
{
        const char *base = strrchr(argv0, '/');

        base = base ? base + 1 : argv0;
        if (strncmp(base, "mcp-stub-", 9) != 0 || !valid_name(base + 9))
                return NULL;
        return base + 9;
}
