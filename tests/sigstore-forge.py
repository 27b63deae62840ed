#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A Sigstore of our own making, for tests: a Fulcio-like certificate authority (a root and an
intermediate), a certificate-transparency log and a Rekor log, each a key made here with
OpenSSL (through python3-cryptography), and a signer that writes Sigstore bundles the way
Fulcio, the CT log and Rekor would: a short-lived certificate naming an identity and an OIDC
issuer with an embedded SCT, a hashedrekord entry with its signed entry timestamp, and an
inclusion proof in a Merkle tree built here with a signed checkpoint. With --flip NAME, one
field that verification depends on is broken, consistently otherwise (what a forger could do),
so that a verifier must reject the bundle for that one reason. Nothing here reaches a network.

  sigstore-forge.py init DIR
  sigstore-forge.py root DIR OUT [--flip NAME]
  sigstore-forge.py sign DIR ARTIFACT OUT --identity SAN --issuer URL
                         [--format v0.1|v0.2|v0.3] [--flip NAME] [--at UNIX_TIME]
  sigstore-forge.py cosign-sign DIR REGISTRY REPO DIGEST --identity SAN --issuer URL --ca PEM
                         [--signed-digest D] [--signed-repo R] [--append] [--flip NAME]
  sigstore-forge.py flips            (the names sign and root know)

cosign-sign signs the image manifest DIGEST of REGISTRY/REPO as cosign (v2) does and pushes the
signature to that registry (https, trusting --ca): a simple-signing payload naming DIGEST and
the repository (or --signed-digest / --signed-repo instead, for a signature of something else),
signed like `sign --format v0.1`, as one layer of the manifest tagged sha256-<hex>.sig, with
the signature, the certificate, the chain and Rekor's promise as the layer's annotations.
--append adds the layer to the signatures already there.
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import ssl
import sys
import tempfile
import time
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOG_URL = "https://rekor.forge.invalid"
LOG_HOST = "rekor.forge.invalid"
TREE_ID = "4242"
OIDC_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
OIDC_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
SCT_LIST = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
EPOCH = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)

SIGN_FLIPS = [
    "san", "issuer", "untrusted-ca", "expired", "not-yet-valid", "no-codesign", "no-sct",
    "sct-signature", "sct-unknown-log", "sct-other-tbs", "signature", "digest", "body-hash",
    "body-signature", "body-cert", "set", "proof-hash", "proof-index", "tree-size",
    "checkpoint-signature", "checkpoint-root", "checkpoint-origin", "log-id", "future",
    "chain-root",
]
ROOT_FLIPS = ["ca-window", "log-window", "ct-window", "other-ca", "log-key"]


def b64(data):
    return base64.b64encode(data).decode()


def spki(key):
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def der_len(n):
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def der_tag(tag, body):
    return bytes([tag]) + der_len(len(body)) + body


def utc(t):
    return datetime.datetime.fromtimestamp(t, tz=datetime.timezone.utc)


