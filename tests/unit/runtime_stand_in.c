/* SPDX-License-Identifier: MIT */
/* The container engine's STAND-IN for unit tests (runtime_stand_in.h). Not the real thing. */
#include "runtime_stand_in.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "runtime/runtime.h"

#define MAX_THINGS 16
#define MAX_ENDPOINTS 8
#define MAX_CALLS 256
#define NAME_MAX_LEN 96

struct runtime {
        char endpoint[64];
};

struct endpoint {
        char container[NAME_MAX_LEN];
        char id[65];
};

struct network {
        bool used;
        char name[NAME_MAX_LEN];
        bool internal;
        char session[NAME_MAX_LEN];
        struct endpoint ep[MAX_ENDPOINTS];
        size_t nep;
};

struct container {
        bool used;
        char name[NAME_MAX_LEN];
        char id[65];
        bool started;
};

static struct {
        struct network nets[MAX_THINGS];
        struct container cts[MAX_THINGS];
        char images[MAX_THINGS][NAME_MAX_LEN];
        size_t nimages;
        bool stale;
        char calls[MAX_CALLS][2 * NAME_MAX_LEN + 32];
        size_t ncalls;
        char fail_op[32];
        int fail_err;
        char fail_msg[128];
        unsigned next_id;
} S;

void stand_in_reset(void)
{
        memset(&S, 0, sizeof(S));
}

static void record(const char *fmt, ...) CA_PRINTF(1, 2);

static void record(const char *fmt, ...)
{
        va_list ap;

        if (S.ncalls == MAX_CALLS)
                return;
        va_start(ap, fmt);
        (void) vsnprintf(S.calls[S.ncalls++], sizeof(S.calls[0]), fmt, ap);
        va_end(ap);
}

/* The fault planted for `op`, once. */
static int fault(const char *op, struct ca_error *err)
{
        int e = S.fail_err;

        if (!S.fail_err || strcmp(S.fail_op, op) != 0)
                return 0;
        S.fail_err = 0;
        return ca_error_setx(err, e, "stand-in: %s", S.fail_msg);
}

void stand_in_fail(const char *op, int err, const char *msg)
{
        (void) snprintf(S.fail_op, sizeof(S.fail_op), "%s", op);
        (void) snprintf(S.fail_msg, sizeof(S.fail_msg), "%s", msg);
        S.fail_err = err;
}

static struct network *find_net(const char *name)
{
        for (size_t i = 0; i < MAX_THINGS; i++) {
                if (S.nets[i].used && strcmp(S.nets[i].name, name) == 0)
                        return &S.nets[i];
        }
        return NULL;
}

static struct container *find_ct(const char *name_or_id)
{
        for (size_t i = 0; i < MAX_THINGS; i++) {
                if (S.cts[i].used && (strcmp(S.cts[i].name, name_or_id) == 0 ||
                                      strcmp(S.cts[i].id, name_or_id) == 0))
                        return &S.cts[i];
        }
        return NULL;
}

static void connect_ep(struct network *n, const struct container *c)
{
        if (n->nep == MAX_ENDPOINTS)
                return;
        (void) snprintf(n->ep[n->nep].container, sizeof(n->ep[0].container), "%s", c->name);
        (void) snprintf(n->ep[n->nep].id, sizeof(n->ep[0].id), "%s", c->id);
        n->nep++;
}

static void drop_ep(struct network *n, size_t i)
{
        memmove(&n->ep[i], &n->ep[i + 1], (n->nep - i - 1) * sizeof(n->ep[0]));
        n->nep--;
}

void stand_in_add_image(const char *ref)
{
        if (S.nimages < MAX_THINGS)
                (void) snprintf(S.images[S.nimages++], NAME_MAX_LEN, "%s", ref);
}

void stand_in_add_network(const char *name, bool internal, const char *session)
{
        for (size_t i = 0; i < MAX_THINGS; i++) {
                if (!S.nets[i].used) {
                        S.nets[i].used = true;
                        (void) snprintf(S.nets[i].name, NAME_MAX_LEN, "%s", name);
                        (void) snprintf(S.nets[i].session, NAME_MAX_LEN, "%s",
                                        session ? session : "");
                        S.nets[i].internal = internal;
                        return;
                }
        }
}

static struct container *new_ct(const char *name)
{
        for (size_t i = 0; i < MAX_THINGS; i++) {
                if (!S.cts[i].used) {
                        S.cts[i].used = true;
                        (void) snprintf(S.cts[i].name, NAME_MAX_LEN, "%s", name);
                        (void) snprintf(S.cts[i].id, sizeof(S.cts[i].id), "%064x", ++S.next_id);
                        return &S.cts[i];
                }
        }
        return NULL;
}

void stand_in_add_container(const char *name, const char *network, bool started)
{
        struct container *c = new_ct(name);
        struct network *n = network ? find_net(network) : NULL;

        if (!c)
                return;
        c->started = started;
        if (n)
                connect_ep(n, c);
}

void stand_in_stale_endpoints(bool on)
{
        S.stale = on;
}

