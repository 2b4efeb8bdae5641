"""axe-core, the accessibility rules engine, run in a page: every violation, as text.

axe-core comes from npm (``scripts/js-deps.sh``, which ``make test`` runs) into
``build/npm``; it is injected with ``page.evaluate``, which the pages' CSP does not block.
Without it the test is skipped, and under CI=true a skip is a failure (tests/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[2] / "build/npm/node_modules/axe-core/axe.min.js"

# Every rule axe runs by default (WCAG 2.x A and AA, and its best practices), in the page.
RUN = """
async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => `${v.id} (${v.impact}): ${v.help}\\n` + v.nodes.map(
    n => `    ${n.target.join(" ")}: ${n.failureSummary.replace(/\\s+/g, " ")}`).join("\\n"));
}
"""


def axe_violations(page: Page) -> list[str]:
    """axe-core's violations on the page as it is now; [] when it passes."""
    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed at {AXE} (scripts/js-deps.sh)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text())
    violations: list[str] = page.evaluate(RUN)
    return violations
