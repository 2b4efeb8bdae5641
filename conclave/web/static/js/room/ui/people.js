// @ts-check
/**
 * The participant overview (name, role, microphone, camera, hand; moderation buttons for
 * hosts) and the lobby requests hosts answer with admit or deny.
 */
import { make } from "./dom.js";
import { t } from "../i18n.js";

/**
 * @typedef {{pid: string, name: string, role: string, host: boolean, mic: boolean,
 *            cam: boolean, screen: boolean, hand: boolean}} ParticipantInfo
 * @typedef {(message: {type: string, pid: string}) => void} Sender
 */

export class People {
  /**
   * @param {HTMLElement} list
   * @param {HTMLElement} count
   * @param {HTMLElement} requests
   * @param {Sender} send
   */
  constructor(list, count, requests, send) {
    this.list = list;
    this.count = count;
    this.requests = requests;
    this.send = send;
    /** @type {Map<string, ParticipantInfo>} */
    this.people = new Map();
    this.selfPid = "";
    this.amHost = false;
    /** @type {Map<string, string>} pid → e2ee status (see E2EE.state) */
    this.keyStatus = new Map();
    /** @type {Map<string, {signature: string, element: HTMLElement}>} */
    this.elements = new Map();
  }

  /** @param {ParticipantInfo} person */
  upsert(person) {
    this.people.set(person.pid, person);
    this.render();
  }

  /** @param {string} pid */
  remove(pid) {
    this.people.delete(pid);
    this.elements.delete(pid);
    this.render();
  }

  clear() {
    this.people.clear();
    this.elements.clear();
    this.requests.replaceChildren();
    this.render();
  }

  /** Update the list in place: unchanged entries keep their elements (and focus). */
  render() {
    const count = this.people.size === 1 ? t("one_participant") : t("participants", { count: this.people.size });
    if (this.count.textContent !== count) this.count.textContent = count;
    const items = [...this.people.values()]
      .sort((a, b) => Number(b.pid === this.selfPid) - Number(a.pid === this.selfPid) || a.name.localeCompare(b.name))
      .map((person) => this.#cached(person));
    const current = [...this.list.children];
    if (current.length !== items.length || current.some((element, i) => element !== items[i])) {
      this.list.replaceChildren(...items);
    }
  }

  /** @param {ParticipantInfo} person */
  #cached(person) {
    const signature = JSON.stringify([person, this.amHost, this.selfPid, this.keyStatus.get(person.pid) || ""]);
    const known = this.elements.get(person.pid);
    if (known && known.signature === signature) return known.element;
    const element = this.#item(person);
    this.elements.set(person.pid, { signature, element });
    return element;
  }

  /** @param {ParticipantInfo} person */
  #item(person) {
    const self = person.pid === this.selfPid;
    const item = make("li", { "data-pid": person.pid });
    const roles = [t(person.role), person.host ? t("host") : ""].filter(Boolean).join(", ");
    item.append(make("span", { class: "name" }, self ? `${person.name} (${t("you")})` : person.name));
    item.append(make("span", { class: "role" }, roles));
    const states = [
      person.mic ? t("mic_on") : t("mic_off"),
      person.cam ? t("cam_on") : t("cam_off"),
      person.hand ? t("hand_raised") : "",
      person.screen ? t("screen") : "",
    ].filter(Boolean);
    item.append(make("span", { class: "states" }, states.join(" · ")));
    const keys = this.keyStatus.get(person.pid);
    if (keys) {
      const loud = ["changed", "invalid", "failing", "they_fail"].includes(keys);
      item.append(make("span", { class: loud ? "keys warning" : "keys", "data-e2ee": keys, role: loud ? "alert" : "note" }, t(`keys_${keys}`)));
    }
    if (person.hand) item.classList.add("hand");
    if (this.amHost && !self) item.append(this.#moderation(person));
    return item;
  }

  /** @param {ParticipantInfo} person */
  #moderation(person) {
    const box = make("span", { class: "row moderation" });
    /** @type {[string, string, boolean, string][]} type, label, shown, question asked first */
    const actions = [
      ["mute", "mute", person.mic, ""],
      ["ask_unmute", "ask_unmute", !person.mic, ""],
      ["promote", "promote", !person.host, ""],
      ["kick", "remove", true, "remove_confirm"], // not undone by a click: asked first
    ];
    for (const [type, label, shown, question] of actions) {
      if (!shown) continue;
      const button = make("button", { type: "button", class: "secondary small", "data-action": type }, t(label, { name: person.name }));
      button.addEventListener("click", () => {
        if (!question || window.confirm(t(question, { name: person.name }))) this.send({ type, pid: person.pid });
      });
      box.append(button);
    }
    return box;
  }

  /** @param {{pid: string, name: string, role: string}[]} entries */
  showLobby(entries) {
    if (!this.amHost) {
      this.requests.replaceChildren();
      return;
    }
    const rows = entries.map((entry) => {
      const row = make("div", { class: "lobby-request notice", "data-pid": entry.pid });
      row.append(make("span", {}, t("waiting", { name: `${entry.name} (${t(entry.role)})` })));
      for (const type of ["admit", "deny"]) {
        const button = make(
          "button",
          { type: "button", class: type === "admit" ? "small" : "secondary small", "data-action": type },
          t(type, { name: entry.name }),
        );
        button.addEventListener("click", () => this.send({ type, pid: entry.pid }));
        row.append(button);
      }
      return row;
    });
    this.requests.replaceChildren(...rows);
  }
}
