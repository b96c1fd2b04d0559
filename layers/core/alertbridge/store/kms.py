"""Field-level encryption of channel secrets with the stack's KMS key.

A channel's targets (webhook URL, HMAC secret, routing key, address, number) are sealed together,
as one KMS ``Encrypt`` of their JSON (well under KMS's 4 KiB plaintext limit), bound to the
channel's id by the encryption context: a sealed blob copied onto another channel does not open.
The table's own encryption at rest still applies; this keeps the secrets unreadable to anyone who
can read the table but may not use the key (every function but the notifier and management).
"""

from __future__ import annotations

import json
from typing import Any


class Sealer:
    def __init__(self, client: Any, key_id: str) -> None:
        self._kms = client  # a boto3 KMS client (no type stubs are installed for KMS)
        self._key = key_id

    def seal(self, owner: str, fields: dict[str, str]) -> bytes:
        resp = self._kms.encrypt(
            KeyId=self._key,
            Plaintext=json.dumps(fields, separators=(",", ":")).encode(),
            EncryptionContext={"channel": owner},
        )
        blob: bytes = resp["CiphertextBlob"]
        return blob

    def open(self, owner: str, blob: bytes) -> dict[str, str]:
        resp = self._kms.decrypt(CiphertextBlob=blob, KeyId=self._key, EncryptionContext={"channel": owner})
        fields: dict[str, str] = json.loads(resp["Plaintext"])
        return fields
