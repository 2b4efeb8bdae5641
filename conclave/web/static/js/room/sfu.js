// @ts-check
/**
 * The call through the SFU: one connection that sends (microphone, camera, screen share,
 * in that order, as in the P2P call) and one that receives everyone else's streams. The
 * server relays the SDP between this page and Janus; the page never talks to Janus. No DOM.
 *
 * Same surface as `Call` (call.js): `local`, `setTrack`, `disconnect`, `disconnectAll`,
 * `restartBroken`, `audioLevels`, and the events `track` {pid, kind, track} and
 * `peerstate` {pid, state} (pid "sfu"). Frames are end-to-end encrypted by the same hooks:
 * Janus forwards SFrame ciphertext it cannot read.
 *
 * Server messages it takes (`receive`): `sfu_answer`, `sfu_offer` {sdp, streams}, and
 * `sfu_restart` (the SFU lost the meeting: publish again on new connections).
 */
import { SLOTS, addSlot, connectionConfig } from "./call.js";
import { askingForDtx } from "./dtx.js";

/** @typedef {import("./call.js").SlotKind} SlotKind */
/** @typedef {import("./call.js").Hooks} Hooks */
/** @typedef {{mid: string, pid: string, kind: "audio" | "video", source_mid: string}} Stream */

/** Tiles narrower than this (device pixels) get the camera's low or medium layer. */
const LOW_BELOW = 240;
const MEDIUM_BELOW = 480;

/** Simulcast layers of the camera, highest first (Janus takes the first as the best). */
const CAMERA_LAYERS = [
  { rid: "h", scaleResolutionDownBy: 1 },
  { rid: "m", scaleResolutionDownBy: 2 },
  { rid: "l", scaleResolutionDownBy: 4 },
];

export class SfuCall extends EventTarget {
  /**
   * @param {(message: object) => void} send  sends a message to the server
   * @param {{iceServers?: RTCIceServer[], iceTransportPolicy?: RTCIceTransportPolicy, hooks?: Hooks, encodedStreams?: boolean, simulcast?: boolean}} [options]
   */
  constructor(send, options = {}) {
    super();
    this.send = send;
    this.options = options;
    this.hooks = options.hooks || {};
    /** @type {Record<SlotKind, MediaStreamTrack | null>} */
    this.local = { audio: null, camera: null, screen: null };
    /** @type {RTCPeerConnection | null} */
    this.publisher = null;
    /** @type {RTCPeerConnection | null} */
    this.subscriber = null;
    /** What each media section of the receiving connection carries, by mid. @type {Map<string, Stream>} */
    this.streams = new Map();
    /** Receivers with a frame transform, and for whom. @type {Map<RTCRtpReceiver, string>} */
    this.transformed = new Map();
    /** Kept for `Call` compatibility: the SFU has no connection per participant. */
    this.peers = new Map();
    this.closed = false;
    this.inbox = Promise.resolve();
    /** The simulcast layer asked for, per participant. @type {Map<string, string>} */
    this.layers = new Map();
  }

  /** Open the sending connection and offer it to the SFU. */
  async start() {
    this.closed = false;
    const pc = this.#connection("publisher");
    this.publisher = pc;
    for (const kind of SLOTS) {
      /** @type {RTCRtpTransceiverInit} */
      const init = { direction: "sendonly" };
      if (kind === "camera" && this.options.simulcast) init.sendEncodings = CAMERA_LAYERS;
      const transceiver = addSlot(pc, kind, this.hooks, init);
      const track = this.local[kind];
      if (track) await transceiver.sender.replaceTrack(track);
    }
    await this.#publish();
  }

