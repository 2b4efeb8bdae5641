"""Identity keys: each browser profile's long-term ECDSA P-256 public key, registered to
the account it signs in with. The server only stores and hands out public keys; clients
pin them per contact and verify each other (docs/e2ee.md)."""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from conclave.clock import Clock
from conclave.errors import N_, InvalidInput
from conclave.store import identity
from conclave.store.db import Database

MAX_KEYS_PER_USER = 10


def parse_identity_key(encoded: str) -> bytes:
    """The DER SPKI of a P-256 public key from base64; InvalidInput for anything else."""
    try:
        der = base64.b64decode(encoded, validate=True)
        key = load_der_public_key(der)
    except (binascii.Error, ValueError):
        raise InvalidInput(N_("The identity key is not valid."), reason="bad_identity") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise InvalidInput(N_("The identity key is not valid."), reason="bad_identity")
    return der


class IdentityKeys:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def register(self, user_id: int, encoded: str) -> None:
        der = parse_identity_key(encoded)
        canonical = base64.b64encode(der).decode()
        with self.db.transaction("register_identity") as tx:
            identity.touch_or_insert(tx, user_id, canonical, self.clock())
            identity.keep_newest(tx, user_id, MAX_KEYS_PER_USER)

    def of(self, user_id: int) -> list[str]:
        with self.db.transaction("identity_keys") as tx:
            return identity.keys_of(tx, user_id)