def rfc3339(t):
    return utc(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign(key, data):
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


class Forge:
    """The keys and certificates of one made-up Sigstore, kept as PEM files in a directory."""

    NAMES = ["root", "inter", "other-root", "ct", "rekor", "stranger"]

    def __init__(self, where):
        self.dir = where
        self.keys = {}
        for name in self.NAMES:
            with open(os.path.join(where, name + ".key"), "rb") as f:
                self.keys[name] = serialization.load_pem_private_key(f.read(), None)
        self.certs = {}
        for name in ["root", "inter", "other-root"]:
            with open(os.path.join(where, name + ".pem"), "rb") as f:
                self.certs[name] = x509.load_pem_x509_certificate(f.read())

    @staticmethod
    def init(where):
        os.makedirs(where, mode=0o700, exist_ok=True)
        keys = {n: ec.generate_private_key(ec.SECP256R1()) for n in Forge.NAMES}
        for name, key in keys.items():
            with open(os.path.join(where, name + ".key"), "wb") as f:
                f.write(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
        now = time.time()
        root = ca_cert(keys["root"], keys["root"], "forge root", None, now)
        inter = ca_cert(keys["inter"], keys["root"], "forge intermediate", root, now)
        other = ca_cert(keys["other-root"], keys["other-root"], "forge root", None, now)
        for name, cert in [("root", root), ("inter", inter), ("other-root", other)]:
            with open(os.path.join(where, name + ".pem"), "wb") as f:
                f.write(cert.public_bytes(serialization.Encoding.PEM))

    def log_id(self, name):
        return hashlib.sha256(spki(self.keys[name])).digest()

    def trusted_root(self, flip=None, at=None):
        at = at or time.time()
        log_end = {"log-window": rfc3339(at - 7200)}.get(flip)
        ct_end = {"ct-window": rfc3339(at - 7200)}.get(flip)
        ca_start = rfc3339(at) if flip == "ca-window" else rfc3339(EPOCH.timestamp())
        rekor_key = self.keys["stranger" if flip == "log-key" else "rekor"]
        chain = ([self.certs["other-root"]] if flip == "other-ca"
                 else [self.certs["inter"], self.certs["root"]])

        def log(url, key, log_id, end):
            window = {"start": rfc3339(EPOCH.timestamp())}
            if end:
                window["end"] = end
            return {"baseUrl": url, "hashAlgorithm": "SHA2_256",
                    "publicKey": {"rawBytes": b64(spki(key)),
                                  "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": window},
                    "logId": {"keyId": b64(log_id)}}

        return {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(LOG_URL, rekor_key, self.log_id("rekor"), log_end)],
            "certificateAuthorities": [{
                "subject": {"organization": "forge", "commonName": "forge"},
                "uri": "https://fulcio.forge.invalid",
                "certChain": {"certificates": [
                    {"rawBytes": b64(c.public_bytes(serialization.Encoding.DER))}
                    for c in chain]},
                "validFor": {"start": ca_start}}],
            "ctlogs": [log("https://ct.forge.invalid", self.keys["ct"], self.log_id("ct"),
                           ct_end)],
            "timestampAuthorities": [],
        }


def ca_cert(key, signer, cn, parent, now):
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "forge"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (x509.CertificateBuilder()
               .subject_name(name)
               .issuer_name(parent.subject if parent else name)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(EPOCH)
               .not_valid_after(utc(now + 10 * 365 * 86400))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None if parent is None
                                                    else 0), critical=True)
               .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                            False, False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False))
    if parent is not None:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    return builder.sign(signer, hashes.SHA256())


def leaf_builder(forge, key, args, issuer_cert, signed_at, serial):
    flip = args.flip
    start, end = signed_at - 60, signed_at + 540
    if flip == "expired":
        start, end = signed_at - 1200, signed_at - 600
    elif flip == "not-yet-valid":
        start, end = signed_at + 600, signed_at + 1200
    san = args.identity + "-attacker" if flip == "san" else args.identity
    issuer = "https://issuer.forge.invalid" if flip == "issuer" else args.issuer
    eku = ExtendedKeyUsageOID.SERVER_AUTH if flip == "no-codesign" else \
        ExtendedKeyUsageOID.CODE_SIGNING
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(issuer_cert.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(utc(start))
            .not_valid_after(utc(end))
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                         False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(san)]),
                           critical=True)
            .add_extension(x509.UnrecognizedExtension(OIDC_ISSUER_V1, issuer.encode()),
                           critical=False)
            .add_extension(x509.UnrecognizedExtension(OIDC_ISSUER_V2,
                                                      der_tag(0x0c, issuer.encode())),
                           critical=False))


