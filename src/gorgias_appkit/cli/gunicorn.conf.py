"""gunicorn settings for ``gorgias-appkit serve`` (also usable as ``gunicorn -c <this file>``).

- gthread workers: each worker process runs ``GORGIAS_THREADS`` threads (default 4), so a slow
  client or a request waiting on Gorgias holds one thread, not the whole worker; ``/healthz``
  keeps answering. ``WEB_CONCURRENCY`` worker processes (default 2).
- The worker timeout stays well above ``GORGIAS_REQUEST_DEADLINE`` (every request ends by then);
  the graceful timeout lets a token refresh in flight finish (its deadline is 25 s).
- The access and error logs mask OAuth codes, states and token-shaped values.
- ``child_exit``/``on_exit`` look after the multiprocess metrics folder
  (``PROMETHEUS_MULTIPROC_DIR``, prepared by ``serve``).
- gunicorn's control socket is off: several ``serve`` instances on one host would share its
  default path.

Put a reverse proxy in front (see the README): it buffers slow clients and terminates TLS.
"""

import os

from gorgias_appkit.cli.logging import configure_logging
from gorgias_appkit.cli.serving import APP
from gorgias_appkit.cli.serving import DEFAULT_THREADS
from gorgias_appkit.cli.serving import DEFAULT_WORKERS
from gorgias_appkit.cli.serving import THREADS_ENV
from gorgias_appkit.cli.serving import WORKERS_ENV
from gorgias_appkit.cli.serving import ScrubbedLogger
from gorgias_appkit.cli.serving import child_exit
from gorgias_appkit.cli.serving import on_exit
from gorgias_appkit.cli.serving import positive_int
from gorgias_appkit.cli.serving import request_deadline
from gorgias_appkit.cli.serving import worker_timeout

configure_logging(os.environ.get("GORGIAS_LOG_LEVEL", "INFO"))  # the app's own log lines

wsgi_app = APP
worker_class = "gthread"
workers = positive_int(os.environ, WORKERS_ENV, DEFAULT_WORKERS, most=64)
threads = positive_int(os.environ, THREADS_ENV, DEFAULT_THREADS, most=256)
timeout = worker_timeout(request_deadline(os.environ))
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"
logger_class = ScrubbedLogger
control_socket_disable = True

__all__ = ["child_exit", "on_exit"]  # gunicorn hooks, picked up by name
