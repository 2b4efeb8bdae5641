"""The browser SFrame module, conclave/web/static/js/e2ee/sframe.js, run in Debian's Chromium.

It must pass the RFC 9605 test vectors, produce byte-identical frames to the Python reference
`conclave.e2ee.sframe` in both directions, and its receiver must reject tampered, unknown-KID
and replayed frames. The static directory is served from 127.0.0.1 (a secure context, so
WebCrypto is there) with the CSP Conclave sends; the vectors are passed in from Python.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from conclave.e2ee import sframe
from tests.support.static_site import Pages, fresh_page

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
VECTORS_FILE = REPO.parent / "shared" / "testdata" / "rfc9605-test-vectors.json"
SUITES = [1, 2, 3, 4, 5]
TAG_LEN = {1: 10, 2: 8, 3: 4, 4: 16, 5: 16}
U64_MAX = 2**64 - 1

# Installed on the page once: the module, plus helpers. BigInts cross as decimal strings,
# bytes as hex; `reason` turns an outcome into "ok", an SFrameError reason or "Name: text".
SETUP_JS = """async () => {
  const sf = await import("/js/e2ee/sframe.js");
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const bytes = (h) => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));
  const why = (e) => (e instanceof sf.SFrameError ? e.reason : `${e.name}: ${e.message}`);
  const reason = async (promise) => {
    try { await promise; return "ok"; } catch (e) { return why(e); }
  };
  const reasonSync = (f) => {
    try { f(); return "ok"; } catch (e) { return why(e); }
  };
  // A receiver holding one sender's key; frame(ctr, key?) encrypts as that sender would.
  const scenario = async (suite, [baseHex, kidText, metaHex]) => {
    const [base, kid, meta] = [bytes(baseHex), BigInt(kidText), bytes(metaHex)];
    const receiver = new sf.SFrameReceiver(suite);
    await receiver.addKey(kid, base);
    const frame = (ctr, key = base) =>
      sf.encrypt(suite, key, kid, BigInt(ctr), meta, bytes("c0ffee"));
    const open = async (data) => reason(receiver.decrypt(meta, await data));
    return { base, kid, meta, receiver, frame, open };
  };
  Object.assign(globalThis, { sf, hex, bytes, reason, reasonSync, scenario });
}"""
# Imports the module in a dedicated worker, as the frame worker does, and round-trips a frame.
WORKER_JS = b"""import { SFrameContext, SFrameReceiver } from "/js/e2ee/sframe.js";
self.onmessage = async ({ data }) => {
  const base = new Uint8Array(16).fill(7);
  const sender = await SFrameContext.create(4, base, 9n);
  const receiver = new SFrameReceiver(4);
  await receiver.addKey(9n, base);
  const frame = await sender.encrypt(0n, new Uint8Array(0), new TextEncoder().encode(data));
  const plain = await receiver.decrypt(new Uint8Array(0), frame);
  const text = new TextDecoder().decode(plain);
  self.postMessage({ hasDocument: typeof document !== "undefined", text });
};
"""
PAGES = {
    "/": ("text/html", b"<!doctype html><title>sframe.js tests</title>"),
    "/__sframe_worker.js": ("text/javascript", WORKER_JS),
}


def _load_vectors() -> dict[str, list[dict[str, Any]]]:
    if not VECTORS_FILE.is_file():
        return {}
    data: dict[str, list[dict[str, Any]]] = json.loads(VECTORS_FILE.read_text())
    return data


VECTORS = _load_vectors()


def _cases(kind: str, name: Any) -> list[Any]:
    """One pytest.param per vector; a single failing case if the file is missing."""
    if kind not in VECTORS:
        return [pytest.param(None, id=f"{kind}-vectors-missing")]
    return [pytest.param(v, id=name(v)) for v in VECTORS[kind]]


def _need(vector: dict[str, Any] | None) -> dict[str, Any]:
    if vector is None:
        pytest.fail(f"RFC 9605 test vectors not found at {VECTORS_FILE}")
    return vector


def _suite_id(v: dict[str, Any]) -> str:
    return f"suite{v['cipher_suite']}"


def _header_id(v: dict[str, Any]) -> str:
    return f"kid={v['kid']:#x}-ctr={v['ctr']:#x}"


@pytest.fixture(scope="module")
def static_pages() -> Pages:
    return PAGES


@pytest.fixture(scope="module")
def page(browser: Browser, static_origin: str) -> Iterator[Page]:
    """One page for the whole module (hundreds of vectors)."""
    with fresh_page(browser, static_origin, SETUP_JS) as opened:
        yield opened


# --- RFC 9605 test vectors ----------------------------------------------------


@pytest.fixture(scope="module")
def header_results(page: Page) -> dict[str, Any]:
    """All header vectors in one round trip (one each would take seconds), keyed by encoding:
    encodeHeader's output, decodeHeader's (with trailing bytes, which it must ignore) and
    what decodeHeader says about every proper prefix."""
    vectors = [[str(v["kid"]), str(v["ctr"]), v["encoded"]] for v in VECTORS.get("header", [])]
    results: str = page.evaluate(
        """(vectors) => {
          const check = ([kid, ctr, encoded]) => {
            const decoded = sf.decodeHeader(bytes(encoded + "ff00"));
            return [encoded, {
              encoded: hex(sf.encodeHeader(BigInt(kid), BigInt(ctr))),
              decoded: [String(decoded.kid), String(decoded.ctr), decoded.length],
              prefixes: Array.from({ length: encoded.length / 2 }, (_, n) =>
                reasonSync(() => sf.decodeHeader(bytes(encoded.slice(0, 2 * n))))),
            }];
          };
          return JSON.stringify(Object.fromEntries(JSON.parse(vectors).map(check)));
        }""",
        json.dumps(vectors),
    )
    parsed: dict[str, Any] = json.loads(results)
    return parsed


@pytest.mark.parametrize("vector", _cases("header", _header_id))
def test_header_vector(header_results: dict[str, Any], vector: dict[str, Any] | None) -> None:
    v = _need(vector)
    length = len(v["encoded"]) // 2
    assert header_results[v["encoded"]] == {
        "encoded": v["encoded"],
        "decoded": [str(v["kid"]), str(v["ctr"]), length],
        "prefixes": ["malformed"] * length,
    }


@pytest.mark.parametrize("vector", _cases("aes_ctr_hmac", _suite_id))
def test_aes_ctr_hmac_vector(page: Page, vector: dict[str, Any] | None) -> None:
    v = _need(vector)
    got = page.evaluate(
        """async (v) => {
          const aead = await sf.importAead(v.cipher_suite, bytes(v.key));
          const ct = await aead.seal(bytes(v.nonce), bytes(v.aad), bytes(v.pt));
          const pt = await aead.open(bytes(v.nonce), bytes(v.aad), bytes(v.ct));
          return { ct: hex(ct), pt: hex(pt) };
        }""",
        v,
    )
    assert got == {"ct": v["ct"], "pt": v["pt"]}


def _without_u64(v: dict[str, Any]) -> dict[str, Any]:
    """KID and CTR go to the page as decimal strings: a JS number cannot hold 2**64 - 1."""
    return {k: x for k, x in v.items() if k not in ("kid", "ctr")}


@pytest.mark.parametrize("vector", _cases("sframe", _suite_id))
def test_sframe_vector(page: Page, vector: dict[str, Any] | None) -> None:
    v = _need(vector)
    got = page.evaluate(
        """async ([v, kidText, ctrText]) => {
          const [suite, base, meta] = [v.cipher_suite, bytes(v.base_key), bytes(v.metadata)];
          const [kid, ctr] = [BigInt(kidText), BigInt(ctrText)];
          const { key, salt } = await sf.deriveKeySalt(suite, base, kid);
          const sender = await sf.SFrameContext.create(suite, base, kid);
          const receiver = new sf.SFrameReceiver(suite);
          await receiver.addKey(kid, base);
          return {
            key: hex(key),
            salt: hex(salt),
            ct: hex(await sf.encrypt(suite, base, kid, ctr, meta, bytes(v.pt))),
            pt: hex(await sf.decrypt(suite, base, meta, bytes(v.ct))),
            contextCt: hex(await sender.encrypt(ctr, meta, bytes(v.pt))),
            receiverPt: hex(await receiver.decrypt(meta, bytes(v.ct))),
          };
        }""",
        [_without_u64(v), str(v["kid"]), str(v["ctr"])],
    )
    assert got == {
        "key": v["sframe_key"],
        "salt": v["sframe_salt"],
        "ct": v["ct"],
        "pt": v["pt"],
        "contextCt": v["ct"],
        "receiverPt": v["pt"],
    }


def _python_decode(data: bytes) -> list[Any]:
    try:
        kid, ctr, length = sframe.decode_header(data)
    except sframe.DecryptError as error:
        return ["malformed", str(error)]
    return [str(kid), str(ctr), length]


def _field_bytes(config: int) -> int:
    """How many bytes of KID and CTR follow a config byte."""
    return sum((nibble & 7) + 1 for nibble in (config >> 4, config & 15) if nibble & 8)


def test_header_parsing_matches_python(page: Page) -> None:
    """Every config byte followed by tails of zeros, 0xff, leading zeros or small values, cut
    at every length up to one byte past the header (so truncated and non-shortest encodings
    too): the JS parser agrees with Python's, down to the error text."""
    tails = [bytes(16), b"\xff" * 16, b"\x01" + bytes(15), b"\x07\xff" * 8, b"\x08" + bytes(15)]
    tails += [b"\x00\x09" * 8, b"\x00" + b"\xff" * 15]  # leading zeros before a large value
    inputs = [b""] + [
        bytes([c]) + t[:n] for c in range(256) for t in tails for n in range(_field_bytes(c) + 2)
    ]
    expected = [_python_decode(data) for data in inputs]
    got = json.loads(
        page.evaluate(
            """(inputs) => JSON.stringify(JSON.parse(inputs).map((h) => {
              try {
                const { kid, ctr, length } = sf.decodeHeader(bytes(h));
                return [String(kid), String(ctr), length];
              } catch (e) {
                return [e.reason, e.message];
              }
            }))""",
            json.dumps([data.hex() for data in inputs]),
        )
    )
    mismatches = [(d.hex(), e, g) for d, e, g in zip(inputs, expected, got, strict=True) if e != g]
    assert not mismatches, f"{len(mismatches)} differ (input, python, js), e.g. {mismatches[:5]}"
    rejected = [e for e in expected if e[0] == "malformed"]
    # every rejection turns up: empty; KID or CTR not minimal; KID or CTR short of 1-8 bytes
    assert len({e[1] for e in rejected}) == 1 + 2 + 2 * 8


