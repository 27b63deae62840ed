/* SPDX-License-Identifier: MIT */
#include "broker_client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sodium.h>

#include "broker_proto.h"
#include "cleanup.h"
#include "error.h"
#include "paths.h"
#include "secret.h"
#include "usock.h"
#include "parse.h"

char *broker_dir(const char *config_root)
{
        return paths_join(config_root, "broker.d");
}

char *broker_admin_socket(const char *config_root)
{
        _cleanup_free_ char *dir = broker_dir(config_root);

        return dir ? paths_join(dir, "run/admin.sock") : NULL;
}

char *broker_session_socket(const char *config_root, const char *session)
{
        _cleanup_free_ char *dir = broker_dir(config_root);
        _cleanup_free_ char *sessions = dir ? paths_join(dir, "run/sessions") : NULL;
        char name[CAP_SESSION_MAX + 8];

        if (!sessions || !capability_valid_session(session))
                return NULL;
        (void) snprintf(name, sizeof(name), "%s.sock", session);
        return paths_join(sessions, name);
}

static int reply_error(json_t *reply, struct ca_error *err)
{
        const char *code = json_string_value(json_object_get(reply, "error"));
        const char *msg = json_string_value(json_object_get(reply, "message"));
        int e = EIO;

        if (!code)
                code = "unknown";
        if (strcmp(code, "denied") == 0)
                e = EACCES;
        else if (strcmp(code, "bad-request") == 0)
                e = EINVAL;
        else if (strcmp(code, "not-found") == 0)
                e = ENOENT;
        /* The broker judged the request malformed: that is bad input (exit status 2). */
        if (e == EINVAL)
                return ca_error_input(err, "broker: %s", msg ? msg : code);
        if (msg)
                return ca_error_setx(err, e, "broker: %s", msg);
        return ca_error_setx(err, e, "broker: %s", code);
}

int broker_wait_exit(pid_t pid, int timeout_ms)
{
        struct pollfd p;
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);
        int r;

        if (fd < 0)
                return errno == ESRCH ? 0 : -errno;
        p = (struct pollfd) {.fd = fd, .events = POLLIN};
        do {
                r = poll(&p, 1, timeout_ms);
        } while (r < 0 && errno == EINTR);
        (void) close(fd);
        if (r < 0)
                return -errno;
        return r == 0 ? -ETIMEDOUT : 0;
}

int broker_call(const char *socket_path, const json_t *req, const int *fds, size_t nfds,
                json_t **ret_reply, int *ret_fds, size_t max_fds, size_t *ret_nfds,
                struct ca_error *err)
{
        pid_t peer = 0;

        return broker_call_peer(socket_path, req, fds, nfds, ret_reply, ret_fds, max_fds,
                                ret_nfds, &peer, err);
}

int broker_call_peer(const char *socket_path, const json_t *req, const int *fds, size_t nfds,
                     json_t **ret_reply, int *ret_fds, size_t max_fds, size_t *ret_nfds,
                     pid_t *ret_peer, struct ca_error *err)
{
        _cleanup_close_ int sock = -1;
        char buf[BROKER_MSG_MAX + 1];
        json_t *reply = NULL;
        size_t got = 0;
        int n;
        int r;

        *ret_peer = 0;
        sock = usock_connect(socket_path, err);
        if (sock < 0)
                return sock;
        {
                struct ucred cred;
                socklen_t len = sizeof(cred);
                if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
                        *ret_peer = cred.pid;
        }
        r = broker_send(sock, req, fds, nfds, err);
        if (r < 0)
                return r;
        n = broker_recv(sock, buf, ret_fds, max_fds, &got, err);
        if (n < 0)
                return n;
        r = ca_json_parse(buf, (size_t) n, "broker reply", &reply, err);
        if (r < 0 || !json_is_object(reply)) {
                json_decref(reply);
                for (size_t i = 0; i < got; i++)
                        (void) close(ret_fds[i]);
                return ca_error_setx(err, EPROTO, "malformed reply from the broker");
        }
        if (!json_is_true(json_object_get(reply, "ok"))) {
                r = reply_error(reply, err);
                json_decref(reply);
                for (size_t i = 0; i < got; i++)
                        (void) close(ret_fds[i]);
                return r;
        }
        if (ret_nfds)
                *ret_nfds = got;
        *ret_reply = reply;
        return 0;
}

void broker_redeemed_clear(struct broker_redeemed *r, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                secret_free(r[i].value);
                r[i].value = NULL;
        }
}

