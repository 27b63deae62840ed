/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for host/lib/oci: everything `image pull` reads comes from the registry (or
 * whoever answers in its place). The first byte picks the parser: a reference, a Bearer
 * challenge, a token answer, a signature manifest (each of whose layers then becomes a bundle
 * that the bundle parser must take or refuse as bad input), a signature payload. Any bytes must
 * parse or be refused, never crash or leak; what parses must hold what the caller relies on.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "oci.h"
#include "sigbundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool printable(const char *s)
{
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || (unsigned char) *s == 0x7f)
                        return false;
        return true;
}

static void reference(const char *s)
{
        struct ca_error err = {0};
        struct oci_ref r, again;
        char text[OCI_HOST_MAX + OCI_REPO_MAX + OCI_TAG_MAX + OCI_DIGEST_LEN + 8];

        if (oci_ref_parse(s, &r, &err) != 0) {
                if (!err.bad_input)
                        __builtin_trap();
                return;
        }
        if (!r.host[0] || !r.repo[0] || (!r.tag[0] && !r.digest[0]) ||
            (r.digest[0] && !oci_digest_valid(r.digest)) || strpbrk(r.repo, ":@?#%") ||
            strpbrk(r.host, "/@?#%") || !printable(r.tag))
                __builtin_trap();
        /* Written back out, it parses to the same. */
        (void) snprintf(text, sizeof(text), "%s/%s%s%s%s%s", r.host, r.repo, r.tag[0] ? ":" : "",
                        r.tag, r.digest[0] ? "@" : "", r.digest);
        if (oci_ref_parse(text, &again, &err) != 0 || memcmp(&r, &again, sizeof(r)) != 0)
                __builtin_trap();
}

static void challenge(const char *s, size_t n)
{
        struct oci_challenge c;

        if (oci_challenge_parse(s, n, &c) != 0)
                return;
        if (strncmp(c.realm, "https://", 8) != 0 || !printable(c.realm) ||
            !printable(c.service) || !printable(c.scope))
                __builtin_trap();
}

static void token(const char *s, size_t n)
{
        char *t = NULL;

        if (oci_token_parse(s, n, &t) != 0) {
                if (t)
                        __builtin_trap();
                return;
        }
        for (const char *c = t; *c; c++)
                if ((unsigned char) *c <= 0x20 || (unsigned char) *c >= 0x7f)
                        __builtin_trap();
        free(t);
}

static void signatures(const char *s, size_t n)
{
        struct ca_error err = {0};
        struct oci_sig_layer *l = NULL;
        size_t k = 0;
        static const uint8_t md[32] = {7};

        if (oci_sig_layers(s, n, &l, &k, &err) != 0) {
                if (!err.bad_input || l || k)
                        __builtin_trap();
                return;
        }
        if (k > OCI_SIGNATURES_MAX)
                __builtin_trap();
        for (size_t i = 0; i < k; i++) {
                struct buf out = BUF_INIT;
                struct sigbundle b;
                int r;

                if (!oci_digest_valid(l[i].digest) || l[i].size < 0 || !l[i].signature)
                        __builtin_trap();
                memset(&err, 0, sizeof(err));
                r = oci_cosign_bundle(&l[i], md, &out, &err);
                if (r != 0) {
                        if (r != -EINVAL || !err.bad_input)
                                __builtin_trap();
                        buf_clear(&out);
                        continue;
                }
                memset(&err, 0, sizeof(err));
                r = sigbundle_parse(out.data, out.len, &b, &err);
                if (r != 0) {
                        if (r != -EINVAL || !err.bad_input)
                                __builtin_trap();
                } else {
                        if (b.version != SIGBUNDLE_V01 || b.ntlogs != 1 || b.digest_len != 32 ||
                            memcmp(b.digest, md, 32) != 0)
                                __builtin_trap();
                        sigbundle_clear(&b);
                }
                buf_clear(&out);
        }
        oci_sig_layers_free(l, k);
}

static void payload(const char *s, size_t n)
{
        struct ca_error err = {0};
        int r = oci_payload_check(s, n, "sha256:0000000000000000000000000000000000000000000000"
                                        "000000000000000000",
                                  "ghcr.io/o/agent", &err);

        if (r != 0 && r != -EBADMSG && !(r == -EINVAL && err.bad_input))
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s;

        if (size == 0)
                return 0;
        s = malloc(size);
        if (!s)
                return 0;
        memcpy(s, data + 1, size - 1);
        s[size - 1] = '\0';
        switch (data[0] % 5) {
        case 0:
                reference(s);
                break;
        case 1:
                challenge(s, size - 1);
                break;
        case 2:
                token(s, size - 1);
                break;
        case 3:
                signatures(s, size - 1);
                break;
        default:
                payload(s, size - 1);
                break;
        }
        free(s);
        return 0;
}
