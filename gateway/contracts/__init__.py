"""The published contracts in ``contracts/``, generated from the code and checked against it.

``contracts/`` is what a vendor or a consumer reads instead of our Python: the
JSON Schema of every event type, the CloudEvents mapping, the AsyncAPI of the
MQTT topics, the adapter contract and golden vectors. Everything in it that
can be derived from the code is derived here, so it cannot drift silently::

    python -m gateway.contracts write [DIR]   # regenerate (DIR defaults to ./contracts)
    python -m gateway.contracts check [DIR]   # exit 1 listing every difference
    python -m gateway.contracts vector ADAPTER --address TOPIC < payload
                                              # record a golden vector (then read it!)

Hand-written files (``adapter-contract.md``, ``CHANGELOG.md``) carry generated
blocks that ``write`` refreshes (see :mod:`.documents`). Golden vectors under
``vectors/<adapter>/`` are recorded once, checked by a person, and then replayed
by ``check``.
"""

from .examples import EXAMPLE_DATA, example_event
from .schemas import envelope_schema, event_schema, union_schema
from .tree import DEFAULT_DIR, check, generated_files, write
from .vectors import check_vector, decode_frame, record_vector

__all__ = [
    "DEFAULT_DIR",
    "EXAMPLE_DATA",
    "check",
    "check_vector",
    "decode_frame",
    "envelope_schema",
    "event_schema",
    "example_event",
    "generated_files",
    "record_vector",
    "union_schema",
    "write",
]
