"""Navet's FHIR R5 facade: mapping, validation, search, subscriptions, messages.

- :mod:`.mapping` turns events and care data into R5 resources (JSON dicts);
- :mod:`.checks` validates every emitted resource with fhir.resources and with
  Navet's own rules (bound codes, reference target types);
- :mod:`.repository` reads and searches one tenant's resources from the store;
- :mod:`.topics`, :mod:`.subscriptions`, :mod:`.channels` are the R5
  topic-based subscriptions (rest-hook and websocket) over the durable outbox;
- :mod:`.bundles` and :mod:`.capability` build what the HTTP layer answers
  (``gateway.api.routes.fhir``, mounted at ``/fhir/r5``).

See docs/fhir.md.
"""

from .checks import FhirValidationError, Issue, navet_issues, structural_issues, validate
from .codes import RESOURCE_TYPES
from .repository import FhirRepository

__all__ = [
    "RESOURCE_TYPES",
    "FhirRepository",
    "FhirValidationError",
    "Issue",
    "navet_issues",
    "structural_issues",
    "validate",
]
