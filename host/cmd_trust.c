/* SPDX-License-Identifier: MIT */
/* coding-agents trust add|remove|list: curated trust domains for MCP helpers. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "cleanup.h"
#include "cli.h"
#include "error.h"
#include "json.h"
#include "paths.h"
#include "trust.h"
#include "textsafe.h"

static const char usage[] =
        "usage: coding-agents trust add NAME --bundle FILE.pem\n"
        "       coding-agents trust add NAME --pin sha256//<base64> [--pin ...]\n"
        "       coding-agents trust remove NAME\n"
        "       coding-agents trust list [--json]\n"
        "\n"
        "Trust domains for remote MCP servers (a server's trust = \"NAME\"), kept in\n"
        "<config root>/trust-overrides/. A bundle must hold certificates only (no private\n"
        "key); it is validated and stored re-encoded. Pins are SPKI SHA-256 pins, several\n"
        "allowed for rotation. TLS verification itself can never be turned off. Every change\n"
        "is a trust-changed event.\n";

#define MAX_PINS 64

static void record(const struct cli_ctx *ctx, json_t *fields)
{
        _cleanup_free_ char *log = paths_events_log(ctx->config_root);
        struct ca_error err = {0};

        if (!log || audit_emit(log, AUDIT_TRUST_CHANGED, NULL, fields, &err) < 0)
                (void) cli_error("cannot record the change: %s, ignoring", err.msg);
        json_decref(fields);
}

static int trust_add(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"bundle", required_argument, NULL, 'b'},
                {"pin", required_argument, NULL, 'p'},
                {0},
        };
        const char *pins[MAX_PINS];
        size_t npins = 0;
        const char *bundle = NULL;
        struct ca_error err = {0};
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 'b':
                        bundle = optarg;
                        break;
                case 'p':
                        if (npins == MAX_PINS)
                                return cli_usage_error(ctx, "too many --pin");
                        pins[npins++] = optarg;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (argc - optind != 1)
                return cli_usage_error(ctx, "add takes one NAME");
        if (!!bundle == !!npins)
                return cli_usage_error(ctx, "give either --bundle or --pin");
        if (bundle) {
                struct tls_cert_info *certs = NULL;
                size_t n = 0;
                if (trust_add_bundle(ctx->config_root, argv[optind], bundle, &certs, &n, &err) <
                    0)
                        return cli_fail(&err);
                for (size_t i = 0; i < n; i++) {
                        char subject[1024];

                        /* A certificate's subject is the issuer's text, not ours. */
                        (void) printf("%s  %s%s\n", certs[i].sha256,
                                      text_escape_to(certs[i].subject, 0, subject,
                                                     sizeof(subject)),
                                      certs[i].ca ? "" : "  (not a CA certificate)");
                }
                free(certs);
                record(ctx, json_pack("{s:s, s:s, s:s, s:I}", "action", "add", "name",
                                      argv[optind], "kind", "bundle", "count", (json_int_t) n));
        } else {
                if (trust_add_pins(ctx->config_root, argv[optind], pins, npins, &err) < 0)
                        return cli_fail(&err);
                record(ctx, json_pack("{s:s, s:s, s:s, s:I}", "action", "add", "name",
                                      argv[optind], "kind", "pins", "count",
                                      (json_int_t) npins));
        }
        (void) printf("trust '%s' updated\n", argv[optind]);
        return cli_finish(CLI_OK);
}

int cmd_trust(int argc, char **argv, struct cli_ctx *ctx)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"json", no_argument, NULL, 'j'},
                {0},
        };
        struct ca_error err = {0};
        bool json = false;
        int c;

        if (argc < 2)
                return cli_usage_error(ctx, "missing subcommand (add, remove or list)");
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
                return cli_help(usage);
        if (strcmp(argv[1], "add") == 0)
                return trust_add(argc - 1, argv + 1, ctx);
        if (strcmp(argv[1], "remove") != 0 && strcmp(argv[1], "list") != 0)
                return cli_usage_error(ctx, "unknown subcommand '%s'", argv[1]);
        optind = 0;
        while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
                if (c == 'h')
                        return cli_help(usage);
                if (c == 'j' && strcmp(argv[1], "list") == 0) {
                        json = true;
                        continue;
                }
                return cli_usage_error(ctx, "unknown option");
        }
        if (strcmp(argv[1], "remove") == 0) {
                if (argc - 1 - optind != 1)
                        return cli_usage_error(ctx, "remove takes one NAME");
                if (trust_remove(ctx->config_root, argv[1 + optind], &err) < 0)
                        return cli_fail(&err);
                record(ctx, json_pack("{s:s, s:s}", "action", "remove", "name", argv[1 + optind]));
                (void) printf("trust '%s' removed\n", argv[1 + optind]);
                return cli_finish(CLI_OK);
        }
        if (argc - 1 - optind != 0)
                return cli_usage_error(ctx, "list takes no arguments");
        {
                _cleanup_json_ json_t *list = NULL;
                size_t i;
                json_t *row;

                if (trust_list(ctx->config_root, &list, &err) < 0)
                        return cli_fail(&err);
                if (json) {
                        _cleanup_buf_ struct buf b = BUF_INIT;
                        if (ca_json_pretty(list, &b, &err) < 0)
                                return cli_fail(&err);
                        (void) fwrite(b.data, 1, b.len, stdout);
                        return cli_finish(CLI_OK);
                }
                (void) printf("system  the system CA store, always available\n");
                json_array_foreach(list, i, row) {
                        (void) printf("%s  %s, %" JSON_INTEGER_FORMAT " %s\n",
                                      json_string_value(json_object_get(row, "name")),
                                      json_string_value(json_object_get(row, "kind")),
                                      json_integer_value(json_object_get(row, "count")),
                                      strcmp(json_string_value(json_object_get(row, "kind")),
                                             "bundle") == 0
                                              ? "certificate(s)"
                                              : "pin(s)");
                }
        }
        return cli_finish(CLI_OK);
}
