// @ts-check
/**
 * The call: one RTCPeerConnection per remote participant (P2P for two, a mesh for more),
 * negotiated with the perfect-negotiation pattern over the signaling client. No DOM here.
 *
 * Every connection starts with two transceivers in a fixed order, so both sides agree on
 * what each one is without extra signaling: 0 microphone, 1 camera. The first one to share
 * a screen adds a third (renegotiation); both sides then send their screens on it, and
 * any further one (two people starting to share at the same moment) is a screen too.
 * Turning media on or off replaces the sender's track (no renegotiation). Each transceiver
 * costs every description call and, with E2EE, two frame transforms: joining is faster
 * without one that is rarely used.
 *
 * Frame transforms (end-to-end encryption) plug in through `hooks.sender(sender, kind)`
 * and `hooks.receiver(receiver, kind, pid)`, called once for every sender and receiver.
 *
 * Events (`CustomEvent`, `detail` shown):
 * - `track`      {pid, kind, track}   a remote track arrived ("audio" | "camera" | "screen")
 * - `peerstate`  {pid, state}         the connection state of one peer changed
 * - `peerclosed` {pid}
 */
import { askingForDtx } from "./dtx.js";

/** @typedef {"audio" | "camera" | "screen"} SlotKind */
/** @type {SlotKind[]} */
export const SLOTS = ["audio", "camera", "screen"];
/** The transceivers every direct connection starts with. @type {SlotKind[]} */
const FIRST_SLOTS = ["audio", "camera"];

/** The slot of the transceiver at `index`. @param {number} index @returns {SlotKind} */
function slotAt(index) {
  return SLOTS[Math.min(index, SLOTS.length - 1)];
}

/**
 * @typedef {object} Hooks
 * @property {(sender: RTCRtpSender, kind: SlotKind) => void} [sender]
 * @property {(receiver: RTCRtpReceiver, kind: SlotKind, pid: string) => void} [receiver]
 * @property {(receiver: RTCRtpReceiver, pid: string) => void} [relabel]  the receiver now
 *   carries another participant's frames (the SFU reused it)
 */

export class Call extends EventTarget {
  /**
   * @param {string} selfPid
   * @param {(to: string, payload: object) => void} signal  sends a `signal` message
   * @param {{iceServers?: RTCIceServer[], iceTransportPolicy?: RTCIceTransportPolicy, hooks?: Hooks, encodedStreams?: boolean, spare?: RTCPeerConnection | null}} [options]
   *   `spare`: a connection from `prepareOffer`, used for the first `connect`
   */
  constructor(selfPid, signal, options = {}) {
    super();
    this.selfPid = selfPid;
    this.signal = signal;
    this.iceServers = options.iceServers || [];
    this.iceTransportPolicy = options.iceTransportPolicy || "all";
    this.hooks = options.hooks || {};
    this.encodedStreams = Boolean(options.encodedStreams);
    /** @type {Map<string, Peer>} */
    this.peers = new Map();
    /** @type {Record<SlotKind, MediaStreamTrack | null>} */
    this.local = { audio: null, camera: null, screen: null };
    /** @type {RTCPeerConnection | null} */
    this.spare = options.spare || null;
  }

  /**
   * Connect to a participant who was in the room before us: we send the offer.
   * @param {string} pid
   * @param {boolean} [offered]  the server gave them the prepared connection's offer already
   */
  connect(pid, offered = false) {
    if (this.peers.has(pid)) return;
    const spare = this.spare;
    this.spare = null;
    this.#create(pid, true, spare, offered);
  }

  /** Close the prepared connection if no `connect` used it. */
  releaseSpare() {
    this.spare?.close();
    this.spare = null;
  }

  /** @param {string} pid */
  disconnect(pid) {
    const peer = this.peers.get(pid);
    if (!peer) return;
    this.peers.delete(pid);
    peer.close();
    this.dispatchEvent(new CustomEvent("peerclosed", { detail: { pid } }));
  }

  /** Close every connection (leave, meeting ended, or a fresh start after reconnecting). */
  disconnectAll() {
    this.releaseSpare();
    for (const pid of [...this.peers.keys()]) this.disconnect(pid);
  }

