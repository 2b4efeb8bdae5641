"""Invitation e-mail through the configured SMTP server (aiosmtplib)."""

from __future__ import annotations

import logging

from conclave.config import SmtpSettings

log = logging.getLogger("conclave.mail")


class Mailer:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    @property
    def configured(self) -> bool:
        return self.settings.host is not None

    async def send(self, to: str, subject: str, body: str) -> bool:
        """Send one plain-text mail; False (and a log line without the address) on failure."""
        if self.settings.host is None:
            return False
        # Imported here: most servers send no mail, and none at start (issue 2).
        from email.message import EmailMessage

        import aiosmtplib

        message = EmailMessage()
        message["From"] = self.settings.from_address
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        password = self.settings.password.get_secret_value() if self.settings.password else None
        try:
            await aiosmtplib.send(
                message,
                hostname=self.settings.host,
                port=self.settings.port,
                username=self.settings.username,
                password=password,
                start_tls=self.settings.starttls and not self.settings.use_tls,
                use_tls=self.settings.use_tls,
                timeout=self.settings.timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            log.warning("invitation mail not sent", extra={"reason": type(exc).__name__})
            return False
        return True
