/* SPDX-License-Identifier: MIT */
/* coding-agents broker <sub>: the secret broker's daemon and its admin client. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "broker.h"
#include "broker_client.h"
#include "broker_proto.h"
#include "brokercred.h"
#include "buf.h"
#include "capability.h"
#include "cleanup.h"
#include "cli.h"
#include "names.h"
#include "digest.h"
#include "error.h"
#include "fileio.h"
#include "json.h"
#include "parse.h"
#include "secret.h"

static const char usage[] =
        "usage: coding-agents broker <command> [options]\n"
        "\n"
        "The secret broker keeps secrets sealed on this host and releases each one only to a\n"
        "verified process, once. Commands start the daemon when it is not running (or the\n"
        "user's systemd does, through coding-agents-broker.socket: docs/broker.md).\n"
        "\n"
        "  serve [--daemon] [--ready-fd N]\n"
        "                              run the daemon (foreground unless --daemon); with\n"
        "                              --ready-fd, write to descriptor N once it listens\n"
        "  health                      is the daemon up?\n"
        "  store NAME [--from-env VAR | --from-file FILE]\n"
        "                              store a secret; the value comes from standard input\n"
        "                              (prompted without echo on a terminal), never argv\n"
        "  list [--json]               names and metadata, never values\n"
        "  rm NAME                     delete a secret\n"
        "  rotate-master               new master key; everything is resealed atomically\n"
        "  issue --session S --stub NAME --secret A[,B] --uid UID [--cgroup PATH]\n"
        "        [--binary PATH] [--ttl 30m] [--max-uses N] [--out FILE]\n"
        "                              issue a capability; prints (or writes to FILE, 0600) a\n"
        "                              JSON credential {capability, key, socket}\n"
        "  redeem --credential FILE [--secret NAME] [--socket PATH] [--fd N | --stdout]\n"
        "                              redeem a credential (test/admin client); writes the\n"
        "                              value to descriptor N, or to stdout only with --stdout;\n"
        "                              --socket: the session socket to use instead of the\n"
        "                              credential's (as a stub sees it, bind-mounted)\n"
        "  revoke --cap ID | --session S\n"
        "  dump --session S [--json]   capability metadata of a session\n"
        "  -h, --help                  show this help\n";

/* ---- helpers ---------------------------------------------------------------------------- */

static int print_json(const json_t *v)
{
        _cleanup_buf_ struct buf b = BUF_INIT;
        struct ca_error err = {0};

        if (ca_json_pretty(v, &b, &err) < 0)
                return cli_fail(&err);
        (void) fwrite(b.data, 1, b.len, stdout);
        return cli_finish(CLI_OK);
}

/* Parses "-h/--help" and rejects options for subcommands that take none. */
static int no_options(int argc, char **argv, const struct cli_ctx *ctx, int want_args)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'h')
                        return cli_help(usage);
                return cli_usage_error(ctx, "unknown option");
        }
        if (argc - optind != want_args)
                return cli_usage_error(ctx, "%s takes %d argument%s", argv[0], want_args,
                                       want_args == 1 ? "" : "s");
        return -1;
}

/* ---- serve -------------------------------------------------------------------------------- */

/* The daemon is its own program (ca-broker: libc, libsodium, jansson and nothing
 * else mapped next to the master key). `serve` runs it in the foreground in this process's
 * place; `serve --daemon` starts it detached when none answers. */