  /**
   * A `signal` message from another participant.
   * @param {string} from
   * @param {any} payload
   */
  async receive(from, payload) {
    const peer = this.peers.get(from) || this.#create(from, false);
    // One message of a peer after the other (perfect negotiation needs it), while other
    // server messages (keys) are handled meanwhile.
    peer.queue = peer.queue.then(() => peer.receive(payload));
    await peer.queue;
  }

  /**
   * Put a local track (or null) into a slot on every connection.
   * @param {SlotKind} kind
   * @param {MediaStreamTrack | null} track
   */
  async setTrack(kind, track) {
    this.local[kind] = track;
    await Promise.all([...this.peers.values()].map((peer) => peer.setTrack(kind, track)));
  }

  /** Direct connections send one layer: nothing to choose. @param {Map<string, number>} _widths */
  fit(_widths) {}

  /** Audio level of each participant heard, from each connection's statistics. */
  async audioLevels() {
    /** @type {Map<string, number>} */
    const levels = new Map();
    for (const [pid, peer] of this.peers) {
      (await peer.pc.getStats()).forEach((report) => {
        if (report.type === "inbound-rtp" && report.kind === "audio") levels.set(pid, Math.max(levels.get(pid) || 0, report.audioLevel || 0));
      });
    }
    return levels;
  }

  /** Ask every connection that is not working for an ICE restart. */
  restartBroken() {
    for (const peer of this.peers.values()) {
      const state = peer.pc.connectionState;
      if (state === "failed" || state === "disconnected") peer.pc.restartIce();
    }
  }

  /**
   * @param {string} pid
   * @param {boolean} initiator
   * @param {RTCPeerConnection | null} [spare]
   * @param {boolean} [offered]
   */
  #create(pid, initiator, spare = null, offered = false) {
    const peer = new Peer(this, pid, initiator, spare, offered);
    this.peers.set(pid, peer);
    return peer;
  }
}

/**
 * A connection made while the user is still on the pre-join screen: the three
 * transceivers with their sender transforms, and the local offer with the candidates
 * gathered so far. Joining then costs one message instead of setting all this up while
 * the other side waits. Made without ICE servers: usable only when the meeting's
 * configuration has none either (the default on a LAN); the page checks that.
 * Only with RTCRtpScriptTransform: the older encoded-streams API gives a receiver one set
 * of streams, so the peer's own could not replace the placeholder.
 * @param {{hooks?: Hooks}} options
 */
export async function prepareOffer({ hooks = {} }) {
  await prepareCertificate();
  const pc = new RTCPeerConnection(connectionConfig([], "all", false));
  try {
    for (const kind of FIRST_SLOTS) {
      const transceiver = addSlot(pc, kind, hooks);
      // Chromium sends received frames through a transform only if the receiver had one
      // before the offer was set; the peer's own replaces it when the peer is known.
      hooks.receiver?.(transceiver.receiver, kind, "");
    }
    await pc.setLocalDescription();
    return pc;
  } catch (error) {
    pc.close();
    throw error;
  }
}

/**
 * A transceiver of `pc` for a slot: VP8 first for video, the sender's frame transform on.
 * @param {RTCPeerConnection} pc
 * @param {SlotKind} kind
 * @param {Hooks} hooks
 * @param {RTCRtpTransceiverInit} [init]
 */
export function addSlot(pc, kind, hooks, init = { direction: "sendrecv" }) {
  const transceiver = pc.addTransceiver(kind === "audio" ? "audio" : "video", init);
  equipSender(transceiver, kind, hooks);
  return transceiver;
}

/** @param {RTCRtpTransceiver} transceiver @param {SlotKind} kind @param {Hooks} hooks */
function equipSender(transceiver, kind, hooks) {
  if (kind !== "audio") preferVp8(transceiver);
  hooks.sender?.(transceiver.sender, kind);
}

/**
 * The prepared connection's offer once its candidates are in it: candidates found after
 * the offer is taken would reach nobody. (Without ICE servers only this machine's own
 * addresses are gathered, which takes milliseconds; the wait is bounded all the same.)
 * @param {RTCPeerConnection} pc
 * @param {number} [waitMs]
 */