bool stand_in_has_network(const char *name)
{
        return find_net(name) != NULL;
}

bool stand_in_has_container(const char *name)
{
        return find_ct(name) != NULL;
}

size_t stand_in_ncalls(void)
{
        return S.ncalls;
}

const char *stand_in_call(size_t i)
{
        return i < S.ncalls ? S.calls[i] : "";
}

size_t stand_in_count(const char *prefix)
{
        size_t n = 0;

        for (size_t i = 0; i < S.ncalls; i++)
                n += strncmp(S.calls[i], prefix, strlen(prefix)) == 0;
        return n;
}

/* ---- runtime.h ------------------------------------------------------------------------------ */

int runtime_open(const char *name, const char *endpoint, struct runtime **ret,
                 struct ca_error *err)
{
        record("open %s", name);
        *ret = calloc(1, sizeof(**ret));
        if (!*ret)
                return ca_error_setx(err, ENOMEM, "out of memory");
        (void) snprintf((*ret)->endpoint, sizeof((*ret)->endpoint), "%s",
                        endpoint ? endpoint : "stand-in");
        return 0;
}

struct runtime *runtime_close(struct runtime *rt)
{
        free(rt);
        return NULL;
}

const char *runtime_endpoint(const struct runtime *rt)
{
        return rt->endpoint;
}

int runtime_preflight(struct runtime *rt, struct engine_facts *facts, struct ca_error *err)
{
        (void) rt;
        record("preflight");
        memset(facts, 0, sizeof(*facts));
        (void) snprintf(facts->product, sizeof(facts->product), "docker");
        (void) snprintf(facts->version, sizeof(facts->version), "stand-in");
        (void) snprintf(facts->api_version, sizeof(facts->api_version), "1.41");
        facts->api_major = 1;
        facts->api_minor = 41;
        facts->seccomp = true;
        facts->cgroup_version = 2;
        return fault("preflight", err);
}

int runtime_image_inspect(struct runtime *rt, const char *ref, json_t **ret,
                          struct ca_error *err)
{
        (void) rt;
        record("image_inspect %s", ref);
        if (fault("image_inspect", err) < 0)
                return -EIO;
        for (size_t i = 0; i < S.nimages; i++) {
                if (strcmp(S.images[i], ref) == 0) {
                        if (ret)
                                *ret = json_pack("{s:s, s:{s:{}}}", "Id", ref, "Config", "Labels");
                        return 1;
                }
        }
        return 0;
}

int runtime_create(struct runtime *rt, const struct runtime_spec *spec, char id[65],
                   struct ca_error *err)
{
        struct container *c;
        struct network *n;

        (void) rt;
        record("create %s", spec->name);
        if (fault("create", err) < 0)
                return -EIO;
        if (find_ct(spec->name))
                return ca_error_setx(err, EEXIST, "stand-in: name '%s' taken", spec->name);
        c = new_ct(spec->name);
        if (!c)
                return ca_error_setx(err, ENOSPC, "stand-in: full");
        n = spec->network ? find_net(spec->network) : NULL;
        if (n)
                connect_ep(n, c);
        memcpy(id, c->id, 65);
        return 0;
}

int runtime_start(struct runtime *rt, const char *id, struct ca_error *err)
{
        struct container *c = find_ct(id);

        (void) rt;
        record("start %s", c ? c->name : id);
        if (fault("start", err) < 0)
                return -EIO;
        if (!c)
                return ca_error_setx(err, ENOENT, "stand-in: no container '%s'", id);
        c->started = true;
        return 0;
}

int runtime_remove(struct runtime *rt, const char *id, bool force, struct ca_error *err)
{
        struct container *c = find_ct(id);

        (void) rt;
        (void) force;
        record("remove %s", id);
        if (fault("remove", err) < 0)
                return -EIO;
        if (!c)
                return 0;
        for (size_t i = 0; i < MAX_THINGS; i++) {
                struct network *n = &S.nets[i];

                for (size_t k = 0; n->used && k < n->nep;) {
                        /* The engine's quirk: a started container's endpoint outlives it. */
                        if (strcmp(n->ep[k].id, c->id) == 0 && !(S.stale && c->started))
                                drop_ep(n, k);
                        else
                                k++;
                }
        }
        memset(c, 0, sizeof(*c));
        return 0;
}

int runtime_network_create(struct runtime *rt, const char *name, bool internal,
                           const json_t *labels, struct ca_error *err)
{
        (void) rt;
        record("network_create %s", name);
        if (fault("network_create", err) < 0)
                return -EIO;
        if (find_net(name))
                return ca_error_setx(err, EEXIST, "stand-in: network '%s' exists", name);
        stand_in_add_network(name, internal,
                             json_string_value(json_object_get(labels, RUNTIME_LABEL_SESSION)));
        return 0;
}

int runtime_network_inspect(struct runtime *rt, const char *name, json_t **ret,
                            struct ca_error *err)
{
        const struct network *n = find_net(name);
        json_t *eps;

