"""AES for DC-09 accounts: CBC, all-zero IV, random leading pad, uppercase hex on the wire.

reference/alarm-centre-protocols.md §2.1.3: the encrypted region is
everything after the header's ``[``; its plaintext is
``<pad>|<data>][x-data]_timestamp`` (``<pad>]_timestamp`` for NULL and for
responses), padded at the *start* to a multiple of 16 with characters other
than ``[``, ``]`` and ``|``. The zero IV is what the protocol prescribes, not
a choice of ours; the random pad is what keeps equal messages from giving
equal ciphertexts.
"""

from __future__ import annotations

import re
import secrets
import string

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .frame import Dc09Error, DecryptError, Frame, Message, parse_timestamp, split_content

BLOCK = 16
ZERO_IV = bytes(BLOCK)
KEY_SIZES = (16, 24, 32)
_PAD_ALPHABET = string.ascii_letters + string.digits  # never '[', ']' or '|'
_HEX = frozenset("0123456789abcdefABCDEF")
_ENDS_WITH_TIMESTAMP = re.compile(r"\]_\d\d:\d\d:\d\d,\d\d-\d\d-\d{4}$")


def _cipher(key: bytes) -> Cipher[modes.CBC]:
    if len(key) not in KEY_SIZES:
        raise ValueError(f"AES key must be 16, 24 or 32 bytes, got {len(key)}")
    return Cipher(algorithms.AES(key), modes.CBC(ZERO_IV))


def seal(key: bytes, content: str, *, has_data: bool) -> str:
    """Encrypt ``content`` (``data]x_ts`` or ``]_ts``) to uppercase hex.

    ``has_data`` puts the ``|`` that separates pad from data; NULL messages
    and responses have none.
    """
    plain = ("|" + content) if has_data else content
    # Always at least one pad character (a whole block when the text already
    # fills blocks), so the same message never gives the same ciphertext.
    pad = "".join(secrets.choice(_PAD_ALPHABET) for _ in range(BLOCK - len(plain) % BLOCK))
    raw = (pad + plain).encode("ascii")
    enc = _cipher(key).encryptor()
    return (enc.update(raw) + enc.finalize()).hex().upper()


def unseal(key: bytes, region: str) -> str:
    """Decrypt the hex region and strip the pad; returns ``data]x_ts`` or ``]_ts``.

    The pad is random by design and is not checked: it ends at the first
    ``|`` or ``]`` (characters no pad may contain), and may hold any other
    byte, control characters included (dc09-spt pads with ``chr(20..125)``).
    What follows the pad is checked instead: printable ASCII with a ``]``,
    ending in the ``_HH:MM:SS,MM-DD-YYYY`` timestamp every encrypted message
    carries. A wrong key gives random bytes there, which fail this check
    (about one wrong-key block in a hundred ends in a lone ``]``; the
    timestamp is what refuses that one).

    :raises DecryptError: the region is not whole AES blocks of hex, or the
        text after the pad is not printable ASCII with a ``]`` and a timestamp.
    """
    if not region or len(region) % (2 * BLOCK) or not _HEX.issuperset(region):
        raise DecryptError(
            f"encrypted region of {len(region)} characters is not whole 16-byte AES blocks "
            "in hex"
        )
    dec = _cipher(key).decryptor()
    raw = dec.update(bytes.fromhex(region)) + dec.finalize()
    ends = [i for i in (raw.find(b"|"), raw.find(b"]")) if i >= 0]
    if not ends:
        raise DecryptError("decrypted text has no '|' or ']' after the pad: wrong key or "
                           "corrupted frame")
    end = min(ends)
    text = raw[end + 1:] if raw[end:end + 1] == b"|" else raw[end:]
    try:
        plain = text.decode("ascii")
    except UnicodeDecodeError:
        raise DecryptError("decrypted text after the pad is not ASCII: wrong key or "
                           "corrupted frame") from None
    if not plain.isprintable():
        raise DecryptError("decrypted text after the pad is not printable: wrong key or "
                           "corrupted frame")
    if "]" not in plain:
        raise DecryptError("decrypted text has no ']': wrong key or corrupted frame")
    if not _ENDS_WITH_TIMESTAMP.search(plain):
        raise DecryptError("decrypted text does not end in a _HH:MM:SS,MM-DD-YYYY timestamp: "
                           "wrong key, corrupted frame, or an encrypted message without the "
                           "timestamp it must carry")
    return plain


def open_message(frame: Frame, key: bytes | None) -> Message:
    """Decrypt (when needed) and split a frame into data, x-data and timestamp.

    :raises DecryptError: encrypted without a usable key, or does not decrypt.
    :raises Dc09Error: the opened content is malformed.
    """
    where = f"{frame.token} {frame.seq} from #{frame.account}"
    content = frame.content
    if frame.encrypted:
        if key is None:
            raise DecryptError(f"{where} is encrypted but account has no key")
        content = unseal(key, content)
    data, xdata, stamp = split_content(content, where=where)
    when = parse_timestamp(stamp) if stamp is not None else None
    if frame.encrypted and when is None:
        raise Dc09Error(f"{where}: an encrypted message must carry a timestamp")
    return Message(frame=frame, data=data, xdata=xdata, timestamp=when, timestamp_text=stamp)


def open_with_any(frame: Frame, keys: list[bytes]) -> tuple[Message, bytes | None]:
    """Open ``frame`` with the first of ``keys`` that decrypts it (rotation: current, next).

    A clear frame opens without a key. :raises DecryptError: none of the keys fits.
    """
    if not frame.encrypted or not keys:
        return open_message(frame, None), None  # encrypted without a key: it says why
    last: DecryptError | None = None
    for key in keys:
        try:
            return open_message(frame, key), key
        except DecryptError as err:
            last = err
    assert last is not None
    raise last