int broker_redeem(const char *socket_path, const char *cap_text, const uint8_t key[CAP_KEY_LEN],
                  struct broker_redeemed *out, size_t max, struct ca_error *err)
{
        struct capability cap;
        uint8_t nonce[BROKER_NONCE_LEN];
        uint8_t proof[CAP_MAC_LEN];
        uint8_t answer[CAP_MAC_LEN];
        char nonce_hex[2 * BROKER_NONCE_LEN + 1];
        char proof_hex[2 * CAP_MAC_LEN + 1];
        int fds[BROKER_MAX_FDS];
        size_t nfds = 0;
        _cleanup_json_ json_t *req = NULL;
        _cleanup_json_ json_t *reply = NULL;
        json_t *names;
        size_t n;
        int r;

        switch (capability_parse(cap_text, &cap)) {
        case CAP_OK:
                break;
        case CAP_BAD_VERSION:
                return ca_error_input(err,
                                      "the capability is of a format this broker no longer "
                                      "accepts (%.5s; this version issues %s): issue it again",
                                      cap_text, CAP_PREFIX);
        default:
                return ca_error_input(err, "not a valid capability");
        }
        randombytes_buf(nonce, sizeof(nonce));
        broker_proof(key, NULL, nonce, cap.id, proof);
        sodium_bin2hex(nonce_hex, sizeof(nonce_hex), nonce, sizeof(nonce));
        sodium_bin2hex(proof_hex, sizeof(proof_hex), proof, sizeof(proof));
        req = json_pack("{s:s, s:s, s:s, s:s}", "op", "redeem", "capability", cap_text, "nonce",
                        nonce_hex, "proof", proof_hex);
        if (!req)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = broker_call(socket_path, req, NULL, 0, &reply, fds, BROKER_MAX_FDS, &nfds, err);
        if (r < 0)
                return r;

        /* The broker proves it holds the key too: otherwise we may be talking to an impostor. */
        broker_proof(key, "broker", nonce, cap.id, proof);
        names = json_object_get(reply, "secrets");
        n = json_array_size(names);
        if (!parse_hex(json_string_value(json_object_get(reply, "proof")), answer,
                               sizeof(answer)) ||
            sodium_memcmp(answer, proof, sizeof(proof)) != 0) {
                r = ca_error_setx(err, EPROTO, "the broker could not prove it holds the key");
                goto fail;
        }
        if (n != nfds || n > max) {
                r = ca_error_setx(err, EPROTO, "the broker sent %zu descriptors for %zu secrets",
                                  nfds, n);
                goto fail;
        }
        for (size_t i = 0; i < n; i++) {
                const char *name = json_string_value(json_array_get(names, i));

                if (!name || strlen(name) > CAP_SECRET_NAME_MAX) {
                        r = ca_error_setx(err, EPROTO, "malformed secret name from the broker");
                        broker_redeemed_clear(out, i);
                        goto fail;
                }
                (void) snprintf(out[i].name, sizeof(out[i].name), "%s", name);
                r = broker_secret_from_memfd(fds[i], &out[i].value, err);
                if (r < 0) {
                        broker_redeemed_clear(out, i);
                        goto fail;
                }
        }
        for (size_t i = 0; i < nfds; i++)
                (void) close(fds[i]);
        return (int) n;
fail:
        for (size_t i = 0; i < nfds; i++)
                (void) close(fds[i]);
        return r;
}

int broker_update(const char *socket_path, const char *cap_text, const uint8_t key[CAP_KEY_LEN],
                  const char *name, const struct ca_secret *value, struct ca_error *err)
{
        struct capability cap;
        uint8_t nonce[BROKER_NONCE_LEN];
        uint8_t proof[CAP_MAC_LEN];
        char nonce_hex[2 * BROKER_NONCE_LEN + 1];
        char proof_hex[2 * CAP_MAC_LEN + 1];
        _cleanup_json_ json_t *req = NULL;
        _cleanup_json_ json_t *reply = NULL;

        if (capability_parse(cap_text, &cap) != CAP_OK)
                return ca_error_input(err, "not a valid capability");
        randombytes_buf(nonce, sizeof(nonce));
        broker_proof(key, "update", nonce, cap.id, proof);
        sodium_bin2hex(nonce_hex, sizeof(nonce_hex), nonce, sizeof(nonce));
        sodium_bin2hex(proof_hex, sizeof(proof_hex), proof, sizeof(proof));
        req = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s%}", "op", "update", "capability", cap_text,
                        "nonce", nonce_hex, "proof", proof_hex, "name", name, "value",
                        (const char *) value->buf, value->len);
        if (!req)
                return ca_error_setx(err, ENOMEM, "out of memory");
        return broker_call(socket_path, req, NULL, 0, &reply, NULL, 0, NULL, err);
}