static int broker_serve(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"daemon", no_argument, NULL, 'd'},
                {"ready-fd", required_argument, NULL, 'r'},
                {0},
        };
        _cleanup_free_ char *exe = NULL;
        _cleanup_free_ char **args = NULL;
        struct ca_error err = {0};
        bool daemon = false;
        uint64_t ready = 0;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 'd':
                        daemon = true;
                        break;
                case 'r':
                        if (parse_uint(optarg, 3, 1024, &ready) < 0)
                                return cli_usage_error(ctx, "bad --ready-fd '%s'", optarg);
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (optind < argc)
                return cli_usage_error(ctx, "unexpected argument '%s'", argv[optind]);
        if (daemon) {
                exe = cli_sibling(CLI_BROKER_PROGRAM);
                if (!exe)
                        return cli_error("out of memory");
                if (broker_ensure_running(exe, ctx->config_root, &err) < 0)
                        return cli_fail(&err);
                return cli_finish(CLI_OK);
        }
        /* argv[0] is "serve": the program's name goes before it, the options after. */
        args = calloc((size_t) argc + 2, sizeof(*args));
        if (!args)
                return cli_error("out of memory");
        args[0] = (char *) CLI_BROKER_PROGRAM;
        for (int i = 0; i < argc; i++)
                args[i + 1] = argv[i];
        return cli_exec_sibling(CLI_BROKER_PROGRAM, args);
}

/* ---- store ----------------------------------------------------------------------------------- */

/* Reads a secret from a terminal without echo, or from a pipe/file as is. */
static int read_secret_stdin(const char *name, struct ca_secret **ret, struct ca_error *err)
{
        struct termios old;
        struct termios quiet;
        bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
        int r;

        if (tty) {
                quiet = old;
                quiet.c_lflag &= ~(tcflag_t) (ECHO | ECHONL);
                (void) fprintf(stderr, "value for %s (not echoed): ", name);
                (void) fflush(stderr);
                (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        }
        r = secret_read_fd(STDIN_FILENO, true, ret, err);
        if (tty) {
                (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
                (void) fputc('\n', stderr);
        }
        return r;
}

static int broker_store(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"from-env", required_argument, NULL, 'e'},
                {"from-file", required_argument, NULL, 'f'},
                {0},
        };
        _cleanup_secret_ struct ca_secret *value = NULL;
        _cleanup_close_ int memfd = -1;
        const char *from_env = NULL;
        const char *from_file = NULL;
        struct ca_error err = {0};
        const char *name;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 'e':
                        from_env = optarg;
                        break;
                case 'f':
                        from_file = optarg;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (argc - optind != 1)
                return cli_usage_error(ctx, "store takes one NAME (the value comes from stdin)");
        if (from_env && from_file)
                return cli_usage_error(ctx, "--from-env and --from-file exclude each other");
        name = argv[optind];
        if (!names_secret_ok(name, strlen(name)))
                return cli_usage_error(ctx,
                                       "bad secret name '%s': letters, digits and '_', not "
                                       "starting with a digit",
                                       name);
        if (from_env) {
                const char *v = secure_getenv(from_env);
                if (!v)
                        return cli_usage_error(ctx, "environment variable '%s' is not set",
                                               from_env);
                value = secret_new_from(v, strlen(v));
        } else if (from_file) {
                _cleanup_close_ int fd = open(from_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return cli_error("cannot open '%s': %s", from_file, strerror(errno));
                if (secret_read_fd(fd, false, &value, &err) < 0)
                        return cli_fail(&err);
        } else if (read_secret_stdin(name, &value, &err) < 0) {
                return cli_fail(&err);
        }
        if (!value)
                return cli_error("cannot allocate secure memory");
        if (broker_admin_store(ctx, name, value, NULL, &err) < 0)
                return cli_fail(&err);
        (void) printf("stored %s (%zu bytes)\n", name, value->len);
        return cli_finish(CLI_OK);
}

/* ---- list / rm / rotate / health ------------------------------------------------------------ */

static int broker_list(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"json", no_argument, NULL, 'j'},
                {0},
        };
        _cleanup_json_ json_t *reply = NULL;
        struct ca_error err = {0};
        bool json = false;
        json_t *row;
        size_t i;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'h')
                        return cli_help(usage);
                if (c == 'j') {
                        json = true;
                        continue;
                }
                return cli_usage_error(ctx, "unknown option");
        }
        if (optind < argc)
                return cli_usage_error(ctx, "unexpected argument '%s'", argv[optind]);
        if (broker_admin_query(ctx, "list", NULL, &reply, &err) < 0)
                return cli_fail(&err);
        if (json)
                return print_json(json_object_get(reply, "secrets"));
        json_array_foreach(json_object_get(reply, "secrets"), i, row) {
                (void) printf("%-32s %6" JSON_INTEGER_FORMAT " bytes  updated %s\n",
                              json_string_value(json_object_get(row, "name")),
                              json_integer_value(json_object_get(row, "size")),
                              json_string_value(json_object_get(row, "updated")));
        }
        return cli_finish(CLI_OK);
}

