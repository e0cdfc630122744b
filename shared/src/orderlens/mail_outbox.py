"""The file mail outbox: one RFC 5322 `.eml` file per message, written atomically (temporary
name, then rename) so a reader never sees half a message. Locally and in tests the outbox is where
buyer mail goes (query-api's sign-in links, the notifier's shipping mails); a mail relay can pick
the files up in production. Both services write through this one class (`MAIL_OUTBOX_DIR`).

API:
- `FileOutbox(directory, sender)`; `send(to, subject, body, name=None) -> Path`.
- `message_name(key)`: a stable file name for a message with an idempotency key. Sending the same
  name again replaces the file with the same message, so a sender that retries after a crash
  leaves one message, never two (the notifier's mail log, decision 0186).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path


def message_name(key: str) -> str:
    return f"msg-{hashlib.sha256(key.encode()).hexdigest()[:32]}.eml"


class FileOutbox:
    def __init__(self, directory: str | Path, sender: str) -> None:
        self._directory = Path(directory)
        self._sender = sender

    @property
    def directory(self) -> Path:
        return self._directory

    def send(self, to: str, subject: str, body: str, name: str | None = None) -> Path:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        message["Message-ID"] = make_msgid(domain=self._sender.rpartition("@")[2] or None)
        message.set_content(body)
        self._directory.mkdir(parents=True, exist_ok=True)
        name = name or f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}.eml"
        temporary = self._directory / f".{name}.{secrets.token_hex(4)}.tmp"
        temporary.write_bytes(bytes(message))
        final = self._directory / name
        os.replace(temporary, final)
        return final
