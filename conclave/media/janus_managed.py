"""Managed Janus: a child process with a generated minimal configuration, supervised.

``conclave serve`` runs Janus itself when the ``janus`` binary is installed (Debian package
``janus``) and ``media.janus.managed`` allows it. The generated configuration lives in
``<data_dir>/janus/`` and is rewritten at every start:

- only the VideoRoom plugin and the HTTP transport are loaded: ``plugins_folder`` and
  ``transports_folder`` point at directories holding one symlink each, and the event
  handler and logger folders are empty (a plugin installed later is not picked up);
- the HTTP API listens on 127.0.0.1 only, on a free port chosen at the first start, with
  a random ``api_secret``; the admin API is off;
- the VideoRoom plugin has no rooms and a random ``admin_key`` that creating rooms and
  ``rtp_forward`` require;
- media uses ``rtp_port_range`` and ``ice_enforce_list`` / ``nat_1_1_mapping`` from the
  settings; no STUN or TURN server;
- Janus logs warnings and errors to stdout; Conclave reads them and logs them with every
  IP address cut to its network (/24, /48).

A supervisor task waits on the child process itself, so it knows the moment Janus dies
(:attr:`ManagedJanus.state` says so at once), and restarts it: after
``media.janus.restart_delay_min`` seconds, each further crash in a row twice as late, at
most ``restart_delay_max``, and never gives up; after ``stable_after`` seconds without a
crash the back-off starts from the beginning again. :meth:`ManagedJanus.wait_ready` waits
until Janus answers again. Every restart is a new Janus: sessions, handles and rooms are
gone, and clients see :class:`conclave.media.janus_errors.SessionLost`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

import httpx

from conclave.config import JanusSettings
from conclave.media.janus import tls_verification
from conclave.privacy.addresses import scrub_addresses

log = logging.getLogger("conclave.janus")

VIDEOROOM_LIBRARY = "libjanus_videoroom.so"
HTTP_LIBRARY = "libjanus_http.so"
VIDEOROOM_PLUGIN = "janus.plugin.videoroom"
_LOG_TAIL = 30


class JanusNotFound(Exception):
    """The janus binary or its plugin libraries are missing."""


class JanusStartError(Exception):
    """Janus did not come up; the message carries the end of its log."""


class JanusUnavailable(Exception):
    """The managed Janus is not running (stopped, or it never started)."""


Phase = Literal["starting", "running", "restarting", "stopped"]


@dataclass(frozen=True)
class JanusState:
    """What the supervisor knows of its Janus, for ``/healthz`` and the admin pages.

    ``restarts``: attempts to start Janus again after it ended; ``failures``: crashes in
    a row (reset after a stable period); ``backoff``: the wait before the latest (or
    the coming) attempt; ``next_attempt_in``: seconds until the coming attempt, while
    waiting for it."""

    phase: Phase
    restarts: int = 0
    failures: int = 0
    backoff: float | None = None
    next_attempt_in: float | None = None


@dataclass(frozen=True)
class JanusEndpoint:
    """Where and how to reach a Janus API."""

    url: str
    api_secret: str
    admin_key: str | None


@dataclass(frozen=True)
class ManagedConfig:
    """Everything that goes into the generated configuration files."""

    directory: Path
    lib_dir: Path
    http_port: int
    api_secret: str
    admin_key: str
    rtp_port_min: int
    rtp_port_max: int
    ice_enforce_list: tuple[str, ...] = ()
    nat_1_1_mapping: str | None = None
    session_timeout: int = 60
    debug_level: int = 3

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/janus"


# -- finding Janus ---------------------------------------------------------------------


def managed_binary(settings: JanusSettings) -> Path | None:
    """The janus binary to run as a child process, or None when Janus is not managed.

    ``managed = "auto"`` runs it when there are no external servers and the binary is
    found; ``"on"`` requires it; ``"off"`` never runs it.
    """
    if settings.managed == "off" or (settings.managed == "auto" and settings.urls):
        return None
    found = shutil.which(settings.binary)
    if found is None:
        if settings.managed == "on":
            raise JanusNotFound(
                f"media.janus.managed = 'on', but the janus binary ({settings.binary!r}) "
                "was not found: install the Debian package 'janus' or set media.janus.binary"
            )
        return None
    return Path(found)


def find_lib_dir(binary: Path, configured: Path | None = None) -> Path:
    """The folder with ``plugins/`` and ``transports/`` of this Janus installation."""
    if configured is not None:
        candidates = [configured]
    else:
        prefix = binary.resolve().parent.parent
        candidates = [
            *sorted(prefix.glob("lib/*/janus")),
            prefix / "lib" / "janus",
            prefix / "lib64" / "janus",
        ]
    for folder in candidates:
        if (folder / "plugins" / VIDEOROOM_LIBRARY).is_file() and (
            folder / "transports" / HTTP_LIBRARY
        ).is_file():
            return folder
    where = ", ".join(str(folder) for folder in candidates) or "(none)"
    raise JanusNotFound(
        f"Janus's {VIDEOROOM_LIBRARY} and {HTTP_LIBRARY} were not found in {where}: "
        "set media.janus.lib_dir to the folder that holds plugins/ and transports/"
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


# -- configuration files ------------------------------------------------------------------


def _quote(value: str) -> str:
    """A libconfig string literal; control characters are refused, not escaped."""
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise ValueError(f"{value!r}: control characters cannot go into a Janus config")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_core(config: ManagedConfig) -> str:
    folder = config.directory
    nat = ["\tnice_debug = false"]
    if config.ice_enforce_list:
        nat.append(f"\tice_enforce_list = {_quote(','.join(config.ice_enforce_list))}")
    if config.nat_1_1_mapping:
        nat.append(f"\tnat_1_1_mapping = {_quote(config.nat_1_1_mapping)}")
    return "\n".join(
        [
            "# Generated by Conclave at every start of Janus: edits are overwritten.",
            "general: {",
            f"\tconfigs_folder = {_quote(str(folder))}",
            f"\tplugins_folder = {_quote(str(folder / 'plugins'))}",
            f"\ttransports_folder = {_quote(str(folder / 'transports'))}",
            f"\tevents_folder = {_quote(str(folder / 'events'))}",
            f"\tloggers_folder = {_quote(str(folder / 'loggers'))}",
            "\tlog_to_stdout = true",
            f"\tdebug_level = {config.debug_level}",
            "\tdebug_timestamps = false",
            "\tdebug_colors = false",
            f"\tapi_secret = {_quote(config.api_secret)}",
            '\tserver_name = "Conclave"',
            f"\tsession_timeout = {config.session_timeout}",
            "\treclaim_session_timeout = 0",
            "\thide_dependencies = true",
            "\texit_on_dl_error = true",
            "}",
            "media: {",
            f'\trtp_port_range = "{config.rtp_port_min}-{config.rtp_port_max}"',
            "}",
            "nat: {",
            *nat,
            "}",
            "events: {",
            "\tbroadcast = false",
            "}",
            "",
        ]
    )


def render_http(config: ManagedConfig) -> str:
    return "\n".join(
        [
            "# Generated by Conclave: the Janus API on 127.0.0.1 only, no admin API.",
            "general: {",
            '\tjson = "compact"',
            '\tbase_path = "/janus"',
            "\thttp = true",
            f"\tport = {config.http_port}",
            '\tip = "127.0.0.1"',
            "\thttps = false",
            "\tevents = false",
            "}",
            "admin: {",
            "\tadmin_http = false",
            "\tadmin_https = false",
            "}",
            "",
        ]
    )


def render_videoroom(config: ManagedConfig) -> str:
    return "\n".join(
        [
            "# Generated by Conclave: no preconfigured rooms; Conclave creates them.",
            "general: {",
            f"\tadmin_key = {_quote(config.admin_key)}",
            "\tlock_rtp_forward = true",
            "\tevents = false",
            "}",
            "",
        ]
    )


def write_config(config: ManagedConfig) -> Path:
    """Write the configuration folder afresh; returns the path of ``janus.jcfg``."""
    folder = config.directory
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    for name, library in (
        ("plugins", VIDEOROOM_LIBRARY),
        ("transports", HTTP_LIBRARY),
        ("events", None),
        ("loggers", None),
    ):
        sub = folder / name
        if sub.is_symlink() or sub.is_file():
            sub.unlink()
        sub.mkdir(exist_ok=True)
        for entry in sub.iterdir():
            if entry.is_symlink() or entry.is_file():
                entry.unlink()
        if library is not None:
            (sub / library).symlink_to(config.lib_dir / name / library)
    files = {
        "janus.jcfg": render_core(config),
        "janus.transport.http.jcfg": render_http(config),
        f"{VIDEOROOM_PLUGIN}.jcfg": render_videoroom(config),
    }
    for name, text in files.items():
        path = folder / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
    return folder / "janus.jcfg"


# -- logs -------------------------------------------------------------------------------

_COLOURS = re.compile(r"\x1b\[[0-9;]*m")


def scrub_line(line: str) -> str:
    """A line of Janus's output without colour codes, every address cut to its network
    and ports dropped (``conclave.privacy.addresses``, as for every other log line)."""
    return scrub_addresses(_COLOURS.sub("", line))


def _log_line(text: str) -> None:
    """Janus's own lines: ``[ERR]`` is mostly a refused request (a wrong PIN, an offer
    without e2ee), so it is a warning here; only ``[FATAL]`` is an error."""
    if "[FATAL]" in text:
        log.error("janus: %s", text)
    elif "[ERR]" in text or "[WARN]" in text:
        log.warning("janus: %s", text)
    else:
        log.debug("janus: %s", text)


# -- the process ------------------------------------------------------------------------


def _parent_death_signal() -> Callable[[], None] | None:
    """A pre-exec hook that makes the kernel stop Janus if Conclave dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return hook


