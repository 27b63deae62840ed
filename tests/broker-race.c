/* SPDX-License-Identifier: MIT */
/*
 * broker-race CREDENTIAL PROGRAM [ARGS...]: the exec-and-fork attack on the broker's binary
 * binding. Process A connects to the credential's session socket (so A is the peer the broker
 * attests), forks B, which keeps the connection, and execs PROGRAM -- the binary the
 * capability is bound to -- with the socket still open. Once A has exec'd (a close-on-exec pipe
 * tells B), B sends the redemption and reads the reply: the broker, checking A's executable,
 * sees the expected one. B prints "got a secret of N bytes" or "refused: CODE", then stops A
 * (the caller waits for A, which B outlives only by its last write).
 *
 * With --cloexec, A's copy of the socket is close-on-exec: after the exec only B holds it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "broker_client.h"
#include "broker_proto.h"
#include "buf.h"
#include "error.h"
#include "fileio.h"
#include "json.h"
#include "secret.h"
#include "usock.h"
#include "parse.h"

/* B: wait for A's exec, then redeem over the inherited connection. */
static int redeem_on(int conn, const char *cap, const uint8_t key[CAP_KEY_LEN])
{
        struct ca_error err = {0};
        struct capability c;
        uint8_t nonce[BROKER_NONCE_LEN], proof[CAP_MAC_LEN];
        char nonce_hex[2 * BROKER_NONCE_LEN + 1], proof_hex[2 * CAP_MAC_LEN + 1];
        char buf[BROKER_MSG_MAX + 1];
        int fds[CAP_MAX_SECRETS];
        size_t nfds = 0;
        json_t *req, *reply = NULL;
        int n;

        /* Sent whatever it is (an old format included): the daemon must judge it. */
        memset(&c, 0, sizeof(c));
        (void) capability_parse(cap, &c);
        randombytes_buf(nonce, sizeof(nonce));
        broker_proof(key, NULL, nonce, c.id, proof);
        sodium_bin2hex(nonce_hex, sizeof(nonce_hex), nonce, sizeof(nonce));
        sodium_bin2hex(proof_hex, sizeof(proof_hex), proof, sizeof(proof));
        req = json_pack("{s:s, s:s, s:s, s:s}", "op", "redeem", "capability", cap, "nonce",
                        nonce_hex, "proof", proof_hex);
        if (!req || broker_send(conn, req, NULL, 0, &err) < 0) {
                json_decref(req);
                return 1;
        }
        json_decref(req);
        n = broker_recv(conn, buf, fds, CAP_MAX_SECRETS, &nfds, &err);
        if (n < 0 || ca_json_parse(buf, (size_t) n, "reply", &reply, &err) < 0)
                return 1;
        if (!json_is_true(json_object_get(reply, "ok")) || nfds == 0) {
                (void) printf("refused: %s\n", json_string_value(json_object_get(reply, "error")));
                json_decref(reply);
                return 1;
        }
        for (size_t i = 0; i < nfds; i++) {
                struct ca_secret *s = NULL;

                if (broker_secret_from_memfd(fds[i], &s, &err) == 0)
                        (void) printf("got a secret of %zu bytes\n", s->len);
                secret_free(s);
                (void) close(fds[i]);
        }
        json_decref(reply);
        return 0;
}

int main(int argc, char **argv)
{
        struct ca_error err = {0};
        struct buf in = BUF_INIT;
        json_t *cred = NULL;
        uint8_t key[CAP_KEY_LEN];
        const char *cap, *keyhex, *sock;
        bool cloexec = argc > 1 && strcmp(argv[1], "--cloexec") == 0;
        int pipefd[2], conn;
        char c;
        pid_t b;

        if (cloexec) {
                argv++;
                argc--;
        }
        if (argc < 3 || sodium_init() < 0) {
                (void) fputs("usage: broker-race [--cloexec] CREDENTIAL PROGRAM [ARGS...]\n",
                             stderr);
                return 2;
        }
        if (fileio_read_path(argv[1], 65536, &in, &err) < 0 ||
            ca_json_parse(in.data, in.len, argv[1], &cred, &err) < 0)
                return 2;
        cap = json_string_value(json_object_get(cred, "capability"));
        keyhex = json_string_value(json_object_get(cred, "key"));
        sock = json_string_value(json_object_get(cred, "socket"));
        if (!cap || !keyhex || !sock || !parse_hex(keyhex, key, sizeof(key)))
                return 2;
        conn = usock_connect(sock, &err);
        if (conn < 0 || pipe2(pipefd, O_CLOEXEC) < 0)
                return 2;
        /* usock_connect gives a close-on-exec socket; A keeps its copy across exec unless
         * --cloexec. */
        if (!cloexec && fcntl(conn, F_SETFD, 0) < 0)
                return 2;
        b = fork();
        if (b < 0)
                return 2;
        if (b == 0) {
                int r;

                /* B: EOF on the pipe means A's exec closed its end. */
                (void) close(pipefd[1]);
                if (read(pipefd[0], &c, 1) != 0)
                        _exit(2);
                r = redeem_on(conn, cap, key);
                /* The verdict is printed; A (the bound program) has served its purpose. */
                (void) fflush(stdout);
                (void) kill(getppid(), SIGTERM);
                _exit(r);
        }
        /* A: become the bound binary, the connection still open (see --cloexec). */
        (void) close(pipefd[0]);
        execv(argv[2], argv + 2);
        return 2;
}
