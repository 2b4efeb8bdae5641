// @ts-check
/**
 * End-to-end encryption for one stay in a meeting: key agreement with every participant,
 * this browser's media key (ratcheted when someone joins, replaced when someone leaves),
 * the frame worker, chat encryption, the security code and the state the UI shows.
 *
 * E2EE messages travel inside `signal` payloads as `{e2ee: {...}}`; the server relays
 * them without being able to read the keys inside.
 *
 * Events: `change` whenever `state()` may have changed.
 */
import { KeyManager, securityCode, toBase64, fromBase64 } from "./keys.js";
import { KeyRing } from "./keyring.js";
import { SFrameContext } from "./sframe.js";
import { KEY_BYTES, chatKey, ratchet } from "./derive.js";
import { contact, pin } from "./store.js";

const SUITE = 4;
const SWITCH_AFTER_LEAVE_MS = 1000;
const FAILING_TICKS = 3;
const CHAT_PREFIX = "e2ee:";
const CHAT_METADATA = new TextEncoder().encode("chat");

/**
 * @typedef {"waiting" | "ok" | "changed" | "invalid" | "failing"} PeerStatus
 * @typedef {{uid: string, identity: string, status: PeerStatus, verified: boolean,
 *            theyFail: boolean, received: number, dropped: number, failTicks: number,
 *            statusSent: number, statusSeen: number}} PeerKeys
 */

/** Which frame-transform API this browser has, or null (then it cannot join with E2EE). */
export function transformSupport() {
  if ("RTCRtpScriptTransform" in window) return "script";
  // @ts-ignore: Chromium's older API
  if (typeof RTCRtpSender !== "undefined" && "createEncodedStreams" in RTCRtpSender.prototype) return "streams";
  return null;
}

export class E2EE extends EventTarget {
  /**
   * @param {{account: string, meetingId: string, signal: (to: string, payload: object) => void}} options
   */
  constructor({ account, meetingId, signal }) {
    super();
    this.account = account;
    this.meetingId = meetingId;
    this.signal = signal;
    this.support = transformSupport();
    this.worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    this.worker.addEventListener("message", (event) => this.#stats(event.data));
    /** @type {KeyManager | null} */
    this.keys = null;
    /** @type {Promise<KeyManager> | null} */
    this.ready = null;
    this.selfPid = "";
    this.selfUid = "";
    this.kid = 0;
    this.key = new Uint8Array(0);
    /** @type {Map<string, PeerKeys>} */
    this.peers = new Map();
    this.chatRing = new KeyRing(SUITE, { derive: chatKey });
    /** Participants who left during this page's life: never taken in again (their pids are per connection). @type {Set<string>} */
    this.gone = new Set();
    /** Ids of the frame transforms, for relabelling a receiver. @type {WeakMap<RTCRtpReceiver, number>} */
    this.endpointIds = new WeakMap();
    this.nextEndpointId = 0;
    /** @type {SFrameContext | null} */
    this.chatSender = null;
    this.chatCounter = 0n;
    this.code = "";
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.switchTimer = undefined;
    /** The fresh key after a leave, sent but not used yet. @type {{kid: number, key: Uint8Array} | null} */
    this.pending = null;
  }

  /** Start making this stay's keys (identity from IndexedDB, a fresh ECDH key) now. */
  prepare() {
    this.ready ??= KeyManager.create(this.account, this.meetingId);
  }

  /** The keys `prepare` makes. */
  prepared() {
    this.prepare();
    return /** @type {Promise<KeyManager>} */ (this.ready);
  }

  /** Frame transforms for the call's senders and receivers. */
  get hooks() {
    return {
      sender: (/** @type {RTCRtpSender} */ sender, /** @type {string} */ kind) => this.#attach(sender, "send", "", kind),
      receiver: (/** @type {RTCRtpReceiver} */ receiver, /** @type {string} */ kind, /** @type {string} */ pid) =>
        this.#attach(receiver, "receive", pid, kind),
      relabel: (/** @type {RTCRtpReceiver} */ receiver, /** @type {string} */ pid) => {
        const id = this.endpointIds.get(receiver);
        if (id !== undefined) this.worker.postMessage({ kind: "relabel", id, pid });
      },
    };
  }

  /**
   * A new stay in the room (first welcome, or after reconnecting): fresh keys for all.
   * @param {string} selfPid
   * @param {string} selfUid
   */
  async start(selfPid, selfUid) {
    this.selfPid = selfPid;
    this.selfUid = selfUid;
    // Every stay gets a fresh ECDH key: the prepared one serves the first stay only.
    this.keys = await (this.ready ?? KeyManager.create(this.account, this.meetingId));
    this.ready = null;
    // Nothing of the last stay is needed: keys now come wrapped for the new ephemeral key.
    this.worker.postMessage({ kind: "reset" });
    this.chatRing = new KeyRing(SUITE, { derive: chatKey });
    this.peers.clear();
    clearTimeout(this.switchTimer);
    this.switchTimer = undefined;
    this.pending = null;
    await this.#useKey(randomKid(), crypto.getRandomValues(new Uint8Array(KEY_BYTES)));
    await this.#refreshCode();
  }

  /**
   * A participant to agree keys with.
   * @param {string} pid
   * @param {string} uid
   * @param {boolean} joinedAfterUs  then everyone ratchets, so the newcomer cannot read the past
   */
  async addPeer(pid, uid, joinedAfterUs) {
    if (!this.keys || this.peers.has(pid) || this.gone.has(pid)) return;
    this.peers.set(pid, { uid, identity: "", status: "waiting", verified: false, theyFail: false, received: 0, dropped: 0, failTicks: 0, statusSent: 0, statusSeen: 0 });
    if (joinedAfterUs && this.pending) await this.#switchNow();
    else if (joinedAfterUs) await this.#ratchet();
    this.signal(pid, { e2ee: await this.keys.hello(this.selfUid, this.selfPid) });
    this.#changed();
  }

  /**
   * Someone joins while the fresh key after a leave waits for its switch: switch now. The
   * old key's ratchet would be known to whoever left; the fresh key is new to the newcomer
   * too (nothing was sent with it yet), and the others have it already.
   */
  async #switchNow() {
    const { kid, key } = /** @type {{kid: number, key: Uint8Array}} */ (this.pending);
    this.pending = null;
    clearTimeout(this.switchTimer);
    this.switchTimer = undefined;
    await this.#useKey(kid, key);
  }

