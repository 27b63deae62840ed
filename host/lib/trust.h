/* SPDX-License-Identifier: MIT */
/*
 * Curated trust domains for helpers (`coding-agents trust`), in <config root>/trust-overrides/
 * (0700): NAME.pem, a CA bundle (validated, re-encoded, 0600), or NAME.pins, SPKI pins one per
 * line (sorted, unique, 0600). A server's `trust = "NAME"` names a bundle; "system" is the
 * system store and cannot be overridden. Writes are atomic.
 */
#pragma once

#include <stddef.h>

#include "json.h"
#include "macro.h"
#include "tls.h"

struct ca_error;

/* Validates the PEM bundle at `pem_path` and stores it as NAME. The certificates' details go to
 * *ret_certs (malloc'd) when non-NULL. Replaces an existing bundle of that name. */
int trust_add_bundle(const char *root, const char *name, const char *pem_path,
                     struct tls_cert_info **ret_certs, size_t *ret_n,
                     struct ca_error *err) CA_MUST_CHECK;

/* Adds pins to NAME (created when absent). -EEXIST when NAME is a bundle. */
int trust_add_pins(const char *root, const char *name, const char *const *pins, size_t npins,
                   struct ca_error *err) CA_MUST_CHECK;

/* Removes NAME (bundle or pins). -ENOENT when absent. */
int trust_remove(const char *root, const char *name, struct ca_error *err) CA_MUST_CHECK;

/* [{name, kind: "bundle"|"pins", count, certificates|pins}] sorted by name. */
int trust_list(const char *root, json_t **ret, struct ca_error *err) CA_MUST_CHECK;

struct config;

/* Every enabled remote server's `trust` is "system" or a bundle in the store; otherwise
 * -EINVAL (bad input) with the file:line:col of its `trust` key. */
int trust_check_config(const char *root, const struct config *cfg,
                       struct ca_error *err) CA_MUST_CHECK;