export async function preparedOffer(pc, waitMs = 1000) {
  if (pc.iceGatheringState !== "complete") {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      pc.addEventListener("icegatheringstatechange", () => {
        if (pc.iceGatheringState !== "complete") return;
        clearTimeout(timer);
        resolve(undefined);
      });
    });
  }
  return pc.localDescription?.toJSON();
}

/** This page's DTLS certificate, once made. @type {RTCCertificate | null} */
let certificate = null;

/**
 * Make the DTLS certificate of this page's connections ahead of time, so that no connection
 * waits for one while the other side waits for its answer. (Every connection of a page then
 * shows the same fingerprint: its peers know who it is anyway.)
 */
export async function prepareCertificate() {
  if (certificate) return;
  try {
    certificate = await RTCPeerConnection.generateCertificate({ name: "ECDSA", namedCurve: "P-256" });
  } catch {
    // each connection makes its own, as without this
  }
}

/**
 * @param {RTCIceServer[]} iceServers
 * @param {RTCIceTransportPolicy} iceTransportPolicy
 * @param {boolean} encodedStreams
 */
export function connectionConfig(iceServers, iceTransportPolicy, encodedStreams) {
  /** @type {RTCConfiguration & {encodedInsertableStreams?: boolean}} */
  const config = { iceServers, iceTransportPolicy, bundlePolicy: "max-bundle" };
  if (certificate) config.certificates = [certificate];
  if (encodedStreams) config.encodedInsertableStreams = true;
  return config;
}

class Peer {
  /**
   * @param {Call} call
   * @param {string} pid
   * @param {boolean} initiator
   * @param {RTCPeerConnection | null} spare  a connection from `prepareOffer`
   * @param {boolean} offered  its offer reached the peer with our hello
   */
  constructor(call, pid, initiator, spare, offered) {
    this.call = call;
    this.pid = pid;
    this.polite = call.selfPid > pid;
    this.makingOffer = false;
    this.ignoreOffer = false;
    /** Messages of this peer, handled in order. @type {Promise<void>} */
    this.queue = Promise.resolve();
    this.closed = false;
    /** Transceivers that have their transforms and local track. @type {WeakSet<RTCRtpTransceiver>} */
    this.ready = new WeakSet();
    this.pc = spare || new RTCPeerConnection(connectionConfig(call.iceServers, call.iceTransportPolicy, call.encodedStreams));
    this.pc.addEventListener("negotiationneeded", () => this.#offer());
    this.pc.addEventListener("icecandidate", ({ candidate }) => {
      if (candidate) call.signal(pid, { candidate: candidate.toJSON() });
    });
    this.pc.addEventListener("track", (event) => this.#track(event));
    this.pc.addEventListener("connectionstatechange", () => {
      const state = this.pc.connectionState;
      if (state === "failed") this.pc.restartIce();
      call.dispatchEvent(new CustomEvent("peerstate", { detail: { pid, state } }));
    });
    if (spare) {
      this.pc.getTransceivers().forEach((transceiver, index) => this.#adopt(transceiver, slotAt(index)));
      if (!offered) this.call.signal(pid, { description: this.pc.localDescription?.toJSON() });
    } else if (initiator) {
      for (const kind of FIRST_SLOTS) this.#add(kind);
    }
    if (initiator && call.local.screen) this.#add("screen"); // we share already
  }

  /** A new transceiver of ours for `kind` (sending and receiving). @param {SlotKind} kind */
  #add(kind) {
    const transceiver = addSlot(this.pc, kind, this.call.hooks);
    this.#adopt(transceiver, kind);
    return transceiver;
  }

  /**
   * @param {RTCRtpTransceiver} transceiver
   * @param {SlotKind} kind
   */
  #prepare(transceiver, kind) {
    if (transceiver.direction !== "sendrecv") transceiver.direction = "sendrecv";
    equipSender(transceiver, kind, this.call.hooks);
    this.#adopt(transceiver, kind);
  }

  /**
   * What a transceiver needs once the peer is known (a spare's has the rest already).
   * @param {RTCRtpTransceiver} transceiver
   * @param {SlotKind} kind
   */
  #adopt(transceiver, kind) {
    this.ready.add(transceiver);
    this.call.hooks.receiver?.(transceiver.receiver, kind, this.pid);
    const track = this.call.local[kind];
    if (track) transceiver.sender.replaceTrack(track).catch(() => {});
  }

