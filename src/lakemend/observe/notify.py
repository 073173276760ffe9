"""Notifications: failed jobs, failed DQ checks and incidents go to webhooks (Slack-compatible) or SNS.

``handle`` is a sink of :func:`lakemend.observe.events.emit`. Delivery is best effort: every target is
tried up to ``ATTEMPTS`` times with exponential backoff, and a target that still fails is reported
on stderr — a notification problem never fails the job that triggered it. Warnings name the
target by scheme, host and port only: a Slack webhook URL carries its secret in the path, and the
bearer token is never put into any message. A webhook URL with ``user:password@`` is sent with
HTTP basic auth from it (a ``token_env`` bearer token wins) to the URL without it; the password is
never logged either.
"""

from __future__ import annotations

import datetime as dt
import base64
import json
import os
import time
import urllib.error
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakemend.observe.events import JobEvent, Notice, warn

if TYPE_CHECKING:
    from lakemend.project.config import AwsConfig, NotifyTarget
    from lakemend.state.incidents import Incident
    from lakemend.lake import Lake

ATTEMPTS = 3
BACKOFF_SECONDS = 0.5
"""Pause before the 2nd attempt; doubled before each later one (0.5 s, 1 s)."""
TIMEOUT_SECONDS = 5.0
SUBJECT_LIMIT = 100  # SNS rejects longer subjects
EMOJI = {"job_failed": ":x:", "dq_failed": ":warning:", "incident_opened": ":rotating_light:",
         "incident_closed": ":white_check_mark:"}


@dataclass(frozen=True)
class Message:
    """One notification, independent of where it goes."""

    event: str
    title: str
    text: str
    details: dict[str, Any] = field(default_factory=dict)


class DeliveryError(Exception):
    """A delivery failed; ``retry`` says whether trying again can help (not for a 4xx answer)."""

    def __init__(self, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


class GaveUp(Exception):
    """Every attempt failed: how many were made, and the last error."""

    def __init__(self, attempts: int, last: BaseException) -> None:
        super().__init__(f"{attempts} attempt(s)")
        self.attempts = attempts
        self.last = last


# ----- the sink ----------------------------------------------------------------------------------


def handle(lake: Lake, event: JobEvent | Notice) -> None:
    """Send the event to every configured target that subscribed to it; never raises."""
    try:
        targets = lake.project.config.notify
        kind = event_kind(event)
        if kind is None or not targets:
            return
        wanted = [t for t in targets if kind in t.on]
        if not wanted:
            return
        message = message_for(event, kind, lake.project.config.name)
        aws = lake.project.config.aws
    except Exception as exc:  # noqa: BLE001 - a notification problem never fails the job
        warn(f"notification not sent: {type(exc).__name__}: {exc}")
        return
    for target in wanted:
        deliver(target, message, aws)


def event_kind(event: JobEvent | Notice) -> str | None:
    """The notification event of a sink event, or None when nobody is told about it."""
    if isinstance(event, Notice):
        return event.kind
    if isinstance(event, JobEvent) and event.kind == "FAIL":
        return "job_failed"
    return None


def deliver(target: NotifyTarget, message: Message, aws: AwsConfig) -> bool:
    """Send one message to one target with retries; report a final failure on stderr. True if sent."""
    token = os.environ.get(target.token_env) if target.type == "webhook" and target.token_env else None
    where = describe(target)
    userinfo = url_secrets(target.url) if target.type == "webhook" else ()
    try:
        if target.type == "webhook":
            assert target.url is not None
            send: Callable[[], None] = lambda: post_webhook(target.url, webhook_payload(message), token)  # noqa: E731
        else:
            assert target.topic_arn is not None
            client = sns_client(aws)
            send = lambda: publish_sns(client, target.topic_arn, message)  # noqa: E731
        with_retries(send, where, token, secrets=userinfo)
        return True
    except GaveUp as exc:
        warn(f"{message.event} notification to {where} not delivered after {exc.attempts} attempt(s): "
             f"{scrub(describe_error(exc.last), token, *userinfo)}")
    except Exception as exc:  # noqa: BLE001 - a failure is reported, never raised
        warn(f"{message.event} notification to {where} not delivered: {scrub(describe_error(exc), token, *userinfo)}")
    return False


def with_retries(send: Callable[[], None], where: str, token: str | None,
                 sleep: Callable[[float], None] = time.sleep, secrets: tuple[str, ...] = ()) -> None:
    """Call ``send`` up to ATTEMPTS times, backing off between attempts; GaveUp with the last error.
    ``token`` and ``secrets`` never appear in the warnings."""
    delay = BACKOFF_SECONDS
    for attempt in range(1, ATTEMPTS + 1):
        try:
            send()
            return
        except Exception as exc:  # noqa: BLE001 - every failure is retried or reported
            if attempt == ATTEMPTS or (isinstance(exc, DeliveryError) and not exc.retry):
                raise GaveUp(attempt, exc) from exc
            warn(f"notification to {where} failed (attempt {attempt}/{ATTEMPTS}, retrying in {delay:g}s): "
                 f"{scrub(describe_error(exc), token, *secrets)}")
            sleep(delay)
            delay *= 2


def describe(target: NotifyTarget) -> str:
    """A target as it may be printed: webhook scheme://host[:port] only, or the SNS topic ARN."""
    if target.type == "sns":
        return f"sns {target.topic_arn}"
    parts = urllib.parse.urlsplit(target.url or "")
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"webhook {parts.scheme}://{host}{port}"


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, DeliveryError):
        return str(exc)
    if isinstance(exc, urllib.error.URLError):
        return f"{type(exc).__name__}: {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


