"""A local CA and a server certificate, generated with ``cryptography`` and reused from the state directory.

Besides the valid certificate, :func:`variant_cert` makes broken ones for TLS tests: expired, issued for another
host name, or signed by a CA nobody trusts.  :func:`server_context` builds the server's SSL context, optionally
limited to old protocol versions.
"""

import datetime
import ipaddress
import json
import os
import ssl
import warnings

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from em_simulator.dataset import _file_lock


def _write(path, data, private=False):
    tmp = "%s.tmp-%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _sans(host):
    names = {"localhost", "127.0.0.1", "::1"}
    if host and host not in ("0.0.0.0", "::", ""):
        names.add(host)
    return sorted(names)


def _san_entries(names):
    out = []
    for name in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            out.append(x509.DNSName(name))
    return out


def ensure_certs(state_dir, host):
    """Return (ca_path, cert_path, key_path); the CA is created once, the server cert again when the SAN set changes."""
    os.makedirs(state_dir, exist_ok=True)
    ca_path = os.path.join(state_dir, "ca.pem")
    ca_key_path = os.path.join(state_dir, "ca-key.pem")
    cert_path = os.path.join(state_dir, "server.pem")
    key_path = os.path.join(state_dir, "server-key.pem")
    info_path = os.path.join(state_dir, "server.json")
    sans = _sans(host)
    now = datetime.datetime.now(datetime.timezone.utc)
    with _file_lock(os.path.join(state_dir, "tls.lock")):
        if not (os.path.exists(ca_path) and os.path.exists(ca_key_path)):
            ca_key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "opsbox EM simulator CA")])
            ca_cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ca_key.public_key())
                       .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                       .not_valid_after(now + datetime.timedelta(days=3650))
                       .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                       .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
                       .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
                       .sign(ca_key, hashes.SHA256()))
            _write(ca_key_path, _key_pem(ca_key), private=True)
            _write(ca_path, ca_cert.public_bytes(serialization.Encoding.PEM))
            if os.path.exists(info_path):
                os.unlink(info_path)
        current = None
        if os.path.exists(info_path) and os.path.exists(cert_path) and os.path.exists(key_path):
            with open(info_path, encoding="utf-8") as handle:
                current = json.load(handle)
        if not current or current.get("sans") != sans or current.get("not_after", 0) < now.timestamp() + 86400:
            with open(ca_key_path, "rb") as handle:
                ca_key = serialization.load_pem_private_key(handle.read(), password=None)
            with open(ca_path, "rb") as handle:
                ca_cert = x509.load_pem_x509_certificate(handle.read())
            key = ec.generate_private_key(ec.SECP256R1())
            not_after = now + datetime.timedelta(days=825)
            cert = (x509.CertificateBuilder()
                    .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, sans[0] if host in ("", "0.0.0.0", "::") else host)]))
                    .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
                    .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(not_after)
                    .add_extension(x509.SubjectAlternativeName(_san_entries(sans)), critical=False)
                    .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                    .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                    .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
                    .sign(ca_key, hashes.SHA256()))
            _write(key_path, _key_pem(key), private=True)
            _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
            _write(info_path, json.dumps({"sans": sans, "not_after": not_after.timestamp()}).encode("utf-8"))
    return ca_path, cert_path, key_path


CERT_VARIANTS = ("valid", "expired", "wrong_host", "untrusted")
TLS_VERSIONS = ("1.0", "1.1", "1.2", "1.3")
WRONG_HOST = "wrong-host.example.invalid"


def _leaf(subject_host, sans, issuer_name, issuer_key, not_before, not_after):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_host)]))
            .issuer_name(issuer_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(_san_entries(sans)), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
            .sign(issuer_key, hashes.SHA256()))
    return cert, key


def variant_cert(state_dir, host, variant):
    """Return (cert_path, key_path) of a server certificate of kind ``variant`` (see ``CERT_VARIANTS``).

    ``expired``: signed by the simulator CA, valid until yesterday.  ``wrong_host``: signed by the simulator CA for
    ``wrong-host.example.invalid`` only.  ``untrusted``: valid for the host but signed by a throwaway CA that is not in
    ``ca.pem``.  Made anew on every start (a few milliseconds), next to the regular files.
    """
    ca_path, cert_path, key_path = ensure_certs(state_dir, host)
    if variant == "valid":
        return cert_path, key_path
    if variant not in CERT_VARIANTS:
        raise ValueError("unknown certificate variant %r" % (variant,))
    now = datetime.datetime.now(datetime.timezone.utc)
    sans = _sans(host)
    subject = sans[0] if host in ("", "0.0.0.0", "::") else host
    with open(os.path.join(state_dir, "ca-key.pem"), "rb") as handle:
        ca_key = serialization.load_pem_private_key(handle.read(), password=None)
    with open(ca_path, "rb") as handle:
        ca_name = x509.load_pem_x509_certificate(handle.read()).subject
    if variant == "expired":
        cert, key = _leaf(subject, sans, ca_name, ca_key, now - datetime.timedelta(days=400),
                          now - datetime.timedelta(days=1))
    elif variant == "wrong_host":
        cert, key = _leaf(WRONG_HOST, [WRONG_HOST], ca_name, ca_key, now - datetime.timedelta(days=1),
                          now + datetime.timedelta(days=30))
    else:
        other_key = ec.generate_private_key(ec.SECP256R1())
        other_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "untrusted throwaway CA")])
        cert, key = _leaf(subject, sans, other_name, other_key, now - datetime.timedelta(days=1),
                          now + datetime.timedelta(days=30))
    out_cert = os.path.join(state_dir, "server-%s-%d.pem" % (variant, os.getpid()))
    out_key = os.path.join(state_dir, "server-%s-%d-key.pem" % (variant, os.getpid()))
    _write(out_key, _key_pem(key), private=True)
    _write(out_cert, cert.public_bytes(serialization.Encoding.PEM))
    return out_cert, out_key


def server_context(cert_path, key_path, max_version=None):
    """The server's SSL context; ``max_version`` ("1.0" ... "1.3") caps the protocol versions it offers.

    OpenSSL 3 refuses TLS 1.0/1.1 at its default security level (their handshakes sign with SHA-1), so a cap below
    1.2 also lowers the level to 0 -- otherwise the server could not offer the old versions at all.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if max_version:
        versions = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1, "1.2": ssl.TLSVersion.TLSv1_2,
                    "1.3": ssl.TLSVersion.TLSv1_3}
        if max_version not in versions:
            raise ValueError("unknown TLS version %r" % (max_version,))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # offering TLS 1.0/1.1 is what this option is for
            if max_version in ("1.0", "1.1"):
                ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
                ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = versions[max_version]
    ctx.load_cert_chain(cert_path, key_path)
    return ctx
