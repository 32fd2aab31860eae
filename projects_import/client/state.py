"""What `send --schedule` remembers between days: for each tenant, the SHA-256 of the last
export it sent successfully. An export that has not changed since is worth a warning: the
upstream job that writes it may have missed a day, and the server would only answer a replay.

The state is a small JSON file (under `$PROJECTS_IMPORT_HOME` by default), written whole to a
temporary file and renamed into place, so a crash never leaves half of it. A file that cannot
be read is treated as empty: the worst outcome is one warning missed.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

STATE_FILE = "send-state.json"


@dataclass(frozen=True)
class LastSend:
    sha256: str
    file: str
    sent_at: str


class SendState:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        tenants = data.get("tenants") if isinstance(data, dict) else None
        return tenants if isinstance(tenants, dict) else {}

    def last(self, tenant_id: str) -> LastSend | None:
        """The tenant's last successful send, if one was recorded."""
        entry = self._read().get(tenant_id)
        if not isinstance(entry, dict):
            return None
        try:
            return LastSend(str(entry["sha256"]), str(entry["file"]), str(entry["sent_at"]))
        except KeyError:
            return None

    def record(self, tenant_id: str, sent: LastSend) -> None:
        """Remember a successful send (the file is replaced atomically)."""
        tenants = self._read()
        tenants[tenant_id] = asdict(sent)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".send-state-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"tenants": tenants}, handle, indent=2, sort_keys=True)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