class ManagedJanus:
    """Runs, watches and stops one Janus child process.

    ``session_timeout`` and ``stable_after`` exist for tests; production uses the
    defaults. The restart back-off comes from the settings. Use as ``async with
    ManagedJanus(...) as janus:`` or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        settings: JanusSettings,
        data_dir: Path,
        *,
        binary: Path | None = None,
        ready_timeout: float = 15.0,
        stop_timeout: float = 5.0,
        stable_after: float = 60.0,
        session_timeout: int = 60,
    ) -> None:
        found = binary or shutil.which(settings.binary)
        if found is None:
            raise JanusNotFound(f"the janus binary ({settings.binary!r}) was not found")
        self.binary = Path(found)
        self.config = ManagedConfig(
            directory=data_dir / "janus",
            lib_dir=find_lib_dir(self.binary, settings.lib_dir),
            http_port=free_port(),
            api_secret=secrets.token_urlsafe(32),
            admin_key=secrets.token_urlsafe(32),
            rtp_port_min=settings.rtp_port_min,
            rtp_port_max=settings.rtp_port_max,
            ice_enforce_list=tuple(settings.ice_enforce_list),
            nat_1_1_mapping=settings.nat_1_1_mapping,
            session_timeout=session_timeout,
        )
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.restart_delay_min = settings.restart_delay_min
        self.restart_delay_max = settings.restart_delay_max
        self.stable_after = stable_after
        self.generation = 0
        self.restarts = 0
        self._failures = 0
        self._backoff: float | None = None
        self._next_attempt: float | None = None  # time.monotonic() of the coming attempt
        self._started_at = 0.0
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._changed = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tail: deque[str] = deque(maxlen=_LOG_TAIL)

    @property
    def endpoint(self) -> JanusEndpoint:
        return JanusEndpoint(self.config.url, self.config.api_secret, self.config.admin_key)

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def state(self) -> JanusState:
        """The true state now: "restarting" from the moment the child process ended."""
        phase: Phase
        if self._stopping.is_set() or self._supervisor is None:
            phase = "stopped" if self.generation else "starting"
        elif self._ready.is_set():
            phase = "running"
        else:
            phase = "restarting"
        waiting = None
        if phase == "restarting" and self._next_attempt is not None:
            waiting = max(0.0, self._next_attempt - time.monotonic())
        return JanusState(phase, self.restarts, self._failures, self._backoff, waiting)

    def delay(self, failures: int) -> float:
        """The wait before restarting after ``failures`` crashes in a row (1, 2, ...)."""
        exponent = min(max(failures, 1) - 1, 64)
        return min(self.restart_delay_max, self.restart_delay_min * 2.0**exponent)

    async def wait_down(self, generation: int) -> None:
        """Return as soon as the Janus of ``generation`` is no longer running."""
        while self.generation == generation and self._ready.is_set():
            self._changed.clear()
            await self._changed.wait()

    async def __aenter__(self) -> ManagedJanus:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> JanusEndpoint:
        """Start Janus and wait until its API answers; then supervise it."""
        if self._supervisor is not None:
            raise RuntimeError("this Janus is already started")
        self._stopping.clear()
        await self._launch()
        self._supervisor = asyncio.create_task(self._supervise(), name="janus-supervisor")
        return self.endpoint

    async def wait_ready(self, timeout: float | None) -> None:
        """Return once Janus answers (again); raise :class:`JanusUnavailable` otherwise."""
        if self._stopping.is_set() or self._supervisor is None:
            raise JanusUnavailable("the managed Janus is not running")
        try:
            async with asyncio.timeout(timeout):
                while not self._ready.is_set():
                    self._changed.clear()
                    await self._changed.wait()
                    if self._stopping.is_set():
                        raise JanusUnavailable("the managed Janus was stopped")
        except TimeoutError:
            raise JanusUnavailable(f"Janus did not answer within {timeout} s") from None

    async def wait_generation(self, newer_than: int, timeout: float | None) -> int:
        """Wait until Janus has been (re)started after generation ``newer_than``: every
        restart is a new Janus without sessions and rooms, so whoever placed rooms on
        it recreates them then. ``generation`` counts the starts (1 after the first)."""
        try:
            async with asyncio.timeout(timeout):
                while self.generation <= newer_than or not self._ready.is_set():
                    if self._stopping.is_set():
                        raise JanusUnavailable("the managed Janus was stopped")
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise JanusUnavailable(f"Janus was not restarted within {timeout} s") from None
        return self.generation

    async def stop(self) -> None:
        """Stop supervising, then SIGTERM Janus (SIGKILL after ``stop_timeout``)."""
        self._stopping.set()
        self._ready.clear()
        self._changed.set()
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        await self._terminate()

    # -- internals ----------------------------------------------------------------------

    async def _launch(self) -> None:
        """Write the configuration, spawn Janus, wait for its API; raise on failure."""
        jcfg = write_config(self.config)
        self._tail.clear()
        self._process = await asyncio.create_subprocess_exec(
            str(self.binary),
            "--configs-folder",
            str(self.config.directory),
            "--config",
            str(jcfg),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_parent_death_signal(),
        )
        self._reader = asyncio.create_task(self._read_output(self._process), name="janus-log")
        try:
            await self._wait_for_api(self._process)
        except BaseException:
            await self._terminate()
            raise
        self.generation += 1
        self._started_at = asyncio.get_running_loop().time()
        self._ready.set()
        self._changed.set()
        log.info("janus ready", extra={"count": self.generation})

    async def _wait_for_api(self, process: asyncio.subprocess.Process) -> None:
        deadline = asyncio.get_running_loop().time() + self.ready_timeout
        url = self.config.url
        async with httpx.AsyncClient(timeout=1.0, verify=tls_verification(url)) as http:
            while True:
                if process.returncode is not None:
                    raise JanusStartError(
                        f"janus exited with status {process.returncode} while starting:\n"
                        + self._tail_text()
                    )
                with contextlib.suppress(httpx.HTTPError, ValueError):
                    reply = await http.get(f"{url}/info")
                    info = reply.json()
                    if isinstance(info, dict) and info.get("janus") == "server_info":
                        if VIDEOROOM_PLUGIN not in info.get("plugins", {}):
                            raise JanusStartError(
                                "janus started without its VideoRoom plugin:\n" + self._tail_text()
                            )
                        return
                if asyncio.get_running_loop().time() > deadline:
                    raise JanusStartError(
                        f"janus did not answer on {self.config.url} within "
                        f"{self.ready_timeout:g} s:\n" + self._tail_text()
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), 0.05)

    def _tail_text(self) -> str:
        return "\n".join(f"  {line}" for line in self._tail) or "  (no output)"

    async def _read_output(self, process: asyncio.subprocess.Process) -> None:
        stream = process.stdout
        if stream is None:
            return
        while True:
            raw = await stream.readline()
            if not raw:
                return
            line = scrub_line(raw.decode("utf-8", "replace").rstrip())
            if line:
                self._tail.append(line)
                _log_line(line)

    async def _supervise(self) -> None:
        """Wait on the child; when it ends, say so at once and start it again, with a
        capped exponential back-off, for as long as Conclave runs."""
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            process = self._process
            if process is not None:
                status = await process.wait()
                if self._stopping.is_set():
                    return
                self._ready.clear()
                self._changed.set()
                if self._reader is not None:
                    await self._reader
                if loop.time() - self._started_at >= self.stable_after:
                    self._failures = 0
                log.warning("janus exited; restarting", extra={"code": status})
            self._failures += 1
            self._backoff = self.delay(self._failures)
            self._next_attempt = time.monotonic() + self._backoff
            self._changed.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._backoff)
            self._next_attempt = None
            if self._stopping.is_set():
                return
            self.restarts += 1
            try:
                await self._launch()
            except (JanusStartError, OSError) as exc:
                log.error("janus did not start; trying again: %s", exc)

    async def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), self.stop_timeout)
            except TimeoutError:
                log.warning("janus ignored SIGTERM; killing it")
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        reader, self._reader = self._reader, None
        if reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await reader
