"""``conclave compliance``: run every check and print the report.

Exit status 0 when no check failed (warnings allowed), 1 otherwise; an invalid
configuration is refused before (status 2, as for every command).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from conclave.compliance.render import render_report
from conclave.compliance.report import make_report, probe_log, scan_installed_files, scan_url
from conclave.config import Settings
from conclave.services import Services


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.url:
        scan = scan_url(settings, args.url, insecure=args.insecure, ca_files=args.ca_file)
    else:
        scan = scan_installed_files()
    services = existing_services(settings)
    try:
        report = make_report(settings, scan, services=services, log_probe=probe_log(settings))
    finally:
        if services is not None:
            services.db.dispose()
    sys.stdout.write(render_report(report, args.format, args.lang))
    return report.exit_status


def existing_services(settings: Settings) -> Services | None:
    """The installation's services when its database exists; a report creates nothing."""
    url = settings.database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return None
    from conclave.services import build_services

    return build_services(settings)