  /** @param {{iceRestart?: boolean}} [options] */
  async #publish(options = {}) {
    const pc = this.publisher;
    if (!pc) return;
    const offer = await pc.createOffer(options);
    await pc.setLocalDescription(offer);
    this.send({ type: "sfu_publish", sdp: pc.localDescription?.sdp });
  }

  /**
   * A server message of SFU mode. Handled one at a time, in order.
   * @param {{type: string, [key: string]: any}} m
   */
  receive(m) {
    this.inbox = this.inbox.then(() => this.#receive(m)).catch((error) => console.warn("sfu", m.type, error));
    return this.inbox;
  }

  /** @param {{type: string, [key: string]: any}} m */
  async #receive(m) {
    if (this.closed) return;
    if (m.type === "sfu_answer" && this.publisher) {
      await this.publisher.setRemoteDescription(askingForDtx({ type: "answer", sdp: m.sdp })); // dtx.js
    } else if (m.type === "sfu_offer") {
      await this.#subscribe(m.sdp, m.streams);
    } else if (m.type === "sfu_restart") {
      this.#closeConnections();
      await this.start();
    }
  }

  /**
   * @param {string} sdp
   * @param {Stream[]} streams
   */
  async #subscribe(sdp, streams) {
    if (!this.subscriber) this.subscriber = this.#connection("subscriber");
    const pc = this.subscriber;
    const before = this.streams;
    this.streams = new Map(streams.map((s) => [s.mid, s]));
    await pc.setRemoteDescription({ type: "offer", sdp });
    for (const transceiver of pc.getTransceivers()) {
      const stream = transceiver.mid === null ? undefined : this.streams.get(transceiver.mid);
      if (!stream) continue;
      const kind = slotOf(stream);
      if (this.transformed.get(transceiver.receiver) !== stream.pid) {
        if (!this.transformed.has(transceiver.receiver)) this.hooks.receiver?.(transceiver.receiver, kind, stream.pid);
        else this.hooks.relabel?.(transceiver.receiver, stream.pid); // its frames open only with that sender's keys
        this.transformed.set(transceiver.receiver, stream.pid);
      }
      const old = before.get(stream.mid);
      if (!old || old.pid !== stream.pid || old.source_mid !== stream.source_mid) {
        const track = transceiver.receiver.track;
        this.dispatchEvent(new CustomEvent("track", { detail: { pid: stream.pid, kind, track } }));
      }
    }
    await pc.setLocalDescription(await pc.createAnswer());
    this.send({ type: "sfu_answer", sdp: pc.localDescription?.sdp });
  }

  /**
   * @param {"publisher" | "subscriber"} target
   */
  #connection(target) {
    const { iceServers = [], iceTransportPolicy = "all", encodedStreams = false } = this.options;
    const pc = new RTCPeerConnection(connectionConfig(iceServers, iceTransportPolicy, encodedStreams));
    pc.addEventListener("icecandidate", ({ candidate }) => {
      this.send({ type: "sfu_candidate", target, candidate: candidate && candidate.candidate ? candidate.toJSON() : null });
    });
    pc.addEventListener("connectionstatechange", () => {
      this.dispatchEvent(new CustomEvent("peerstate", { detail: { pid: "sfu", target, state: pc.connectionState } }));
    });
    return pc;
  }

  /**
   * Put a local track (or null) into a slot.
   * @param {SlotKind} kind
   * @param {MediaStreamTrack | null} track
   */
  async setTrack(kind, track) {
    this.local[kind] = track;
    const transceiver = this.publisher?.getTransceivers()[SLOTS.indexOf(kind)];
    if (transceiver) await transceiver.sender.replaceTrack(track);
  }

  /** Someone left: the SFU removes their streams with its next offer. @param {string} _pid */
  disconnect(_pid) {}

  /** Close both connections (leave, meeting ended, or a fresh start after reconnecting). */
  disconnectAll() {
    this.closed = true;
    this.#closeConnections();
  }

  #closeConnections() {
    this.publisher?.close();
    this.subscriber?.close();
    this.publisher = null;
    this.subscriber = null;
    this.streams = new Map();
    this.transformed = new Map();
    this.layers = new Map();
  }

  /** A connection that is not working: restart ICE (sending) or start over (receiving). */
  restartBroken() {
    const broken = (/** @type {RTCPeerConnection | null} */ pc) =>
      pc && (pc.connectionState === "failed" || pc.connectionState === "disconnected");
    if (broken(this.subscriber)) {
      this.receive({ type: "sfu_restart" });
    } else if (broken(this.publisher)) {
      this.#publish({ iceRestart: true }).catch((error) => console.warn("sfu ice restart", error));
    }
  }

  /**
   * Ask for the camera layer that fits each participant's tile (only when it changes).
   * @param {Map<string, number>} widths  tile widths in device pixels, by pid
   */
  fit(widths) {
    const cameras = new Set([...this.streams.values()].filter((s) => slotOf(s) === "camera").map((s) => s.pid));
    for (const pid of cameras) {
      const width = widths.get(pid);
      if (width === undefined || width === 0) continue;
      const layer = width < LOW_BELOW ? "low" : width < MEDIUM_BELOW ? "medium" : "high";
      if (this.layers.get(pid) === layer) continue;
      this.layers.set(pid, layer);
      this.send({ type: "sfu_quality", pid, layer });
    }
  }

  /** Audio level of each participant heard, from the receiving connection's statistics. */
  async audioLevels() {
    /** @type {Map<string, number>} */
    const levels = new Map();
    if (!this.subscriber) return levels;
    (await this.subscriber.getStats()).forEach((report) => {
      if (report.type !== "inbound-rtp" || report.kind !== "audio") return;
      const stream = this.streams.get(report.mid);
      if (stream) levels.set(stream.pid, Math.max(levels.get(stream.pid) || 0, report.audioLevel || 0));
    });
    return levels;
  }
}

/** @param {Stream} stream @returns {SlotKind} */
function slotOf(stream) {
  if (stream.kind === "audio") return "audio";
  return stream.source_mid === "2" ? "screen" : "camera";
}