# --- Interop with the Python reference ----------------------------------------


def _u64(rng: random.Random) -> int:
    """Small and large values alike, so every header length turns up."""
    return rng.getrandbits(rng.choice([3, 8, 13, 32, 56, 64]))


def _random_frames(suite: int, count: int = 12) -> list[dict[str, Any]]:
    """Random keys, KIDs, counters, metadata and plaintexts (seeded: failures reproduce)."""
    rng = random.Random(9605 * 10 + suite)
    frames = [
        {
            "base_key": rng.randbytes(rng.choice([16, 32])).hex(),
            "kid": str(_u64(rng)),
            "ctr": str(_u64(rng)),
            "metadata": rng.randbytes(rng.randrange(0, 40)).hex(),
            "pt": rng.randbytes(rng.choice([0, 1, 16, 17, rng.randrange(1, 1500)])).hex(),
        }
        for _ in range(count)
    ]
    frames[0].update(kid=str(U64_MAX), ctr=str(U64_MAX))
    return frames


def _python_encrypt(suite: int, f: dict[str, Any]) -> bytes:
    key, meta, pt = (bytes.fromhex(f[k]) for k in ("base_key", "metadata", "pt"))
    return sframe.encrypt(suite, key, int(f["kid"]), int(f["ctr"]), meta, pt)


