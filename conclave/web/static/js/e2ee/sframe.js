// @ts-check
/**
 * SFrame (RFC 9605) in the browser: end-to-end encryption of single media frames, with
 * WebCrypto only. No DOM and no dependencies: it runs in the frame worker attached with
 * RTCRtpScriptTransform, and in pages (chat).
 *
 * A ciphertext is a header carrying the key id (KID) and frame counter (CTR), then the AEAD
 * encryption of the frame (section 4.3). Per KID, a key and a salt are derived from a base
 * key with HKDF (4.4.2); the nonce is the salt XOR the counter and the AAD is the header
 * followed by the application's metadata (4.4.3). Suites 1-3 are AES-CTR + HMAC-SHA256 with
 * truncated tags (4.5.1); 4 (the default) and 5 are AES-GCM.
 *
 * - `SFrameContext` encrypts for one sender (one KID); `SFrameReceiver` decrypts the frames
 *   of many senders by KID, with a replay window per KID. Both derive a KID's key once and
 *   keep only non-extractable CryptoKeys.
 * - `encodeHeader`, `decodeHeader`, `deriveKeySalt`, `encrypt` and `decrypt` mirror the
 *   Python reference `conclave.e2ee.sframe`; `importAead` gives the bare AEAD.
 * - The frame worker's path, `SFrameContext.encryptFrame` and
 *   `SFrameReceiver.decryptFrame`, works on a whole encoded frame whose first bytes stay in
 *   the clear as the SFrame metadata (framing.js): one output buffer per frame, laid out as
 *   the frame goes on the wire, counters as Numbers, the nonce and AAD assembled in
 *   per-KID scratch buffers (WebCrypto copies its inputs when it is called).
 *
 * KIDs and counters of the public functions are BigInt in [0, 2^64). Inside, a value below
 * 2^53 is a Number and only a larger one a BigInt (`U64`), so frames of Conclave's senders
 * (KIDs below 2^41, counters counting up from 0) never meet a BigInt. Caller mistakes
 * (unknown suite, a KID or CTR that is no such BigInt, a reused counter) throw TypeError or
 * RangeError. A bad received frame throws `SFrameError`, whose `reason` says why; such a
 * frame must be dropped.
 */
import { ReplayWindow, REPLAY_WINDOW } from "./replay.js";

export { REPLAY_WINDOW };

/** @typedef {"malformed" | "unknown_kid" | "sender" | "replay" | "auth"} RejectReason */
/** @typedef {Uint8Array<ArrayBuffer>} Bytes  what WebCrypto takes and returns */
/** @typedef {number | bigint} U64  a KID or CTR: a Number below 2^53, a BigInt from there */
/**
 * RFC 9605 table 1, sizes in bytes; `nka` is 0 for the AES-GCM suites.
 * @typedef {{id: number, hash: "SHA-256" | "SHA-512",
 *            nh: number, nka: number, nk: number, nn: number, nt: number}} CipherSuite
 */
/**
 * An AEAD with its CryptoKeys imported: `seal` gives ciphertext + tag, `open` the plaintext.
 * @typedef {{seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Bytes>,
 *            open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<Bytes>}} Aead
 */

/** A received frame is malformed, has no key, is a replay or is not authentic. */
export class SFrameError extends Error {
  /** @param {RejectReason} reason @param {string} message */
  constructor(reason, message) {
    super(message);
    this.name = "SFrameError";
    /** @readonly */
    this.reason = reason;
  }
}

/** @type {ReadonlyMap<number, Readonly<CipherSuite>>} */
const SUITES = new Map([
  [1, { id: 1, hash: "SHA-256", nh: 32, nka: 16, nk: 48, nn: 12, nt: 10 }], // AES_128_CTR_HMAC_SHA256_80
  [2, { id: 2, hash: "SHA-256", nh: 32, nka: 16, nk: 48, nn: 12, nt: 8 }], // AES_128_CTR_HMAC_SHA256_64
  [3, { id: 3, hash: "SHA-256", nh: 32, nka: 16, nk: 48, nn: 12, nt: 4 }], // AES_128_CTR_HMAC_SHA256_32
  [4, { id: 4, hash: "SHA-256", nh: 32, nka: 0, nk: 16, nn: 12, nt: 16 }], // AES_128_GCM_SHA256_128
  [5, { id: 5, hash: "SHA-512", nh: 64, nka: 0, nk: 32, nn: 12, nt: 16 }], // AES_256_GCM_SHA512_128
]);