  /** @param {SlotKind} kind */
  transceiver(kind) {
    return this.pc.getTransceivers()[SLOTS.indexOf(kind)];
  }

  /**
   * @param {SlotKind} kind
   * @param {MediaStreamTrack | null} track
   */
  async setTrack(kind, track) {
    if (kind !== "screen") {
      await this.transceiver(kind)?.sender.replaceTrack(track);
      return;
    }
    // Every screen transceiver: two when both sides began sharing at the same moment.
    const screens = this.pc.getTransceivers().slice(FIRST_SLOTS.length);
    // None yet: add one, but not before the first two exist (an answer on its way adds it).
    if (screens.length === 0 && track && this.pc.getTransceivers().length === FIRST_SLOTS.length) screens.push(this.#add(kind));
    await Promise.all(screens.map((transceiver) => transceiver.sender.replaceTrack(track)));
  }

  async #offer() {
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.call.signal(this.pid, { description: this.pc.localDescription?.toJSON() });
    } catch (error) {
      console.warn("offer failed", error);
    } finally {
      this.makingOffer = false;
    }
  }

  /** @param {any} payload */
  async receive(payload) {
    const { description, candidate } = payload || {};
    try {
      if (description) {
        const collision =
          description.type === "offer" && (this.makingOffer || this.pc.signalingState !== "stable");
        this.ignoreOffer = !this.polite && collision;
        if (this.ignoreOffer) return;
        await this.pc.setRemoteDescription(askingForDtx(description)); // Opus DTX: see dtx.js
        if (description.type === "offer") {
          // Transceivers the offer brought (all on the first one, a screen later): their
          // transforms before the answer, or Chromium would not run received frames through them.
          this.pc.getTransceivers().forEach((t, index) => this.ready.has(t) || this.#prepare(t, slotAt(index)));
          await this.pc.setLocalDescription();
          // We share a screen, and this connection has no transceiver for it yet.
          if (this.call.local.screen && !this.transceiver("screen")) this.#add("screen");
          this.call.signal(this.pid, { description: this.pc.localDescription?.toJSON() });
        }
      } else if (candidate) {
        try {
          await this.pc.addIceCandidate(candidate);
        } catch (error) {
          if (!this.ignoreOffer) throw error;
        }
      }
    } catch (error) {
      console.warn("signal from", this.pid, "failed", error);
    }
  }

  /** @param {RTCTrackEvent} event */
  #track(event) {
    const index = this.pc.getTransceivers().indexOf(event.transceiver);
    if (index < 0) return;
    const kind = slotAt(index);
    this.call.dispatchEvent(
      new CustomEvent("track", { detail: { pid: this.pid, kind, track: event.track } }),
    );
  }

  close() {
    this.closed = true;
    this.pc.close();
  }
}

/**
 * The frame worker keeps exactly the VP8 payload header readable for the packetisers
 * (e2ee/framing.js); H.264's packetiser would need more of the frame. So video prefers VP8.
 * @param {RTCRtpTransceiver} transceiver
 */
function preferVp8(transceiver) {
  if (!transceiver.setCodecPreferences) return;
  vp8First ??= vp8FirstOrder();
  if (!vp8First) return;
  try {
    transceiver.setCodecPreferences(vp8First);
  } catch {
    // keep the browser's order
  }
}

/**
 * The browser's video codecs with VP8 first, asked once per page: `getCapabilities` is a
 * synchronous call that costs milliseconds, on the path of every answer.
 * @type {RTCRtpCodec[] | null | undefined}
 */
let vp8First;

function vp8FirstOrder() {
  const codecs = RTCRtpReceiver.getCapabilities("video")?.codecs;
  if (!codecs) return null;
  const isVp8 = (/** @type {RTCRtpCodec} */ c) => c.mimeType.toLowerCase() === "video/vp8";
  return [...codecs.filter(isVp8), ...codecs.filter((c) => !isVp8(c))];
}
