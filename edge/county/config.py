"""The county service's own config document (`edge county -c county.yaml`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from edge.config.base import ConfigPath, Identifier, Seconds, Strict
from edge.config.loader import ConfigError, ConfigIssue
from edge.config.models import Api
from edge.config.uplink import MQTT_URL


class CountyMqtt(Strict):
    url: str
    username: str | None = None
    password_file: ConfigPath | None = None
    ca_file: ConfigPath | None = None
    topic_prefix: str = Field("county", pattern=r"^[^#+$/][^#+]*$")
    # Stable per instance (its persistent session holds what arrives while it is away); unique per instance.
    client_id: str = Field("edge-county-1", pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    share_group: Identifier = "edge-county"
    keepalive: int = Field(30, ge=5, le=3600)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not MQTT_URL.match(v):
            raise ValueError("must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
        return v


class CountyApi(Api):
    """The gateway's `api` section; the bureau's people are in the database, not in a users file."""

    @field_validator("users_file")
    @classmethod
    def _no_users_file(cls, v: object) -> object:
        if v is not None:
            raise ValueError("county users are kept in the database: `edge user add --name N --role R -c county.yaml`")
        return v


class CountyConfig(Strict):
    mqtt: CountyMqtt
    database: str = Field(pattern=r"^postgres(ql)?://")
    api: CountyApi = CountyApi()
    silent_after: Seconds = Field(300.0, description="A school with no message for this long is flagged silent")
    name: str = "县教育局"
    batch: int = Field(500, ge=1, le=10_000, description="Messages written per database transaction, at most")


def load_county_config(path: Path) -> CountyConfig:
    try:
        raw = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as exc:
        raise ConfigError([ConfigIssue(str(path), 0, "", str(exc))]) from exc
    try:
        return CountyConfig.model_validate(raw or {}, context={"base_dir": path.parent})
    except ValidationError as exc:
        issues = [ConfigIssue(str(path), 0, ".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
        raise ConfigError(issues) from exc
