// @ts-check
/**
 * The meeting room page: wires the signaling client, the call, local media and the UI.
 * Pre-join (devices, preview, privacy notice) → lobby → call → over.
 */
import { SignalingClient } from "./protocol.js";
import { Call, prepareCertificate } from "./call.js";
import { PreparedConnection } from "./prepared.js";
import { SfuCall } from "./sfu.js";
import { LocalMedia } from "./media.js";
import { loadStrings, t } from "./i18n.js";
import { byId, setPressed, showSection } from "./ui/dom.js";
import { Stage } from "./ui/stage.js";
import { People } from "./ui/people.js";
import { Chat } from "./ui/chat.js";
import { Devices } from "./ui/devices.js";
import { MediaWatch, Notices } from "./ui/notices.js";
import { StatusLine } from "./ui/status.js";
import { E2EE, transformSupport } from "../e2ee/session.js";
import { ChatCrypt } from "../e2ee/chat.js";

const LEVEL_POLL_MS = 500;
/** Close codes whose meaning the user must see; others were explained by an `error`. */
const CLOSE_MESSAGES = /** @type {Record<number, string>} */ ({
  1000: "left", 4001: "signed_out", 4009: "replaced", 4010: "kicked", 4011: "ended", 4012: "denied",
  4030: "full",
});