def sct(forge, flip, tbs, issuer_cert, when_ms):
    """One SCT over the precertificate entry (RFC 6962 3.2) of `tbs`, issued under `issuer_cert`."""
    issuer_hash = hashlib.sha256(issuer_cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).digest()
    signed = (bytes([0, 0]) + when_ms.to_bytes(8, "big") + (1).to_bytes(2, "big") + issuer_hash +
              len(tbs).to_bytes(3, "big") + tbs + (0).to_bytes(2, "big"))
    log_id = os.urandom(32) if flip == "sct-unknown-log" else forge.log_id("ct")
    sig = sign(forge.keys["stranger" if flip == "sct-signature" else "ct"], signed)
    one = (bytes([0]) + log_id + when_ms.to_bytes(8, "big") + (0).to_bytes(2, "big") +
           bytes([4, 3]) + len(sig).to_bytes(2, "big") + sig)
    lst = len(one).to_bytes(2, "big") + one
    return der_tag(0x04, len(lst).to_bytes(2, "big") + lst)


def leaf_cert(forge, key, args, signed_at):
    untrusted = args.flip == "untrusted-ca"
    issuer_cert = forge.certs["other-root" if untrusted else "inter"]
    issuer_key = forge.keys["other-root" if untrusted else "inter"]
    serial = x509.random_serial_number()
    pre = leaf_builder(forge, key, args, issuer_cert, signed_at, serial)
    if args.flip == "no-sct":
        return pre.sign(issuer_key, hashes.SHA256()), issuer_cert
    tbs_of = pre
    if args.flip == "sct-other-tbs":
        tbs_of = leaf_builder(forge, key, args, issuer_cert, signed_at, serial + 1)
    tbs = tbs_of.sign(issuer_key, hashes.SHA256()).tbs_certificate_bytes
    ext = sct(forge, args.flip, tbs, issuer_cert, int((signed_at - 60) * 1000))
    cert = pre.add_extension(x509.UnrecognizedExtension(SCT_LIST, ext), critical=False)
    return cert.sign(issuer_key, hashes.SHA256()), issuer_cert


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def tree_root(leaves):
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node(tree_root(leaves[:k]), tree_root(leaves[k:]))


def audit_path(index, leaves):
    """RFC 9162 2.1.3.1: the siblings from the leaf up."""
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if index < k:
        return audit_path(index, leaves[:k]) + [tree_root(leaves[k:])]
    return audit_path(index - k, leaves[k:]) + [tree_root(leaves[:k])]


def checkpoint(forge, flip, size, root):
    origin = ("rekor.other.invalid" if flip == "checkpoint-origin" else LOG_HOST) + " - " + TREE_ID
    if flip == "checkpoint-root":
        root = hashlib.sha256(root).digest()
    body = "%s\n%d\n%s\n" % (origin, size, b64(root))
    key = forge.keys["stranger" if flip == "checkpoint-signature" else "rekor"]
    sig = sign(key, body.encode())
    return body + "\n\u2014 %s %s\n" % (LOG_HOST, b64(forge.log_id("rekor")[:4] + sig))


def rekor_body(digest_hex, signature, cert_pem):
    return json.dumps({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": "sha256", "value": digest_hex}},
        "signature": {"content": b64(signature), "publicKey": {"content": b64(cert_pem)}}}},
        separators=(",", ":"), sort_keys=True).encode()


