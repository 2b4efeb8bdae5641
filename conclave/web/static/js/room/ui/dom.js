// @ts-check
/** Small DOM helpers shared by the room's UI modules. */

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return /** @type {T} */ (element);
}

/**
 * Create an element with text and attributes (text, never HTML: no injection).
 * @param {string} tag
 * @param {Record<string, string>} [attributes]
 * @param {string} [text]
 */
export function make(tag, attributes = {}, text = "") {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  if (text) element.textContent = text;
  return element;
}

/**
 * @param {HTMLElement} button
 * @param {boolean} pressed
 */
export function setPressed(button, pressed) {
  button.setAttribute("aria-pressed", String(pressed));
}

/** Show exactly one of the room's top-level sections. */
export function showSection(/** @type {string} */ id) {
  for (const section of ["prejoin", "lobby", "call", "over"]) {
    byId(section).hidden = section !== id;
  }
}
