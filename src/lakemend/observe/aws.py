"""The one place AWS clients are made for the sinks (``aws.endpoint_url`` and ``aws.region`` of
lakemend.yaml; short timeouts so an unreachable endpoint cannot stall jobs)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lakemend.lake import Lake

_CLIENTS: dict[tuple[str, str | None, str], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def client(lake: Lake, service: str) -> Any:
    """A cached boto3 client for ``service``; boto3 is imported only when a sink needs it.

    Clients are thread-safe once made, but making them from the default session is not, hence
    the lock and one private session per client.
    """
    aws = lake.project.config.aws
    key = (service, aws.endpoint_url, aws.region)
    with _CLIENTS_LOCK:
        made = _CLIENTS.get(key)
        if made is None:
            import boto3
            from botocore.config import Config

            settings = Config(connect_timeout=5, read_timeout=15, retries={"mode": "standard", "max_attempts": 3})
            made = boto3.session.Session().client(service, endpoint_url=aws.endpoint_url, region_name=aws.region,
                                                  config=settings)
            _CLIENTS[key] = made
    return made
