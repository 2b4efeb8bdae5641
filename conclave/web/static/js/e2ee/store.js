// @ts-check
/**
 * IndexedDB for this browser profile's identity key pair (non-extractable: the private
 * key can be used here but never read out) and for the identity keys pinned per contact
 * (trust on first use).
 */

const DB_NAME = "conclave-e2ee";
const VERSION = 1;

/** @returns {Promise<IDBDatabase>} */
function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, VERSION);
    request.onupgradeneeded = () => {
      request.result.createObjectStore("identity");
      request.result.createObjectStore("contacts");
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/**
 * @param {string} store
 * @param {IDBTransactionMode} mode
 * @param {(s: IDBObjectStore) => IDBRequest} action
 */
async function run(store, mode, action) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const request = action(db.transaction(store, mode).objectStore(store));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  } finally {
    db.close();
  }
}

/**
 * This profile's identity key pair for an account, made on first use.
 * @param {string} account
 * @returns {Promise<CryptoKeyPair>}
 */
export async function identityFor(account) {
  const existing = await run("identity", "readonly", (s) => s.get(account));
  if (existing) return existing;
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
    "sign",
    "verify",
  ]);
  await run("identity", "readwrite", (s) => s.put(pair, account));
  return pair;
}

/**
 * @typedef {{identity: string, verified: boolean}} Contact
 * @param {string} account  whose address book
 * @param {string} uid      the contact
 * @returns {Promise<Contact | undefined>}
 */
export function contact(account, uid) {
  return run("contacts", "readonly", (s) => s.get(`${account}/${uid}`));
}

/**
 * @param {string} account
 * @param {string} uid
 * @param {Contact} value
 */
export function pin(account, uid, value) {
  return run("contacts", "readwrite", (s) => s.put(value, `${account}/${uid}`));
}