@pytest.mark.parametrize("suite", SUITES)
def test_python_frames_decrypt_in_js(page: Page, suite: int) -> None:
    frames = _random_frames(suite)
    for f in frames:
        f["frame"] = _python_encrypt(suite, f).hex()
    got = page.evaluate(
        """async ([suite, frames]) => Promise.all(frames.map(async (f) => {
          const [base, meta, frame] = [bytes(f.base_key), bytes(f.metadata), bytes(f.frame)];
          const receiver = new sf.SFrameReceiver(suite);
          await receiver.addKey(BigInt(f.kid), base);
          return [hex(await sf.decrypt(suite, base, meta, frame)),
                  hex(await receiver.decrypt(meta, frame))];
        }))""",
        [suite, frames],
    )
    assert got == [[f["pt"], f["pt"]] for f in frames]


@pytest.mark.parametrize("suite", SUITES)
def test_js_frames_decrypt_in_python(page: Page, suite: int) -> None:
    frames = _random_frames(suite)
    got = page.evaluate(
        """async ([suite, frames]) => Promise.all(frames.map(async (f) => {
          const sender = await sf.SFrameContext.create(suite, bytes(f.base_key), BigInt(f.kid));
          return hex(await sender.encrypt(BigInt(f.ctr), bytes(f.metadata), bytes(f.pt)));
        }))""",
        [suite, frames],
    )
    for f, frame_hex in zip(frames, got, strict=True):
        frame = bytes.fromhex(frame_hex)
        key, meta = bytes.fromhex(f["base_key"]), bytes.fromhex(f["metadata"])
        assert sframe.decrypt(suite, key, meta, frame).hex() == f["pt"]
        assert frame == _python_encrypt(suite, f)  # SFrame is deterministic: same bytes