def scrub(text: str, *secrets: str | None) -> str:
    """The text with every secret replaced (defence in depth: errors should not contain them anyway)."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):  # longest first
        text = text.replace(secret, "***")
    return text


def split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """The URL without ``user:password@``, and the user and password it carried (percent-decoded)."""
    parts = urllib.parse.urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url, None, None
    user, _, password = userinfo.partition(":")
    clean = urllib.parse.urlunsplit(parts._replace(netloc=hostport))
    return clean, urllib.parse.unquote(user), urllib.parse.unquote(password)


def url_secrets(url: str | None) -> tuple[str, ...]:
    """What of a webhook URL must never be printed: its userinfo and password, raw and decoded."""
    parts = urllib.parse.urlsplit(url or "")
    userinfo, at, _ = parts.netloc.rpartition("@")
    if not at:
        return ()
    password = userinfo.partition(":")[2]
    return tuple(s for s in {userinfo, password, urllib.parse.unquote(password)} if s)


def basic_auth(user: str, password: str | None) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password or ''}".encode()).decode("ascii")


# ----- messages ------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def message_for(event: JobEvent | Notice, kind: str, project: str) -> Message:
    if isinstance(event, Notice):
        details = {"event": kind, "project": project, "at": event.at} | dict(event.details)
        return Message(kind, event.title, event.text, _plain(details))
    return job_failed_message(event, project)


def job_failed_message(event: JobEvent, project: str) -> Message:
    title = f"lakemend: {event.table} {event.day} failed"
    lines = [f"Partition job failed: {event.table} day {event.day} ({event.command}, run {event.run_id})",
             f"Error: {event.error or 'no error recorded'}"]
    if event.reason:
        lines.append(f"Reason of the run: {event.reason}")
    lines.append(f"Inspect: lakemend runs --run {event.run_id} --status failed")
    details = {
        "event": "job_failed", "project": project, "at": event.at, "run_id": event.run_id, "command": event.command,
        "layer": event.layer, "table": event.table, "day": event.day, "source": event.source, "reason": event.reason,
        "error": event.error, "rows_read": event.rows_read, "rows_written": event.rows_written,
        "rows_quarantined": event.rows_quarantined, "seconds": round(event.seconds, 3),
        "snapshot_before": event.snapshot_before,
    }
    return Message("job_failed", title, "\n".join(lines), _plain(details))


def incident_notice(record: Incident) -> Notice:
    """The Notice of an incident just opened or closed (its status says which)."""
    opened = record.status == "open"
    kind = "incident_opened" if opened else "incident_closed"
    at = record.opened_at if opened else (record.closed_at or record.opened_at)
    if opened:
        text = f"{record.id} opened ({record.severity}) by {record.opened_by or 'unknown'}: {record.title}"
    else:
        text = f"{record.id} closed by {record.closed_by or 'unknown'}: {record.title}"
        if record.summary:
            text += f"\nSummary: {record.summary}"
    return Notice(kind=kind, title=f"lakemend: {record.id} {'opened' if opened else 'closed'}", text=text, at=at,
                  details={"incident": record.as_dict()})


def webhook_payload(message: Message) -> dict[str, Any]:
    """Slack-compatible: ``text`` is the fallback, ``blocks`` the layout; ``lakemend`` the facts."""
    emoji = EMOJI.get(message.event, ":bell:")
    return {
        "text": f"{message.title}\n{message.text}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": message.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{emoji} {message.text}"[:3000]}},
        ],
        "lakemend": message.details,
    }


# ----- transports ----------------------------------------------------------------------------------


def post_webhook(url: str, payload: dict[str, Any], token: str | None, timeout: float = TIMEOUT_SECONDS) -> None:
    """POST the JSON payload; any answer but 2xx is an error (4xx other than 408/429: do not retry).

    ``user:password@`` in the URL becomes basic auth (unless there is a bearer token) and is
    taken out of the URL: urllib cannot send it, and no error message may show it."""
    import urllib.request  # http.client and email: only when a webhook is sent

    url, user, password = split_userinfo(url)
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "lakemend-notify"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    elif user is not None:
        headers["Authorization"] = basic_auth(user, password)
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the configured URL
            response.read()
    except urllib.error.HTTPError as exc:
        retry = exc.code >= 500 or exc.code in (408, 429)
        raise DeliveryError(f"HTTP {exc.code} {exc.reason}", retry=retry) from None
    except urllib.error.URLError as exc:
        raise DeliveryError(f"cannot connect: {exc.reason}") from None
    except OSError as exc:  # timeouts, resets while reading
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from None


def sns_client(aws: AwsConfig) -> Any:
    """An SNS client without botocore's own retries (``with_retries`` does them, and warns)."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=TIMEOUT_SECONDS, read_timeout=TIMEOUT_SECONDS, retries={"max_attempts": 1})
    return boto3.client("sns", region_name=aws.region, endpoint_url=aws.endpoint_url, config=config)


def sns_subject(title: str) -> str:
    """SNS subjects: ASCII, no line breaks, under 100 characters."""
    ascii_only = "".join(c if 32 <= ord(c) < 127 else "?" for c in " ".join(title.split()))
    return ascii_only[:SUBJECT_LIMIT - 1] or "lakemend"


def publish_sns(client: Any, topic_arn: str, message: Message) -> None:
    body = f"{message.text}\n\n{json.dumps(message.details, indent=2, sort_keys=True)}"
    client.publish(
        TopicArn=topic_arn, Subject=sns_subject(message.title), Message=body,
        MessageAttributes={"event": {"DataType": "String", "StringValue": message.event}},
    )