class Room {
  constructor() {
    const root = byId("room");
    this.meetingId = root.dataset.meetingId || "";
    this.account = root.dataset.account || "";
    this.e2eeRequired = root.dataset.e2eeRequired === "true";
    /** No ICE servers in this meeting's configuration: the first connection can be made early. */
    this.prepareConnection = root.dataset.prepareConnection === "true";
    /** @type {E2EE | null} */
    this.e2ee = null;
    /** Server messages are handled one after another, even when a handler awaits. */
    this.inbox = Promise.resolve();
    /**
     * Key work (E2EE messages, peers arriving and leaving) in order of arrival, but beside
     * the inbox: an answer or a candidate must not wait for a signature check or IndexedDB.
     */
    this.keyWork = Promise.resolve();
    this.media = new LocalMedia();
    this.stage = new Stage(byId("grid"));
    this.people = new People(byId("people"), byId("count"), byId("lobby-requests"), (m) => this.send(m));
    this.chat = new Chat(byId("chat-log"), byId("chat-form"), byId("chat-input"), byId("chat-error"),
      (text) => this.#sendChat(text));
    this.devices = new Devices(this.media, (kind, track) => this.#published(kind, track));
    this.notices = new Notices(byId("notices"));
    this.status = new StatusLine(byId("connection"), byId("e2ee-state"), byId("security-code"), byId("verify"));
    /** @type {ChatCrypt<HTMLElement>} */
    this.chatCrypt = new ChatCrypt(null, {
      add: (message, text) => this.chat.add({ ...message, text: text ?? t("decrypting") }, message.from === this.selfPid),
      update: (item, text) => this.chat.update(item, text ?? t("undecryptable")),
    });
    this.watch = new MediaWatch(this.notices, () => t("media_reconnecting"));
    /** @type {SignalingClient | null} */
    this.signaling = null;
    /** @type {Call | SfuCall | null} */
    this.call = null;
    /** @type {RTCIceServer[]} */
    this.iceServers = [];
    /** @type {RTCIceTransportPolicy} */
    this.iceTransportPolicy = "all";
    this.simulcast = true;
    this.name = "";
    this.selfPid = "";
    this.host = false;
    /** Our role in the meeting, as the server says ("member", "guest"...). */
    this.role = "member";
    this.hand = false;
    this.lastError = "";
    /** @type {Map<string, MediaStreamTrack>} */
    this.screens = new Map();
    this.prepared = new PreparedConnection(() => this.e2ee?.hooks);
  }

  start() {
    if (!("RTCPeerConnection" in window) || !navigator.mediaDevices) {
      this.#prejoinError(t("no_webrtc"));
      byId("join").setAttribute("disabled", "");
      return;
    }
    if (this.e2eeRequired && !transformSupport()) {
      this.#prejoinError(t("no_e2ee"));
      byId("join").setAttribute("disabled", "");
      return;
    }
    this.#prepare();
    byId("codes-match").addEventListener("click", () => this.e2ee?.markVerified(byId("security-code").textContent || ""));
    this.devices.bind();
    byId("join-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.#join();
    });
    for (const button of document.querySelectorAll('[data-action="leave"]')) {
      button.addEventListener("click", () => this.leave());
    }
    byId("hand").addEventListener("click", () => {
      this.hand = !this.hand;
      setPressed(byId("hand"), this.hand);
      this.send({ type: "hand", raised: this.hand });
    });
    this.#toggle("toggle-people", "people-panel");
    this.#toggle("toggle-chat", "chat-panel");
    byId("lock").addEventListener("click", () => {
      this.send({ type: "lock", locked: byId("lock").dataset.locked !== "true" });
    });
    byId("end").addEventListener("click", () => {
      if (window.confirm(t("end_confirm"))) this.send({ type: "end" });
    });
    byId("clear-chat").addEventListener("click", () => this.send({ type: "clear_chat" }));
    window.addEventListener("pagehide", () => this.signaling?.leave());
    setInterval(() => this.#pollLevels(), LEVEL_POLL_MS);
  }

  /** @param {{type: string, [key: string]: any}} message */
  send(message) {
    return this.signaling?.send(message) ?? false;
  }

  /**
   * What joining needs and does not depend on the meeting's answer is made while the user
   * is still on the pre-join screen: the signaling socket, the frame worker, this stay's
   * keys and the first connection. Nothing but the socket's opening leaves the browser
   * before the click on Join.
   */
  #prepare() {
    this.#newSignaling();
    if (this.e2eeRequired) {
      this.e2ee = new E2EE({ account: this.account, meetingId: this.meetingId, signal: (to, payload) => this.send({ type: "signal", to, payload }) });
      this.e2ee.addEventListener("change", () => {
        this.#showE2EE();
        this.inbox = this.inbox.then(() => this.chatCrypt.retry());
      });
      this.e2ee.prepare();
      this.chatCrypt.e2ee = this.e2ee;
    }
    // The older encoded-streams API allows one set of streams per receiver: no spare there.
    if (!this.prepareConnection || this.e2ee?.support === "streams") {
      prepareCertificate();
      return;
    }
    this.prepared.make();
  }

  /**
   * The signaling client, its socket opened at once: the click on Join then costs no
   * connection set-up, only hello (the socket says nothing before it).
   */
  #newSignaling() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = `${scheme}//${location.host}/ws/meetings/${encodeURIComponent(this.meetingId)}`;
    const signaling = new SignalingClient(url);
    signaling.addEventListener("message", (event) => {
      const message = /** @type {CustomEvent} */ (event).detail;
      this.inbox = this.inbox.then(() => this.#onMessage(message)).catch((error) => console.warn(error));
    });
    signaling.addEventListener("state", (event) => this.#onState(/** @type {CustomEvent} */ (event).detail));
    signaling.preconnect();
    this.signaling = signaling;
  }

  async #join() {
    byId("join").setAttribute("disabled", "");
    const password = /** @type {HTMLInputElement | null} */ (document.getElementById("meeting-password"));
    if (!this.signaling) this.#newSignaling();
    const signaling = /** @type {SignalingClient} */ (this.signaling);
    signaling.password = password?.value || undefined;
    signaling.identity = this.e2ee ? (await this.e2ee.prepared()).identitySpki : undefined;
    // The prepared connection's offer travels with hello: the server hands it to someone
    // in the room together with the news that we are here (docs/protocol.md).
    const offer = await this.prepared.offer();
    signaling.connect({ media: { mic: Boolean(this.media.audio), cam: Boolean(this.media.camera) }, offer });
  }

  /**
   * Queue key work: in order of arrival, beside the inbox (without E2EE it is next to nothing).
   * @param {() => Promise<unknown> | undefined} task
   */
  #keys(task) {
    const run = this.keyWork.then(task).catch((error) => console.warn(error));
    this.keyWork = run;
    return run;
  }