static int simple_op(int argc, char **argv, struct cli_ctx *ctx, const char *op, int nargs)
{
        _cleanup_json_ json_t *reply = NULL;
        struct ca_error err = {0};
        int r = no_options(argc, argv, ctx, nargs);

        if (r >= 0)
                return r;
        if (broker_admin_query(ctx, op, nargs ? argv[optind] : NULL, &reply, &err) < 0)
                return cli_fail(&err);
        if (strcmp(op, "health") == 0)
                (void) printf("broker: up (pid %" JSON_INTEGER_FORMAT ", version %s, %" JSON_INTEGER_FORMAT
                              " live sessions)\n",
                              json_integer_value(json_object_get(reply, "pid")),
                              json_string_value(json_object_get(reply, "version")),
                              json_integer_value(json_object_get(reply, "sessions")));
        else
                (void) printf("%s: done\n", op);
        return cli_finish(CLI_OK);
}

/* ---- issue ---------------------------------------------------------------------------------- */


/* What `issue` reads from its command line besides the request. */
struct issue_args {
        struct broker_issue req;
        const char *secrets[CAP_MAX_SECRETS];
        char hash[2 * DIGEST_SHA256_LEN + 1];
        const char *out_file;
        bool has_uid;
};

/* One option of `issue`; -1 to go on, or the exit status. */
static int issue_option(struct cli_ctx *ctx, struct issue_args *a, int c, char *arg)
{
        struct ca_error err = {0};
        char *save = NULL;
        uint64_t v = 0;

        switch (c) {
        case 'h':
                return cli_help(usage);
        case 's':
                a->req.session = arg;
                return -1;
        case 'n':
                a->req.stub = arg;
                return -1;
        case 'k':
                for (char *t = strtok_r(arg, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                        if (a->req.nsecrets == CAP_MAX_SECRETS)
                                return cli_usage_error(ctx, "more than %d secrets",
                                                       CAP_MAX_SECRETS);
                        a->secrets[a->req.nsecrets++] = t;
                }
                return -1;
        case 'u':
                if (parse_uint(arg, 0, 0xfffffffeu, &v) < 0)
                        return cli_usage_error(ctx, "bad --uid '%s'", arg);
                a->req.uid = (uint32_t) v;
                a->has_uid = true;
                return -1;
        case 'c':
                a->req.cgroup = arg;
                return -1;
        case 'b':
                if (digest_file_hex(arg, a->hash, &err) < 0)
                        return cli_fail(&err);
                a->req.binary_sha256 = a->hash;
                return -1;
        case 't':
                if (parse_duration(arg, BROKER_TTL_MAX, &v) < 0)
                        return cli_usage_error(ctx, "bad --ttl '%s' (e.g. 90s, 30m, 12h, 7d)",
                                               arg);
                a->req.ttl = v;
                return -1;
        case 'm':
                if (parse_uint(arg, 1, 65535, &v) < 0)
                        return cli_usage_error(ctx, "bad --max-uses '%s'", arg);
                a->req.max_uses = (uint16_t) v;
                return -1;
        case 'o':
                a->out_file = arg;
                return -1;
        default:
                return cli_usage_error(ctx, "unknown option");
        }
}

/* The issued credential: into --out, or on stdout. */
static int issue_output(const struct issue_args *a, const struct broker_issued *issued)
{
        _cleanup_buf_ struct buf out = BUF_INIT;
        struct ca_error err = {0};

        if (a->out_file) {
                if (brokercred_write(a->out_file, issued->capability, issued->key_hex,
                                     issued->socket, issued->id, issued->expiry, &err) < 0)
                        return cli_fail(&err);
                (void) printf("capability %s written to %s\n", issued->id, a->out_file);
                return cli_finish(CLI_OK);
        }
        if (brokercred_format(issued->capability, issued->key_hex, issued->socket, issued->id,
                              issued->expiry, &out, &err) < 0)
                return cli_fail(&err);
        (void) fwrite(out.data, 1, out.len, stdout);
        sodium_memzero(out.data, out.len);
        return cli_finish(CLI_OK);
}

static int broker_issue(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"session", required_argument, NULL, 's'},
                {"stub", required_argument, NULL, 'n'},
                {"secret", required_argument, NULL, 'k'},
                {"uid", required_argument, NULL, 'u'},
                {"cgroup", required_argument, NULL, 'c'},
                {"binary", required_argument, NULL, 'b'},
                {"ttl", required_argument, NULL, 't'},
                {"max-uses", required_argument, NULL, 'm'},
                {"out", required_argument, NULL, 'o'},
                {0},
        };
        struct issue_args a = {.req = {.ttl = 1800, .max_uses = 1}};
        struct broker_issued issued;
        struct ca_error err = {0};
        int c, status;

        a.req.secrets = a.secrets;
        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                status = issue_option(ctx, &a, c, optarg);
                if (status >= 0)
                        return status;
        }
        if (optind < argc)
                return cli_usage_error(ctx, "unexpected argument '%s'", argv[optind]);
        if (!a.req.session || !a.req.stub || !a.has_uid || a.req.nsecrets == 0)
                return cli_usage_error(ctx, "issue needs --session, --stub, --secret and --uid");
        if (broker_admin_issue(ctx, &a.req, &issued, &err) < 0)
                return cli_fail(&err);
        status = issue_output(&a, &issued);
        broker_issued_clear(&issued);
        return status;
}

