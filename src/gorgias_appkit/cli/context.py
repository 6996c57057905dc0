"""How every command gets its :class:`Kit` and how the kit's errors become exit codes, once.

:func:`pass_kit` hands a command the kit built from the ``GORGIAS_*`` environment, built on
first use and closed when the command ends (``ctx.call_on_close``). :class:`KitGroup` is the
group class of every command group: a :class:`GorgiasAppError` anywhere below it prints one
plain sentence and exits 1; anything else keeps its traceback (a bug to report).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import update_wrapper
from typing import Any
from typing import TypeVar

import click

from ..errors import GorgiasAppError
from ..kit import Kit

F = TypeVar("F", bound=Callable[..., Any])


class KitContext:
    """The command's kit, built lazily from the environment and closed at the end."""

    def __init__(self) -> None:
        self._kit: Kit | None = None

    def kit(self, *, migrate: bool) -> Kit:
        """Build the kit once; ``migrate`` creates or upgrades the schema on the way."""
        if self._kit is None:
            kit = Kit.from_env(os.environ, migrate=migrate)
            if not migrate:
                try:
                    kit.require_schema()
                except GorgiasAppError:
                    kit.close()
                    raise
            self._kit = kit
        return self._kit

    def close(self) -> None:
        """Release the kit's connections."""
        if self._kit is not None:
            self._kit.close()
            self._kit = None


def pass_kit(*, migrate: bool = False) -> Callable[[F], F]:
    """Decorate a command so that its first argument is the kit (closed when it ends).

    Commands that only read pass ``migrate=False`` (the default): they never create a database.
    """

    def decorate(command: F) -> F:
        @click.pass_context
        def run(ctx: click.Context, /, *args: Any, **kwargs: Any) -> Any:
            holder = ctx.find_object(KitContext)
            if holder is None:
                holder = ctx.ensure_object(KitContext)
                ctx.call_on_close(holder.close)
            return ctx.invoke(command, holder.kit(migrate=migrate), *args, **kwargs)

        return update_wrapper(run, command)  # type: ignore[return-value]

    return decorate


class KitGroup(click.Group):
    """A command group whose commands report the kit's expected errors in plain words."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GorgiasAppError as exc:
            raise click.ClickException(str(exc)) from None
