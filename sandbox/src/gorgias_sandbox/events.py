"""Ticket events: from a change made by a request to HTTP-integration deliveries.

:func:`fire` plans the deliveries at once, from the ticket as it is now (so
``POST /_sandbox/deliveries/wait`` already counts them), and lets them go only once the answer
to the current request has been sent (``call_on_close``): the app hears of a change after the
caller saw it succeed, as with Gorgias' asynchronous events.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Response, after_this_request

from .context import current_world
from .world import AccountData


def fire(account: AccountData, ticket_id: int, triggers: Sequence[str]) -> list[int]:
    """Fire ``triggers`` (hyphenated names) on a ticket; return the integration ids called."""
    deliveries = current_world().deliveries
    jobs = deliveries.plan(account, ticket_id, triggers)
    if not jobs:
        return []
    deliveries.dispatch(jobs)

    @after_this_request
    def release_after_answer(response: Response) -> Response:
        response.call_on_close(lambda: deliveries.release(jobs))
        return response

    return [job.call.integration_id for job in jobs]
