"""Notifications: a failed job reaches a webhook (with retries) or SNS, and a dead target never fails a run."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest

from lakemend.lake import Lake
from lakemend.observe.events import JobEvent, Notice, emit
from lakemend.observe import notify

DAY = "2025-11-02"
TOKEN = "s3cr3t-bearer-token-42"
SECRET_PATH = "/services/T000/B000/xoxb-path-secret"


@dataclass
class Webhook:
    """A local HTTP server recording every POST; the first ``fail_first`` get HTTP 500."""

    url: str
    fail_first: int = 0
    hits: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def payloads(self) -> list[dict]:
        return [json.loads(body) for _, body in self.hits]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hook.hits.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = 500 if len(hook.hits) <= hook.fail_first else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}{SECRET_PATH}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hook
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same retry schedule, 10× faster."""
    monkeypatch.setattr(notify, "BACKOFF_SECONDS", 0.05)


def configure(root: Path, yaml_text: str) -> None:
    path = root / "lakemend.yaml"
    path.write_text(path.read_text() + "\n" + yaml_text)


def webhook_target(url: str, on: str = "[job_failed, incident_opened]") -> str:
    # "on" is quoted: YAML 1.1 (PyYAML) reads a bare `on` key as the boolean true
    return f'notify:\n  - {{type: webhook, url: "{url}", token_env: NOTIFY_TEST_TOKEN, "on": {on}}}\n'


def land_bad_orders(root: Path) -> None:
    """An order export without the required customer_email column: bronze.orders fails."""
    folder = root / "landing" / "orders" / DAY
    folder.mkdir(parents=True)
    (folder / "orders-0001.csv").write_text("order_id,amount,currency,status,ordered_at,updated_at\n"
                                            "o-1,10.00,USD,paid,2025-11-02T01:00:00Z,2025-11-02T01:00:00Z\n")


def land_good_contacts(root: Path) -> None:
    folder = root / "landing" / "hubspot" / "contacts" / DAY
    folder.mkdir(parents=True)
    record = {"id": "1", "properties": {"email": "c1@example.com", "firstname": "Ada", "lastname": "L",
                                        "phone": "+1 415 555 0100", "company": "Acme", "lifecyclestage": "lead",
                                        "createdate": "2025-11-02T08:00:00Z", "lastmodifieddate": "2025-11-02T09:00:00Z"},
              "createdAt": "2025-11-02T08:00:00Z", "updatedAt": "2025-11-02T09:00:00Z", "archived": False}
    (folder / "contacts-0001.jsonl").write_text(json.dumps(record) + "\n")


