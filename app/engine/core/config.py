"""Engine settings: ``SWITCHBOARD_*`` environment variables over a TOML file over defaults.

The TOML file lives in the platform config dir (``switchboard config`` prints its path) or
wherever ``SWITCHBOARD_CONFIG_FILE`` points. :func:`describe` reports each effective value and
where it came from, so a user can see why the engine behaves as it does.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from app.engine.core.errors import BadInput

__all__ = ["Settings", "config_file_path", "describe", "load_settings", "repo_root"]

ENV_PREFIX = "SWITCHBOARD_"


def repo_root() -> Path:
    """The source checkout (holds ``specialists/``); the engine ships inside it."""
    return Path(__file__).resolve().parents[3]


def config_file_path() -> Path:
    """Path of the user's TOML config file (may not exist)."""
    override = os.environ.get(ENV_PREFIX + "CONFIG_FILE")
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir("switchboard")) / "config.toml"


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("switchboard"))


class Settings(BaseSettings):
    """Every knob of the engine, validated once at start."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    data_dir: Path = Field(default_factory=_default_data_dir, description="Where the database, files and sockets live")
    database_url: str = Field("", description="SQLAlchemy URL; empty = SQLite file in data_dir (WAL)")
    specialists_dir: Path = Field(
        default_factory=lambda: repo_root() / "specialists", description="Folder of specialist manifests"
    )
    namespace: str = Field(
        "default",
        pattern=r"^[a-z0-9][a-z0-9-]{0,30}$",
        description="Separates this engine's containers, volumes and networks from another's (tests use their own)",
    )
    docker_url: str = Field("", description="Docker engine URL; empty = DOCKER_HOST or the local socket")
    docker_timeout_s: float = Field(30.0, gt=0, le=600, description="Timeout of one Docker API call")
    runtime_backend: Literal["docker", "swarm"] = Field(
        "docker", description="Container backend: the local Docker engine, or Docker Swarm services (docs/scale-out.md)"
    )
    swarm_multi_node: bool = Field(
        False,
        description="Swarm: place replicas on any node and reach them through the channel gateway "
        "(docs/scale-out.md); off = every replica on the engine's node",
    )
    swarm_channel_encrypted: bool = Field(
        True, description="Swarm multi-node: encrypt the channel overlay (IPsec; needs the kernel's ESP support)"
    )
    swarm_node_engines: dict[str, str] = Field(
        default_factory=dict,
        description="Swarm multi-node: node hostname -> its Docker API URL, to copy images to (no registry)",
    )
    base_image: str = Field(
        "switchboard-base:bookworm-py311-1",
        description="Base image (offline build, or python:3.12-slim with a registry)",
    )
    pip_trust_host_ca: bool = Field(True, description="Copy the host CA bundle into image builds for pip")
    ollama_host: str = Field("http://127.0.0.1:11435", description="Ollama server URL")
    ollama_model: str = Field("smollm2-135m", description="Base Ollama model for routing and planning")
    ollama_timeout_s: float = Field(60.0, gt=0, le=600, description="Timeout of one Ollama call")
    ollama_autostart: bool = Field(True, description="Start the installed Ollama server when none answers")
    planning_backend: Literal["llamacpp", "ollama"] = Field(
        "llamacpp", description="Model server that writes programs for natural-language tasks"
    )
    planning_model: str = Field(
        "qwen2.5-coder-1.5b-instruct-q4_k_m",
        description="Model that writes programs (a llama.cpp alias or an Ollama model name)",
    )
    llama_host: str = Field("http://127.0.0.1:11436", description="Embedded llama.cpp server URL (loopback)")
    llama_timeout_s: float = Field(120.0, gt=0, le=900, description="Timeout of one llama.cpp call")
    llama_autostart: bool = Field(True, description="Start the installed llama.cpp server when none answers")
    routing_backend: Literal["ollama", "llamacpp"] = Field(
        "llamacpp",
        description="Model server the router asks when the fast router is unsure (llama.cpp measured better)",
    )
    routing_llm_timeout_s: float = Field(
        10.0, gt=0, le=120, description="Timeout of one routing model call (then the fast route stands)"
    )
    program_attempts: int = Field(3, ge=1, le=5, description="Programs tried per natural-language task")
    queue_size: int = Field(1000, ge=1, le=1_000_000, description="Tasks accepted but not yet running")
    workers: int = Field(32, ge=1, le=512, description="Dispatcher worker threads")
    task_timeout_s: float = Field(120.0, gt=0, le=86_400, description="Default per-task timeout")
    docker_wait_s: float = Field(
        120.0,
        ge=0,
        le=3600,
        description="How long a task waits for a Docker engine that is down (restarting) before it fails",
    )
    max_input_bytes: int = Field(200 * 1024 * 1024, ge=1, description="Largest accepted input file")
    max_inputs_per_task: int = Field(16, ge=1, le=1000, description="Most files one task may carry")
    budget_max_containers: int = Field(12, ge=1, le=500, description="Most containers running at once")
    budget_max_memory_mb: int = Field(16384, ge=64, description="Sum of container memory limits allowed")
    autoscale: bool = Field(True, description="Let the lifecycle controller scale, pause and reap containers by demand")
    autoscale_policy: Literal["adaptive", "knative", "ray", "always_on", "per_task"] = Field(
        "adaptive",
        description="Scaling policy of the controller (the others are the reference policies it is measured against)",
    )
    autoscale_tick_s: float = Field(2.0, ge=0.2, le=60, description="Seconds between two controller decisions")
    crash_backoff_s: float = Field(
        2.0, gt=0, le=600, description="First wait before restarting a crashed specialist (doubles each time)"
    )
    crash_backoff_max_s: float = Field(
        60.0, gt=0, le=3600, description="Longest wait between restarts of a crashing specialist"
    )
    crash_quarantine_after: int = Field(
        5, ge=1, le=100, description="Crashes within crash_window_s that quarantine a specialist"
    )
    crash_window_s: float = Field(600.0, gt=0, le=86_400, description="Window in which crashes are counted")
    models_in_budget: bool = Field(
        True, description="Count loaded Ollama models in budget_max_memory_mb and evict them under pressure"
    )
    cost_per_cpu_hour: float = Field(0.05, ge=0, description="Notional cost of one CPU-hour, for cost charts")
    cost_per_gb_hour: float = Field(0.01, ge=0, description="Notional cost of one GB-hour of memory")
    stats_interval_s: float = Field(2.0, ge=0.2, le=60, description="Container stats sampling interval")
    router_retrain_interval_s: float = Field(
        600.0,
        ge=0,
        le=7 * 86_400,
        description="How often the engine checks for new routing feedback to retrain the fast router on "
        "(0 = only on demand: `switchboard router retrain`; otherwise at least 10 s)",
    )
    router_retrain_min_feedback: int = Field(
        20,
        ge=1,
        le=100_000,
        description="New routing verdicts (correct / wrong_specialist) that trigger a scheduled router retrain",
    )
    router_holdout_share: float = Field(
        0.2,
        ge=0.05,
        le=0.5,
        description="Share of routing feedback held back (by a stable hash of the text) to measure each retrain; "
        "never fitted",
    )
    route_confidence_threshold: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Below this combined (fast router + file evidence) confidence ask the routing model; "
        "0 = the tuned value",
    )
    samples_retention_days: float = Field(
        14.0,
        gt=0,
        le=3650,
        description="Keep per-container resource samples this long (tasks, decisions and golden runs are kept)",
    )
    metrics_port: int = Field(0, ge=0, le=65535, description="Serve Prometheus metrics on 127.0.0.1:<port>; 0 = off")
    theme: str = Field("system", pattern="^(system|dark|light)$", description="GUI theme")
    variant_chooser: Literal["thompson", "ab"] = Field(
        "thompson", description="How live traffic is split between a specialist's incumbent variant and its candidate"
    )
    variant_ab_share: float = Field(
        0.5, gt=0, lt=1, description="Share of traffic the candidate gets when variant_chooser is ab"
    )
    variant_min_tasks: int = Field(
        30,
        ge=1,
        le=100_000,
        description="Live tasks a candidate variant serves before it may be promoted or rolled back",
    )
    user_specialists_dir: Path | None = Field(
        None, description="Folder of the user's own specialists (accepted proposals); empty = <data_dir>/specialists"
    )
    proposal_min_tasks: int = Field(
        5, ge=2, le=100_000, description="Unserved tasks a cluster needs before it is proposed as a new specialist"
    )
    proposal_min_windows: int = Field(
        2,
        ge=1,
        le=1000,
        description="Separate windows of proposal_window_s those tasks must span (a recurring need, not one burst)",
    )
    proposal_window_s: float = Field(
        3600.0,
        gt=0,
        le=365 * 86_400,
        description="Length of one window when counting how a cluster of unserved tasks grows",
    )
    proposal_similarity: float = Field(
        0.15, gt=0, lt=1, description="Cosine similarity at which an unserved task joins a cluster"
    )
    proposal_low_confidence: float = Field(
        0.3, ge=0, le=1, description="Routed tasks below this router confidence count as unserved"
    )

    @field_validator("router_retrain_interval_s")
    @classmethod
    def _interval_is_off_or_calm(cls, value: float) -> float:
        if 0 < value < 10:
            raise ValueError("must be 0 (only on demand) or at least 10 seconds")
        return value

    @field_validator("ollama_host")
    @classmethod
    def _host_has_scheme(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            value = "http://" + value
        return value.rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init kwargs win, then environment, then the TOML file."""
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=config_file_path()),
        )

    @property
    def effective_user_specialists_dir(self) -> Path:
        """Where accepted proposals (the user's own specialists) live."""
        return self.user_specialists_dir or self.data_dir / "specialists"

    @property
    def effective_database_url(self) -> str:
        """The database URL actually used (SQLite in ``data_dir`` by default)."""
        return self.database_url or f"sqlite:///{self.data_dir / 'switchboard.db'}"


def load_settings(**overrides: Any) -> Settings:
    """Build settings or raise :class:`BadInput` naming the bad field and source."""
    path = config_file_path()
    if path.exists():
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise BadInput(f"{path}: not valid TOML: {exc}") from exc
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise BadInput(f"invalid settings ({problems}); check {ENV_PREFIX}* variables and {path}") from exc


def describe(settings: Settings) -> list[dict[str, Any]]:
    """Each setting with its effective value and its source (env, file or default)."""
    path = config_file_path()
    file_values: dict[str, Any] = {}
    if path.exists():
        try:
            file_values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            file_values = {}
    rows: list[dict[str, Any]] = []
    for name, info in Settings.model_fields.items():
        env_name = ENV_PREFIX + name.upper()
        if env_name in os.environ:
            source = f"env {env_name}"
        elif name in file_values:
            source = f"file {path}"
        else:
            source = "default"
        value = getattr(settings, name)
        rows.append(
            {
                "name": name,
                "value": str(value) if isinstance(value, Path) else value,
                "source": source,
                "description": info.description or "",
            }
        )
    return rows