  /** @param {string} text */
  #sendChat(text) {
    if (!this.e2ee) return this.send({ type: "chat", text });
    this.chatCrypt.seal(text).then((sealed) => this.send({ type: "chat", text: sealed }));
    return true;
  }

  /** @param {{type: string, [key: string]: any}} m */
  async #onMessage(m) {
    switch (m.type) {
      case "session":
        this.iceServers = m.ice_servers.map((/** @type {any} */ s) => ({ urls: s.urls, username: s.username ?? undefined, credential: s.credential ?? undefined }));
        this.iceTransportPolicy = m.ice_transport_policy === "relay" ? "relay" : "all";
        this.simulcast = m.simulcast !== false;
        this.name = m.name;
        // The configuration changed since the page was made: the prepared connection lacks its ICE servers.
        if (this.iceServers.length || this.iceTransportPolicy !== "all") await this.prepared.take(false);
        break;
      case "lobby":
        showSection("lobby");
        break;
      case "welcome":
        await this.#welcome(m);
        break;
      case "participant_joined":
        this.#addPerson(m.participant);
        this.#keys(() => this.e2ee?.addPeer(m.participant.pid, m.participant.uid, true));
        // Back after a reconnect or a server restart: the others saw them a moment ago.
        if (!m.returning) this.notices.show(t("joined", { name: m.participant.name }));
        break;
      case "participant_updated":
        this.#updatePerson(m.participant);
        break;
      case "participant_left":
        this.#removePerson(m.pid, m.reason);
        this.#keys(() => this.e2ee?.removePeer(m.pid));
        break;
      case "lobby_waiting":
        this.people.showLobby(m.entries);
        break;
      case "signal":
        if (m.payload.e2ee) this.#keys(() => this.e2ee?.receive(m.from, m.payload.e2ee));
        // Not awaited: each connection orders its own offers, answers and candidates
        // (perfect negotiation), and key messages need not wait for a description.
        else if (this.call instanceof Call) this.call.receive(m.from, m.payload);
        break;
      case "chat":
        // After the key messages that came before it; the inbox waits (chat order).
        await this.#keys(() => this.chatCrypt.receive(m));
        break;
      case "chat_cleared":
        this.chat.clear();
        this.chatCrypt.clear();
        this.notices.show(t("chat_cleared"));
        break;
      case "muted":
        this.devices.turnOff("audio");
        this.notices.show(t("muted_by_host"));
        break;
      case "unmute_requested":
        this.notices.show(t("unmute_requested"));
        byId("mic").focus();
        break;
      case "locked":
        byId("lock").dataset.locked = String(m.locked);
        byId("lock").textContent = m.locked ? t("unlock") : t("lock");
        this.notices.show(m.locked ? t("locked") : t("unlocked"));
        break;
      case "error":
        this.#error(m.code, m.message);
        break;
      case "media_mode":
        if (m.mode === "sfu") await this.#switchToSfu();
        break;
      case "sfu_restart":
        this.watch.lose("sfu");
        if (this.call instanceof SfuCall) await this.call.receive(m);
        break;
      case "sfu_answer":
      case "sfu_offer":
        if (this.call instanceof SfuCall) await this.call.receive(m);
        break;
    }
  }

  /** @param {{you: string, uid: string, host: boolean, participants: any[], media_mode: "p2p" | "sfu", offer_to?: string | null}} m */
  async #welcome(m) {
    this.call?.disconnectAll();
    this.watch.reset();
    this.stage.clear();
    this.people.clear();
    this.selfPid = m.you;
    this.people.selfPid = m.you;
    this.role = m.role;
    this.#setHost(m.host);
    const spare = await this.prepared.take(m.media_mode === "p2p" && m.participants.length > 0);
    // Back after reconnecting (no spare then): this stay's key before any new connection.
    if (!spare) await this.#keys(() => this.e2ee?.start(m.you, m.uid));
    this.call = this.#makeCall(m.media_mode, spare);
    // The first stay: offers first (the worker sends nothing before it has a key), the keys
    // are made while they travel. The prepared connection goes to whoever the server gave
    // its offer (then first), else to the first of the others, with its offer sent now.
    const first = m.participants.find((/** @type {any} */ p) => p.pid === m.offer_to);
    const order = first ? [first, ...m.participants.filter((/** @type {any} */ p) => p !== first)] : m.participants;
    for (const person of order) if (this.call instanceof Call) this.call.connect(person.pid, person === first && spare === this.prepared.offered);
    if (this.call instanceof Call) this.call.releaseSpare();
    if (spare) this.#keys(() => this.e2ee?.start(m.you, m.uid));
    this.stage.tile(m.you, this.name, true);
    this.stage.showVideo(m.you, this.media.camera);
    this.people.upsert(this.#selfInfo());
    for (const person of m.participants) {
      this.#addPerson(person);
      this.#keys(() => this.e2ee?.addPeer(person.pid, person.uid, false));
    }
    if (this.call instanceof SfuCall) await this.call.start();
    this.#showE2EE();
    this.#publishState();
    showSection("call");
    this.devices.syncButtons();
  }

  /**
   * The call for the meeting's media mode, with the current local tracks.
   * @param {"p2p" | "sfu"} mode
   * @param {RTCPeerConnection | null} [spare]  for the first direct connection
   */
  #makeCall(mode, spare = null) {
    const options = {
      iceServers: this.iceServers,
      iceTransportPolicy: this.iceTransportPolicy,
      hooks: this.e2ee?.hooks,
      encodedStreams: this.e2ee?.support === "streams",
    };
    const call =
      mode === "sfu"
        ? new SfuCall((message) => this.send(message), { ...options, simulcast: this.simulcast })
        : new Call(this.selfPid, (to, payload) => this.send({ type: "signal", to, payload }), { ...options, spare });
    call.addEventListener("track", (event) => this.#onTrack(/** @type {CustomEvent} */ (event).detail));
    this.watch.follow(call);
    call.local.audio = this.media.audio;
    call.local.camera = this.media.camera;
    call.local.screen = this.media.screen;
    const mode_ = byId("media-mode");
    mode_.textContent = mode === "sfu" ? t("mode_sfu") : t("mode_p2p");
    mode_.dataset.mode = mode;
    return call;
  }

  /** The meeting moved to the SFU: close the direct connections, send through the SFU. */
  async #switchToSfu() {
    if (!this.selfPid || this.call instanceof SfuCall) return;
    this.call?.disconnectAll();
    this.watch.reset();
    const call = this.#makeCall("sfu");
    this.call = call;
    await call.start();
  }

  #selfInfo() {
    return {
      pid: this.selfPid, name: this.name, role: this.role, host: this.host,
      mic: Boolean(this.media.audio), cam: Boolean(this.media.camera), screen: Boolean(this.media.screen), hand: this.hand,
    };
  }

  /** @param {boolean} host */
  #setHost(host) {
    this.host = host;
    this.people.amHost = host;
    for (const element of document.querySelectorAll(".host-only")) /** @type {HTMLElement} */ (element).hidden = !host;
    this.people.render();
  }

  /** @param {any} person */
  #addPerson(person) {
    this.people.upsert(person);
    this.stage.tile(person.pid, person.name);
    this.stage.setState(person.pid, person);
  }

  /** @param {any} person */
  #updatePerson(person) {
    if (person.pid === this.selfPid) {
      if (person.host !== this.host) this.#setHost(person.host);
      this.role = person.role;
      this.people.upsert(this.#selfInfo());
      return;
    }
    this.people.upsert(person);
    this.stage.setState(person.pid, person);
    const screen = this.screens.get(person.pid);
    if (person.screen && screen) {
      this.stage.tile(`${person.pid}:screen`, `${person.name} – ${t("screen")}`);
      this.stage.showVideo(`${person.pid}:screen`, screen);
    } else if (!person.screen) {
      this.stage.remove(`${person.pid}:screen`);
    }
  }

  /**
   * @param {string} pid
   * @param {string} [reason]  "left", "kicked" or "disconnected"
   */
  #removePerson(pid, reason) {
    const name = this.people.people.get(pid)?.name;
    this.people.remove(pid);
    this.call?.disconnect(pid);
    this.stage.remove(pid);
    this.stage.remove(`${pid}:screen`);
    this.screens.delete(pid);
    if (name) this.notices.show(t(reason === "kicked" ? "removed_from_meeting" : "left_meeting", { name }));
  }

  /** @param {{pid: string, kind: string, track: MediaStreamTrack}} detail */
  #onTrack({ pid, kind, track }) {
    // A newcomer's offer may come just before the news that it joined: its tile, named then.
    const direct = this.call instanceof Call && this.call.peers.has(pid);
    if (direct && kind !== "screen" && !this.stage.tiles.has(pid)) this.stage.tile(pid, this.people.people.get(pid)?.name ?? "");
    if (kind === "audio") this.stage.playAudio(pid, track);
    else if (kind === "camera") this.stage.showVideo(pid, track);
    else {
      this.screens.set(pid, track);
      const person = this.people.people.get(pid);
      if (person) this.#updatePerson(person);
    }
  }

  /**
   * A local track was switched on, off or to another device.
   * @param {"audio" | "camera" | "screen"} kind
   * @param {MediaStreamTrack | null} track
   */
  async #published(kind, track) {
    // Until camera or microphone are allowed, Chromium names this machine's addresses only
    // by mDNS names: once they are, the prepared connection is made again with real ones.
    if (track && !this.selfPid && !this.signaling?.wanted) this.prepared.deviceAllowed();
    if (kind === "camera") {
      this.stage.showVideo(this.selfPid, track);
    }
    await this.call?.setTrack(kind, track);
    this.#publishState();
  }

  #publishState() {
    if (!this.selfPid) return;
    const info = this.#selfInfo();
    this.people.upsert(info);
    this.stage.setState(this.selfPid, info);
    this.send({ type: "media", mic: info.mic, cam: info.cam, screen: info.screen });
  }

  /** @param {{state: string, code?: number}} detail */
  #onState({ state, code }) {
    if (state === "connecting" || state === "open" || state === "reconnecting") this.status.connection(state);
    if (state === "open") this.call?.restartBroken();
    else if (state === "closed" && code !== undefined) {
      const known = CLOSE_MESSAGES[code];
      if (!this.selfPid && !known) this.#backToPrejoin(this.lastError || t("refused"));
      else this.#over(known ? t(known) : this.lastError || t("refused"), code);
    }
  }

  /**
   * @param {string} code
   * @param {string} message
   */
  #error(code, message) {
    const known = `refused_${code}`;
    this.lastError = t(known) !== known ? t(known) : t("error", { message });
    if (!this.selfPid) {
      this.#prejoinError(this.lastError);
      const password = /** @type {HTMLInputElement | null} */ (document.getElementById("meeting-password"));
      if (password && code === "wrong_password") {
        password.value = "";
        password.focus();
      }
      return;
    }
    if (byId("chat-panel").hidden === false && code === "invalid") this.chat.showError(this.lastError);
    else this.notices.show(this.lastError);
  }

  /** @param {string} text */
  #prejoinError(text) {
    const element = byId("prejoin-error");
    element.textContent = text;
    element.hidden = false;
  }

  /**
   * @param {string} message
   * @param {number} code the close code
   */
  #over(message, code) {
    this.prepared.take(false);
    this.call?.disconnectAll();
    this.call = null;
    this.watch.reset();
    this.media.stopAll();
    this.stage.clear();
    this.people.clear();
    this.chat.clear();
    this.chatCrypt.clear();
    byId("over-message").textContent = message;
    // An ended meeting stays ended: only its organiser can start it again. Someone removed
    // stays out until invited again: nothing to join.
    const ended = code === 4011;
    const organiser = byId("room").dataset.organiser === "true";
    byId("join-again").hidden = (ended && !organiser) || code === 4010;
    byId("join-again").textContent = ended ? t("start_again") : code === 4001 ? t("sign_in") : t("join_again");
    byId("over-hint").hidden = !ended || organiser;
    showSection("over");
  }

  /** Refused before entering (e.g. a wrong meeting password): let the user try again. */
  #backToPrejoin(/** @type {string} */ message) {
    this.#newSignaling();
    this.#prejoinError(message);
    byId("join").removeAttribute("disabled");
    showSection("prejoin");
  }

  leave() {
    this.signaling?.leave();
  }

  /** The encryption state, always visible: badge, security code, per-person warnings. */
  #showE2EE() {
    const state = this.e2ee?.state() ?? null;
    this.status.encryption(state);
    if (!state) return;
    this.people.keyStatus = new Map([...state.peers].map(([pid, p]) => [pid, p.theyFail ? "they_fail" : p.verified ? "verified" : p.status]));
    this.people.render();
  }

  /**
   * @param {string} buttonId
   * @param {string} panelId
   */
  #toggle(buttonId, panelId) {
    const button = byId(buttonId);
    button.addEventListener("click", () => {
      const panel = byId(panelId);
      panel.hidden = !panel.hidden;
      setPressed(button, !panel.hidden);
    });
  }

  async #pollLevels() {
    if (!this.call) return;
    this.call.fit(this.stage.widths());
    for (const [pid, level] of await this.call.audioLevels()) this.stage.setLevel(pid, level);
  }
}

loadStrings();
const room = new Room();
room.start();
