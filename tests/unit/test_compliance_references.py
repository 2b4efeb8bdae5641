"""The origin scan's reading of HTML, CSS and JavaScript, and the scan of the installed files."""

from __future__ import annotations

from conclave.compliance.references import (
    Ref,
    css_references,
    html_references,
    js_references,
)
from conclave.compliance.report import scan_installed_files
from conclave.compliance.scan import local_url, origin_of


def _loads(refs: list[Ref]) -> list[str]:
    return [ref.target for ref in refs if ref.loads]


def test_html_loads_and_links() -> None:
    page = """<!doctype html><html><head>
    <link rel="stylesheet" href="/static/a.css"><link rel="icon" href="/favicon.svg">
    <link rel="preconnect" href="https://fonts.gstatic.com"><link rel="canonical" href="https://x.example/">
    <script type="module" src="/static/m.js"></script>
    <script type="application/json">{"url": "https://data.example/"}</script>
    <style>body { background: url("https://img.example/bg.png") }</style>
    <meta http-equiv="refresh" content="5; url=https://away.example/">
    </head><body style="background-image: url(/static/dot.png)">
    <img src="/i.png" srcset="/i2.png 2x, https://cdn.example/i3.png 3x">
    <iframe src="https://video.example/embed"></iframe>
    <form action="https://collect.example/form"></form>
    <a href="https://example.org/imprint">Imprint</a>
    </body></html>"""
    refs = html_references(page)
    assert _loads(refs) == [
        "/static/a.css",
        "/favicon.svg",
        "https://fonts.gstatic.com",
        "/static/m.js",
        "https://img.example/bg.png",
        "https://away.example/",
        "/static/dot.png",
        "/i.png",
        "/i2.png",
        "https://cdn.example/i3.png",
        "https://video.example/embed",
        "https://collect.example/form",
    ]
    links = [ref.target for ref in refs if not ref.loads]
    assert links == ["https://x.example/", "https://example.org/imprint"]


def test_css_urls_and_imports_without_comments() -> None:
    css = """
    /* url(https://commented.example/x.png) */
    @import "https://fonts.googleapis.com/css?family=Roboto";
    @import url('/static/more.css');
    .a { background: url( "/static/a.png" ) }
    @font-face { src: url(https://fonts.example/f.woff2) format("woff2"); }
    """
    assert [(ref.target, ref.how) for ref in css_references(css)] == [
        ("https://fonts.googleapis.com/css?family=Roboto", "CSS @import"),
        ("/static/more.css", "CSS @import"),
        ("/static/a.png", "CSS url()"),
        ("https://fonts.example/f.woff2", "CSS url()"),
    ]


def test_js_imports_fetches_and_absolute_strings() -> None:
    js = """
    // import "https://commented.example/x.js";
    /* fetch("https://commented.example/api") */
    import { a } from "./a.js";
    import "../side-effect.js";
    const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    const lazy = await import("./lazy.js");
    fetch("https://api.example/v1");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = `${scheme}//${location.host}/ws`;
    const cdn = 'https://cdn.example/lib.js';
    const relative = "//tracker.example/pixel.gif";
    const escaped = "https:\\/\\/json.example\\/x";
    """
    assert _loads(js_references(js)) == [
        "./a.js",
        "../side-effect.js",
        "./worker.js",
        "./lazy.js",
        "https://api.example/v1",
        "https://cdn.example/lib.js",
        "//tracker.example/pixel.gif",
        "https://json.example/x",
    ]


def test_origins() -> None:
    assert origin_of("https://Meet.Example.org/x") == "https://meet.example.org:443"
    assert origin_of("wss://meet.example.org:443/ws") == "https://meet.example.org:443"
    assert origin_of("http://[::1]:8080/") == "http://[::1]:8080"
    assert local_url("0.0.0.0", 8443) == "https://127.0.0.1:8443"
    assert local_url("::", 8443) == "https://[::1]:8443"
    assert local_url("10.0.0.4", 443) == "https://10.0.0.4:443"


def test_installed_templates_and_static_files_refer_to_no_other_origin() -> None:
    scan = scan_installed_files()
    names = [resource.url for resource in scan.resources]
    assert any(name.endswith("/base.html") for name in names)
    assert any(name.endswith("/static/js/room/main.js") for name in names)
    assert any(name.endswith("/static/css/app.css") for name in names)
    assert scan.foreign == ()