        (void) rt;
        record("network_inspect %s", name);
        if (fault("network_inspect", err) < 0)
                return -EIO;
        if (!n)
                return ca_error_setx(err, ENOENT, "stand-in: network %s not found", name);
        eps = json_object();
        for (size_t i = 0; eps && i < n->nep; i++)
                (void) json_object_set_new(eps, n->ep[i].id,
                                           json_pack("{s:s}", "Name", n->ep[i].container));
        *ret = json_pack("{s:s, s:b, s:o, s:{s:s?}}", "Name", n->name, "Internal", n->internal,
                         "Containers", eps, "Labels", RUNTIME_LABEL_SESSION,
                         n->session[0] ? n->session : NULL);
        return *ret ? 0 : ca_error_setx(err, ENOMEM, "out of memory");
}

int runtime_network_connect(struct runtime *rt, const char *name, const char *id,
                            struct ca_error *err)
{
        struct network *n = find_net(name);
        struct container *c = find_ct(id);

        (void) rt;
        record("network_connect %s %s", name, c ? c->name : id);
        if (fault("network_connect", err) < 0)
                return -EIO;
        if (!n || !c)
                return ca_error_setx(err, ENOENT, "stand-in: no network or container");
        connect_ep(n, c);
        return 0;
}

int runtime_network_disconnect(struct runtime *rt, const char *name, const char *container,
                               bool force, struct ca_error *err)
{
        struct network *n = find_net(name);

        (void) rt;
        record("network_disconnect %s %s%s", name, container, force ? " force" : "");
        if (fault("network_disconnect", err) < 0)
                return -EIO;
        for (size_t i = 0; n && i < n->nep; i++) {
                const struct endpoint *e = &n->ep[i];
                bool gone = !find_ct(e->id);

                if (strcmp(e->container, container) != 0 && strcmp(e->id, container) != 0)
                        continue;
                if (gone && !force)
                        return ca_error_setx(err, EIO, "stand-in: container %s not found",
                                             container);
                drop_ep(n, i);
                return 0;
        }
        return 0;
}

int runtime_network_remove(struct runtime *rt, const char *name, struct ca_error *err)
{
        struct network *n = find_net(name);

        (void) rt;
        record("network_remove %s", name);
        if (fault("network_remove", err) < 0)
                return -EIO;
        if (!n)
                return 0;
        if (n->nep) {
                (void) ca_error_setx(err, EBUSY, "stand-in: network %s has active endpoints",
                                     name);
                return -EBUSY;
        }
        memset(n, 0, sizeof(*n));
        return 0;
}

bool runtime_host_apparmor(void)
{
        return false;
}

/* What the session phases under test never reach on the stand-in. */
#define NOT_MODELLED(op)                                                                        \
        do {                                                                                    \
                record("%s", op);                                                               \
                return ca_error_setx(err, ENOSYS, "stand-in: %s is not modelled", op);          \
        } while (0)

int runtime_inspect(struct runtime *rt, const char *id, json_t **ret, struct ca_error *err)
{
        const struct container *c = find_ct(id);

        (void) rt;
        record("inspect %s", id);
        if (fault("inspect", err) < 0)
                return -EIO;
        if (!c)
                return ca_error_setx(err, ENOENT, "stand-in: no container '%s'", id);
        *ret = json_pack("{s:s, s:s, s:{s:b}}", "Id", c->id, "Name", c->name, "State", "Running",
                         c->started);
        return *ret ? 0 : ca_error_setx(err, ENOMEM, "out of memory");
}

int runtime_attach(struct runtime *rt, const char *id, bool with_stdin, int *ret_fd,
                   struct buf *early, struct ca_error *err)
{
        (void) rt;
        (void) id;
        (void) with_stdin;
        (void) ret_fd;
        (void) early;
        NOT_MODELLED("attach");
}

int runtime_wait(struct runtime *rt, const char *id, int *exit_code, struct ca_error *err)
{
        (void) rt;
        (void) id;
        (void) exit_code;
        NOT_MODELLED("wait");
}

int runtime_stop(struct runtime *rt, const char *id, unsigned grace_seconds,
                 struct ca_error *err)
{
        (void) rt;
        (void) id;
        (void) grace_seconds;
        NOT_MODELLED("stop");
}

int runtime_resize(struct runtime *rt, const char *id, unsigned rows, unsigned cols,
                   struct ca_error *err)
{
        (void) rt;
        (void) id;
        (void) rows;
        (void) cols;
        NOT_MODELLED("resize");
}

int runtime_exec_resize(struct runtime *rt, const char *exec_id, unsigned rows, unsigned cols,
                        struct ca_error *err)
{
        (void) rt;
        (void) exec_id;
        (void) rows;
        (void) cols;
        NOT_MODELLED("exec_resize");
}

int runtime_copy_output(int sock, const struct buf *early, bool tty, int out_fd, int err_fd)
{
        (void) sock;
        (void) early;
        (void) tty;
        (void) out_fd;
        (void) err_fd;
        record("copy_output");
        return -ENOSYS;
}
