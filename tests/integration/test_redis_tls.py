"""Redis over TLS by configuration (issue 5): a CA, server and client certificates generated here,
a real redis-server with a TLS port started by the project's own RedisServer (with its ACL
users), and the job writer, the sync and asyncio lookup clients connecting through settings."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests import REPO_ROOT
from tests.integration.lookupkit import T0, sample_events, write_events
from tests.integration.servicekit import free_port
from userpulse import redis_conn
from userpulse.lookup import FeatureClient, StoreUnavailable
from userpulse.lookup.aio import AsyncFeatureClient
from userpulse.settings import Settings
from userpulse.stack.redis_server import RedisServer

pytestmark = pytest.mark.integration


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.with_suffix(".key").chmod(0o600)


def make_ca(d: Path, name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A self-signed CA certificate and key, written to ``d/<name>.crt|.key``."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write(d / name, cert, key)
    return cert, key


def make_leaf(
    d: Path, name: str, ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], server: bool
) -> None:
    """A certificate signed by ``ca`` for 127.0.0.1 / localhost (server) or a client."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(ca[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )
    if server:
        b = b.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    _write(d / name, b.sign(ca[1], hashes.SHA256()), key)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of a TLS-only Redis (client certificates required), started and stopped here."""
    d = tmp_path_factory.mktemp("tls")
    ca = make_ca(d, "ca")
    make_leaf(d, "server", ca, server=True)
    make_leaf(d, "client", ca, server=False)
    make_ca(d, "other-ca")
    home = REPO_ROOT / ".userpulse" / "test" / f"tls-{d.name}"
    s = Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=home,
        redis_port=free_port(),
        redis_tls=True,
        redis_tls_ca_file=d / "ca.crt",
        redis_tls_cert_file=d / "client.crt",
        redis_tls_key_file=d / "client.key",
    )
    server = RedisServer(
        s,
        extra_args=[
            "--tls-cert-file",
            str(d / "server.crt"),
            "--tls-key-file",
            str(d / "server.key"),
            "--tls-ca-cert-file",
            str(d / "ca.crt"),
            "--tls-auth-clients",
            "yes",
        ],
    )
    server.start()
    yield s
    server.stop()
    shutil.rmtree(home, ignore_errors=True)


def test_job_writes_and_clients_read_over_tls(tls: Settings) -> None:
    assert redis_conn.connect(tls, "admin").config_get("port") == {"port": "0"}  # TLS port only
    write_events(tls, sample_events("t1"))
    got = FeatureClient.from_settings(tls).get("t1", ["count_click_1m"], T0 + 9_999)
    assert got["count_click_1m"].value == 3

    async def aio() -> object:
        c = AsyncFeatureClient.from_settings(tls)
        try:
            return (await c.get("t1", ["count_hover_1m"], T0 + 9_999))["count_hover_1m"].value
        finally:
            await c.aclose()

    assert asyncio.run(aio()) == 2
    by_name = tls.model_copy(update={"redis_host": "localhost"})  # hostname checked via SAN
    assert (
        FeatureClient.from_settings(by_name)
        .get("t1", ["count_click_1m"], T0 + 9_999)["count_click_1m"]
        .value
        == 3
    )


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"redis_tls_cert_file": None, "redis_tls_key_file": None}, "no client certificate"),
        ({"redis_tls_ca_file": "other-ca.crt"}, "server certificate from an unknown CA"),
        ({"redis_tls": False}, "plain TCP to the TLS port"),
    ],
)
def test_tls_misconfiguration_is_refused(
    tls: Settings, change: dict[str, object], why: str
) -> None:
    if change.get("redis_tls_ca_file"):
        assert tls.redis_tls_ca_file is not None
        change = {"redis_tls_ca_file": tls.redis_tls_ca_file.parent / "other-ca.crt"}
    bad = tls.model_copy(update={**change, "redis_timeout_s": 2.0})
    with pytest.raises(StoreUnavailable, match="unavailable"):
        FeatureClient.from_settings(bad).get("t1", ["count_click_1m"], T0)