# --- The receiver -----------------------------------------------------------------

BASE_KEY = bytes(range(16))
KID = 0x1234
META = b"meta"
# `await scenario(suite, SCENARIO)` on the page: a receiver holding BASE_KEY for KID, and
# `frame(ctr, key?)` / `open(frame)` helpers, defined in SETUP_JS.
SCENARIO = [BASE_KEY.hex(), str(KID), META.hex()]


def _expected_rejection(suite: int, data: bytes) -> str:
    """What a receiver holding only KID's key must say about a frame that is not authentic."""
    try:
        kid, _, length = sframe.decode_header(data)
    except sframe.DecryptError:
        return "malformed"
    if kid != KID:
        return "unknown_kid"
    return "malformed" if len(data) - length < TAG_LEN[suite] else "auth"


@pytest.mark.parametrize("suite", SUITES)
def test_tampered_or_truncated_frames_are_rejected(page: Page, suite: int) -> None:
    frame = sframe.encrypt(suite, BASE_KEY, KID, 0x42, META, bytes(range(48)))
    tampered = [
        frame[:i] + bytes([frame[i] ^ mask]) + frame[i + 1 :]
        for i in range(len(frame))
        for mask in (0x01, 0x80, 0xFF)
    ]
    truncated = [frame[:n] for n in range(len(frame))]
    bad = tampered + truncated
    got = page.evaluate(
        """async ([suite, keys, frames, original]) => {
          const s = await scenario(suite, keys);
          const outcomes = await Promise.all(frames.map((f) => s.open(bytes(f))));
          return [outcomes, await s.open(bytes(original))];
        }""",
        [suite, SCENARIO, [b.hex() for b in bad], frame.hex()],
    )
    outcomes, original = got
    expected = [_expected_rejection(suite, b) for b in bad]
    wrong = [(b.hex(), e, g) for b, e, g in zip(bad, expected, outcomes, strict=True) if e != g]
    assert not wrong, f"{len(wrong)} frames (frame, expected, got), e.g. {wrong[:5]}"
    header_length = len(sframe.encode_header(KID, 0x42))
    assert set(outcomes[3 * header_length : len(tampered)]) == {"auth"}  # every payload byte
    assert original == "ok"  # and the forgeries left the receiver as it was


