// @ts-check
/**
 * The signaling client: one WebSocket to /ws/meetings/{id}, the version handshake,
 * automatic reconnection with a resume token, and ping/pong. No DOM here.
 *
 * Events (all `CustomEvent`s, `detail` shown):
 * - `message`  {type, ...}      every server message except ping
 * - `state`    {state, code?}   "connecting" | "open" | "reconnecting" | "closed"
 */

export const PROTOCOL_VERSION = 1;

/** Close codes after which reconnecting cannot help (docs/protocol.md). */
const FINAL_CODES = new Set([1000, 4000, 4001, 4003, 4004, 4008, 4009, 4010, 4011, 4012, 4029, 4030]);
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 5000;
const OPEN = 1; // WebSocket.OPEN, also for the WebSocketClass a caller passes

/**
 * @typedef {{type: string, [key: string]: any}} Message
 * @typedef {"connecting" | "open" | "reconnecting" | "closed"} ConnectionState
 */

export class SignalingClient extends EventTarget {
  /**
   * @param {string} url  the wss:// URL of the meeting's socket
   * @param {{password?: string, identity?: string, WebSocketClass?: typeof WebSocket}} [options]
   */
  constructor(url, options = {}) {
    super();
    this.url = url;
    this.password = options.password || undefined;
    this.identity = options.identity || undefined;
    this.WebSocketClass = options.WebSocketClass || WebSocket;
    /** @type {string | undefined} */
    this.resumeToken = undefined;
    /** @type {WebSocket | null} */
    this.socket = null;
    /** @type {ConnectionState} */
    this.state = "closed";
    this.retryMs = RETRY_MIN_MS;
    this.stopped = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
    /** `connect` was called: every socket from now on says hello. */
    this.wanted = false;
    /** Fields for the next hello only. @type {Record<string, unknown>} */
    this.first = {};
    /** Sockets that said hello. @type {WeakSet<WebSocket>} */
    this.said = new WeakSet();
  }

  /**
   * Open the socket ahead of `connect`, while the user is still on the pre-join screen: it
   * says nothing until then (the server waits up to ten minutes for hello). If it closes
   * meanwhile, `connect` opens another.
   */
  preconnect() {
    if (!this.socket) this.#socket();
  }

  /**
   * Say hello (on the preconnected socket if it is open) and stay connected from now on.
   * @param {{media?: {mic: boolean, cam: boolean}, offer?: RTCSessionDescriptionInit}} [first]
   *   fields of this first hello only (docs/protocol.md), not of later reconnections
   */
  connect(first = {}) {
    this.stopped = false;
    this.wanted = true;
    this.first = first;
    this.#setState("connecting");
    const socket = this.socket;
    if (!socket || socket.readyState > OPEN) this.#socket();
    else if (socket.readyState === OPEN) this.#hello(socket);
    // still connecting: its "open" says hello
  }

  /** @param {Message} message */
  send(message) {
    if (this.socket && this.socket.readyState === OPEN && this.said.has(this.socket)) {
      this.socket.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  /** Leave on purpose: tell the server, then stop reconnecting. */
  leave() {
    this.stopped = true;
    this.wanted = false; // a socket still connecting must not say hello any more
    clearTimeout(this.retryTimer);
    this.send({ type: "leave" });
    if (this.socket && !this.said.has(this.socket)) this.socket.close();
    this.#setState("closed", 1000);
  }

  /** @param {WebSocket} socket */
  #hello(socket) {
    /** @type {Message} */
    const hello = { type: "hello", version: PROTOCOL_VERSION, ...this.first };
    this.first = {};
    if (this.resumeToken) hello.resume = this.resumeToken;
    if (this.password) hello.password = this.password;
    if (this.identity) hello.identity = this.identity;
    socket.send(JSON.stringify(hello));
    this.said.add(socket);
  }

  #socket() {
    const socket = new this.WebSocketClass(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      if (this.wanted && !this.stopped && socket === this.socket) this.#hello(socket);
    });
    socket.addEventListener("message", (event) => {
      // Only the current socket, once it said hello: a preconnected one may be refused or
      // time out (ten minutes) without the user having asked for anything.
      if (socket === this.socket && this.said.has(socket)) this.#receive(event.data);
    });
    socket.addEventListener("close", (event) => {
      if (socket !== this.socket) return;
      this.socket = null;
      if (this.stopped || !this.wanted) return; // a preconnected socket: connect opens another
      if (FINAL_CODES.has(event.code) && this.said.has(socket)) {
        this.stopped = true;
        this.#setState("closed", event.code);
        return;
      }
      this.#setState("reconnecting", event.code);
      this.retryTimer = setTimeout(() => this.#socket(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    });
  }

  /** @param {unknown} data */
  #receive(data) {
    if (typeof data !== "string") return;
    /** @type {Message} */
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message.resume) this.resumeToken = message.resume;
    if (message.type === "ping") {
      this.send({ type: "pong" });
      return;
    }
    if (message.type === "welcome" || message.type === "lobby") {
      this.retryMs = RETRY_MIN_MS;
      this.#setState("open");
    }
    this.dispatchEvent(new CustomEvent("message", { detail: message }));
  }

  /**
   * @param {ConnectionState} state
   * @param {number} [code]
   */
  #setState(state, code) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, code } }));
  }
}
