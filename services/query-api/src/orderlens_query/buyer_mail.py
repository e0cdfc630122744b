"""The file mail outbox (adapter): one RFC 5322 `.eml` file per message, written atomically
(temporary name, then rename) so a reader never sees half a message. Locally and in tests the
outbox is where buyer mail goes; a mail relay can pick the files up in production."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path


class FileOutbox:
    def __init__(self, directory: str | Path, sender: str) -> None:
        self._directory = Path(directory)
        self._sender = sender

    def send(self, to: str, subject: str, body: str) -> Path:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        message.set_content(body)
        self._directory.mkdir(parents=True, exist_ok=True)
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}.eml"
        temporary = self._directory / f".{name}.tmp"
        temporary.write_bytes(bytes(message))
        final = self._directory / name
        os.replace(temporary, final)
        return final
