"""Tokens file and the `edge token` CLI: hashes only, shown once, verified in constant time."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.api import tokens
from edge.api.tokens import Role, TokenStore, create_token, load_entries, revoke_token
from edge.cli import main

CONFIG = """site: {{id: s1}}
storage: {{path: {d}/edge.db}}
api: {{tokens_file: {d}/tokens.yaml}}
"""


def test_cli_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(CONFIG.format(d=tmp_path))
    assert main(["token", "create", "--name", "值班员张三", "--role", "operator", "-c", str(cfg)]) == 0
    out = capsys.readouterr()
    token = out.out.strip()
    assert token.startswith("edge_") and "shown once" in out.err
    text = (tmp_path / "tokens.yaml").read_text()
    assert token not in text and token.split("_", 2)[2] not in text
    assert (tmp_path / "tokens.yaml").stat().st_mode & 0o077 == 0
    [entry] = load_entries(tmp_path / "tokens.yaml")
    assert entry["name"] == "值班员张三" and entry["role"] == "operator" and len(entry["salt"]) == 32
    principal = TokenStore(tmp_path / "tokens.yaml").verify(token)
    assert principal is not None and principal.name == "值班员张三" and principal.role is Role.OPERATOR
    assert main(["token", "create", "--name", "值班员张三", "--role", "viewer", "-c", str(cfg)]) == 1
    assert main(["token", "list", "-c", str(cfg)]) == 0
    assert "值班员张三\toperator" in capsys.readouterr().out
    assert main(["token", "revoke", "--name", "值班员张三", "-c", str(cfg)]) == 0
    assert TokenStore(tmp_path / "tokens.yaml").verify(token) is None
    assert main(["token", "revoke", "--name", "nobody", "-c", str(cfg)]) == 1


def test_cli_needs_a_tokens_file_and_a_valid_role(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(f"site: {{id: s1}}\nstorage: {{path: {tmp_path}/edge.db}}\napi: {{}}\n")
    assert main(["token", "create", "--name", "a", "--role", "viewer", "-c", str(cfg)]) == 2
    assert "api.tokens_file is not set" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["token", "create", "--name", "a", "--role", "root", "-c", str(cfg)])


def test_two_tokens_with_one_secret_never_share_a_hash(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    a = create_token(path, "a", Role.VIEWER, cost=2**10)
    b = create_token(path, "b", Role.ADMIN, cost=2**10)
    entries = load_entries(path)
    assert a != b and entries[0]["salt"] != entries[1]["salt"] and entries[0]["hash"] != entries[1]["hash"]
    store = TokenStore(path)
    assert store.verify(b) == store.verify(b) is not None  # second call is served from the cache
    assert store.verify(a.replace(a.split("_")[1], b.split("_")[1])) is None  # a's secret under b's key id
    for bad in ("", "edge_", "edge__x", "bearer", "edge_" + "0" * 12 + "_x", a + "x"):
        assert store.verify(bad) is None


def test_a_broken_tokens_file_rejects_everything_without_crashing(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    token = create_token(path, "a", Role.VIEWER, cost=2**10)
    store = TokenStore(path)
    assert store.verify(token) is not None
    path.write_text("tokens: [unclosed\n")
    assert store.verify(token) is None
    path.write_text("tokens:\n  - {name: x, role: viewer, kid: k, algorithm: scrypt, n: 3, salt: zz, hash: zz}\n")
    assert store.verify("edge_k_secret") is None


def test_no_file_means_no_access(tmp_path: Path) -> None:
    assert TokenStore(tmp_path / "missing.yaml").verify("edge_a_b") is None
    assert TokenStore(None).verify("edge_a_b") is None


def test_verified_tokens_survive_a_file_change_and_revocation_is_precise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.yaml"
    keep = create_token(path, "keep", Role.OPERATOR, cost=2**10)
    gone = create_token(path, "gone", Role.VIEWER, cost=2**10)
    store = TokenStore(path)
    keep_p, gone_p = store.verify(keep), store.verify(gone)
    assert keep_p is not None and gone_p is not None and keep_p.kid == keep.split("_")[1]
    assert revoke_token(path, "gone")
    assert store.stale()
    store.refresh()
    assert not store.stale()
    hashes: list[int] = []
    real_hash = tokens._hash

    def counting_hash(secret: str, salt: bytes, n: int = tokens.SCRYPT_N) -> bytes:
        hashes.append(1)
        return real_hash(secret, salt, n)

    monkeypatch.setattr(tokens, "_hash", counting_hash)
    assert store.cached(keep, refresh=False) == keep_p  # no re-hash after the file changed
    assert store.cached(gone, refresh=False) is None
    assert store.still_valid(keep_p) and not store.still_valid(gone_p)
    assert hashes == []
    assert store.verify(gone) is None and hashes == [1]  # an unknown key id still costs one hash


def test_an_unknown_key_id_costs_a_hash_at_the_files_usual_cost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.yaml"
    token = create_token(path, "a", Role.VIEWER, cost=2**11)
    store = TokenStore(path)
    costs: list[int] = []
    real_hash = tokens._hash

    def costed_hash(s: str, salt: bytes, n: int = tokens.SCRYPT_N) -> bytes:
        costs.append(n)
        return real_hash(s, salt, n)

    monkeypatch.setattr(tokens, "_hash", costed_hash)
    _, kid, secret = token.split("_", 2)
    assert store.verify(f"edge_{kid}_{secret}x") is None  # known id, wrong secret
    assert store.verify(f"edge_ffffffffffff_{secret}") is None  # unknown id
    assert costs == [2**11, 2**11]
    assert store.verify("not-a-token") is None and len(costs) == 2  # nothing to hash