def test_failed_job_posts_one_slack_payload_with_bearer_token(example: Path, cli, webhook: Webhook,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("NOTIFY_TEST_TOKEN", TOKEN)
    configure(example, webhook_target(webhook.url))
    land_bad_orders(example)
    result = cli("run", "--date", DAY, "--reason", "nightly", cwd=example)
    assert result.code == 1 and "required column 'customer_email' is missing" in result.err
    assert len(webhook.hits) == 1, webhook.hits
    headers, _ = webhook.hits[0]
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["content-type"].startswith("application/json")
    [payload] = webhook.payloads()
    assert "bronze.orders 2025-11-02 failed" in payload["text"]
    assert "required column 'customer_email' is missing" in payload["text"]
    assert payload["blocks"][0]["type"] == "header"
    facts = payload["lakemend"]
    assert facts["event"] == "job_failed" and facts["table"] == "bronze.orders" and facts["day"] == DAY
    assert facts["reason"] == "nightly" and facts["command"] == "run" and facts["run_id"]
    assert TOKEN not in result.err + result.out


def test_webhook_failing_twice_gets_the_message_on_the_third_try(example: Path, cli, webhook: Webhook,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("NOTIFY_TEST_TOKEN", TOKEN)
    webhook.fail_first = 2
    configure(example, webhook_target(webhook.url))
    land_bad_orders(example)
    result = cli("run", "--date", DAY, cwd=example)
    assert result.code == 1 and "required column 'customer_email' is missing" in result.err
    payloads = webhook.payloads()
    assert len(payloads) == 3 and payloads[0] == payloads[2]  # the same message, retried
    assert result.err.count("retrying in") == 2 and "not delivered" not in result.err
    assert TOKEN not in result.err and SECRET_PATH not in result.err


def test_dead_webhook_does_not_fail_the_run_and_warns_without_secrets(example: Path, cli,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    with socket.socket() as probe:  # a port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("NOTIFY_TEST_TOKEN", TOKEN)
    configure(example, webhook_target(f"http://127.0.0.1:{port}{SECRET_PATH}"))
    land_bad_orders(example)
    land_good_contacts(example)
    result = cli("run", "--date", DAY, cwd=example)
    assert result.code == 1 and "required column 'customer_email' is missing" in result.err  # as without notifications
    assert f"job_failed notification to webhook http://127.0.0.1:{port} not delivered after 3 attempt(s)" in result.err
    assert TOKEN not in result.err + result.out and SECRET_PATH not in result.err + result.out
    assert "Traceback" not in result.err
    jobs = Lake.open(example).state.list_jobs(day=dt.date(2025, 11, 2))
    statuses = {j["table_name"]: j["status"] for j in jobs}
    assert statuses["bronze.orders"] == "failed"
    assert statuses["bronze.hubspot_contacts"] == statuses["silver.customers_clean"] == "succeeded"


def test_notice_goes_only_to_targets_that_want_it(example: Path, webhook: Webhook) -> None:
    configure(example, webhook_target(webhook.url, on="[incident_opened]"))
    lake = Lake.open(example)
    at = dt.datetime(2025, 11, 2, 9, 0)
    emit(lake, Notice(kind="dq_failed", title="dq", text="row_count failed", at=at))
    emit(lake, JobEvent(kind="FAIL", run_id="r1", command="run", layer="bronze", table="bronze.orders",
                        day=dt.date(2025, 11, 2), reason=None, at=at, error="boom"))
    assert webhook.hits == []
    emit(lake, Notice(kind="incident_opened", title="lakemend: INC-0001 opened", text="INC-0001 <orders> doubled", at=at,
                      details={"incident": {"id": "INC-0001"}}))
    [payload] = webhook.payloads()
    assert payload["text"] == "lakemend: INC-0001 opened\nINC-0001 <orders> doubled"
    assert payload["lakemend"]["incident"] == {"id": "INC-0001"} and payload["lakemend"]["at"] == "2025-11-02T09:00:00"
    assert "authorization" not in webhook.hits[0][0]  # token_env names an unset variable: no header


def test_client_error_is_not_retried(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 4xx (e.g. a revoked Slack hook) will not get better by retrying."""
    calls: list[int] = []

    def refuse() -> None:
        calls.append(1)
        raise notify.DeliveryError("HTTP 404 Not Found", retry=False)

    with pytest.raises(notify.GaveUp) as info:
        notify.with_retries(refuse, "webhook http://h", None, sleep=lambda _s: None)
    assert info.value.attempts == 1 and calls == [1]


def test_incident_notice_says_opened_or_closed() -> None:
    from dataclasses import replace

    from lakemend.state.incidents import Incident

    opened = Incident("INC-0007", "Orders doubled", "sev1", "open", dt.datetime(2025, 11, 2, 9), None, "ada", None, None)
    notice = notify.incident_notice(opened)
    assert notice.kind == "incident_opened" and "INC-0007 opened (sev1) by ada: Orders doubled" in notice.text
    closed = replace(opened, status="closed", closed_at=dt.datetime(2025, 11, 2, 11), closed_by="bob", summary="fixed")
    notice = notify.incident_notice(closed)
    assert notice.kind == "incident_closed" and notice.at == closed.closed_at and "Summary: fixed" in notice.text


def test_failed_job_publishes_to_sns(example: Path, cli, moto_endpoint: str) -> None:  # noqa: ANN001
    sns = boto3.client("sns", endpoint_url=moto_endpoint, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1")
    topic = sns.create_topic(Name="data-eng-oncall")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="oncall-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    configure(example, f'aws: {{region: us-east-1, endpoint_url: "{moto_endpoint}"}}\n'
                       f'notify:\n  - {{type: sns, topic_arn: "{topic}", "on": [job_failed]}}\n')
    land_bad_orders(example)
    result = cli("run", "--date", DAY, cwd=example)
    assert result.code == 1 and "required column 'customer_email' is missing" in result.err
    assert "notification" not in result.err, result.err
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
    assert len(messages) == 1
    envelope = json.loads(messages[0]["Body"])
    assert envelope["Subject"] == "lakemend: bronze.orders 2025-11-02 failed"
    assert "required column 'customer_email' is missing" in envelope["Message"]
    assert envelope["MessageAttributes"]["event"]["Value"] == "job_failed"


def test_a_bare_on_key_in_yaml_is_read_as_on(example: Path) -> None:
    configure(example, 'notify:\n  - {type: webhook, url: "http://127.0.0.1:9/x", on: [incident_opened]}\n')
    [target] = Lake.open(example).project.config.notify
    assert target.on == ["incident_opened"]


def test_incident_open_and_close_notify(example: Path, cli, webhook: Webhook) -> None:  # noqa: ANN001
    configure(example, webhook_target(webhook.url, on="[incident_opened, incident_closed]"))
    assert cli("incident", "open", "--title", "Orders <doubled>", "--severity", "sev1", cwd=example).code == 0
    closed = cli("incident", "close", "--summary", "export re-sent", cwd=example)
    assert closed.code == 0, closed.err
    opened, done = webhook.payloads()
    assert opened["lakemend"]["event"] == "incident_opened" and "INC-0001 opened (sev1)" in opened["text"]
    assert opened["lakemend"]["incident"]["title"] == "Orders <doubled>"
    assert done["lakemend"]["event"] == "incident_closed" and "Summary: export re-sent" in done["text"]


# ----- credentials in the webhook URL -------------------------------------------------------------

HOOK_USER, HOOK_PASSWORD = "hook-user", "p@ss:w0rd/77"


def with_userinfo(url: str) -> str:
    from urllib.parse import quote

    return url.replace("http://", f"http://{HOOK_USER}:{quote(HOOK_PASSWORD, safe='')}@", 1)


def test_webhook_url_credentials_are_sent_as_basic_auth(example: Path, webhook: Webhook,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    import base64

    configure(example, f'notify:\n  - {{type: webhook, url: "{with_userinfo(webhook.url)}", "on": [incident_opened]}}\n')
    lake = Lake.open(example)
    emit(lake, Notice(kind="incident_opened", title="lakemend: INC-0001 opened", text="INC-0001 opened", at=dt.datetime(2025, 11, 2)))
    assert len(webhook.hits) == 1, capsys.readouterr().err
    headers, _ = webhook.hits[0]
    assert headers["authorization"] == "Basic " + base64.b64encode(f"{HOOK_USER}:{HOOK_PASSWORD}".encode()).decode()
    assert "not delivered" not in capsys.readouterr().err


def test_a_bearer_token_wins_over_url_credentials(example: Path, webhook: Webhook, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_TEST_TOKEN", TOKEN)
    configure(example, webhook_target(with_userinfo(webhook.url), on="[incident_opened]"))
    emit(Lake.open(example), Notice(kind="incident_opened", title="t", text="x", at=dt.datetime(2025, 11, 2)))
    [(headers, _)] = webhook.hits
    assert headers["authorization"] == f"Bearer {TOKEN}"


def test_url_credentials_never_reach_a_warning(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from urllib.parse import quote

    from lakemend.project.config import AwsConfig, NotifyTarget

    with socket.socket() as probe:  # connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    target = NotifyTarget(type="webhook", url=with_userinfo(f"http://127.0.0.1:{port}{SECRET_PATH}"))
    message = notify.Message("job_failed", "t", "x")
    assert notify.deliver(target, message, AwsConfig()) is False
    err = capsys.readouterr().err
    assert f"job_failed notification to webhook http://127.0.0.1:{port} not delivered after 3 attempt(s)" in err
    assert "Connection refused" in err  # the URL without its userinfo was dialled (not a garbled host)
    for secret in (HOOK_PASSWORD, quote(HOOK_PASSWORD, safe=""), HOOK_USER, SECRET_PATH):
        assert secret not in err
