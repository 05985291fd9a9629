"""Throw-away certificates for TLS tests: a CA, a server certificate for loopback, a client certificate.

Real servers (Trino, Kubernetes API servers) are reached over HTTPS, often with mutual
TLS, so the tests do the same instead of switching verification off: every test run
makes a fresh CA with ``cryptography`` (EC P-256, valid for a day), signs a server
certificate for ``127.0.0.1`` and ``localhost`` with it, and a client certificate whose
subject CN is the principal a server using certificate authentication sees.
Nothing is written outside the given folder and no key is ever reused.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey

LOOPBACK_NAMES = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class TlsFiles:
    """What an HTTPS server needs: its certificate and key, plus the CA clients verify it against."""

    cert: Path
    key: Path
    ca: Path


@dataclass(frozen=True)
class ClientCertificate:
    """A client certificate and key (PEM files) signed by the CA; ``common_name`` is its subject CN."""

    cert: Path
    key: Path
    common_name: str


@dataclass(frozen=True)
class Certificates:
    """One CA with a server certificate and a client certificate signed by it."""

    ca: Path
    server: TlsFiles
    client: ClientCertificate


def _name(common_name: str) -> x509.Name:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: EllipticCurvePrivateKey, path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)


def _write_cert(cert: x509.Certificate, path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def make_certificates(
    folder: Path, *, client_cn: str = "etl-service", hosts: tuple[str, ...] = LOOPBACK_NAMES
) -> Certificates:
    """Create ``ca.pem``, ``server.pem``/``server.key`` and ``client.pem``/``client.key`` in ``folder``.

    The server certificate names every entry of ``hosts`` (IP addresses as IP SANs, others
    as DNS SANs): clients check the name they connected to against these, so the tests
    connect to ``127.0.0.1`` with hostname verification on, as in production.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)  # tolerate clock skew
    until = now + datetime.timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("airflow-dataops test CA"))
        .issuer_name(_name("airflow-dataops test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(
        common_name: str, usage: x509.ObjectIdentifier, sans: list[x509.GeneralName]
    ) -> tuple[x509.Certificate, EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(until)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(ca_key, hashes.SHA256()), key

    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    server_cert, server_key = leaf(hosts[0], ExtendedKeyUsageOID.SERVER_AUTH, sans)
    client_cert, client_key = leaf(client_cn, ExtendedKeyUsageOID.CLIENT_AUTH, [])

    paths = {name: folder / name for name in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")}
    _write_cert(ca, paths["ca.pem"])
    _write_cert(server_cert, paths["server.pem"])
    _write_key(server_key, paths["server.key"])
    _write_cert(client_cert, paths["client.pem"])
    _write_key(client_key, paths["client.key"])
    return Certificates(
        ca=paths["ca.pem"],
        server=TlsFiles(cert=paths["server.pem"], key=paths["server.key"], ca=paths["ca.pem"]),
        client=ClientCertificate(cert=paths["client.pem"], key=paths["client.key"], common_name=client_cn),
    )
