"""The compliance report: checks of the configuration and the served pages against the
data-protection requirements, with evidence, for the data-protection officer.

- ``model``: requirements, check results, the report;
- ``facts``: what the checks judge, gathered once;
- ``checks/``: the checks, one module per group of requirements;
- ``scan`` and ``references``: the origin scan of the served pages and assets;
- ``tom``: the technical and organisational measures, and the organisation's duties;
- ``report``: runs everything; ``render``: text, Markdown, HTML and JSON;
- ``command``: ``conclave compliance``; ``options``: its arguments (parsed by every command).
"""