def tlog_entry(forge, args, body, integrated):
    flip = args.flip
    log_id = os.urandom(32) if flip == "log-id" else forge.log_id("rekor")
    size, index, log_index = 7, 5, 1000005
    leaves = [hashlib.sha256(b"\x00" + os.urandom(40)).digest() for _ in range(size)]
    leaves[index] = hashlib.sha256(b"\x00" + body).digest()
    root = tree_root(leaves)
    path = audit_path(index, leaves)
    if flip == "proof-hash":
        path[1] = hashlib.sha256(path[1]).digest()
    promise = json.dumps({"body": b64(body), "integratedTime": integrated,
                          "logID": log_id.hex(), "logIndex": log_index},
                         separators=(",", ":"), sort_keys=True).encode()
    set_sig = sign(forge.keys["stranger" if flip == "set" else "rekor"], promise)
    entry = {
        "logIndex": str(log_index),
        "logId": {"keyId": b64(log_id)},
        "kindVersion": {"kind": "hashedrekord", "version": "0.0.1"},
        "integratedTime": str(integrated),
        "inclusionPromise": {"signedEntryTimestamp": b64(set_sig)},
        "canonicalizedBody": b64(body),
    }
    if args.format != "v0.1":
        entry["inclusionProof"] = {
            "logIndex": str(index + 1 if flip == "proof-index" else index),
            "rootHash": b64(root),
            "treeSize": str(size + 1 if flip == "tree-size" else size),
            "hashes": [b64(h) for h in path],
            "checkpoint": {"envelope": checkpoint(forge, flip, size, root)},
        }
    return entry


def make_bundle(forge, args):
    flip = args.flip
    with open(args.artifact, "rb") as f:
        artifact = f.read()
    signed_at = int(args.at if args.at is not None else time.time() - 3600)
    if flip == "future":
        signed_at = int(time.time()) + 3600
    key = ec.generate_private_key(ec.SECP256R1())
    cert, issuer_cert = leaf_cert(forge, key, args, signed_at)
    cert_der = cert.public_bytes(serialization.Encoding.DER)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    other = artifact + b"(another artifact)"
    signature = sign(key, other if flip == "signature" else artifact)
    digest = hashlib.sha256(other if flip == "digest" else artifact).digest()
    body_sig = sign(key, artifact) if flip == "body-signature" else signature
    body_cert = cert_pem
    if flip == "body-cert":
        body_cert = leaf_cert(forge, key, argparse.Namespace(**{**vars(args), "flip": None}),
                              signed_at)[0].public_bytes(serialization.Encoding.PEM)
    body_digest = hashlib.sha256(artifact + b"!").hexdigest() if flip == "body-hash" \
        else digest.hex()
    body = rekor_body(body_digest, body_sig, body_cert)
    material = {"tlogEntries": [tlog_entry(forge, args, body, signed_at)]}
    if args.format == "v0.3":
        material["certificate"] = {"rawBytes": b64(cert_der)}
    else:
        chain = [cert, issuer_cert] + ([forge.certs["root"]] if flip == "chain-root" else [])
        material["x509CertificateChain"] = {"certificates": [
            {"rawBytes": b64(c.public_bytes(serialization.Encoding.DER))} for c in chain]}
    version = args.format[1:]
    media = ("application/vnd.dev.sigstore.bundle.v0.3+json" if version == "0.3"
             else "application/vnd.dev.sigstore.bundle+json;version=" + version)
    return {"mediaType": media, "verificationMaterial": material,
            "messageSignature": {"messageDigest": {"algorithm": "SHA2_256",
                                                   "digest": b64(digest)},
                                 "signature": b64(signature)}}


SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


class Registry:
    """Just enough of the OCI distribution API to push blobs and a manifest."""

    def __init__(self, host, repo, ca):
        self.base = "https://" + host
        self.repo = repo
        self.ctx = ssl.create_default_context(cafile=ca)

    def call(self, method, url, body=None, headers=None):
        if url.startswith("/"):
            url = self.base + url
        req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        with urllib.request.urlopen(req, context=self.ctx) as r:
            return r.headers, r.read()

    def blob(self, data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        headers, _ = self.call("POST", "/v2/%s/blobs/uploads/" % self.repo)
        loc = headers["Location"]
        loc += ("&" if "?" in loc else "?") + "digest=" + digest
        self.call("PUT", loc, data, {"Content-Type": "application/octet-stream"})
        return digest

    def layers(self, tag):
        try:
            _, body = self.call("GET", "/v2/%s/manifests/%s" % (self.repo, tag),
                                headers={"Accept": OCI_MANIFEST})
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return []
            raise
        return json.loads(body)["layers"]

    def manifest(self, tag, layers):
        config = b"{}"
        doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                          "size": len(config), "digest": self.blob(config)},
               "layers": layers}
        self.call("PUT", "/v2/%s/manifests/%s" % (self.repo, tag),
                  json.dumps(doc).encode(), {"Content-Type": OCI_MANIFEST})