def test_unknown_kid(page: Page) -> None:
    got = page.evaluate(
        """async (keys) => {
          const s = await scenario(4, keys);
          const stranger = sf.encrypt(4, s.base, 99n, 0n, s.meta, bytes("00"));
          const outcomes = [await s.open(stranger), await s.open(s.frame(1))];
          s.receiver.removeKey(s.kid);
          return [...outcomes, await s.open(s.frame(2))];
        }""",
        SCENARIO,
    )
    assert got == ["unknown_kid", "ok", "unknown_kid"]


@pytest.mark.parametrize("suite", SUITES)
def test_replayed_frame(page: Page, suite: int) -> None:
    got = page.evaluate(
        """async ([suite, keys]) => {
          const s = await scenario(suite, keys);
          const frame = await s.frame(7);
          return [await s.open(frame), await s.open(frame), await s.open(frame.slice())];
        }""",
        [suite, SCENARIO],
    )
    assert got == ["ok", "replay", "replay"]


def test_replay_window(page: Page) -> None:
    steps = [
        (1000, "ok"),
        (999, "ok"),  # out of order, inside the window
        (950, "ok"),
        (950, "replay"),
        (872, "replay"),  # 128 below the highest: outside the window
        (873, "ok"),  # 127 below: the oldest counter still accepted
        (873, "replay"),
        (1200, "ok"),
        (1073, "ok"),
        (1072, "replay"),
        (1000, "replay"),  # seen, and by now below the window as well
        (5, "replay"),  # far below the window
        (U64_MAX, "ok"),
        (U64_MAX, "replay"),
        (U64_MAX - 127, "ok"),
        (U64_MAX - 128, "replay"),
    ]
    got = page.evaluate(
        """async ([keys, counters]) => {
          const s = await scenario(4, keys);
          const outcomes = [];
          for (const ctr of counters) outcomes.push(await s.open(s.frame(ctr)));
          return outcomes;
        }""",
        [SCENARIO, [str(ctr) for ctr, _ in steps]],
    )
    assert list(zip([c for c, _ in steps], got, strict=True)) == steps


def test_forged_frames_do_not_move_the_window(page: Page) -> None:
    got = page.evaluate(
        """async (keys) => {
          const s = await scenario(4, keys);
          const flipped = await s.frame(2n ** 64n - 1n);
          flipped[flipped.length - 1] ^= 1;
          return [
            await s.open(s.frame(5)),
            await s.open(s.frame(1000000, new Uint8Array(16).fill(0xaa))),  // wrong key
            await s.open(flipped),  // right key, tag flipped, highest counter there is
            await s.open(s.frame(6)),  // far below the forged counters: still accepted
            await s.open(s.frame(1000000)),  // and the forged counter itself, when genuine
          ];
        }""",
        SCENARIO,
    )
    assert got == ["ok", "auth", "auth", "ok", "ok"]


def test_copies_decrypting_at_the_same_time_open_once(page: Page) -> None:
    got = page.evaluate(
        """async (keys) => {
          const s = await scenario(4, keys);
          const frame = await s.frame(3);
          return (await Promise.all([s.open(frame), s.open(frame), s.open(frame)])).sort();
        }""",
        SCENARIO,
    )
    assert got == ["ok", "replay", "replay"]


def test_add_key_races(page: Page) -> None:
    got = page.evaluate(
        """async (keys) => {
          const s = await scenario(4, keys);
          const receiver = new sf.SFrameReceiver();
          const open = async (frame) => reason(receiver.decrypt(s.meta, await frame));
          const removed = receiver.addKey(s.kid, s.base);
          receiver.removeKey(s.kid);  // while the key is still being derived
          await removed;
          const afterRemove = await open(s.frame(1));
          const newer = new Uint8Array(16).fill(1);
          await Promise.all([receiver.addKey(s.kid, s.base), receiver.addKey(s.kid, newer)]);
          return [afterRemove, await open(s.frame(2)), await open(s.frame(3, newer))];
        }""",
        SCENARIO,
    )
    assert got == ["unknown_kid", "auth", "ok"]  # the later addKey wins


