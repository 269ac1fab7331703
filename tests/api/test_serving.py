"""uvicorn_config: listen address from the config, HTTPS straight from api.tls_cert_file/tls_key_file."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edge.api.serving import uvicorn_config
from edge.api.state import AppState
from edge.config import ConfigError, parse_config
from tests.api.conftest import bearer
from tests.api.live import LiveServer
from tests.api.site import CONFIG, Site


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edge-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp / "api.crt", tmp / "api.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def test_plain_http_on_the_configured_address(site: Site) -> None:
    cfg = uvicorn_config(site.state)
    assert (cfg.host, cfg.port, cfg.ssl_certfile, cfg.ssl_keyfile) == ("127.0.0.1", 8080, None, None)
    assert cfg.proxy_headers is False and cfg.access_log is False


def test_https_from_cert_files(site: Site, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    tls = f'api: {{listen: "127.0.0.1:8443", tls_cert_file: {cert}, tls_key_file: {key},'
    text = CONFIG.format(dir=tmp_path).replace('api: {listen: "127.0.0.1:8080",', tls)
    (tmp_path / "scrape.token").write_text("x")
    config = parse_config(text, "tls.yaml")
    state = AppState(config, site.db, site.state.hub, tokens=site.state.tokens)
    cfg = uvicorn_config(state)
    assert (cfg.port, cfg.ssl_certfile, cfg.ssl_keyfile) == (8443, str(cert), str(key))
    with LiveServer(state, cfg) as live:
        assert live.url.startswith("https://")
        trust = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=live.url, verify=trust, timeout=5) as http:
            assert http.get("/healthz").json()["ok"] is True
            assert http.get("/api/v1/status", headers=bearer(site.tokens["viewer"])).status_code == 200
        with pytest.raises(httpx.ConnectError), httpx.Client(base_url=live.url, timeout=5) as http:
            http.get("/healthz")  # an untrusted certificate is refused: TLS is really on


def test_cert_without_key_is_a_config_error(tmp_path: Path) -> None:
    text = CONFIG.format(dir=tmp_path).replace('api: {listen: "127.0.0.1:8080",', "api: {tls_cert_file: /x.crt,")
    with pytest.raises(ConfigError, match="tls_cert_file and tls_key_file go together"):
        parse_config(text, "tls.yaml")