/* ---- redeem ----------------------------------------------------------------------------------- */

static int broker_redeem_cmd(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"credential", required_argument, NULL, 'c'},
                {"socket", required_argument, NULL, 's'},
                {"secret", required_argument, NULL, 'k'},
                {"fd", required_argument, NULL, 'f'},
                {"stdout", no_argument, NULL, 'o'},
                {0},
        };
        struct broker_redeemed got[CAP_MAX_SECRETS];
        _cleanup_brokercred_ struct broker_credential cred;
        struct ca_error err = {0};
        const char *cred_file = NULL;
        const char *socket = NULL;
        const char *want = NULL;
        const struct broker_redeemed *pick = NULL;
        uint64_t fdnum = 0;
        int out_fd = -1;
        int n;
        int c;
        int r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 'c':
                        cred_file = optarg;
                        break;
                case 's':
                        socket = optarg;
                        break;
                case 'k':
                        want = optarg;
                        break;
                case 'f':
                        if (parse_uint(optarg, 0, 1 << 20, &fdnum) < 0)
                                return cli_usage_error(ctx, "bad --fd '%s'", optarg);
                        out_fd = (int) fdnum;
                        break;
                case 'o':
                        out_fd = STDOUT_FILENO;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (optind < argc || !cred_file)
                return cli_usage_error(ctx, "redeem needs --credential FILE");
        if (out_fd < 0)
                return cli_usage_error(ctx,
                                       "say where the value goes: --fd N, or --stdout explicitly");
        if (brokercred_load(cred_file, &cred, &err) < 0)
                return cli_fail(&err);
        n = brokercred_redeem(&cred, socket, got, CAP_MAX_SECRETS, &err);
        if (n < 0)
                return cli_fail(&err);
        for (int i = 0; i < n; i++) {
                if (want ? strcmp(got[i].name, want) == 0 : n == 1)
                        pick = &got[i];
        }
        if (!pick) {
                broker_redeemed_clear(got, (size_t) n);
                return cli_usage_error(ctx, want ? "the capability holds no secret '%s'"
                                                 : "the capability holds several secrets: pick "
                                                   "one with --secret%s",
                                       want ? want : "");
        }
        r = fileio_write_all(out_fd, pick->value->buf, pick->value->len);
        broker_redeemed_clear(got, (size_t) n);
        if (r < 0)
                return cli_error("cannot write the secret to descriptor %d: %s", out_fd,
                                 strerror(-r));
        return cli_finish(CLI_OK);
}

