"""Signaling under load: many simulated participants (no media) joining and chatting.

Run: `make bench` or `.venv/bin/python -m bench.signaling [--participants 1000]`.

Accounts, meetings (lobby "off", one host per room, the others invited members) and
session tokens are made with the Python services before a real `conclave serve` starts
on 127.0.0.1 with the default configuration (rooms above `media.mesh_limit` need the SFU:
without Janus they refuse the rest with `meeting_full`). One client process (asyncio +
`websockets`, permessage-deflate offered as browsers do; the server declines it) then
plays every participant; each socket has its own reader task. Phases:

1. join: participants arrive at `--join-rate` per second (an open schedule: nobody waits
   for anyone else), rooms filling in turn; join latency runs from opening the WebSocket
   (TCP, TLS, upgrade with the session cookie) to `welcome`. Target p99 < 200 ms.
2. memory: the server's VmRSS once the first participant is in and once all are in,
   divided by the others. Target < 50 kB per participant.
3. steady chat: every room's host sends one `chat` per second, the rooms spread over the
   second; fan-out latency per receiver, from `send` until that receiver has it.
   Target p99 < 50 ms.
4. burst: every room sends at the same instant (the worst case, reported, no target).

Server and client CPU time are read per phase. The same client then runs the same phases
against bench/_bare_server.py (a bare `websockets` relay over TLS, no Conclave): the
baseline of what TLS, the WebSocket library and this client cost on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from bench._proc import cpu_seconds, rss_kib
from bench._stats import load_average, percentile, summary_ms, verdict
from tests.support.live import LiveServer
from tests.support.net import free_port

PASSWORD = "benchmark-password-not-secret"
JOIN_TARGET_P99 = 0.200
FANOUT_TARGET_P99 = 0.050
MEMORY_TARGET_KB = 50.0
KEEPALIVE_SECONDS = 10.0  # see Client.keepalive
SETTLE_SECONDS = 1.0  # after the joins, before reading the server's memory
JOIN_TIMEOUT = 30.0  # one participant's join
DELIVERY_SECONDS = 10.0  # waiting for the last chat receipts of a phase
CLIENT_DEADLINE = 600.0  # nothing a reader task does outlives this
MAX_MESSAGES = 200_000  # per connection, a bound for the receive loop
START_SECONDS = 30.0  # the baseline server's start


@dataclass(frozen=True)
class Seat:
    meeting_id: str
    token: str


def prepare(data_dir: Path, participants: int, rooms: int) -> list[list[Seat]]:
    """Accounts, meetings, invitations and one session per participant."""
    from argon2 import profiles

    from conclave.config import load_settings
    from conclave.meetings.service import MeetingDraft
    from conclave.services import build_services

    services = build_services(load_settings(None, data_dir=data_dir), argon2=profiles.CHEAPEST)
    try:
        plan: list[list[Seat]] = []
        for index in range(rooms):
            size = participants // rooms + (index < participants % rooms)
            people = [
                services.accounts.create_user(f"b{index}x{n}", f"Bench {index}/{n}", PASSWORD)
                for n in range(size)
            ]
            draft = MeetingDraft(f"Benchmark room {index + 1}", None, None, "off", None)
            meeting = services.meetings.create(people[0], draft)
            for person in people[1:]:
                services.invitations.invite_member(people[0], meeting.id, person.username)
            plan.append([Seat(meeting.id, services.accounts.start_session(p)) for p in people])
        return plan
    finally:
        services.db.dispose()


@dataclass
class Participant:
    seat: Seat
    room: int
    ws: ClientConnection | None = None
    pid: str = ""
    reader: asyncio.Task[None] | None = None
    last_sent: float = 0.0


@dataclass
class Results:
    label: str
    join: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    fanout: dict[str, list[float]] = field(default_factory=dict)  # per receiver
    missing: dict[str, int] = field(default_factory=dict)
    closes: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # by the server
    rss_kib: dict[str, int] = field(default_factory=dict)  # "one", "all", "end"
    cpu: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # wall, srv, me
    pongs: int = 0
    keepalives: int = 0


class Client:
    """Every participant of one run, on one event loop."""

    def __init__(
        self, url: str, plan: list[list[Seat]], server_pid: int, args: argparse.Namespace
    ) -> None:
        self.url = url
        self.origin = url.replace("wss://", "https://")
        self.server_pid = server_pid
        self.args = args
        self.ssl = ssl.create_default_context()  # the server's certificate is self-signed
        self.ssl.check_hostname = False
        self.ssl.verify_mode = ssl.CERT_NONE
        self.rooms = [[Participant(seat, i) for seat in room] for i, room in enumerate(plan)]
        self.results = Results("")
        self.sent_at: dict[str, float] = {}
        self.receipts: defaultdict[str, list[float]] = defaultdict(list)
        self.expected: dict[str, int] = {}
        self.leaving = False

    def everyone(self) -> list[Participant]:
        return [person for room in self.rooms for person in room]

    async def join_all(self) -> None:
        """Hosts first, then the rooms fill in turn, one arrival every 1/rate seconds."""
        largest = max(len(room) for room in self.rooms)
        order = [room[seat] for seat in range(largest) for room in self.rooms if seat < len(room)]
        await self._join(order[0])
        self.results.rss_kib["one"] = rss_kib(self.server_pid)
        start, joins = time.perf_counter(), []
        for index, person in enumerate(order[1:]):
            await asyncio.sleep(max(0.0, start + index / self.args.join_rate - time.perf_counter()))
            joins.append(asyncio.create_task(self._join(person)))
        await asyncio.gather(*joins)
        await asyncio.sleep(SETTLE_SECONDS)  # let the server finish the join broadcasts
        self.results.rss_kib["all"] = rss_kib(self.server_pid)

    async def _join(self, person: Participant) -> None:
        started = time.perf_counter()
        failure = "no welcome"
        try:
            async with asyncio.timeout(JOIN_TIMEOUT):
                ws = await connect(
                    f"{self.url}/ws/meetings/{person.seat.meeting_id}",
                    ssl=self.ssl,
                    origin=self.origin,  # type: ignore[arg-type]
                    additional_headers={"Cookie": f"__Host-conclave-session={person.seat.token}"},
                    proxy=None,
                    compression=None if self.args.no_deflate else "deflate",
                    ping_interval=None,
                    max_queue=None,
                )
                await ws.send('{"type":"hello","version":1}')
                person.last_sent = time.monotonic()
                for _ in range(10):  # session, then welcome (or an error and a close)
                    message = json.loads(await ws.recv())
                    if message["type"] == "welcome":
                        self.results.join.append(time.perf_counter() - started)
                        person.pid, person.ws = message["you"], ws
                        person.reader = asyncio.create_task(self._read(person, ws))
                        return
                    if message["type"] in ("error", "lobby"):
                        failure = message.get("code") or message["type"]
                        break
                await ws.close()
        except TimeoutError:
            failure = "timeout"
        except ConnectionClosed as closed:
            failure = f"closed {closed.rcvd.code if closed.rcvd else '?'}"
        except InvalidStatus as error:
            failure = f"HTTP {error.response.status_code}"
        except OSError as error:
            failure = type(error).__name__
        self.results.failures[failure] += 1

    async def _read(self, person: Participant, ws: ClientConnection) -> None:
        """Answers every ping; notes when a chat from someone else arrives."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLIENT_DEADLINE):
                try:
                    for _ in range(MAX_MESSAGES):
                        raw = await ws.recv()
                        now = time.perf_counter()
                        message = json.loads(raw)
                        if message["type"] == "ping":
                            self.results.pongs += 1
                            person.last_sent = time.monotonic()
                            await ws.send('{"type":"pong"}')
                        elif (
                            message["type"] == "chat"
                            and message["from"] != person.pid
                            and (sent := self.sent_at.get(message["text"])) is not None
                        ):
                            self.receipts[message["text"]].append(now - sent)
                except ConnectionClosed as closed:
                    if not self.leaving and closed.rcvd is not None:
                        self.results.closes[closed.rcvd.code] += 1
                    person.ws = None

    async def keepalive(self, stop: asyncio.Event) -> None:
        """An unprompted `pong` from every participant that sent nothing for 10 s.

        Written as a workaround for a server bug fixed in be68053 (docs/performance.md,
        finding 3): the server sent `ping` only on a connection whose outbox was idle for
        10 s, yet closes (4013) any client that sent nothing for 25 s. Since the fix it
        seldom fires (a pong answering a ping counts as sent); `--pong-only` switches it
        off, so the client answers pings only, as the browser does.
        """
        deadline = time.monotonic() + CLIENT_DEADLINE
        while not stop.is_set() and time.monotonic() < deadline:
            now = time.monotonic()
            for person in self.everyone():
                if person.ws is not None and now - person.last_sent >= KEEPALIVE_SECONDS:
                    person.last_sent = now
                    self.results.keepalives += 1
                    with contextlib.suppress(ConnectionClosed):
                        await person.ws.send('{"type":"pong"}')
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    async def _chat(self, room: int, phase: str) -> str | None:
        """The room's first connected participant (normally its host) says something."""
        members = [p for p in self.rooms[room] if p.ws is not None]
        if len(members) < 2 or members[0].ws is None:
            return None
        text = f"{phase} room {room} at {time.time_ns()}"
        self.expected[text] = len(members) - 1
        members[0].last_sent = time.monotonic()
        self.sent_at[text] = time.perf_counter()
        with contextlib.suppress(ConnectionClosed):
            await members[0].ws.send(json.dumps({"type": "chat", "text": text}))
        return text

    async def steady(self) -> None:
        """Every room once a second, the rooms spread evenly over the second."""
        texts, rooms, start = [], len(self.rooms), time.perf_counter()
        for number in range(self.args.rounds * rooms):
            await asyncio.sleep(max(0.0, start + number / rooms - time.perf_counter()))
            texts.append(await self._chat(number % rooms, "steady"))
        await self._collect("steady", texts)

    async def burst(self) -> None:
        """Every room at the same instant, once a second."""
        texts: list[str | None] = []
        for _ in range(self.args.burst_rounds):
            due = time.perf_counter() + 1.0
            texts += await asyncio.gather(*(self._chat(r, "burst") for r in range(len(self.rooms))))
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
        await self._collect("burst", texts)

    async def _collect(self, phase: str, sent: list[str | None]) -> None:
        """Wait (bounded) for every receipt of the phase's messages, then record them."""
        texts = [t for t in sent if t]
        deadline = time.perf_counter() + DELIVERY_SECONDS
        while time.perf_counter() < deadline:
            if all(len(self.receipts[t]) >= self.expected[t] for t in texts):
                break
            await asyncio.sleep(0.05)  # a bounded poll for the last receipts
        self.results.fanout[phase] = [d for t in texts for d in self.receipts[t]]
        self.results.missing[phase] = sum(
            max(0, self.expected[t] - len(self.receipts[t])) for t in texts
        )

    async def leave_all(self) -> None:
        self.leaving = True
        for person in self.everyone():
            if person.ws is not None:
                with contextlib.suppress(ConnectionClosed, OSError, TimeoutError):
                    async with asyncio.timeout(5):
                        await person.ws.send('{"type":"leave"}')
                        await person.ws.close()
            if person.reader is not None:
                person.reader.cancel()


