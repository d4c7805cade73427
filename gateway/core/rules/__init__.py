"""Care rules in the core: they see every stored event and may derive new ones.

A rule is an object with ``name`` and ``on_event(event, ctx) -> list[Event]``
(pure given its own state and ``ctx.clock``); rules with timers also have
``async def run(ctx)``, a loop that sleeps on ``ctx.clock`` and calls
``await ctx.emit(events)``. Derived events are stored exactly like device
events, and every rule sees them too.
"""

from .engine import Rule, RuleContext, RulesRunner

__all__ = ["Rule", "RuleContext", "RulesRunner"]
