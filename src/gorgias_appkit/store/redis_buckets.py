"""RedisBucketStore: the rate buckets in Redis, for deployments that set ``GORGIAS_REDIS_URL``.

One Lua script per take, so the read-leak-grant-write is atomic in Redis. The script is a
line-by-line copy of :func:`~.bucket.apply_take` (a test runs both on the same inputs). Each
bucket is a hash ``{prefix}{account}`` that expires once it would have leaked empty, so idle
accounts cost nothing. Needs the ``redis`` extra (``pip install gorgias-appkit[redis]``).
"""

from __future__ import annotations

from typing import Any

from ..core.bucket import Take
from ..core.bucket import TakeRequest
from ..core.secret import Secret
from ..errors import ConfigError
from ..errors import StoreError

# KEYS[1]: bucket hash. ARGV: now, want, reserve, margin, capacity, window, floor ('' = none),
# floor_at, seen_capacity ('' = none). Returns {granted, wait, level, capacity, window}.
TAKE_SCRIPT = """
local now = tonumber(ARGV[1])
local want = tonumber(ARGV[2])
local reserve = tonumber(ARGV[3])
local margin = tonumber(ARGV[4])
local window = tonumber(ARGV[6])
local eps = 1e-9
local stored = redis.call('HMGET', KEYS[1], 'level', 'capacity', 'updated_at')
local level, updated = 0.0, now
local capacity = tonumber(ARGV[5])
if stored[1] then
  level = tonumber(stored[1])
  capacity = tonumber(stored[2])
  updated = tonumber(stored[3])
end
if ARGV[9] ~= '' then capacity = tonumber(ARGV[9]) end
local rate = capacity / window
if updated > now then now = updated end
level = math.max(0.0, level - (now - updated) * rate)
if ARGV[7] ~= '' then
  local observed = tonumber(ARGV[7]) - math.max(0.0, now - tonumber(ARGV[8])) * rate
  level = math.max(level, observed)
end
level = math.min(level, capacity)
local ttl = math.min(0.5, math.max(0.1, 1.0 / rate))
local in_flight = math.ceil(rate * ttl - eps) + 1
local top = capacity - math.min(math.max(margin, in_flight), capacity - 1)
top = math.max(1.0, top * (1.0 - reserve))
local room = math.floor(top - level + eps)
local granted = math.max(0, math.min(want, room))
local wait = 0.0
if want > 0 and granted == 0 then wait = math.max(0.0, (level + 1 - top) / rate) end
level = level + granted
redis.call('HSET', KEYS[1], 'level', string.format('%.17g', level), 'capacity', capacity,
           'window', string.format('%.17g', window), 'updated_at', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((level / rate + 1) * 1000))
return {granted, string.format('%.17g', wait), string.format('%.17g', level), capacity,
        string.format('%.17g', window)}
"""


class RedisBucketStore:
    """Buckets in Redis; atomic through one Lua script per take."""

    def __init__(self, url: Secret, *, prefix: str = "gorgias_appkit:rate:") -> None:
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise ConfigError(
                [
                    "GORGIAS_REDIS_URL is set but the redis package is missing: "
                    "pip install 'gorgias-appkit[redis]'"
                ]
            ) from exc
        self._client: Any = redis.Redis.from_url(
            url.reveal(), socket_timeout=5, socket_connect_timeout=5
        )
        self._script: Any = self._client.register_script(TAKE_SCRIPT)
        self._errors = redis.RedisError
        self.prefix = prefix

    def __repr__(self) -> str:
        return f"RedisBucketStore(prefix={self.prefix!r})"

    def take(self, account: str, request: TakeRequest) -> Take:
        """Run the take script on ``account``'s bucket."""
        args = [
            repr(request.now),
            request.want,
            repr(request.reserve),
            request.margin,
            request.capacity,
            repr(request.window),
            "" if request.floor is None else repr(request.floor),
            repr(request.floor_at),
            "" if request.seen_capacity is None else request.seen_capacity,
        ]
        try:
            reply = self._script(keys=[self.prefix + account], args=args)
        except self._errors as exc:
            raise StoreError(f"the Redis rate budget failed: {type(exc).__name__}") from exc
        granted, wait, level, capacity, window = reply
        return Take(int(granted), float(wait), float(level), int(capacity), float(window))

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()
