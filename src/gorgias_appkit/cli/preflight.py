"""The ``doctor`` preflight: check a deployment's configuration before the first install.

Each check returns :class:`Finding` records (``ok``, ``warn``, ``fail``, ``skip``) whose message
says in plain words what is wrong and what to do. Settings come from the mapping the entry point
passes (the environment), parsed as the app parses them. Network checks run only when asked:
``account`` probes that account's authorize endpoint (reachability, client id and redirect URI,
and the clock via its ``Date`` header); ``probe_app`` fetches the app's own ``/healthz`` through
its public URL. Nothing here prints a secret: keys are counted and judged, never shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping
from itertools import islice
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from ..core.account import is_loopback_host
from ..core.clock import Clock
from ..core.clock import system_clock
from ..core.settings import KitSettings
from ..errors import ConfigError
from ..errors import GorgiasAppError
from ..kit import Kit
from ..store.crypto import Keyring
from ..store.engine import current_revision
from ..store.instance import with_defaults
from .preflight_network import Finding
from .preflight_network import Level
from .preflight_network import probe_account
from .preflight_network import probe_app_url

NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "9p",
        "afs",
        "ceph",
        "glusterfs",
        "fuse.sshfs",
        "fuse.s3fs",
        "fuse.gcsfuse",
        "fuse.glusterfs",
        "lustre",
    }
)


class Preflight:
    """Run every check against ``environ`` (a ``GORGIAS_*`` mapping)."""

    def __init__(
        self,
        environ: Mapping[str, str],
        *,
        http: httpx.Client,
        clock: Clock | None = None,
        workers: int | None = None,
        instance_path: Path | None = None,
        mounts: Path = Path("/proc/mounts"),
    ) -> None:
        self.environ = environ
        self.http = http
        self.clock = clock or system_clock()
        self.workers = workers or _int(environ.get("WEB_CONCURRENCY")) or 1
        self.instance_path = (
            instance_path or Path(environ.get("GORGIAS_INSTANCE_PATH") or "instance").resolve()
        )
        self.mounts = mounts

    def run(self, *, account: str | None = None, probe_app: bool = False) -> list[Finding]:
        """Return every finding, in the order an operator would fix them."""
        found: list[Finding] = []
        try:
            settings = KitSettings.from_mapping(
                with_defaults(self.environ, instance_path=self.instance_path)
            )
        except ConfigError as exc:  # admin, metrics and proxy settings are among these
            return [Finding("configuration", "fail", p) for p in exc.problems]
        for check in (
            self._mode,
            self._public_url,
            self._secret_key,
            self._encryption_keys,
            self._scopes,
            self._database,
        ):
            found += check(settings)
        found += self._admin(settings)
        if probe_app:
            found.append(probe_app_url(self.http, settings))
        found += probe_account(self.http, settings, account, clock=self.clock)
        return found

    # -- settings --------------------------------------------------------------------------
    def _mode(self, settings: KitSettings) -> Iterator[Finding]:
        if settings.is_development:
            yield Finding(
                "mode",
                "warn",
                "GORGIAS_MODE=development: missing keys are generated "
                f"into {self.instance_path}. Use production mode with explicit keys "
                "for a real deployment.",
            )

    def _public_url(self, settings: KitSettings) -> Iterator[Finding]:
        parts = urlsplit(settings.app_url)
        host = parts.hostname or ""
        if parts.scheme == "https" and not is_loopback_host(host):
            yield Finding(
                "public URL",
                "ok",
                f"{settings.app_url} is public https; session and "
                "install cookies are __Host-, Secure, HttpOnly, SameSite=Lax.",
            )
        else:
            yield Finding(
                "public URL",
                "warn",
                f"{settings.app_url} is on this machine only: "
                "fine for local development, but Gorgias needs a public https URL "
                "(and cookies are not Secure on plain http).",
            )
        yield Finding(
            "redirect URI",
            "ok",
            f"register exactly {settings.redirect_uri} in the "
            "Gorgias Developer Portal; the app never builds it from Host or "
            "X-Forwarded-* headers.",
        )
        web = settings.web
        if web.proxy_fix == 0:
            yield Finding(
                "proxy",
                "ok",
                "no proxy headers are trusted. If TLS ends at a reverse "
                "proxy, set GORGIAS_PROXY_FIX=1 so Flask sees https and the client's address.",
            )
        else:
            yield Finding(
                "proxy",
                "ok",
                f"X-Forwarded-{{{','.join(sorted(web.proxy_headers))}}} of {web.proxy_fix} proxy "
                "hop(s) are trusted (GORGIAS_PROXY_HEADERS); make sure the app is reachable "
                "only through them.",
            )

    def _secret_key(self, settings: KitSettings) -> Iterator[Finding]:
        if settings.secret_key is None:
            yield Finding(
                "secret key",
                "fail",
                "GORGIAS_SECRET_KEY is not set, so the app will "
                "not start. Set 32+ random characters, e.g. the output of "
                "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`.",
            )
        elif len(set(settings.secret_key.reveal())) < 12:
            yield Finding(
                "secret key",
                "warn",
                "GORGIAS_SECRET_KEY has very few distinct "
                "characters, so it is easy to guess. Replace it with random text.",
            )
        else:
            yield Finding("secret key", "ok", "GORGIAS_SECRET_KEY is set and looks random.")

    def _encryption_keys(self, settings: KitSettings) -> Iterator[Finding]:
        kids = Keyring(settings.encryption_keys).kids
        if len(set(kids)) != len(kids):
            yield Finding(
                "encryption keys",
                "warn",
                "GORGIAS_ENCRYPTION_KEYS lists the same key twice; remove the duplicate.",
            )
        yield Finding(
            "encryption keys",
            "ok",
            f"{len(kids)} key(s) (ids {', '.join(kids)}); new "
            "tokens are sealed with the first, older keys still open what they sealed.",
        )

    def _scopes(self, settings: KitSettings) -> Iterator[Finding]:
        if not settings.offline_access:
            yield Finding(
                "scopes",
                "fail",
                "GORGIAS_SCOPES lacks 'offline': Gorgias then gives "
                "no refresh token and every install stops working after 24 hours. "
                "Add 'offline'.",
            )
        elif "openid" not in settings.scopes:
            yield Finding(
                "scopes",
                "warn",
                "GORGIAS_SCOPES lacks 'openid': without an id_token "
                "the install cannot check who approved it. Add 'openid'.",
            )
        else:
            yield Finding(
                "scopes", "ok", f"{len(settings.scopes)} scopes, 'offline' and 'openid' included."
            )

    # -- database --------------------------------------------------------------------------
    def _database(self, settings: KitSettings) -> Iterator[Finding]:
        url = settings.database_url
        yield self._sharing(url)
        try:
            kit = Kit(settings, migrate=False)
        except GorgiasAppError as exc:
            yield Finding("database", "fail", f"cannot open the database: {exc}")
            return
        try:
            yield from self._schema_and_keys(kit)
        finally:
            kit.close()

    def _sharing(self, url: str) -> Finding:
        workers = self.workers
        if url.startswith("postgresql"):
            return Finding(
                "shared database", "ok", "PostgreSQL is shared by every worker and every instance."
            )
        if not url.startswith("sqlite"):
            return Finding("shared database", "warn", "only SQLite and PostgreSQL are tested.")
        path = url.partition(":///")[2].split("?")[0]
        if path in ("", ":memory:"):
            level: Level = "fail" if workers > 1 else "warn"
            return Finding(
                "shared database",
                level,
                "an in-memory SQLite database is private "
                "to one process: installs vanish on restart and workers do not share "
                "them. Use a file or PostgreSQL.",
            )
        fstype = _filesystem(Path(path).resolve(), self.mounts)
        if fstype in NETWORK_FILESYSTEMS:
            return Finding(
                "shared database",
                "warn" if workers > 1 else "ok",
                f"SQLite file on a "
                f"{fstype} network filesystem: its locks are unreliable across "
                f"processes ({workers} worker(s)). Use PostgreSQL "
                "(GORGIAS_DATABASE_URL=postgresql+psycopg://…).",
            )
        return Finding(
            "shared database",
            "ok",
            f"SQLite on a local disk is safely shared by "
            f"{workers} worker(s) on this machine; several machines need PostgreSQL.",
        )

    def _schema_and_keys(self, kit: Kit) -> Iterator[Finding]:
        try:
            kit.check_database()
            revision = current_revision(kit.engine)
        except Exception as exc:  # the doctor reports whatever the driver raised
            yield Finding(
                "database",
                "fail",
                f"the database does not answer "
                f"({type(exc).__name__}): check GORGIAS_DATABASE_URL and the server.",
            )
            return
        if revision is None:
            yield Finding(
                "database",
                "warn",
                "the database is empty; the app creates its "
                "tables at start-up, or run `gorgias-appkit db upgrade`.",
            )
            return
        yield Finding("database", "ok", f"reachable, schema at revision {revision}.")
        yield from self._sealed_rows(kit)

    def _sealed_rows(self, kit: Kit) -> Iterator[Finding]:
        configured = set(kit.store.keyring.kids)
        missing = {k: n for k, n in kit.store.sealed_key_ids().items() if k not in configured}
        if missing:
            listed = ", ".join(f"{kid} ({n} installation(s))" for kid, n in sorted(missing.items()))
            yield Finding(
                "encryption keys",
                "fail",
                f"stored tokens are sealed under key id(s) GORGIAS_ENCRYPTION_KEYS lacks: "
                f"{listed}. They do not open, so those installations answer 503 until the "
                "key is back: put it back, anywhere after the first.",
            )
        moved = [i.account for i in islice(kit.installations(), 500) if i.unreadable]
        if moved and not missing:
            yield Finding(
                "encryption keys",
                "fail",
                f"stored tokens of {len(moved)} account(s) (e.g. {moved[0]}) do not open "
                "although their key is configured: they were altered or moved between rows. "
                "Those accounts must reconnect.",
            )

    # -- operator access -------------------------------------------------------------------
    def _admin(self, settings: KitSettings) -> Iterator[Finding]:
        # A half or malformed admin configuration is a ConfigError, reported above.
        web = settings.web
        if not web.admin_configured:
            yield Finding(
                "operator pages",
                "warn",
                "no admin is configured, so /admin and its "
                "login for /metrics are off. Set GORGIAS_ADMIN_USER and "
                "GORGIAS_ADMIN_PASSWORD_HASH (`gorgias-appkit admin password-hash`).",
            )
        else:
            yield Finding("operator pages", "ok", f"/admin is on for the user {web.admin_user!r}.")


def _filesystem(path: Path, mounts: Path) -> str | None:
    """Return the filesystem type holding ``path`` (longest mount point prefix), if known."""
    try:
        lines = mounts.read_text().splitlines()
    except OSError:
        return None
    best, fstype = "", None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = str(path) == point or str(path).startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, fstype = point, fields[2]
    return fstype


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None
