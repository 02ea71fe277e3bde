"""Interview files a volunteer saves from the phone, sealed so that only this server can open them.

The phone encrypts (WebCrypto) its queue and drafts with a fresh AES-256-GCM key and wraps that key
with the server's RSA-OAEP (SHA-256) public key, so answers and contact details never sit readable
in a Downloads folder. Inside the sealed part travels the volunteer's identity, a statement the
server signed when it gave the app its shell (:func:`identity_for`); on import the server checks it
and stores every interview under that volunteer. Cryptography comes from the ``cryptography``
package; nothing here is hand-made but the file's JSON envelope::

    {"format": "khaosat-interviews/1", "key_id": "...", "wrapped_key": b64, "iv": b64, "data": b64}

The private key is ``KHAOSAT_EXPORT_KEY`` (a PEM string) or ``instance/export_key.pem``, made on
first use; keep a copy: files sealed to a lost key cannot be opened.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

FORMAT = "khaosat-interviews/1"
_SALT = "khaosat-collect-identity"
_OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class SealedFileError(ValueError):
    """A file that cannot be opened; ``code`` names why (the web layer words it)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass
class Opened:
    user_id: int  #: the volunteer whose phone sealed the file
    username: str
    items: list[dict[str, Any]] = field(default_factory=list)  #: queued and draft interviews as the phone kept them


def _private_key() -> rsa.RSAPrivateKey:
    cached = current_app.extensions.get("khaosat_export_key")
    if cached is not None:
        return cached
    pem = current_app.config.get("KHAOSAT_EXPORT_KEY")
    if pem:
        key = _loaded(pem.encode())
    else:
        path = Path(current_app.instance_path) / "export_key.pem"
        if not path.exists():
            _create_key(path)
        key = _loaded(path.read_bytes())
    current_app.extensions["khaosat_export_key"] = key
    return key


@functools.lru_cache(maxsize=4)
def _loaded(pem: bytes) -> rsa.RSAPrivateKey:
    """The key in ``pem``, checked once per process: loading a 3072-bit key checks it (110 ms), and every app
    made in the process (the suite makes hundreds) would pay that again for the same bytes."""
    return serialization.load_pem_private_key(pem, password=None)


def _create_key(path: Path) -> None:
    """Make the key file once: of several workers starting together, the first to create it wins
    and the others read its key (an exclusive create, then a rename of the finished file)."""
    fresh = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    pem = fresh.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    try:
        os.link(partial, path)  # fails if another worker's key is already there
    except FileExistsError:
        pass
    finally:
        partial.unlink()


def public_key() -> dict[str, str]:
    """The public half for the phone: SubjectPublicKeyInfo (DER, base64) and a short id."""
    der = _private_key().public_key().public_bytes(serialization.Encoding.DER,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    return {"spki": base64.b64encode(der).decode(), "key_id": hashlib.sha256(der).hexdigest()[:16]}


def identity_for(user_id: int, username: str) -> str:
    """A statement, signed by the server, of whose phone this is."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT).dumps({"uid": user_id, "u": username})


def _b64(envelope: dict, key: str) -> bytes:
    value = envelope.get(key)
    if not isinstance(value, str):
        raise SealedFileError("not_ours")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SealedFileError("not_ours") from None


def open_file(raw: bytes) -> Opened:
    """Decrypt and check a sealed file; :class:`SealedFileError` when it is not one we can trust."""
    try:
        envelope = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise SealedFileError("not_ours") from None
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
        raise SealedFileError("not_ours")
    if envelope.get("key_id") != public_key()["key_id"]:
        raise SealedFileError("other_key")
    wrapped, iv, data = _b64(envelope, "wrapped_key"), _b64(envelope, "iv"), _b64(envelope, "data")
    try:
        secret = _private_key().decrypt(wrapped, _OAEP)
        plain = AESGCM(secret).decrypt(iv, data, None)
        payload = json.loads(plain)
    except (ValueError, InvalidTag, RecursionError):
        raise SealedFileError("damaged") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("items"), list):
        raise SealedFileError("damaged")
    try:
        who = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT).loads(payload.get("identity") or "")
    except BadSignature:
        raise SealedFileError("unsigned") from None
    items = [i for i in payload["items"] if isinstance(i, dict)]
    return Opened(user_id=int(who["uid"]), username=str(who["u"]), items=items)