/** AES_128_GCM_SHA256_128, what Conclave uses for media and chat. */
export const DEFAULT_SUITE = 4;

const U64_LIMIT = 1n << 64n;
const NUMBER_LIMIT = 2 ** 53; // U64 values below it are Numbers
const EXTENDED = 0b1000; // the X / Y flag within a config-byte nibble
const MAX_HEADER = 17; // config byte, 8 bytes of KID, 8 of CTR
const SCRATCH_METADATA = 47; // longer metadata (never a frame's) gets its own AAD buffer
const AUTH_FAILED = "SFrame authentication failed: wrong key or tampered frame";
const encoder = new TextEncoder();
const subtle = crypto.subtle;

/** @param {number} id */
function suiteOf(id) {
  const suite = SUITES.get(id);
  if (suite) return suite;
  throw new RangeError(`unknown SFrame cipher suite ${id} (supported: ${[...SUITES.keys()].join(", ")})`);
}

/** KID and CTR are unsigned 64-bit integers. @param {string} name @param {bigint} value */
function checkU64(name, value) {
  if (typeof value !== "bigint") throw new TypeError(`SFrame ${name} must be a BigInt, got ${typeof value}`);
  if (value >= 0n && value < U64_LIMIT) return;
  throw new RangeError(`SFrame ${name} must be in [0, 2^64), got ${value}`);
}

/** A checked BigInt as a U64. @param {bigint} value @returns {U64} */
const compact = (value) => (value < NUMBER_LIMIT ? Number(value) : value);

/**
 * A KID as the receiver's methods take it: a BigInt in [0, 2^64) or a Number that is a
 * safe non-negative integer (Conclave's KIDs). @param {bigint | number} kid @returns {U64}
 */
function kidArgument(kid) {
  if (typeof kid === "number") {
    if (Number.isSafeInteger(kid) && kid >= 0) return kid;
    throw new RangeError(`SFrame KID must be a non-negative safe integer or a BigInt, got ${kid}`);
  }
  checkU64("KID", kid);
  return compact(kid);
}

/** WebCrypto's type leaves out shared memory (rejected at run time). @param {Uint8Array} data */
const buffer = (data) => /** @type {Bytes} */ (data);