/* ---- revoke / dump ---------------------------------------------------------------------------- */

static int broker_revoke(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"cap", required_argument, NULL, 'c'},
                {"session", required_argument, NULL, 's'},
                {0},
        };
        const char *cap = NULL, *session = NULL;
        struct ca_error err = {0};
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 'c':
                        cap = optarg;
                        break;
                case 's':
                        session = optarg;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (optind < argc || !cap == !session)
                return cli_usage_error(ctx, "revoke takes exactly one of --cap ID, --session S");
        if ((cap ? broker_admin_revoke_cap(ctx, cap, &err)
                 : broker_admin_revoke_session(ctx, session, &err)) < 0)
                return cli_fail(&err);
        (void) printf("revoked\n");
        return cli_finish(CLI_OK);
}

static int broker_dump(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"session", required_argument, NULL, 's'},
                {"json", no_argument, NULL, 'j'},
                {0},
        };
        _cleanup_json_ json_t *reply = NULL;
        struct ca_error err = {0};
        const char *session = NULL;
        bool json = false;
        json_t *row;
        size_t i;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 's':
                        session = optarg;
                        break;
                case 'j':
                        json = true;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (optind < argc || !session)
                return cli_usage_error(ctx, "dump needs --session S");
        if (broker_admin_query(ctx, "dump", session, &reply, &err) < 0)
                return cli_fail(&err);
        if (json)
                return print_json(reply);
        (void) printf("session %s%s\n", session,
                      json_is_true(json_object_get(reply, "revoked")) ? " (revoked)" : "");
        json_array_foreach(json_object_get(reply, "capabilities"), i, row) {
                (void) printf("  %s  stub %-16s uid %-6" JSON_INTEGER_FORMAT " uses %" JSON_INTEGER_FORMAT
                              "/%" JSON_INTEGER_FORMAT "%s%s\n",
                              json_string_value(json_object_get(row, "id")),
                              json_string_value(json_object_get(row, "stub")),
                              json_integer_value(json_object_get(row, "uid")),
                              json_integer_value(json_object_get(row, "uses")),
                              json_integer_value(json_object_get(row, "max_uses")),
                              json_is_true(json_object_get(row, "revoked")) ? " revoked" : "",
                              json_is_true(json_object_get(row, "expired")) ? " expired" : "");
        }
        return cli_finish(CLI_OK);
}

/* ---- dispatch -------------------------------------------------------------------------------- */

int cmd_broker(int argc, char **argv, struct cli_ctx *ctx)
{
        const char *sub;

        if (argc < 2)
                return cli_usage_error(ctx, "missing subcommand");
        sub = argv[1];
        argc--;
        argv++;
        if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0)
                return cli_help(usage);
        if (strcmp(sub, "serve") == 0)
                return broker_serve(argc, argv, ctx);
        if (strcmp(sub, "health") == 0)
                return simple_op(argc, argv, ctx, "health", 0);
        if (strcmp(sub, "store") == 0)
                return broker_store(argc, argv, ctx);
        if (strcmp(sub, "list") == 0)
                return broker_list(argc, argv, ctx);
        if (strcmp(sub, "rm") == 0)
                return simple_op(argc, argv, ctx, "rm", 1);
        if (strcmp(sub, "rotate-master") == 0)
                return simple_op(argc, argv, ctx, "rotate-master", 0);
        if (strcmp(sub, "issue") == 0)
                return broker_issue(argc, argv, ctx);
        if (strcmp(sub, "redeem") == 0)
                return broker_redeem_cmd(argc, argv, ctx);
        if (strcmp(sub, "revoke") == 0)
                return broker_revoke(argc, argv, ctx);
        if (strcmp(sub, "dump") == 0)
                return broker_dump(argc, argv, ctx);
        return cli_usage_error(ctx, "unknown subcommand '%s'", sub);
}
