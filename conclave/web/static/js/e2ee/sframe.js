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
 *
 * KIDs and counters are BigInt in [0, 2^64). Caller mistakes (unknown suite, a KID or CTR
 * that is no such BigInt, a reused counter) throw TypeError or RangeError. A bad received
 * frame throws `SFrameError`, whose `reason` says why; such a frame must be dropped.
 */
import { ReplayWindow, REPLAY_WINDOW } from "./replay.js";

export { REPLAY_WINDOW };

/** @typedef {"malformed" | "unknown_kid" | "replay" | "auth"} RejectReason */
/** @typedef {Uint8Array<ArrayBuffer>} Bytes  what WebCrypto takes and returns */
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
const EXTENDED = 0b1000; // the X / Y flag within a config-byte nibble
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

/** Compare with no early exit, so timing does not tell how much of a tag matched. */
function equalBytes(/** @type {Uint8Array} */ a, /** @type {Uint8Array} */ b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

// --- Header (section 4.3) ---------------------------------------------------------------

/**
 * The config-byte nibble and the trailing big-endian bytes (shortest form) of a KID or CTR.
 * @param {bigint} value @returns {[number, number[]]}
 */
function encodeField(value) {
  if (value < BigInt(EXTENDED)) return [Number(value), []];
  const bytes = [];
  for (let rest = value; rest > 0n; rest >>= 8n) bytes.unshift(Number(rest & 0xffn));
  return [EXTENDED | (bytes.length - 1), bytes];
}

/**
 * Encode KID and CTR as an SFrame header: config byte, then KID, then CTR.
 * @param {bigint} kid @param {bigint} ctr @returns {Bytes}
 */
export function encodeHeader(kid, ctr) {
  checkU64("KID", kid);
  checkU64("CTR", ctr);
  const [kidNibble, kidBytes] = encodeField(kid);
  const [ctrNibble, ctrBytes] = encodeField(ctr);
  return Uint8Array.from([(kidNibble << 4) | ctrNibble, ...kidBytes, ...ctrBytes]);
}

/**
 * Read the KID or CTR that `nibble` describes; return it and the offset after it.
 * @param {number} nibble @param {Uint8Array} data @param {number} offset @param {string} name
 * @returns {[bigint, number]}
 */
function decodeField(nibble, data, offset, name) {
  if (!(nibble & EXTENDED)) return [BigInt(nibble), offset];
  const length = (nibble & 0b111) + 1;
  const end = offset + length;
  if (data.length < end) {
    throw new SFrameError("malformed", `SFrame header truncated: ${name} needs ${length} bytes`);
  }
  let value = 0n;
  for (let i = offset; i < end; i++) value = (value << 8n) | BigInt(data[i]);
  if (value < BigInt(EXTENDED) || data[offset] === 0) {
    throw new SFrameError("malformed", `SFrame header malformed: ${name} is not minimally encoded`);
  }
  return [value, end];
}

/**
 * Parse the header at the start of `data`. Only the shortest encoding is accepted, so
 * `encodeHeader(kid, ctr)` always equals `data.subarray(0, length)`.
 * @param {Uint8Array} data @returns {{kid: bigint, ctr: bigint, length: number}}
 */
export function decodeHeader(data) {
  if (data.length === 0) throw new SFrameError("malformed", "SFrame header truncated: no config byte");
  const [kid, afterKid] = decodeField(data[0] >> 4, data, 1, "KID");
  const [ctr, length] = decodeField(data[0] & 0x0f, data, afterKid, "CTR");
  return { kid, ctr, length };
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

/** The nonce: the salt XOR the counter as a big-endian integer. @param {Bytes} salt @param {bigint} ctr */
function nonceFor(salt, ctr) {
  const nonce = salt.slice();
  const view = new DataView(nonce.buffer);
  const offset = nonce.length - 8;
  view.setBigUint64(offset, view.getBigUint64(offset) ^ ctr);
  return nonce;
}

// --- AEADs (sections 4.5, 4.5.1) --------------------------------------------------------

/** Split off the tag; a frame shorter than one is malformed. @param {Uint8Array} sealed @param {number} nt */
function splitTag(sealed, nt) {
  const end = sealed.length - nt;
  if (end >= 0) return [sealed.subarray(0, end), sealed.subarray(end)];
  throw new SFrameError("malformed", `SFrame ciphertext truncated: shorter than the ${nt}-byte tag`);
}

/**
 * AES-GCM with a 16-byte tag (suites 4 and 5).
 * @param {CipherSuite} suite @param {Uint8Array} key @returns {Promise<Aead>}
 */
async function importGcm(suite, key) {
  const aesKey = await subtle.importKey("raw", buffer(key), "AES-GCM", false, ["encrypt", "decrypt"]);
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

/** The key and salt of one KID, derived and imported once. */
class KidKey {
  /** @param {CipherSuite} suite @param {Uint8Array} baseKey @param {bigint} kid */
  static async derive(suite, baseKey, kid) {
    const { key, salt } = await deriveKeySalt(suite.id, baseKey, kid);
    const aead = await importAead(suite.id, key);
    key.fill(0); // from here on only the non-extractable CryptoKeys hold it
    return new KidKey(kid, salt, aead);
  }

  /** @param {bigint} kid @param {Bytes} salt @param {Aead} aead */
  constructor(kid, salt, aead) {
    this.kid = kid;
    this.salt = salt;
    this.aead = aead;
  }

  /** @param {bigint} ctr @param {Uint8Array} metadata @param {Uint8Array} plaintext */
  async seal(ctr, metadata, plaintext) {
    const header = encodeHeader(this.kid, ctr);
    const sealed = await this.aead.seal(nonceFor(this.salt, ctr), concat(header, metadata), plaintext);
    return concat(header, sealed);
  }

  /** @param {bigint} ctr @param {Uint8Array} header @param {Uint8Array} metadata @param {Uint8Array} data */
  open(ctr, header, metadata, data) {
    return this.aead.open(nonceFor(this.salt, ctr), concat(header, metadata), data);
  }
}

/** The sending side of one KID. Counters must increase, so that no nonce ever repeats. */
export class SFrameContext {
  #key;
  #lastCtr = -1n;

  /** @param {number} suiteId @param {Uint8Array} baseKey @param {bigint} kid */
  static async create(suiteId, baseKey, kid) {
    return new SFrameContext(await KidKey.derive(suiteOf(suiteId), baseKey, kid));
  }

  /** Use `SFrameContext.create`. @param {KidKey} key */
  constructor(key) {
    this.#key = key;
  }

  get kid() {
    return this.#key.kid;
  }

  /**
   * Encrypt one frame: header, ciphertext, tag. A counter not above the last one throws.
   * @param {bigint} ctr @param {Uint8Array} metadata @param {Uint8Array} plaintext
   */
  async encrypt(ctr, metadata, plaintext) {
    checkU64("CTR", ctr);
    if (ctr <= this.#lastCtr) throw new RangeError(`SFrame counter ${ctr} not above ${this.#lastCtr}`);
    this.#lastCtr = ctr;
    return this.#key.seal(ctr, metadata, plaintext);
  }
}

/** The receiving side: the keys of many senders by KID, each with its own replay window. */
export class SFrameReceiver {
  #suite;
  /** @type {Map<bigint, {key: KidKey, window: ReplayWindow}>} */
  #senders = new Map();
  /** The latest addKey call per KID while it derives; removeKey cancels it. @type {Map<bigint, object>} */
  #adding = new Map();

  /** @param {number} [suiteId] */
  constructor(suiteId = DEFAULT_SUITE) {
    this.#suite = suiteOf(suiteId);
  }

  /**
   * Derive and import the key of `kid`, once for all its frames. Replacing a KID's key
   * starts a fresh replay window, so never add the same base key for a KID twice.
   * @param {bigint} kid @param {Uint8Array} baseKey
   */
  async addKey(kid, baseKey) {
    checkU64("KID", kid);
    const call = {};
    this.#adding.set(kid, call);
    const key = await KidKey.derive(this.#suite, baseKey, kid);
    if (this.#adding.get(kid) !== call) return; // removed, or added again, meanwhile
    this.#adding.delete(kid);
    this.#senders.set(kid, { key, window: new ReplayWindow() });
  }

  /** @param {bigint} kid */
  removeKey(kid) {
    this.#adding.delete(kid);
    this.#senders.delete(kid);
  }

  /**
   * Authenticate and decrypt one frame; only an authentic frame moves the replay window.
   * @param {Uint8Array} metadata @param {Uint8Array} frame @returns {Promise<Bytes>}
   */
  async decrypt(metadata, frame) {
    const { kid, ctr, length } = decodeHeader(frame);
    const sender = this.#senders.get(kid);
    if (!sender) throw new SFrameError("unknown_kid", `no SFrame key for KID ${kid}`);
    const replay = () => new SFrameError("replay", `SFrame counter ${ctr} of KID ${kid} is old or seen`);
    if (!sender.window.allows(ctr)) throw replay();
    const plaintext = await sender.key.open(ctr, frame.subarray(0, length), metadata, frame.subarray(length));
    if (!sender.window.allows(ctr)) throw replay(); // a copy got through while this one decrypted
    sender.window.accept(ctr);
    return plaintext;
  }
}

// --- One-shot functions, as in the Python module ----------------------------------------

/**
 * Encrypt one frame, deriving the key for it (streams use SFrameContext).
 * @param {number} suiteId @param {Uint8Array} baseKey @param {bigint} kid @param {bigint} ctr
 * @param {Uint8Array} metadata @param {Uint8Array} plaintext
 */
export async function encrypt(suiteId, baseKey, kid, ctr, metadata, plaintext) {
  checkU64("CTR", ctr);
  const key = await KidKey.derive(suiteOf(suiteId), baseKey, kid);
  return key.seal(ctr, metadata, plaintext);
}

/**
 * Authenticate and decrypt one frame, with no replay check (streams use SFrameReceiver).
 * @param {number} suiteId @param {Uint8Array} baseKey @param {Uint8Array} metadata @param {Uint8Array} data
 */
export async function decrypt(suiteId, baseKey, metadata, data) {
  const suite = suiteOf(suiteId);
  const { kid, ctr, length } = decodeHeader(data);
  const key = await KidKey.derive(suite, baseKey, kid);
  return key.open(ctr, data.subarray(0, length), metadata, data.subarray(length));
}
