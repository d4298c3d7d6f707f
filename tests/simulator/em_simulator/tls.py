"""A local CA and a server certificate, generated with ``cryptography`` and reused from the state directory."""

import datetime
import ipaddress
import json
import os

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
