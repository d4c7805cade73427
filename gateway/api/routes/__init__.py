"""One router per resource; ``gateway.api.app`` includes them all."""
