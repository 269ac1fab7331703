"""Typed config (DESIGN.md section 4): pydantic models, YAML loader with line numbers, secrets."""

from edge.config.devices import Button, Camera, InputRef, MqttButton, PayloadMapping, SerialBus, SerialButton
from edge.config.gb28181 import Gb28181
from edge.config.loader import ConfigError, ConfigIssue, load_config, parse_config
from edge.config.models import Api, Checks, Config, Mqtt, Site, Storage
from edge.config.police import Police, Webhook
from edge.config.secrets import SecretError, read_secret

__all__ = [
    "Api",
    "Button",
    "Camera",
    "Checks",
    "Config",
    "ConfigError",
    "ConfigIssue",
    "Gb28181",
    "InputRef",
    "Mqtt",
    "MqttButton",
    "PayloadMapping",
    "Police",
    "SecretError",
    "SerialBus",
    "SerialButton",
    "Site",
    "Storage",
    "Webhook",
    "load_config",
    "parse_config",
    "read_secret",
]