def cosign_sign(forge, args):
    payload = json.dumps({"critical": {
        "identity": {"docker-reference": args.signed_repo or args.registry + "/" + args.repo},
        "image": {"docker-manifest-digest": args.signed_digest or args.digest},
        "type": "cosign container image signature"}, "optional": None}).encode()
    with tempfile.NamedTemporaryFile() as f:
        f.write(payload)
        f.flush()
        bundle = make_bundle(forge, argparse.Namespace(
            artifact=f.name, format="v0.1", flip=args.flip, at=None, identity=args.identity,
            issuer=args.issuer))
    material = bundle["verificationMaterial"]
    entry = material["tlogEntries"][0]
    pems = [x509.load_der_x509_certificate(base64.b64decode(c["rawBytes"])).public_bytes(
        serialization.Encoding.PEM).decode() for c in material["x509CertificateChain"][
            "certificates"]]
    promise = {"SignedEntryTimestamp": entry["inclusionPromise"]["signedEntryTimestamp"],
               "Payload": {"body": entry["canonicalizedBody"],
                           "integratedTime": int(entry["integratedTime"]),
                           "logIndex": int(entry["logIndex"]),
                           "logID": base64.b64decode(entry["logId"]["keyId"]).hex()}}
    reg = Registry(args.registry, args.repo, args.ca)
    tag = "sha256-%s.sig" % args.digest.split(":", 1)[1]
    layers = reg.layers(tag) if args.append else []
    layers.append({"mediaType": SIMPLESIGNING, "size": len(payload), "digest": reg.blob(payload),
                   "annotations": {
                       "dev.cosignproject.cosign/signature":
                           bundle["messageSignature"]["signature"],
                       "dev.sigstore.cosign/certificate": pems[0],
                       "dev.sigstore.cosign/chain": "".join(pems[1:]),
                       "dev.sigstore.cosign/bundle": json.dumps(promise)}})
    reg.manifest(tag, layers)


def write_json(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("init")
    p.add_argument("dir")
    p = sub.add_parser("root")
    p.add_argument("dir")
    p.add_argument("out")
    p.add_argument("--flip", choices=ROOT_FLIPS)
    p = sub.add_parser("sign")
    p.add_argument("dir")
    p.add_argument("artifact")
    p.add_argument("out")
    p.add_argument("--identity", required=True)
    p.add_argument("--issuer", required=True)
    p.add_argument("--format", choices=["v0.1", "v0.2", "v0.3"], default="v0.3")
    p.add_argument("--flip", choices=SIGN_FLIPS)
    p.add_argument("--at", type=int)
    p = sub.add_parser("cosign-sign")
    for a in ["dir", "registry", "repo", "digest"]:
        p.add_argument(a)
    p.add_argument("--identity", required=True)
    p.add_argument("--issuer", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--signed-digest")
    p.add_argument("--signed-repo")
    p.add_argument("--append", action="store_true")
    p.add_argument("--flip", choices=SIGN_FLIPS)
    sub.add_parser("flips")
    args = ap.parse_args()
    if args.cmd == "init":
        Forge.init(args.dir)
    elif args.cmd == "root":
        write_json(args.out, Forge(args.dir).trusted_root(args.flip))
    elif args.cmd == "sign":
        write_json(args.out, make_bundle(Forge(args.dir), args))
    elif args.cmd == "cosign-sign":
        cosign_sign(Forge(args.dir), args)
    else:
        print("\n".join(SIGN_FLIPS))
        print("\n".join("root:" + f for f in ROOT_FLIPS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
