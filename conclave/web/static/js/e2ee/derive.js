// @ts-check
/**
 * Key derivations shared by the page and the frame worker (WebCrypto HKDF-SHA256).
 * - ratchet: the next key of a sender's chain, used when someone joins (the newcomer
 *   gets the new key; everyone else derives it; nobody can go back).
 * - chat key: a sender's chat messages use a key derived from its media key, so chat and
 *   media never share a nonce space.
 */

const encoder = new TextEncoder();
export const KEY_BYTES = 16;
/** How far ahead a receiver follows a sender's ratchet on its own. */
export const RATCHET_WINDOW = 16;

/**
 * @param {Uint8Array} key
 * @param {string} info
 * @param {number} [length]
 * @returns {Promise<Uint8Array>}
 */
export async function hkdf(key, info, length = KEY_BYTES) {
  const base = await crypto.subtle.importKey("raw", key, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode(info) },
    base,
    length * 8,
  );
  return new Uint8Array(bits);
}

/** @param {Uint8Array} key */
export function ratchet(key) {
  return hkdf(key, "conclave ratchet v1");
}

/** @param {Uint8Array} key */
export function chatKey(key) {
  return hkdf(key, "conclave chat v1");
}

/**
 * Follow a chain from a known (kid, key) to a later kid; null if it is out of reach.
 * @param {number} knownKid
 * @param {Uint8Array} knownKey
 * @param {number} kid
 */
export async function ratchetTo(knownKid, knownKey, kid) {
  const steps = kid - knownKid;
  if (steps < 0 || steps > RATCHET_WINDOW) return null;
  let key = knownKey;
  for (let i = 0; i < steps; i++) key = await ratchet(key);
  return key;
}