  /** Move our key one ratchet step on; again if the key was replaced meanwhile (a leave). */
  async #ratchet() {
    for (let attempt = 0; attempt < 3; attempt++) {
      const { kid, key } = this;
      const next = await ratchet(key);
      if (this.key !== key) continue; // the fresh key after a leave came in: ratchet that one
      await this.#useKey(kid + 1, next);
      return;
    }
  }

  /**
   * Someone left or was removed: a fresh key that they never get.
   * @param {string} pid
   */
  async removePeer(pid) {
    if (!this.peers.delete(pid)) return;
    this.gone.add(pid);
    this.keys?.forget(pid);
    this.#forgetSender(pid);
    const kid = randomKid();
    const key = crypto.getRandomValues(new Uint8Array(KEY_BYTES));
    this.pending = { kid, key };
    // Several leaves in a row (the end of a meeting) do not push the switch back: one
    // second after the first, the newest fresh key is used.
    this.switchTimer ??= setTimeout(() => {
      this.switchTimer = undefined;
      const fresh = this.pending;
      this.pending = null;
      if (fresh) this.#useKey(fresh.kid, fresh.key);
    }, SWITCH_AFTER_LEAVE_MS);
    await this.#sendKeyToAll(kid, key);
    await this.#refreshCode();
  }

  /**
   * An `e2ee` signal payload from a participant.
   * @param {string} from
   * @param {any} message
   */
  async receive(from, message) {
    const peer = this.peers.get(from);
    if (!peer || !this.keys || typeof message !== "object" || message === null) return;
    try {
      if (message.type === "hello") await this.#hello(from, peer, message);
      else if (message.type === "key") await this.#key(from, message);
      else if (message.type === "status") await this.#status(from, peer, message);
    } catch (error) {
      peer.status = "invalid";
      console.warn("e2ee message from", from, "rejected:", error);
    }
    this.#changed();
  }

  /** @param {string} from @param {PeerKeys} peer @param {any} hello */
  async #hello(from, peer, hello) {
    if (!this.keys) return;
    await this.keys.accept(this.selfPid, from, peer.uid, hello);
    // The signature verified: the key goes out first, the first frames are on their way.
    // A pinned identity that differs is shown below; it never held the key back.
    const wrapped = await this.keys.wrap(this.selfPid, from, this.kid, this.key);
    if (wrapped) this.signal(from, { e2ee: wrapped });
    // Someone left a moment ago: the newcomer needs the key we are about to switch to as well.
    const next = this.pending && (await this.keys.wrap(this.selfPid, from, this.pending.kid, this.pending.key));
    if (next) this.signal(from, { e2ee: next });
    const pinned = await contact(this.account, peer.uid);
    if (peer.identity && peer.identity !== hello.identity) peer.status = "changed";
    else if (pinned && pinned.identity !== hello.identity) peer.status = "changed";
    else peer.status = "ok";
    peer.identity = hello.identity;
    peer.verified = Boolean(pinned?.verified) && peer.status === "ok";
    if (!pinned) await pin(this.account, peer.uid, { identity: hello.identity, verified: false });
    await this.#refreshCode();
  }

  /**
   * Whether `from` can decrypt us: sealed under our pair's wrapping key with a sequence
   * number, so the server can neither forge nor replay it (one that does not open marks
   * the sender invalid: someone tampered with it).
   * @param {string} from @param {PeerKeys} peer @param {any} message
   */
  async #status(from, peer, message) {
    if (!this.keys || typeof message.iv !== "string" || typeof message.data !== "string") throw new Error("malformed status");
    const body = await this.keys.open(this.selfPid, from, "status", message);
    if (!body || !Number.isSafeInteger(body.seq) || body.seq <= peer.statusSeen) return; // before the agreement, or old
    peer.statusSeen = body.seq;
    peer.theyFail = body.failing === true;
  }

  /**
   * Tell `pid` whether we can decrypt what it sends.
   * @param {string} pid @param {boolean} failing
   */
  async sendStatus(pid, failing) {
    const peer = this.peers.get(pid);
    if (!peer || !this.keys) return;
    peer.statusSent += 1;
    const sealed = await this.keys.seal(this.selfPid, pid, "status", { failing, seq: peer.statusSent });
    if (sealed) this.signal(pid, { e2ee: { type: "status", ...sealed } });
  }

  /** @param {string} from @param {any} wrapped */
  async #key(from, wrapped) {
    if (!this.keys || !Number.isSafeInteger(wrapped.kid)) throw new Error("malformed key message");
    const key = await this.keys.unwrap(this.selfPid, from, wrapped);
    this.worker.postMessage({ kind: "receive-key", kid: wrapped.kid, key, pid: from });
    await this.chatRing.add(wrapped.kid, key, from);
  }

  /**
   * Everyone agreed the code matches: remember these contacts as verified. `shown` is the
   * code they compared; if the code has changed since (someone came in), nothing is marked.
   * @param {string} shown
   * @returns {Promise<boolean>}  whether they were marked
   */
  async markVerified(shown) {
    if (shown !== this.code) return false;
    for (const peer of this.peers.values()) {
      if (peer.status !== "ok") continue;
      peer.verified = true;
      await pin(this.account, peer.uid, { identity: peer.identity, verified: true });
    }
    this.#changed();
    return true;
  }

  /** @param {string} text */
  async encryptChat(text) {
    if (!this.chatSender) throw new Error("no key yet");
    const counter = this.chatCounter;
    this.chatCounter += 1n;
    const frame = await this.chatSender.encrypt(counter, CHAT_METADATA, new TextEncoder().encode(text));
    return CHAT_PREFIX + toBase64(frame);
  }

  /**
   * @param {string} text  what the server relayed
   * @param {string} from  the pid the server says sent it: it opens only with that sender's key
   * @returns {Promise<string | null>}  null when it cannot be decrypted
   */
  async decryptChat(text, from) {
    if (!text.startsWith(CHAT_PREFIX)) return null;
    try {
      const plain = await this.chatRing.decrypt(from, CHAT_METADATA, fromBase64(text.slice(CHAT_PREFIX.length)));
      return new TextDecoder().decode(plain);
    } catch {
      return null;
    }
  }

  /** What the UI shows. */
  state() {
    const peers = [...this.peers.entries()];
    const ready = peers.every(([, p]) => p.status === "ok");
    return {
      encrypted: this.support !== null,
      // Alone in the meeting, nobody has been verified.
      verified: peers.length > 0 && ready && peers.every(([, p]) => p.verified),
      code: this.code,
      peers: new Map(peers),
    };
  }

  /** @param {number} kid @param {Uint8Array} key */
  async #useKey(kid, key) {
    this.kid = kid;
    this.key = key;
    this.worker.postMessage({ kind: "send-key", kid, key });
    this.chatSender = await SFrameContext.create(SUITE, await chatKey(key), BigInt(kid));
    this.chatCounter = 0n;
    await this.chatRing.add(kid, key, this.selfPid); // the server echoes our own messages
  }

  /** @param {number} kid @param {Uint8Array} key */
  async #sendKeyToAll(kid, key) {
    if (!this.keys) return;
    for (const pid of this.peers.keys()) {
      const wrapped = await this.keys.wrap(this.selfPid, pid, kid, key);
      if (wrapped) this.signal(pid, { e2ee: wrapped });
    }
  }

  /** @param {string} pid */
  #forgetSender(pid) {
    this.worker.postMessage({ kind: "forget-sender", pid });
    this.chatRing.forget(pid);
  }

  async #refreshCode() {
    if (!this.keys) return;
    /** @type {[string, string][]} */
    const members = [[this.selfUid, this.keys.identitySpki]];
    for (const peer of this.peers.values()) if (peer.identity) members.push([peer.uid, peer.identity]);
    this.code = await securityCode(this.meetingId, members);
    this.#changed();
  }

  /**
   * @param {RTCRtpSender | RTCRtpReceiver} endpoint
   * @param {"send" | "receive"} side
   * @param {string} pid
   * @param {string} kind
   */
  #attach(endpoint, side, pid, kind) {
    const id = this.nextEndpointId++;
    if (side === "receive") this.endpointIds.set(/** @type {RTCRtpReceiver} */ (endpoint), id);
    if (this.support === "script") {
      // @ts-ignore: RTCRtpScriptTransform is not in TypeScript's DOM library yet
      endpoint.transform = new RTCRtpScriptTransform(this.worker, { side, pid, kind, id });
    } else if (this.support === "streams") {
      // @ts-ignore: Chromium's older API
      const { readable, writable } = endpoint.createEncodedStreams();
      this.worker.postMessage({ kind: "stream", side, pid, id, readable, writable }, [readable, writable]);
    }
  }

  /** @param {any} stats */
  #stats(stats) {
    if (stats?.kind !== "stats") return;
    for (const [pid, peer] of this.peers) {
      const received = stats.received[pid] || 0;
      const dropped = Object.values(stats.dropped[pid] || {}).reduce((a, b) => a + Number(b), 0);
      const failing = dropped > peer.dropped && received === peer.received;
      peer.failTicks = failing ? peer.failTicks + 1 : 0;
      const wasFailing = peer.status === "failing";
      if (peer.failTicks >= FAILING_TICKS && (peer.status === "ok" || peer.status === "waiting")) {
        peer.status = "failing";
      }
      if (wasFailing && received > peer.received) peer.status = "ok";
      if (wasFailing !== (peer.status === "failing")) this.sendStatus(pid, !wasFailing);
      peer.received = received;
      peer.dropped = dropped;
    }
    this.dispatchEvent(new CustomEvent("stats", { detail: stats }));
    this.#changed();
  }

  #changed() {
    this.dispatchEvent(new CustomEvent("change"));
  }
}

/** A random 32-bit key id base; ratchet steps count up from it. */
function randomKid() {
  return crypto.getRandomValues(new Uint32Array(1))[0] * 256;
}
