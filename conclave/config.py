"""Typed, sectioned settings read from ``conclave.toml`` and ``CONCLAVE_*`` variables.

Precedence, highest first: explicit overrides (command-line options), environment
variables (``CONCLAVE_SECTION__KEY``), the TOML file, the defaults below. Every default
is the privacy-friendly choice, so no file is needed to start.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

LobbyPolicy = Literal["everyone", "guests", "off"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(Section):
    host: str = "0.0.0.0"  # noqa: S104 - a conferencing server serves its network
    port: int = Field(8443, ge=1, le=65535)
    hostnames: list[str] = Field(default_factory=lambda: ["localhost"], min_length=1)
    public_url: str | None = None
    http_redirect_port: int | None = Field(None, ge=1, le=65535)

    @field_validator("public_url")
    @classmethod
    def _https_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("must start with https:// (Conclave speaks TLS only)")
        return value.rstrip("/") if value else value


class TlsSettings(Section):
    cert_file: Path | None = None
    key_file: Path | None = None


class DatabaseSettings(Section):
    url: str | None = None


class SecuritySettings(Section):
    """Password checks are throttled per (account, network) and per network for account
    passwords, per (meeting, person) and per (meeting, network) for meeting passwords,
    all in one moving window (docs/deployment.md, "Password throttles")."""

    password_min_length: int = Field(12, ge=8, le=128)
    session_idle_minutes: int = Field(60, ge=5, le=1440)
    session_absolute_hours: int = Field(12, ge=1, le=720)
    login_max_failures: int = Field(5, ge=1, le=100)
    login_network_max_failures: int = Field(50, ge=1, le=10_000)
    login_window_minutes: int = Field(15, ge=1, le=1440)
    meeting_password_max_failures: int = Field(5, ge=1, le=100)
    meeting_password_network_max_failures: int = Field(20, ge=1, le=10_000)
    password_check_concurrency: int = Field(4, ge=1, le=64)
    password_check_wait_seconds: float = Field(3.0, ge=0, le=30)
    hsts_max_age: int = Field(31536000, ge=0)
    setup_link_minutes: int = Field(60, ge=5, le=1440)
    require_e2ee: bool = True

    @field_validator("login_network_max_failures")
    @classmethod
    def _network_covers_account(cls, value: int, info: ValidationInfo) -> int:
        return _at_least(value, info, "login_max_failures")

    @field_validator("meeting_password_network_max_failures")
    @classmethod
    def _network_covers_person(cls, value: int, info: ValidationInfo) -> int:
        return _at_least(value, info, "meeting_password_max_failures")


def _at_least(value: int, info: ValidationInfo, smaller: str) -> int:
    """A network's limit counts the failures of everyone in it: never below one pair's."""
    low = info.data.get(smaller)
    if low is not None and value < low:
        raise ValueError(
            f"must be at least security.{smaller} ({low}): a network holds many people"
        )
    return value


class InvitationSettings(Section):
    link_ttl_hours: int = Field(168, ge=1, le=24 * 90)


class MeetingSettings(Section):
    default_lobby: LobbyPolicy = "guests"
    allow_guests: bool = True
    max_participants: int = Field(50, ge=2, le=500)


class PrivacySettings(Section):
    controller_name: str = Field("", max_length=200)
    controller_contact: str = Field("", max_length=500)
    dpo_contact: str = Field("", max_length=500)


class RetentionSettings(Section):
    """How long each kind of personal data is kept (docs/data-protection.md).

    For meetings and guest accounts, zero means "delete at the end of the meeting" (at the
    next purge after it); nothing is ever kept forever. Audit entries, stale identity keys
    and inactive accounts have a lower bound instead: zero would mean no such data at all.
    """

    meeting_days: int = Field(30, ge=0, le=3650)
    guest_days: int = Field(1, ge=0, le=365)
    account_inactive_days: int = Field(730, ge=30, le=3650)
    identity_key_days: int = Field(365, ge=30, le=3650)
    audit_days: int = Field(90, ge=1, le=3650)
    purge_interval_minutes: int = Field(15, ge=1, le=1440)
    purge_batch_size: int = Field(1000, ge=10, le=100_000)


class SmtpSettings(Section):
    host: str | None = None
    port: int = Field(587, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    from_address: str = "conclave@localhost"
    starttls: bool = True
    use_tls: bool = False
    timeout_seconds: float = Field(10.0, gt=0, le=120)


class LoggingSettings(Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "text"] = "json"


class IceServer(Section):
    urls: list[str] = Field(min_length=1)
    username: str | None = None
    credential: str | None = None

    @field_validator("urls")
    @classmethod
    def _stun_or_turn(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("stun:", "stuns:", "turn:", "turns:")):
                raise ValueError(f"{url!r} is not a stun:, stuns:, turn: or turns: URL")
        return urls


_ICE_INTERFACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class JanusSettings(Section):
    """The Janus SFU: a managed child process, or external servers (``urls``)."""

    managed: Literal["auto", "on", "off"] = "auto"
    binary: str = Field("janus", min_length=1)
    lib_dir: Path | None = None
    urls: list[str] = Field(default_factory=list)
    api_secret: SecretStr | None = Field(None, validate_default=True)
    admin_key: SecretStr | None = None
    rtp_port_min: int = Field(20000, ge=1024, le=65535)
    rtp_port_max: int = Field(40000, ge=1024, le=65535)
    ice_enforce_list: list[str] = Field(default_factory=list)
    nat_1_1_mapping: str | None = None
    # The managed Janus is restarted after every crash, never given up: the first
    # restart after restart_delay_min seconds, each further one twice as late, at most
    # restart_delay_max; after a minute without a crash, from restart_delay_min again.
    restart_delay_min: float = Field(0.5, gt=0, le=60)
    restart_delay_max: float = Field(30.0, gt=0, le=3600)

    @field_validator("urls")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not re.fullmatch(r"https?://[^/\s?#]+(/[^\s?#]*)?", url):
                raise ValueError(
                    f"{url!r} is not an http:// or https:// URL of a Janus API "
                    "(e.g. http://10.0.0.5:8088/janus)"
                )
        return [url.rstrip("/") for url in urls]

    @field_validator("api_secret")
    @classmethod
    def _secret_for_external(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        if value is None and info.data.get("urls"):
            raise ValueError(
                "required when media.janus.urls is set "
                "(Conclave never talks to a Janus server without an api_secret)"
            )
        return value

    @field_validator("rtp_port_max")
    @classmethod
    def _port_range(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("rtp_port_min")
        if low is not None and value <= low:
            raise ValueError(f"must be greater than media.janus.rtp_port_min ({low})")
        return value

    @field_validator("restart_delay_max")
    @classmethod
    def _delays(cls, value: float, info: ValidationInfo) -> float:
        low = info.data.get("restart_delay_min")
        if low is not None and value < low:
            raise ValueError(f"must be at least media.janus.restart_delay_min ({low:g})")
        return value

    @field_validator("ice_enforce_list")
    @classmethod
    def _interfaces(cls, names: list[str]) -> list[str]:
        for name in names:
            if not _ICE_INTERFACE.fullmatch(name):
                raise ValueError(
                    f"{name!r} is not an interface name or address prefix "
                    "(letters, digits, '.', ':', '_', '-')"
                )
        return names

    @field_validator("nat_1_1_mapping")
    @classmethod
    def _public_addresses(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = [part.strip() for part in value.split(",")]
        for part in parts:
            try:
                ipaddress.ip_address(part)
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address") from None
        return ",".join(parts)


class TurnSettings(Section):
    """coturn with ``use-auth-secret``: short-lived credentials for each participant."""

    urls: list[str] = Field(default_factory=list)
    secret: SecretStr | None = Field(None, validate_default=True)
    ttl_seconds: int = Field(3600, ge=60, le=86400)

    @field_validator("urls")
    @classmethod
    def _turn_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not re.fullmatch(r"turns?:[^\s/?#]+(\?transport=(udp|tcp))?", url):
                raise ValueError(
                    f"{url!r} is not a turn: or turns: URL "
                    "(e.g. turn:turn.example.org:3478?transport=udp)"
                )
        return urls

    @field_validator("secret")
    @classmethod
    def _secret_with_urls(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None and info.data.get("urls"):
            raise ValueError("required when media.turn.urls is set (coturn's static-auth-secret)")
        return value


class MediaSettings(Section):
    mode: Literal["auto", "p2p", "mesh", "sfu"] = "auto"
    mesh_limit: int = Field(4, ge=2, le=8)
    ice_servers: list[IceServer] = Field(default_factory=list)
    ice_transport_policy: Literal["all", "relay"] = "all"
    simulcast: bool = True
    janus: JanusSettings = JanusSettings()
    turn: TurnSettings = TurnSettings()

    @property
    def direct_without_servers(self) -> bool:
        """Browsers connect directly with no ICE server at all (the default on a LAN): then
        the room page may prepare its first connection before the user joins."""
        direct = self.mode != "sfu" and self.ice_transport_policy == "all"
        return direct and not self.ice_servers and not self.turn.urls


class Settings(BaseSettings):
    """All of Conclave's configuration. Frozen: pass it around, never mutate it."""

    model_config = SettingsConfigDict(
        env_prefix="CONCLAVE_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    data_dir: Path = Path("conclave-data")
    server: ServerSettings = ServerSettings()
    tls: TlsSettings = TlsSettings()
    database: DatabaseSettings = DatabaseSettings()
    security: SecuritySettings = SecuritySettings()
    invitations: InvitationSettings = InvitationSettings()
    meetings: MeetingSettings = MeetingSettings()
    privacy: PrivacySettings = PrivacySettings()
    retention: RetentionSettings = RetentionSettings()
    smtp: SmtpSettings = SmtpSettings()
    logging: LoggingSettings = LoggingSettings()
    media: MediaSettings = MediaSettings()

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'conclave.db'}"

    @property
    def base_url(self) -> str:
        """The URL people use to reach this server (for links and Origin checks)."""
        if self.server.public_url:
            return self.server.public_url
        host = self.server.hostnames[0]
        port = "" if self.server.port == 443 else f":{self.server.port}"
        return f"https://{host}{port}"


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read settings from ``config_file`` (if any), the environment and ``overrides``."""
    if config_file is not None and not config_file.is_file():
        raise ConfigError([f"config file {str(config_file)!r} does not exist"])
    toml_file = config_file

    class _FileSettings(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if toml_file is not None:
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
            return tuple(sources)

    try:
        loaded = _FileSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError([_describe(error) for error in exc.errors()]) from None
    except ValueError as exc:  # malformed TOML or environment JSON
        raise ConfigError([f"cannot read configuration: {exc}"]) from None
    problems = semantic_problems(loaded)
    if problems:
        raise ConfigError(problems)
    return loaded


def _describe(error: Any) -> str:
    key = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(sorted(_fields_at(error["loc"][:-1])))
        return f"{key}: unknown setting (allowed here: {allowed})"
    return f"{key} = {error['input']!r}: {error['msg']}"


def _fields_at(path: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = Settings
    for part in path:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def semantic_problems(settings: Settings) -> list[str]:
    """Problems that involve more than one value or the file system."""
    problems: list[str] = []
    tls = settings.tls
    if (tls.cert_file is None) != (tls.key_file is None):
        problems.append("tls.cert_file and tls.key_file: set both or neither")
    for name in ("cert_file", "key_file"):
        path = getattr(tls, name)
        if path is not None and not Path(path).is_file():
            problems.append(f"tls.{name} = {str(path)!r}: file does not exist")
    if settings.server.http_redirect_port == settings.server.port:
        problems.append("server.http_redirect_port must differ from server.port")
    try:
        ipaddress.ip_address(settings.server.host)
    except ValueError:
        if settings.server.host != "localhost":
            problems.append(
                f"server.host = {settings.server.host!r}: must be an IP address or 'localhost'"
            )
    url = settings.database_url
    if not url.startswith(("sqlite:", "postgresql")):
        problems.append(f"database.url = {url!r}: only sqlite and postgresql are supported")
    return problems


def warnings_for(settings: Settings) -> list[str]:
    """Things that work but that the data-protection officer should look at."""
    notes: list[str] = []
    if not settings.privacy.controller_name or not settings.privacy.controller_contact:
        notes.append(
            "privacy.controller_name / privacy.controller_contact are empty: "
            "the privacy notice cannot name the controller"
        )
    return notes