/** @param {...Uint8Array} parts @returns {Bytes} */
function concat(...parts) {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Copy `length` bytes; a loop, since the pieces copied per frame are a few bytes long. */
function copyBytes(
  /** @type {Uint8Array} */ from,
  /** @type {number} */ fromOffset,
  /** @type {Uint8Array} */ to,
  /** @type {number} */ toOffset,
  /** @type {number} */ length,
) {
  for (let i = 0; i < length; i++) to[toOffset + i] = from[fromOffset + i];
}

/** Compare with no early exit, so timing does not tell how much of a tag matched. */
function equalBytes(/** @type {Uint8Array} */ a, /** @type {Uint8Array} */ b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

// --- Header (section 4.3) ---------------------------------------------------------------

/** How many bytes follow the config byte for a KID or CTR (0: it fits in the nibble). @param {U64} value */
function fieldBytes(value) {
  if (value < EXTENDED) return 0;
  if (value < 0x100) return 1;
  if (value < 0x10000) return 2;
  if (value < 0x1000000) return 3;
  if (value < 0x100000000) return 4;
  if (value < 0x10000000000) return 5;
  if (value < 0x1000000000000) return 6;
  if (value < 0x100000000000000) return 7;
  return 8;
}

/** The config-byte nibble of a KID or CTR. @param {U64} value @param {number} bytes */
const nibbleOf = (value, bytes) => (bytes ? EXTENDED | (bytes - 1) : Number(value));

/** Write `value` as `bytes` big-endian bytes at `offset`. @param {Uint8Array} out @param {number} offset @param {U64} value @param {number} bytes */
function writeField(out, offset, value, bytes) {
  if (typeof value === "bigint") {
    for (let i = offset + bytes - 1; i >= offset; i--, value >>= 8n) out[i] = Number(value & 0xffn);
    return;
  }
  for (let i = offset + bytes - 1; i >= offset; i--, value = Math.floor(value / 256)) out[i] = value % 256;
}

/**
 * Write the header of (kid, ctr) at `offset`; `kidBytes` and `ctrBytes` from fieldBytes.
 * @param {Uint8Array} out @param {number} offset
 * @param {U64} kid @param {number} kidBytes @param {U64} ctr @param {number} ctrBytes
 */
function writeHeader(out, offset, kid, kidBytes, ctr, ctrBytes) {
  out[offset] = (nibbleOf(kid, kidBytes) << 4) | nibbleOf(ctr, ctrBytes);
  writeField(out, offset + 1, kid, kidBytes);
  writeField(out, offset + 1 + kidBytes, ctr, ctrBytes);
}

/**
 * Encode KID and CTR as an SFrame header: config byte, then KID, then CTR.
 * @param {bigint} kid @param {bigint} ctr @returns {Bytes}
 */
export function encodeHeader(kid, ctr) {
  checkU64("KID", kid);
  checkU64("CTR", ctr);
  const [k, c] = [compact(kid), compact(ctr)];
  const [kidBytes, ctrBytes] = [fieldBytes(k), fieldBytes(c)];
  const out = new Uint8Array(1 + kidBytes + ctrBytes);
  writeHeader(out, 0, k, kidBytes, c, ctrBytes);
  return out;
}

/** Bytes that follow the config byte for a nibble. @param {number} nibble */
const nibbleBytes = (nibble) => (nibble & EXTENDED ? (nibble & 0b111) + 1 : 0);

/**
 * Read the KID or CTR that `nibble` describes, starting at `offset`.
 * @param {number} nibble @param {Uint8Array} data @param {number} offset @param {string} name
 * @returns {U64}
 */
function readField(nibble, data, offset, name) {
  if (!(nibble & EXTENDED)) return nibble;
  const length = (nibble & 0b111) + 1;
  const end = offset + length;
  if (data.length < end) {
    throw new SFrameError("malformed", `SFrame header truncated: ${name} needs ${length} bytes`);
  }
  const first = data[offset];
  if (first === 0 || (length === 1 && first < EXTENDED)) {
    throw new SFrameError("malformed", `SFrame header malformed: ${name} is not minimally encoded`);
  }
  if (length < 7 || (length === 7 && first < 0x20)) {
    let value = 0; // below 2^53: exact as a Number
    for (let i = offset; i < end; i++) value = value * 256 + data[i];
    return value;
  }
  let value = 0n;
  for (let i = offset; i < end; i++) value = (value << 8n) | BigInt(data[i]);
  return value;
}

/**
 * What parseHeader read. One object reused for every frame: read it right after the call.
 * @type {{kid: U64, ctr: U64, length: number}}
 */
const parsed = { kid: 0, ctr: 0, length: 0 };

/**
 * Parse the header at `data[offset]` into `parsed`. Only the shortest encoding is accepted,
 * so `encodeHeader(kid, ctr)` always equals the bytes parsed.
 * @param {Uint8Array} data @param {number} offset
 */
function parseHeader(data, offset) {
  if (data.length <= offset) throw new SFrameError("malformed", "SFrame header truncated: no config byte");
  const config = data[offset];
  const kid = readField(config >> 4, data, offset + 1, "KID");
  const ctrAt = offset + 1 + nibbleBytes(config >> 4);
  parsed.ctr = readField(config & 0x0f, data, ctrAt, "CTR");
  parsed.kid = kid;
  parsed.length = ctrAt + nibbleBytes(config & 0x0f) - offset;
  return parsed;
}

/**
 * Parse the header at the start of `data`. Only the shortest encoding is accepted, so
 * `encodeHeader(kid, ctr)` always equals `data.subarray(0, length)`.
 * @param {Uint8Array} data @returns {{kid: bigint, ctr: bigint, length: number}}
 */
export function decodeHeader(data) {
  const { kid, ctr, length } = parseHeader(data, 0);
  return { kid: BigInt(kid), ctr: BigInt(ctr), length };
}

/**
 * The KID of the SFrame header at `data[offset]` (a Number for every KID below 2^53), or
 * -1 when the header is malformed (decrypting the frame then says why).
 * @param {Uint8Array} data @param {number} [offset]
 * @returns {U64}
 */
export function kidAt(data, offset = 0) {
  try {
    return parseHeader(data, offset).kid;
  } catch {
    return -1;
  }
}

// --- Key derivation (section 4.4.2) -----------------------------------------------------

/**
 * The HKDF info: "SFrame 1.0 Secret <kind> " + KID (8 bytes) + suite id (2 bytes).
 * @param {string} kind @param {bigint} kid @param {CipherSuite} suite
 */
function label(kind, kid, suite) {
  const tail = new DataView(new ArrayBuffer(10));
  tail.setBigUint64(0, kid);
  tail.setUint16(8, suite.id);
  return concat(encoder.encode(`SFrame 1.0 Secret ${kind} `), new Uint8Array(tail.buffer));
}

/**
 * Derive sframe_key and sframe_salt for `kid`: HKDF with an empty salt and the suite's hash.
 * @param {number} suiteId @param {Uint8Array} baseKey @param {bigint} kid
 * @returns {Promise<{key: Bytes, salt: Bytes}>}
 */
export async function deriveKeySalt(suiteId, baseKey, kid) {
  const suite = suiteOf(suiteId);
  checkU64("KID", kid);
  const ikm = await subtle.importKey("raw", buffer(baseKey), "HKDF", false, ["deriveBits"]);
  const expand = async (/** @type {string} */ kind, /** @type {number} */ bytes) => {
    const params = { name: "HKDF", hash: suite.hash, salt: new Uint8Array(0), info: label(kind, kid, suite) };
    return new Uint8Array(await subtle.deriveBits(params, ikm, bytes * 8));
  };
  const [key, salt] = await Promise.all([expand("key", suite.nk), expand("salt", suite.nn)]);
  return { key, salt };
}

// --- AEADs (sections 4.5, 4.5.1) --------------------------------------------------------

/** Split off the tag; a frame shorter than one is malformed. @param {Uint8Array} sealed @param {number} nt */
function splitTag(sealed, nt) {
  const end = sealed.length - nt;
  if (end >= 0) return [sealed.subarray(0, end), sealed.subarray(end)];
  throw new SFrameError("malformed", `SFrame ciphertext truncated: shorter than the ${nt}-byte tag`);
}

/** @param {CipherSuite} suite @param {Uint8Array} key */
function importGcmKey(suite, key) {
  return subtle.importKey("raw", buffer(key), "AES-GCM", false, ["encrypt", "decrypt"]);
}

/**
 * AES-GCM with a 16-byte tag (suites 4 and 5).
 * @param {CipherSuite} suite @param {Uint8Array} key @returns {Promise<Aead>}
 */
async function importGcm(suite, key) {
  const aesKey = await importGcmKey(suite, key);
  const params = (/** @type {Uint8Array} */ nonce, /** @type {Uint8Array} */ aad) =>
    ({ name: "AES-GCM", iv: buffer(nonce), additionalData: buffer(aad), tagLength: suite.nt * 8 });
  return {
    async seal(nonce, aad, plaintext) {
      return new Uint8Array(await subtle.encrypt(params(nonce, aad), aesKey, buffer(plaintext)));
    },
    async open(nonce, aad, sealed) {
      splitTag(sealed, suite.nt);
      try {
        return new Uint8Array(await subtle.decrypt(params(nonce, aad), aesKey, buffer(sealed)));
      } catch {
        throw new SFrameError("auth", AUTH_FAILED);
      }
    },
  };
}

/**
 * Encrypt-then-MAC (suites 1-3): AES-CTR with the nonce and a 32-bit block counter from
 * zero, then HMAC over the 8-byte lengths of AAD, ciphertext and tag, the nonce, the AAD
 * and the ciphertext, truncated to Nt bytes. The key is enc_key (Nka bytes), then auth_key.
 * @param {CipherSuite} suite @param {Uint8Array} key @returns {Promise<Aead>}
 */
async function importCtrHmac(suite, key) {
  const [encRaw, authRaw] = [buffer(key.subarray(0, suite.nka)), buffer(key.subarray(suite.nka))];
  const encKey = await subtle.importKey("raw", encRaw, "AES-CTR", false, ["encrypt", "decrypt"]);
  const authKey = await subtle.importKey("raw", authRaw, { name: "HMAC", hash: suite.hash }, false, ["sign"]);
  const ctr = (/** @type {Uint8Array} */ nonce) =>
    ({ name: "AES-CTR", counter: concat(nonce, new Uint8Array(4)), length: 32 });
  /** @param {Uint8Array} nonce @param {Uint8Array} aad @param {Uint8Array} ciphertext */
  const tag = async (nonce, aad, ciphertext) => {
    const lengths = new DataView(new ArrayBuffer(24));
    [aad.length, ciphertext.length, suite.nt].forEach((n, i) => lengths.setBigUint64(8 * i, BigInt(n)));
    const input = concat(new Uint8Array(lengths.buffer), nonce, aad, ciphertext);
    return new Uint8Array(await subtle.sign("HMAC", authKey, input), 0, suite.nt);
  };
  return {
    async seal(nonce, aad, plaintext) {
      const ciphertext = new Uint8Array(await subtle.encrypt(ctr(nonce), encKey, buffer(plaintext)));
      return concat(ciphertext, await tag(nonce, aad, ciphertext));
    },
    async open(nonce, aad, sealed) {
      const [ciphertext, received] = splitTag(sealed, suite.nt);
      const expected = await tag(nonce, aad, ciphertext);
      if (!equalBytes(received, expected)) throw new SFrameError("auth", AUTH_FAILED);
      return new Uint8Array(await subtle.decrypt(ctr(nonce), encKey, buffer(ciphertext)));
    },
  };
}

/**
 * Import an sframe_key (Nk bytes) as the suite's AEAD, with non-extractable CryptoKeys.
 * @param {number} suiteId @param {Uint8Array} key @returns {Promise<Aead>}
 */
export async function importAead(suiteId, key) {
  const suite = suiteOf(suiteId);
  if (key.length !== suite.nk) {
    throw new RangeError(`SFrame suite ${suiteId} needs a ${suite.nk}-byte key, got ${key.length}`);
  }
  return suite.nka ? importCtrHmac(suite, key) : importGcm(suite, key);
}

// --- Frames (sections 4.4.3, 4.4.4) -----------------------------------------------------

/**
 * The key and salt of one KID, derived and imported once, with the scratch buffers its
 * frames' nonces and AADs are assembled in. A scratch buffer is filled and handed to
 * WebCrypto in one synchronous step (WebCrypto copies it then), so frames of the same KID
 * may be sealed and opened concurrently. AES-CTR + HMAC (suites 1-3) reads its inputs after
 * an await and gets copies.
 */
class KidKey {
  /** @param {CipherSuite} suite @param {Uint8Array} baseKey @param {U64} kid */
  static async derive(suite, baseKey, kid) {
    const { key, salt } = await deriveKeySalt(suite.id, baseKey, BigInt(kid));
    /** @type {CryptoKey | null} */
    const gcm = suite.nka ? null : await importGcmKey(suite, key);
    /** @type {Aead | null} */
    const aead = suite.nka ? await importAead(suite.id, key) : null;
    key.fill(0); // from here on only the non-extractable CryptoKeys hold it
    return new KidKey(suite, kid, salt, gcm, aead);
  }

  /**
   * @param {CipherSuite} suite @param {U64} kid @param {Bytes} salt
   * @param {CryptoKey | null} gcm  the AES-GCM key (suites 4, 5)
   * @param {Aead | null} aead  AES-CTR + HMAC (suites 1-3)
   */
  constructor(suite, kid, salt, gcm, aead) {
    this.suite = suite;
    this.kid = kid;
    this.kidBytes = fieldBytes(kid);
    this.gcm = gcm;
    this.aead = aead;
    const tail = new DataView(salt.buffer, salt.byteOffset + salt.length - 8, 8);
    this.saltHigh = tail.getUint32(0);
    this.saltLow = tail.getUint32(4);
    /** The nonce: the salt, its last 8 bytes XOR the counter (set per frame). */
    this.nonce = salt.slice();
    this.nonceTail = new DataView(this.nonce.buffer, this.nonce.length - 8, 8);
    this.aad = new Uint8Array(MAX_HEADER + SCRATCH_METADATA);
    /** Views of the AAD scratch by length, made once each. @type {Bytes[]} */
    this.aadViews = [];
    /** One AES-GCM parameter object; additionalData is set per frame. */
    this.params = { name: "AES-GCM", iv: this.nonce, additionalData: this.aad, tagLength: suite.nt * 8 };
  }

  /** The nonce of `ctr` in the scratch buffer (section 4.4.3). @param {U64} ctr */
  nonceFor(ctr) {
    let high, low;
    if (typeof ctr === "number") {
      high = Math.floor(ctr / 0x100000000);
      low = ctr >>> 0;
    } else {
      high = Number(ctr >> 32n);
      low = Number(ctr & 0xffffffffn);
    }
    this.nonceTail.setUint32(0, this.saltHigh ^ high);
    this.nonceTail.setUint32(4, this.saltLow ^ low);
    return this.nonce;
  }

  /** A buffer of `length` bytes for the AAD: the scratch, or a new one when longer. @param {number} length */
  aadOf(length) {
    if (length > this.aad.length) return new Uint8Array(length);
    return (this.aadViews[length] ||= this.aad.subarray(0, length));
  }

  /**
   * Start the AEAD: the promise of ciphertext + tag, or of the plaintext. Synchronous up to
   * the WebCrypto call, so the scratch buffers are free again when it returns.
   * @param {boolean} sealing @param {Uint8Array} nonce @param {Bytes} aad @param {Uint8Array} input
   * @returns {Promise<ArrayBuffer | Uint8Array>}
   */
  run(sealing, nonce, aad, input) {
    if (this.gcm) {
      this.params.additionalData = aad;
      const bytes = buffer(input);
      return sealing ? subtle.encrypt(this.params, this.gcm, bytes) : subtle.decrypt(this.params, this.gcm, bytes);
    }
    const aead = /** @type {Aead} */ (this.aead);
    const [n, a] = [nonce.slice(), aad.slice()];
    return sealing ? aead.seal(n, a, input) : aead.open(n, a, input);
  }

  /**
   * Seal one frame into a single new buffer: `prefix` (bytes to keep in front of the SFrame
   * ciphertext, e.g. the clear metadata of a frame; may be empty), header, ciphertext, tag.
   * @param {U64} ctr @param {Uint8Array} metadata @param {Uint8Array} plaintext
   * @param {number} prefix  how many leading bytes of `metadata` go in front
   * @returns {Promise<Bytes>}
   */
  async seal(ctr, metadata, plaintext, prefix) {
    const ctrBytes = fieldBytes(ctr);
    const headerLength = 1 + this.kidBytes + ctrBytes;
    const aad = this.aadOf(headerLength + metadata.length);
    writeHeader(aad, 0, this.kid, this.kidBytes, ctr, ctrBytes);
    if (metadata.length > 16) aad.set(metadata, headerLength);
    else copyBytes(metadata, 0, aad, headerLength, metadata.length);
    const sealed = await this.run(true, this.nonceFor(ctr), aad, plaintext);
    const out = new Uint8Array(prefix + headerLength + sealed.byteLength);
    copyBytes(metadata, 0, out, 0, prefix);
    writeHeader(out, prefix, this.kid, this.kidBytes, ctr, ctrBytes); // the scratch may be reused by now
    out.set(sealed instanceof Uint8Array ? sealed : new Uint8Array(sealed), prefix + headerLength);
    return out;
  }

  /**
   * Start opening the SFrame ciphertext at `frame[offset]` whose header is `headerLength`
   * bytes, with the first `metadataLength` bytes of `metadata`. Throws (synchronously) a
   * malformed frame shorter than the tag; the promise rejects when the frame is not authentic.
   * @param {U64} ctr @param {Uint8Array} frame @param {number} offset @param {number} headerLength
   * @param {Uint8Array} metadata @param {number} metadataLength
   */
  open(ctr, frame, offset, headerLength, metadata, metadataLength) {
    const body = offset + headerLength;
    if (frame.length - body < this.suite.nt) {
      throw new SFrameError("malformed", `SFrame ciphertext truncated: shorter than the ${this.suite.nt}-byte tag`);
    }
    const aad = this.aadOf(headerLength + metadataLength);
    copyBytes(frame, offset, aad, 0, headerLength);
    if (metadataLength > 16) aad.set(metadata.subarray(0, metadataLength), headerLength);
    else copyBytes(metadata, 0, aad, headerLength, metadataLength);
    return this.run(false, this.nonceFor(ctr), aad, frame.subarray(body));
  }
}

/** The sending side of one KID. Counters must increase, so that no nonce ever repeats. */
export class SFrameContext {
  #key;
  /** @type {U64} */
  #lastCtr = -1;

  /** @param {number} suiteId @param {Uint8Array} baseKey @param {bigint} kid */
  static async create(suiteId, baseKey, kid) {
    checkU64("KID", kid);
    return new SFrameContext(await KidKey.derive(suiteOf(suiteId), baseKey, compact(kid)));
  }

  /** Use `SFrameContext.create`. @param {KidKey} key */
  constructor(key) {
    this.#key = key;
  }

  get kid() {
    return BigInt(this.#key.kid);
  }

  /**
   * Encrypt one frame: header, ciphertext, tag. A counter not above the last one throws.
   * @param {bigint} ctr @param {Uint8Array} metadata @param {Uint8Array} plaintext
   */
  async encrypt(ctr, metadata, plaintext) {
    checkU64("CTR", ctr);
    const value = compact(ctr);
    if (value <= this.#lastCtr) throw new RangeError(`SFrame counter ${ctr} not above ${this.#lastCtr}`);
    this.#lastCtr = value;
    return this.#key.seal(value, metadata, plaintext, 0);
  }

  /**
   * Encrypt an encoded frame with the next counter (one above the last used). Its first
   * `clear` bytes stay in front, in the clear, and are the SFrame metadata; the result is
   * those bytes, the header, the ciphertext and the tag, in one new buffer. The counter is
   * taken before this returns, so frames may be encrypted concurrently.
   * @param {Uint8Array} frame @param {number} clear
   * @returns {Promise<Bytes>}
   */
  encryptFrame(frame, clear) {
    const last = this.#lastCtr;
    const ctr = typeof last === "number" && last + 1 < NUMBER_LIMIT ? last + 1 : compact(BigInt(last) + 1n);
    if (ctr >= U64_LIMIT) throw new RangeError("SFrame counter exhausted for this KID");
    this.#lastCtr = ctr;
    return this.#key.seal(ctr, frame.subarray(0, clear), frame.subarray(clear), clear);
  }
}

/** The receiving side: the keys of many senders by KID, each with its own replay window. */
export class SFrameReceiver {
  #suite;
  /** @type {Map<U64, {key: KidKey, window: ReplayWindow}>} */
  #senders = new Map();
  /** The latest addKey call per KID while it derives; removeKey cancels it. @type {Map<U64, object>} */
  #adding = new Map();

  /** @param {number} [suiteId] */
  constructor(suiteId = DEFAULT_SUITE) {
    this.#suite = suiteOf(suiteId);
  }

  /**
   * Derive and import the key of `kid`, once for all its frames. Replacing a KID's key
   * starts a fresh replay window, so never add the same base key for a KID twice.
   * @param {bigint | number} kid @param {Uint8Array} baseKey
   */
  async addKey(kid, baseKey) {
    const id = kidArgument(kid);
    const call = {};
    this.#adding.set(id, call);
    const key = await KidKey.derive(this.#suite, baseKey, id);
    if (this.#adding.get(id) !== call) return; // removed, or added again, meanwhile
    this.#adding.delete(id);
    this.#senders.set(id, { key, window: new ReplayWindow() });
  }

  /** @param {bigint | number} kid */
  removeKey(kid) {
    const id = kidArgument(kid);
    this.#adding.delete(id);
    this.#senders.delete(id);
  }

  /** Is there a key for `kid` (a U64, as kidAt gives it)? @param {U64} kid */
  has(kid) {
    return this.#senders.has(kid);
  }

  /**
   * Authenticate and decrypt one frame; only an authentic frame moves the replay window.
   * @param {Uint8Array} metadata @param {Uint8Array} frame @returns {Promise<Bytes>}
   */
  async decrypt(metadata, frame) {
    return new Uint8Array(await this.#open(frame, 0, metadata, metadata.length, false));
  }

  /**
   * Authenticate and decrypt an encoded frame whose first `clear` bytes are the SFrame
   * metadata in the clear (what `SFrameContext.encryptFrame` made): those bytes followed by
   * the plaintext, in one buffer (the plaintext's own when `clear` is 0).
   * @param {Uint8Array} frame @param {number} clear @returns {Promise<ArrayBuffer>}
   */
  decryptFrame(frame, clear) {
    return this.#open(frame, clear, frame, clear, true);
  }

  /**
   * Open the SFrame ciphertext at `frame[offset]`: the plaintext, or with `keepHead` the
   * first `offset` bytes of `frame` followed by the plaintext, in one buffer.
   * @param {Uint8Array} frame @param {number} offset  where the SFrame header starts
   * @param {Uint8Array} metadata @param {number} metadataLength @param {boolean} keepHead
   * @returns {Promise<ArrayBuffer>}
   */
  async #open(frame, offset, metadata, metadataLength, keepHead) {
    const { kid, ctr, length } = parseHeader(frame, offset);
    const sender = this.#senders.get(kid);
    if (!sender) throw new SFrameError("unknown_kid", `no SFrame key for KID ${kid}`);
    if (!sender.window.allows(ctr)) throw replayed(kid, ctr);
    /** @type {ArrayBuffer | Uint8Array} */
    let plain;
    try {
      plain = await sender.key.open(ctr, frame, offset, length, metadata, metadataLength);
    } catch (error) {
      throw error instanceof SFrameError ? error : new SFrameError("auth", AUTH_FAILED);
    }
    if (!sender.window.allows(ctr)) throw replayed(kid, ctr); // a copy got through while this one decrypted
    sender.window.accept(ctr);
    if (!keepHead || offset === 0) return plain instanceof Uint8Array ? plain.slice().buffer : plain; // a copy for suites 1-3 only
    const out = new Uint8Array(offset + plain.byteLength);
    copyBytes(frame, 0, out, 0, offset);
    out.set(plain instanceof Uint8Array ? plain : new Uint8Array(plain), offset);
    return out.buffer;
  }
}

/** @param {U64} kid @param {U64} ctr */
function replayed(kid, ctr) {
  return new SFrameError("replay", `SFrame counter ${ctr} of KID ${kid} is old or seen`);
}

// --- One-shot functions, as in the Python module ----------------------------------------

/**
 * Encrypt one frame, deriving the key for it (streams use SFrameContext).
 * @param {number} suiteId @param {Uint8Array} baseKey @param {bigint} kid @param {bigint} ctr
 * @param {Uint8Array} metadata @param {Uint8Array} plaintext
 */
export async function encrypt(suiteId, baseKey, kid, ctr, metadata, plaintext) {
  checkU64("CTR", ctr);
  checkU64("KID", kid);
  const key = await KidKey.derive(suiteOf(suiteId), baseKey, compact(kid));
  return key.seal(compact(ctr), metadata, plaintext, 0);
}

/**
 * Authenticate and decrypt one frame, with no replay check (streams use SFrameReceiver).
 * @param {number} suiteId @param {Uint8Array} baseKey @param {Uint8Array} metadata @param {Uint8Array} data
 */
export async function decrypt(suiteId, baseKey, metadata, data) {
  const suite = suiteOf(suiteId);
  const { kid, ctr, length } = parseHeader(data, 0);
  const key = await KidKey.derive(suite, baseKey, kid);
  try {
    const plain = await key.open(ctr, data, 0, length, metadata, metadata.length);
    return plain instanceof Uint8Array ? plain : new Uint8Array(plain);
  } catch (error) {
    throw error instanceof SFrameError ? error : new SFrameError("auth", AUTH_FAILED);
  }
}
