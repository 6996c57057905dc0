"""The inbound half of an app: Gorgias calling it through HTTP integrations and sidebar widgets.

- :mod:`.declarations`: what an app declares (integrations, widgets, handlers);
- :mod:`.checks`: everything wrong with a declaration, in one sentence each;
- :mod:`.contract`: every ``path`` a widget reads exists in its handler's sample answer;
- :mod:`.payloads`: the Gorgias objects a declaration becomes, and the dedupe key of an event;
- :mod:`.credentials`: one random key per installation, sealed, rotatable, checked in constant
  time;
- :mod:`.provision`: create, update and delete the declared objects through the ledger;
- :mod:`.answers`: data handlers, run within a deadline;
- :mod:`.events`: event handlers, recorded durably, run by the task queue with retries and a
  dead-letter list;
- :mod:`.queue`: the task queue (Huey) and its JSON serializer;
- :mod:`.health`: the 100-failure rule (counting, "at risk", repair);
- :mod:`.service`: :class:`~.service.Inbound`, what the kit, the views and the worker call.

No Flask and no SQL here (``web/inbound.py`` and ``store/sql/inbound_*.py``).
"""

from .declarations import DataCall
from .declarations import DataIntegration
from .declarations import EventCall
from .declarations import EventIntegration
from .declarations import Integrations
from .declarations import Node
from .declarations import Widget
from .declarations import card
from .declarations import items
from .declarations import text
from .declarations import wrapper

__all__ = [
    "DataCall",
    "DataIntegration",
    "EventCall",
    "EventIntegration",
    "Integrations",
    "Node",
    "Widget",
    "card",
    "items",
    "text",
    "wrapper",
]
