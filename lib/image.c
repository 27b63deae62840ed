/* SPDX-License-Identifier: MIT */
/* The agent image's contract (image.h). */
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "image.h"

/* agent-init first (build_agent() labels the image with its hash); egress-proxy supervises the
 * proxy mode's sidecar, which runs from the same image. The host's CLI is not in the image. */
const char *const image_programs[IMAGE_NPROGRAMS] = {"agent-init",        "mcp-helper",
                                                     "mcp-stub",          "mcp-stub-launcher",
                                                     "egress-proxy",      "task-runner",
                                                     "ca-shell",          "exec-guard",
                                                     "ca-probe"};

/* In order of preference per agent: Claude's OAuth file before its API key. */
const struct image_credential image_credentials[IMAGE_NCREDENTIALS] = {
        {"claude", "AGENT_CLAUDE_CREDENTIALS", ".claude/.credentials.json", NULL,
         ".credentials.json", NULL},
        {"claude", "AGENT_CLAUDE_API_KEY", NULL, "ANTHROPIC_API_KEY", NULL, "ANTHROPIC_API_KEY"},
        {"codex", "AGENT_CODEX_AUTH", ".codex/auth.json", NULL, "auth.json", NULL},
        {"copilot", "AGENT_COPILOT_TOKEN", NULL, "COPILOT_GITHUB_TOKEN", NULL,
         "COPILOT_GITHUB_TOKEN"},
        {"copilot", "AGENT_COPILOT_CONFIG", ".copilot/config.json", NULL, "config.json", NULL},
};

const struct image_credential *image_credential_find(const char *agent, const char *secret)
{
        for (size_t i = 0; i < IMAGE_NCREDENTIALS; i++)
                if (strcmp(image_credentials[i].agent, agent) == 0 &&
                    strcmp(image_credentials[i].secret, secret) == 0)
                        return &image_credentials[i];
        return NULL;
}

static bool package_char(char c, bool first)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               (!first && (c == '+' || c == '.' || c == '-'));
}

int image_package_list(const char *text, size_t len, char **ret, struct ca_error *err)
{
        _cleanup_buf_ struct buf out = BUF_INIT;
        const char *p = text, *end = text + len;
        unsigned line = 0;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *le = nl ? nl : end;
                const char *s = p, *e;

                line++;
                while (s < le && (*s == ' ' || *s == '\t'))
                        s++;
                e = s;
                while (e < le && *e != '#' && *e != ' ' && *e != '\t' && *e != '\r')
                        e++;
                if (e > s) {
                        for (const char *q = s; q < e; q++)
                                if (!package_char(*q, q == s))
                                        return ca_error_input(err, "line %u: not a Debian "
                                                                   "package name",
                                                              line);
                        if (e - s < 2)
                                return ca_error_input(err, "line %u: not a Debian package name",
                                                      line);
                        for (const char *q = e; q < le && *q != '#'; q++)
                                if (*q != ' ' && *q != '\t' && *q != '\r')
                                        return ca_error_input(err, "line %u: one package per "
                                                                   "line",
                                                              line);
                        if ((out.len && buf_append_char(&out, ',') < 0) ||
                            buf_append(&out, s, (size_t) (e - s)) < 0)
                                return ca_error_setx(err, ENOMEM, "out of memory");
                }
                p = nl ? nl + 1 : end;
        }
        if (out.len == 0)
                return ca_error_input(err, "no packages listed");
        if (buf_append_char(&out, '\0') < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        *ret = buf_detach(&out, NULL);
        return 0;
}