@pytest.mark.parametrize("suite", SUITES)
def test_keys_are_derived_once_and_not_extractable(page: Page, suite: int) -> None:
    got = page.evaluate(
        """async (suite) => {
          const subtle = crypto.subtle;
          const calls = [];
          for (const name of ["importKey", "deriveBits", "deriveKey"]) {
            const original = subtle[name];
            subtle[name] = (...args) => {
              calls.push([name, args[3]]);
              return original.apply(subtle, args);
            };
          }
          try {
            const base = new Uint8Array(16).fill(3);
            const sender = await sf.SFrameContext.create(suite, base, 5n);
            const receiver = new sf.SFrameReceiver(suite);
            await receiver.addKey(5n, base);
            const setup = calls.length;
            const none = new Uint8Array(0);
            for (let ctr = 0n; ctr < 20n; ctr++) {
              await receiver.decrypt(none, await sender.encrypt(ctr, none, new Uint8Array(100)));
            }
            const imports = calls.filter(([name]) => name === "importKey");
            const extractable = imports.map(([, flag]) => flag);
            return { setup, perFrame: calls.length - setup, extractable };
          } finally {
            for (const name of ["importKey", "deriveBits", "deriveKey"]) delete subtle[name];
          }
        }""",
        suite,
    )
    assert got["setup"] > 0
    assert got["perFrame"] == 0, "keys must be derived and imported once, not per frame"
    assert got["extractable"] and not any(got["extractable"])


def test_sender_never_reuses_a_counter(page: Page) -> None:
    got = page.evaluate(
        """async () => {
          const sender = await sf.SFrameContext.create(4, new Uint8Array(16), 1n);
          const none = new Uint8Array(0);
          const outcomes = [];
          for (const ctr of [3n, 3n, 2n, 4n]) {
            outcomes.push(await reason(sender.encrypt(ctr, none, none)));
          }
          return [...outcomes, String(sender.kid)];
        }"""
    )
    assert [g.split(":")[0] for g in got] == ["ok", "RangeError", "RangeError", "ok", "1"]


def test_caller_mistakes_throw(page: Page) -> None:
    got = page.evaluate(
        """async () => {
          const z = new Uint8Array(16);
          return {
            negative: reasonSync(() => sf.encodeHeader(-1n, 0n)),
            tooBig: reasonSync(() => sf.encodeHeader(0n, 2n ** 64n)),
            number: reasonSync(() => sf.encodeHeader(1, 0n)),
            suite0: await reason(sf.deriveKeySalt(0, z, 1n)),
            suite6: await reason(sf.encrypt(6, z, 1n, 1n, z, z)),
            receiverSuite: reasonSync(() => new sf.SFrameReceiver(7)),
            keyLength: await reason(sf.importAead(4, new Uint8Array(15))),
            ctrTooBig: await reason(sf.encrypt(4, z, 1n, 2n ** 64n, z, z)),
            defaultSuite: sf.DEFAULT_SUITE,
          };
        }"""
    )
    assert got.pop("defaultSuite") == 4
    kinds = {name: outcome.split(":")[0] for name, outcome in got.items()}
    assert kinds == {
        "negative": "RangeError",
        "tooBig": "RangeError",
        "number": "TypeError",
        "suite0": "RangeError",
        "suite6": "RangeError",
        "receiverSuite": "RangeError",
        "keyLength": "RangeError",
        "ctrTooBig": "RangeError",
    }, got


def test_module_runs_in_a_worker(page: Page) -> None:
    got = page.evaluate(
        """() => new Promise((resolve, reject) => {
          const worker = new Worker("/__sframe_worker.js", { type: "module" });
          const timer = setTimeout(() => reject(new Error("the worker did not answer")), 10000);
          const done = (settle, value) => {
            clearTimeout(timer);
            worker.terminate();
            settle(value);
          };
          worker.onmessage = (event) => done(resolve, event.data);
          worker.onerror = (event) => done(reject, new Error(event.message || "worker failed"));
          worker.postMessage("hello from a worker");
        })"""
    )
    assert got == {"hasDocument": False, "text": "hello from a worker"}
