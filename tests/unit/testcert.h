/* SPDX-License-Identifier: MIT */
/* A fixed self-signed P-256 CA certificate (CN=ca-unit-test) for the certificate tests. */
#pragma once

#define TEST_CERT_PEM \
        "-----BEGIN CERTIFICATE-----\n" \
        "MIIBhTCCASugAwIBAgIUP18ofVwqUJYqSFQ77iNtHzW3FgUwCgYIKoZIzj0EAwIw\n" \
        "FzEVMBMGA1UEAwwMY2EtdW5pdC10ZXN0MCAXDTI2MTEyODAzMDU0OVoYDzIxMjYx\n" \
        "MTA0MDMwNTQ5WjAXMRUwEwYDVQQDDAxjYS11bml0LXRlc3QwWTATBgcqhkjOPQIB\n" \
        "BggqhkjOPQMBBwNCAATx2owWL5NRWPKUTgPJrInh/n7KVNY2tvbkRpD5lCqoSGC/\n" \
        "sudK5uuLCaY1OkdiYSd6wX8re/92vs892mhbAN8ao1MwUTAdBgNVHQ4EFgQUsBbK\n" \
        "11tdqyIZKmKSxNdiQRa609wwHwYDVR0jBBgwFoAUsBbK11tdqyIZKmKSxNdiQRa6\n" \
        "09wwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiB+a0NFZ9BwN39t\n" \
        "seJglbdDdBusSlvPu1d7m/4riLNVdAIhAPZJxSB+mq/v1qKsNx+9Hn2utl8f+UgR\n" \
        "+mqJer2iAttb\n" \
        "-----END CERTIFICATE-----\n"
#define TEST_CERT_SHA256 "0c050f0849f73eb354b36f9dcb166c29ad5352cf64d06916bf54d496b8190f50"
#define TEST_CERT_PIN "sha256//UPssaLUNrougWPmX/nKcAf8Ct2lzHXOIHjMVVIusXZE="
