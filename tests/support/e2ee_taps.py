"""Test-side instruments for end-to-end encryption tests. The product has no code path
that exports keys or frames: these scripts, injected by the tests only, observe them.

- KEY_CAPTURE wraps the page's crypto.subtle.decrypt and records every unwrapped media
  key (a 16-byte AES-GCM result whose additional data is "sender>recipient\\nkid").
- WORKER_TAP makes the page load a tap in front of the frame worker, which copies the
  encrypted frames each receiver gets (before decryption) to `window.__tapped`.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import BrowserContext, Page, Route

KEY_CAPTURE = """
window.__keys = [];
const originalDecrypt = crypto.subtle.decrypt.bind(crypto.subtle);
crypto.subtle.decrypt = async (algorithm, key, data) => {
  const result = await originalDecrypt(algorithm, key, data);
  if (algorithm && algorithm.name === "AES-GCM" && algorithm.additionalData && result.byteLength === 16) {
    const aad = new TextDecoder().decode(algorithm.additionalData);
    const [pair, kid] = aad.split("\\n");
    const [from, to] = pair.split(">");
    window.__keys.push({from, to, kid: Number(kid), key: Array.from(new Uint8Array(result))});
  }
  return result;
};
"""

WORKER_TAP = """
window.__tapped = [];
const RealWorker = window.Worker;
window.Worker = function (url, options) {
  const href = String(url);
  const tapped = href.endsWith("/e2ee/worker.js") ? href.replace("/e2ee/worker.js", "/e2ee/tap-worker.js") : href;
  const worker = new RealWorker(tapped, options);
  worker.addEventListener("message", (event) => {
    if (event.data && event.data.kind === "tap") {
      window.__tapped.push({pid: event.data.pid, kind: event.data.media, data: Array.from(event.data.data)});
      if (window.__tapped.length > 400) window.__tapped.splice(0, 100);
    }
  });
  return worker;
};
window.Worker.prototype = RealWorker.prototype;
"""

# The tap worker is two static imports, evaluated in order before any event arrives: the
# patch, then the product's worker. (A top-level `await import()` would let the first
# rtctransform events pass before the worker listens, and lose them.)
TAP_WORKER_SOURCE = 'import "./tap-patch.js";\nimport "./worker.js";\n'

TAP_PATCH_SOURCE = """
const add = self.addEventListener.bind(self);
self.addEventListener = (type, listener, ...rest) => {
  if (type !== "rtctransform") return add(type, listener, ...rest);
  return add(type, (event) => {
    const t = event.transformer;
    if (t.options.side !== "receive" || t.options.kind !== "audio") return listener(event);
    const copy = new TransformStream({
      transform(frame, controller) {
        self.postMessage({kind: "tap", pid: t.options.pid, media: t.options.kind,
                          data: new Uint8Array(frame.data).slice()});
        controller.enqueue(frame);
      },
    });
    listener({transformer: {readable: t.readable.pipeThrough(copy), writable: t.writable, options: t.options}});
  }, ...rest);
};
"""


def install_worker_tap(context: BrowserContext) -> None:
    def serve(route: Route) -> None:
        patch = route.request.url.endswith("/tap-patch.js")
        body = TAP_PATCH_SOURCE if patch else TAP_WORKER_SOURCE
        route.fulfill(status=200, content_type="text/javascript", body=body)

    context.route("**/static/js/e2ee/tap-*.js", serve)
    context.add_init_script(WORKER_TAP)


def captured_keys(page: Page) -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = page.evaluate("window.__keys")
    return keys
