/* SPDX-License-Identifier: MIT */
/* The engine gate every session command goes through (preflight.h). */
#include <stdio.h>
#include <stdlib.h>

#include "audit.h"
#include "cleanup.h"
#include "error.h"
#include "json.h"
#include "paths.h"
#include "preflight.h"

int runtime_gate(const char *config_root, const char *endpoint, const char *session,
                 struct runtime **ret, struct engine_facts *facts, struct ca_error *err)
{
        _cleanup_runtime_ struct runtime *rt = NULL;
        _cleanup_free_ char *log = paths_events_log(config_root);
        struct engine_facts f;
        int r;

        if (!log)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = runtime_open("docker", endpoint, &rt, err);
        if (r < 0)
                return r;
        r = runtime_preflight(rt, &f, err);
        if (r == -EPERM) {
                _cleanup_json_ json_t *o = engine_facts_json(&f);
                struct ca_error e2 = {0};

                if (o) {
                        (void) json_object_set_new(o, "endpoint",
                                                   json_string(runtime_endpoint(rt)));
                        (void) json_object_set_new(o, "reason", json_string(err->msg));
                }
                if (!o || audit_emit(log, AUDIT_RUNTIME_BLOCKED, session, o, &e2) < 0)
                        (void) fprintf(stderr, "coding-agents: cannot record runtime-blocked: %s\n",
                                       e2.msg);
        }
        if (facts)
                *facts = f;
        if (r < 0)
                return r;
        if (ret) {
                *ret = rt;
                rt = NULL;
        }
        return 0;
}