async def run_client(
    url: str, plan: list[list[Seat]], pid: int, label: str, args: argparse.Namespace
) -> Results:
    client = Client(url, plan, pid, args)
    results = client.results
    results.label = label

    async def phase(name: str, work: Callable[[], Awaitable[None]]) -> None:
        wall, server, mine = time.perf_counter(), cpu_seconds(pid), time.process_time()
        await work()
        results.cpu[name] = (
            time.perf_counter() - wall,
            cpu_seconds(pid) - server,
            time.process_time() - mine,
        )

    stop = asyncio.Event()
    keepalive = None if args.pong_only else asyncio.create_task(client.keepalive(stop))
    try:
        await phase("join", client.join_all)
        await phase("steady chat", client.steady)
        await phase("burst chat", client.burst)
        results.rss_kib["end"] = rss_kib(pid)
    finally:
        stop.set()
        if keepalive is not None:
            await keepalive
        await phase("leave", client.leave_all)
    return results


class BareServer:
    """bench/_bare_server.py on a free port, with the Conclave server's certificate."""

    def __init__(self, cert: Path, key: Path, log_file: Path) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "bench._bare_server", str(self.port), str(cert), str(key)]
        with log_file.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the baseline server exited: {log_file.read_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.05)  # a readiness poll with a deadline
        self.stop()
        raise RuntimeError("the baseline server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def logged_errors(log_text: str) -> dict[str, int]:
    """How often each error or critical line of the server's JSON log occurred."""
    counts: dict[str, int] = defaultdict(int)
    for line in log_text.splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and entry.get("level") in ("error", "critical"):
                lines = str(entry.get("msg", "")).strip().splitlines() or ["?"]
                counts[(lines[-1] if lines[0].startswith("Traceback") else lines[0])[:160]] += 1
    return counts


def report(plan: list[list[Seat]], args: argparse.Namespace, runs: list[Results]) -> None:
    main, base = runs[0], runs[1] if len(runs) > 1 else None
    participants = sum(len(room) for room in plan)
    sizes = "/".join(str(s) for s in sorted({len(room) for room in plan}))
    print(
        f"Signaling: {participants} participants in {len(plan)} rooms of {sizes}, no media, "
        f"joining at {args.join_rate:g}/s; client: one asyncio process with `websockets` "
        f"({'no compression' if args.no_deflate else 'permessage-deflate, as browsers'})"
    )

    def line(title: str, values: Callable[[Results], list[float]]) -> None:
        print(f"  {title}: {summary_ms(values(main))}")
        if base is not None:
            print(f"    baseline, bare websockets relay: {summary_ms(values(base))}")

    failed = ", ".join(f"{k} x{v}" for k, v in main.failures.items()) or "none"
    print(f"join (open WebSocket -> welcome), {len(main.join)} joined, failed: {failed}")
    line("join", lambda r: r.join)
    for r in runs:
        print(f"    server CPU per join, {r.label}: {r.cpu['join'][1] / len(r.join) * 1000:.1f} ms")
    ok = percentile(main.join, 99) < JOIN_TARGET_P99 and not main.failures
    print(f"  target p99 < {JOIN_TARGET_P99 * 1000:.0f} ms: {verdict(ok)}")
    for phase, describe in (
        ("steady", f"every room once a second for {args.rounds} s, spread"),
        ("burst", f"every room at the same instant, {args.burst_rounds} times (worst case)"),
    ):
        missing = main.missing.get(phase, 0)
        print(f"chat fan-out per receiver, {describe}, {missing} receipts missing:")
        line(phase, lambda r, p=phase: r.fanout.get(p, []))  # type: ignore[misc]
        for r in runs:
            delivered = len(r.fanout.get(phase, [])) or 1
            per = r.cpu[f"{phase} chat"][1] / delivered * 1e6
            print(f"    server CPU per delivered message, {r.label}: {per:.0f} us")
        if phase == "steady":
            ok = percentile(main.fanout["steady"], 99) < FANOUT_TARGET_P99 and not missing
            print(f"  target p99 < {FANOUT_TARGET_P99 * 1000:.0f} ms: {verdict(ok)}")
    print("server memory (VmRSS) per participant, from 1 connected to all connected:")
    for r in runs:
        kb = (r.rss_kib["all"] - r.rss_kib["one"]) * 1.024 / max(1, len(r.join) - 1)
        print(
            f"  {r.label}: {kb:.1f} kB ({r.rss_kib['one'] / 1024:.0f} MiB with one, "
            f"{r.rss_kib['all'] / 1024:.0f} MiB with all, {r.rss_kib['end'] / 1024:.0f} MiB "
            "after the chat)"
        )
        if r is main:
            print(f"  target < {MEMORY_TARGET_KB:.0f} kB per participant: {verdict(kb < 50)}")
    closes = ", ".join(f"{code} x{n}" for code, n in sorted(main.closes.items())) or "none"
    print(f"connections the server closed: {closes}")
    print(f"keep-alive: {main.pongs} pings answered, {main.keepalives} unprompted pongs sent")
    for error, count in logged_errors(args.server_log).items():
        print(f"server log: {count} x {error}")
    for r in runs:
        phases = ", ".join(
            f"{name} {wall:.1f}/{server:.1f}/{me:.1f}" for name, (wall, server, me) in r.cpu.items()
        )
        print(f"seconds wall/server CPU/client CPU, {r.label}: {phases}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.signaling", description=__doc__)
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--join-rate", type=float, default=50.0, help="arrivals per second")
    parser.add_argument("--rounds", type=int, default=10, help="seconds of steady chat")
    parser.add_argument("--burst-rounds", type=int, default=3)
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare relay")
    parser.add_argument(
        "--pong-only", action="store_true", help="answer pings only, like the browser client"
    )
    parser.add_argument(
        "--no-deflate", action="store_true", help="offer no permessage-deflate (browsers do)"
    )
    args = parser.parse_args(argv)
    if not (2 <= args.participants <= 5000 and 1 <= args.rooms <= args.participants // 2):
        parser.error("2..5000 participants, at least 2 per room")
    if not (1 <= args.join_rate <= 5000 and 1 <= args.rounds <= 100):
        parser.error("join rate 1..5000, rounds 1..100")
    if not 0 <= args.burst_rounds <= 20:
        parser.error("burst rounds 0..20")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # the servers inherit it
    resource.setrlimit(
        resource.RLIMIT_NOFILE, (min(hard, max(soft, 2 * args.participants + 256)), hard)
    )
    load_start = load_average()
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory(dir="/dev/shm") as shm:
        # the many small set-up transactions on tmpfs; the server then runs on the disk
        plan = prepare(Path(shm) / "data", args.participants, args.rooms)
        data = Path(tmp) / "data"
        shutil.copytree(Path(shm) / "data", data)
        server = LiveServer(data, Path(tmp), {"CONCLAVE_LOGGING__LEVEL": "warning"})
        server.start()
        try:
            assert server.process is not None
            url, pid = f"wss://127.0.0.1:{server.port}", server.process.pid
            runs = [asyncio.run(run_client(url, plan, pid, "conclave", args))]
            if server.process.poll() is not None:
                raise RuntimeError(f"the server died during the run:\n{server.log_text()}")
        finally:
            server.stop()
            args.server_log = server.log_text()
        if not args.no_baseline:  # after Conclave: the same client, data and certificate
            tls = data / "tls"
            bare = BareServer(tls / "cert.pem", tls / "key.pem", Path(tmp) / "bare.log")
            try:
                url = f"wss://127.0.0.1:{bare.port}"
                runs.append(asyncio.run(run_client(url, plan, bare.process.pid, "baseline", args)))
            finally:
                bare.stop()
    print(f"load average {load_start} at start, {load_average()} at end; {os.cpu_count()} CPUs")
    report(plan, args, runs)


if __name__ == "__main__":
    main()
