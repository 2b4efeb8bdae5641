// @ts-check
/**
 * Key agreement between participants (docs/e2ee.md):
 * - a long-term identity key pair per browser profile and account (ECDSA P-256,
 *   non-extractable, IndexedDB);
 * - per meeting, an ephemeral ECDH P-256 key pair whose public key is signed by the
 *   identity key, bound to the meeting, the account's uid and the connection's pid;
 * - per pair of participants, a wrapping key: HKDF over the ECDH secret, AES-GCM;
 * - each sender's media key is sent to each other participant wrapped under it.
 * The server relays these messages and can read none of the keys.
 */
import { identityFor } from "./store.js";

const encoder = new TextEncoder();

/** @param {ArrayBuffer | Uint8Array} bytes */
export function toBase64(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)));
}

/** @param {string} text */
export function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/**
 * @typedef {{type: "hello", identity: string, ephemeral: string, signature: string}} Hello
 * @typedef {{type: "key", kid: number, iv: string, data: string}} WrappedKey
 */

export class KeyManager {
  /**
   * @param {string} account
   * @param {string} meetingId
   */
  static async create(account, meetingId) {
    const identity = await identityFor(account);
    const ephemeral = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, [
      "deriveBits",
    ]);
    const spki = toBase64(await crypto.subtle.exportKey("spki", identity.publicKey));
    const raw = toBase64(await crypto.subtle.exportKey("raw", ephemeral.publicKey));
    return new KeyManager(meetingId, identity, ephemeral, spki, raw);
  }

  /**
   * @param {string} meetingId
   * @param {CryptoKeyPair} identity
   * @param {CryptoKeyPair} ephemeral
   * @param {string} identitySpki
   * @param {string} ephemeralRaw
   */
  constructor(meetingId, identity, ephemeral, identitySpki, ephemeralRaw) {
    this.meetingId = meetingId;
    this.identity = identity;
    this.ephemeral = ephemeral;
    this.identitySpki = identitySpki;
    this.ephemeralRaw = ephemeralRaw;
    /** @type {Map<string, CryptoKey>} pid → wrapping key */
    this.wrapKeys = new Map();
  }

  /** What is signed: the ephemeral key bound to this meeting, account and connection. */
  #statement(/** @type {string} */ uid, /** @type {string} */ pid, /** @type {string} */ ephemeral) {
    return encoder.encode(`conclave e2ee v1\n${this.meetingId}\n${uid}\n${pid}\n${ephemeral}`);
  }

  /**
   * @param {string} selfUid
   * @param {string} selfPid
   * @returns {Promise<Hello>}
   */
  async hello(selfUid, selfPid) {
    const signature = await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      this.identity.privateKey,
      this.#statement(selfUid, selfPid, this.ephemeralRaw),
    );
    return { type: "hello", identity: this.identitySpki, ephemeral: this.ephemeralRaw, signature: toBase64(signature) };
  }

  /**
   * Check a participant's hello and derive the pairwise wrapping key. Throws if the
   * signature does not verify.
   * @param {string} selfPid
   * @param {string} pid
   * @param {string} uid
   * @param {Hello} hello
   */
  async accept(selfPid, pid, uid, hello) {
    const identity = await crypto.subtle.importKey("spki", fromBase64(hello.identity), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    const valid = await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      identity,
      fromBase64(hello.signature),
      this.#statement(uid, pid, hello.ephemeral),
    );
    if (!valid) throw new Error("the ephemeral key is not signed by the identity key");
    const theirs = await crypto.subtle.importKey("raw", fromBase64(hello.ephemeral), { name: "ECDH", namedCurve: "P-256" }, false, []);
    const secret = await crypto.subtle.deriveBits({ name: "ECDH", public: theirs }, this.ephemeral.privateKey, 256);
    const base = await crypto.subtle.importKey("raw", secret, "HKDF", false, ["deriveKey"]);
    const pair = [selfPid, pid].sort().join("\n");
    const wrapKey = await crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: encoder.encode(this.meetingId), info: encoder.encode(`conclave wrap v1\n${pair}`) },
      base,
      { name: "AES-GCM", length: 128 },
      false,
      ["encrypt", "decrypt"],
    );
    this.wrapKeys.set(pid, wrapKey);
  }

  /** @param {string} pid */
  forget(pid) {
    this.wrapKeys.delete(pid);
  }

  /**
   * AES-GCM under the wrapping key agreed with `pid`, with `aad` bound in; null before the
   * key agreement.
   * @param {string} pid @param {string} aad @param {Uint8Array} plain
   * @returns {Promise<{iv: string, data: string} | null>}
   */
  async #seal(pid, aad, plain) {
    const wrapKey = this.wrapKeys.get(pid);
    if (!wrapKey) return null;
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(aad) }, wrapKey, plain);
    return { iv: toBase64(iv), data: toBase64(data) };
  }

  /**
   * Open what `#seal` made for us with the same `aad`; throws if it does not verify, null
   * before the key agreement.
   * @param {string} pid @param {string} aad @param {{iv: string, data: string}} sealed
   * @returns {Promise<Uint8Array | null>}
   */
  async #open(pid, aad, sealed) {
    const wrapKey = this.wrapKeys.get(pid);
    if (!wrapKey) return null;
    const params = { name: "AES-GCM", iv: fromBase64(sealed.iv), additionalData: encoder.encode(aad) };
    return new Uint8Array(await crypto.subtle.decrypt(params, wrapKey, fromBase64(sealed.data)));
  }

  /**
   * A media key for `pid`, bound to both pids, the direction and the KID.
   * @param {string} selfPid @param {string} pid @param {number} kid @param {Uint8Array} key
   * @returns {Promise<WrappedKey | null>}
   */
  async wrap(selfPid, pid, kid, key) {
    const sealed = await this.#seal(pid, `${selfPid}>${pid}\n${kid}`, key);
    return sealed && { type: "key", kid, ...sealed };
  }

  /**
   * @param {string} selfPid @param {string} pid @param {WrappedKey} wrapped
   * @returns {Promise<Uint8Array>}  throws if it does not verify
   */
  async unwrap(selfPid, pid, wrapped) {
    const key = await this.#open(pid, `${pid}>${selfPid}\n${wrapped.kid}`, wrapped);
    if (!key) throw new Error("no key agreement with this participant yet");
    return key;
  }

  /**
   * Seal a small message (a `status`) for one participant under the pair's wrapping key,
   * bound to its kind and its direction. Null before the key agreement.
   * @param {string} selfPid @param {string} pid @param {string} kind @param {object} body
   */
  seal(selfPid, pid, kind, body) {
    return this.#seal(pid, `${kind}\n${selfPid}>${pid}`, encoder.encode(JSON.stringify(body)));
  }

  /**
   * Open what `seal` made for us; throws if it does not verify, null before the key agreement.
   * @param {string} selfPid @param {string} pid @param {string} kind @param {{iv: string, data: string}} sealed
   * @returns {Promise<any>}
   */
  async open(selfPid, pid, kind, sealed) {
    const plain = await this.#open(pid, `${kind}\n${pid}>${selfPid}`, sealed);
    return plain && JSON.parse(new TextDecoder().decode(plain));
  }
}

/**
 * The security code: the same on every screen exactly when everybody sees the same meeting
 * with the same people holding the same identity keys, i.e. nobody is in the middle. Over
 * the meeting and every participant's (uid, identity key), sorted, duplicates kept: two
 * tabs of one person count twice, so a server in the middle of one pair of tabs cannot hide
 * behind the other. 30 digits in groups of five.
 * @param {string} meetingId
 * @param {[string, string][]} members  [uid, base64 SPKI] of every participant, this browser's included
 */
export async function securityCode(meetingId, members) {
  const lines = members.map(([uid, identity]) => `${uid} ${identity}`).sort();
  const text = ["conclave security code v2", meetingId, ...lines].join("\n");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  const groups = [];
  for (let i = 0; i < 30; i += 5) {
    let value = 0n;
    for (const byte of digest.slice(i, i + 5)) value = (value << 8n) | BigInt(byte);
    groups.push(String(value % 100000n).padStart(5, "0"));
  }
  return groups.join(" ");
}
