"""The EMR Serverless poller's state machine and the grouping of jobs into units.

moto marks every job run SUCCESS at once, so the states it never shows (PENDING → RUNNING →
FAILED / CANCELLED, throttling, time-out, Ctrl-C, lease loss) are scripted here with a small
fake of the AWS client — the AWS API is faked, lakemend's poller runs for real.
"""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from lakemend.ops.job import PartitionJob
from lakemend.ops.remote import (
    TIMED_OUT,
    LeaseLost,
    PollPolicy,
    day_runs,
    units_of,
    wait_for,
)
from lakemend.project.project import TableSpec

D = dt.date(2025, 10, 20)


def throttled() -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetJobRun")


class ScriptedEmr:
    """Answers ``get_job_run`` from a script of states (or exceptions); records every call."""

    def __init__(self, script: list[str | BaseException]) -> None:
        self.script = list(script)
        self.calls: list[tuple[str, dict]] = []

    def get_job_run(self, **kwargs: str) -> dict:
        self.calls.append(("get_job_run", kwargs))
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, BaseException):
            raise step
        return {"jobRun": {"state": step, "stateDetails": "boom: driver exited 1" if step == "FAILED" else ""}}

    def cancel_job_run(self, **kwargs: str) -> dict:
        self.calls.append(("cancel_job_run", kwargs))
        self.script = ["CANCELLED"]
        return {"applicationId": kwargs["applicationId"], "jobRunId": kwargs["jobRunId"]}

    def cancels(self) -> int:
        return sum(1 for name, _ in self.calls if name == "cancel_job_run")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def poll(client: ScriptedEmr, policy: PollPolicy | None = None, **kwargs):  # noqa: ANN003, ANN201
    clock = Clock()
    outcome = wait_for(client, "app-1", "run-1", policy or PollPolicy(), sleep=clock.sleep, clock=clock, **kwargs)
    return outcome, clock


def test_walks_every_state_to_success_with_capped_backoff() -> None:
    client = ScriptedEmr(["SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "RUNNING", "RUNNING", "RUNNING", "SUCCESS"])
    outcome, clock = poll(client, PollPolicy(first=2, factor=2, cap=10))
    assert outcome.succeeded and outcome.state == "SUCCESS"
    assert outcome.states == ["SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "SUCCESS"]
    assert clock.sleeps == [2, 4, 8, 10, 10, 10, 10]
    assert client.cancels() == 0


def test_failed_and_cancelled_are_terminal_and_not_success() -> None:
    failed, _ = poll(ScriptedEmr(["PENDING", "RUNNING", "FAILED"]))
    assert (failed.state, failed.succeeded, failed.details) == ("FAILED", False, "boom: driver exited 1")
    cancelled, _ = poll(ScriptedEmr(["RUNNING", "CANCELLED"]))
    assert (cancelled.state, cancelled.succeeded) == ("CANCELLED", False)


def test_throttling_is_retried_then_given_up() -> None:
    client = ScriptedEmr([throttled(), throttled(), "RUNNING", throttled(), "SUCCESS"])
    outcome, _ = poll(client, PollPolicy(throttle_retries=2))
    assert outcome.succeeded
    with pytest.raises(ClientError, match="Rate exceeded"):
        poll(ScriptedEmr([throttled(), throttled(), throttled(), "SUCCESS"]), PollPolicy(throttle_retries=2))


def test_other_errors_are_not_retried() -> None:
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetJobRun")
    client = ScriptedEmr([denied, "SUCCESS"])
    with pytest.raises(ClientError, match="AccessDenied"):
        poll(client)
    assert len(client.calls) == 1


def test_time_out_cancels_the_run() -> None:
    client = ScriptedEmr(["RUNNING"])
    outcome, clock = poll(client, PollPolicy(first=10, factor=1, cap=10, timeout_seconds=35))
    assert outcome.state == TIMED_OUT and not outcome.succeeded
    assert outcome.states == ["RUNNING", TIMED_OUT] and "still RUNNING" in outcome.details
    assert client.cancels() == 1 and clock.now == pytest.approx(40)


def test_ctrl_c_cancels_the_run_and_interrupts() -> None:
    client = ScriptedEmr(["PENDING", "RUNNING", KeyboardInterrupt()])
    with pytest.raises(KeyboardInterrupt):
        poll(client)
    assert client.cancels() == 1
    assert client.calls[-1] == ("cancel_job_run", {"applicationId": "app-1", "jobRunId": "run-1"})


def test_lease_loss_cancels_the_run() -> None:
    client = ScriptedEmr(["RUNNING"])
    asks = iter([None, None, "bronze.orders 2025-10-20 is being written by run other"])
    with pytest.raises(LeaseLost, match="cancelled: bronze.orders 2025-10-20 is being written by run other"):
        poll(client, lost=lambda: next(asks))
    assert client.cancels() == 1


def test_cancel_of_a_finished_run_is_harmless() -> None:
    class Finished(ScriptedEmr):
        def cancel_job_run(self, **kwargs: str) -> dict:
            self.calls.append(("cancel_job_run", kwargs))
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "already SUCCESS"}}, "CancelJobRun")

    client = Finished(["RUNNING", KeyboardInterrupt()])
    with pytest.raises(KeyboardInterrupt):
        poll(client)
    assert client.cancels() == 1


def _job(table: str, day: dt.date) -> PartitionJob:
    layer, name = table.split(".")
    return PartitionJob(TableSpec(layer=layer, name=name), day, "key", "forced")


def test_units_are_runs_of_consecutive_days_per_table() -> None:
    days = [D, D + dt.timedelta(1), D + dt.timedelta(2), D + dt.timedelta(5), D + dt.timedelta(6)]
    jobs = [_job("bronze.orders", d) for d in reversed(days)] + [_job("bronze.contacts", D)]
    units = units_of(jobs)
    assert [(u.spec.qualified, u.days) for u in units] == [
        ("bronze.orders", tuple(days[:3])), ("bronze.orders", tuple(days[3:])), ("bronze.contacts", (D,))]
    assert day_runs([D + dt.timedelta(2), D, D, D + dt.timedelta(1), D + dt.timedelta(9)]) == [
        [D, D + dt.timedelta(1), D + dt.timedelta(2)], [D + dt.timedelta(9)]]


def test_ctrl_c_while_sleeping_cancels_the_run() -> None:
    client = ScriptedEmr(["RUNNING"])

    def interrupted(_: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        wait_for(client, "app-1", "run-1", PollPolicy(), sleep=interrupted)
    assert [name for name, _ in client.calls] == ["get_job_run", "cancel_job_run"]


# ----- a real lake, a scripted AWS --------------------------------------------------------------
AWS_PROFILE = """
profiles:
  aws:
    engine: emr-serverless
    aws:
      emr_serverless:
        application_id: app-1
        execution_role_arn: arn:aws:iam::123456789012:role/lakemend-job
        artifacts: s3://lake-artifacts/lakemend
        log_uri: s3://lake-logs/emr-serverless/backfill
"""


class ScriptedCluster(ScriptedEmr):
    def __init__(self, script: list[str | BaseException]) -> None:
        import threading

        super().__init__(script)
        self.requests: list[dict] = []
        self.lock = threading.Lock()

    def start_job_run(self, **request: object) -> dict:
        with self.lock:  # units may start from several threads
            self.requests.append(request)
            self.calls.append(("start_job_run", {}))
            number = len(self.requests)
        return {"applicationId": request["applicationId"], "jobRunId": f"jr-{number}", "arn": "arn"}


def _remote_jobs(example, days):  # noqa: ANN001, ANN202
    from lakemend.lake import Lake
    from lakemend.ops.runner import decide

    (example / "lakemend.yaml").write_text((example / "lakemend.yaml").read_text() + AWS_PROFILE)
    lake = Lake.open(example, profile="aws")
    spec = lake.project.table("bronze.hubspot_contacts")
    jobs = []
    for day in days:
        decision = decide(lake, spec, day, {})
        jobs.append(PartitionJob(spec, day, decision.input_key, decision.why, decision.fingerprints))
    return lake, jobs


def _run(lake, jobs, client, run_id="r-1"):  # noqa: ANN001, ANN202
    from lakemend.ops.job import run_scope
    from lakemend.ops.remote import RemoteRun, run_remote

    with run_scope(lake, run_id, "backfill bronze", {}, "test"):
        return run_remote(lake, jobs, RemoteRun(run_id, "backfill bronze", "test"), client=client,
                          policy=PollPolicy(first=1, factor=1, cap=1), sleep=lambda _: None)


def test_a_failed_job_run_fails_every_day_of_its_unit_in_the_ledger(example) -> None:  # noqa: ANN001
    from lakemend.state import leases, metrics

    days = [D, D + dt.timedelta(1), D + dt.timedelta(3)]
    lake, jobs = _remote_jobs(example, days)
    client = ScriptedCluster(["PENDING", "RUNNING", "FAILED"])
    results = _run(lake, jobs, client)
    assert [r.status for r in results] == ["failed"] * 3
    assert len(client.requests) == 2  # 20..21 and 23: two runs of consecutive days
    assert client.requests[0]["jobDriver"]["sparkSubmit"]["entryPointArguments"][5] == "2025-10-20,2025-10-21"
    assert "EMR Serverless job run jr-1 (2025-10-20..2025-10-21) FAILED: boom: driver exited 1" in results[0].error
    rows = {r["day"]: r for r in lake.state.list_jobs(run_id="r-1")}
    assert {r["status"] for r in rows.values()} == {"failed"}
    assert rows[D]["external_id"] == "jr-1" and rows[D + dt.timedelta(3)]["external_id"] == "jr-2"
    assert rows[D]["external_log_uri"] == \
        "s3://lake-logs/emr-serverless/backfill/r-1/applications/app-1/jobs/jr-1/"
    failed = sum(v for (name, _), (v, _) in metrics.totals(lake.state).items() if name == metrics.FAILED)
    assert failed == 3
    assert not leases.holders(lake.state, [("bronze.hubspot_contacts", d) for d in days], "someone-else")


def test_ctrl_c_cancels_the_job_run_and_closes_the_ledger_rows(example) -> None:  # noqa: ANN001
    lake, jobs = _remote_jobs(example, [D])
    client = ScriptedCluster(["RUNNING", KeyboardInterrupt()])
    with pytest.raises(KeyboardInterrupt):
        _run(lake, jobs, client, "r-2")
    assert client.cancels() == 1
    [row] = lake.state.list_jobs(run_id="r-2")
    assert row["status"] == "interrupted" and row["error"] == "interrupted: KeyboardInterrupt"
    assert row["external_id"] == "jr-1"
    assert lake.state.get_run("r-2")["status"] == "interrupted"


def test_success_without_the_partition_published_is_a_failure(example) -> None:  # noqa: ANN001
    lake, jobs = _remote_jobs(example, [D])
    [result] = _run(lake, jobs, ScriptedCluster(["SUCCESS"]), "r-3")
    assert result.status == "failed" and "published no partition for 2025-10-20" in result.error


class PerRunCluster(ScriptedCluster):
    """Each job run follows its own script (the orphan of a killed attempt, the new run)."""

    def __init__(self, scripts: dict[str, list[str]]) -> None:
        super().__init__(["SUCCESS"])
        self.scripts = scripts

    def get_job_run(self, **kwargs: str) -> dict:
        self.calls.append(("get_job_run", kwargs))
        script = self.scripts[kwargs["jobRunId"]]
        state = script.pop(0) if len(script) > 1 else script[0]
        return {"jobRun": {"state": state, "stateDetails": ""}}

    def cancel_job_run(self, **kwargs: str) -> dict:
        self.calls.append(("cancel_job_run", kwargs))
        self.scripts[kwargs["jobRunId"]] = ["CANCELLING", "CANCELLED"]
        return {}


def test_a_rerun_cancels_the_job_run_a_killed_attempt_left_running(example) -> None:  # noqa: ANN001
    lake, jobs = _remote_jobs(example, [D])
    # what a SIGKILLed lakemend leaves: its run and job rows still "running", the job run still RUNNING on EMR
    lake.state.start_run("killed", "backfill bronze", {}, "first try")
    job_id = lake.state.start_job("killed", "backfill bronze", "bronze", "bronze.hubspot_contacts", D, "first try", None, "k")
    lake.state.set_job_external(job_id, "jr-old", "s3://lake-logs/x/")
    client = PerRunCluster({"jr-old": ["RUNNING"], "jr-1": ["RUNNING", "FAILED"]})
    [result] = _run(lake, jobs, client, "r-4")
    order = [(name, kw.get("jobRunId")) for name, kw in client.calls]
    assert order.index(("cancel_job_run", "jr-old")) < order.index(("start_job_run", None))
    assert client.scripts["jr-old"] == ["CANCELLED"]  # waited until it ended
    assert result.status == "failed" and "jr-1 (2025-10-20) FAILED" in result.error


def test_units_of_one_table_run_in_parallel_and_each_fails_alone(example) -> None:  # noqa: ANN001
    import threading

    from lakemend.ops.job import run_scope
    from lakemend.ops.remote import RemoteRun, run_remote

    days = [D, D + dt.timedelta(2), D + dt.timedelta(4)]
    lake, jobs = _remote_jobs(example, days)
    both_running = threading.Barrier(3, timeout=30)  # every unit's job run is in flight at once

    class Parallel(PerRunCluster):
        def start_job_run(self, **request: object) -> dict:
            answer = super().start_job_run(**request)
            both_running.wait()
            return answer

    client = Parallel({"jr-1": ["RUNNING", "FAILED"], "jr-2": ["RUNNING", "FAILED"], "jr-3": ["RUNNING", "FAILED"]})
    with run_scope(lake, "r-5", "backfill bronze", {}, "test"):
        results = run_remote(lake, jobs, RemoteRun("r-5", "backfill bronze", "test", max_parallel=3), client=client,
                             policy=PollPolicy(first=0.01, factor=1, cap=0.01))
    assert sorted(r.day for r in results) == days and {r.status for r in results} == {"failed"}
    assert {r["external_id"] for r in lake.state.list_jobs(run_id="r-5")} == {"jr-1", "jr-2", "jr-3"}


KILLED_ATTEMPT = """
import datetime as dt, sys
from lakemend.lake import Lake
from lakemend.ops.job import PartitionJob, run_scope
from lakemend.ops.remote import PollPolicy, RemoteRun, run_remote
from lakemend.ops.runner import decide

class StaysRunning:  # the job run never ends while this process lives
    def start_job_run(self, **request):
        return {"jobRunId": "jr-killed"}
    def get_job_run(self, **kwargs):  # polled: the job run is recorded in the ledger by now
        print("POLLING", flush=True)
        return {"jobRun": {"state": "RUNNING"}}
    def cancel_job_run(self, **kwargs):
        raise SystemExit("the killed attempt must not get to cancel")

lake = Lake.open(sys.argv[1], profile="aws")
spec = lake.project.table("bronze.hubspot_contacts")
day = dt.date(2025, 10, 20)
d = decide(lake, spec, day, {})
job = PartitionJob(spec, day, d.input_key, d.why, d.fingerprints)
with run_scope(lake, "killed-run", "backfill bronze", {}, "first try", hold=[(spec.qualified, day)]):
    run_remote(lake, [job], RemoteRun("killed-run", "backfill bronze", "first try"), client=StaysRunning(),
               policy=PollPolicy(first=0.2, factor=1, cap=0.2))
"""


def test_a_sigkilled_attempt_is_taken_over_and_its_job_run_cancelled(example) -> None:  # noqa: ANN001
    import signal
    import subprocess
    import sys

    from lakemend.lake import Lake
    from lakemend.state import leases

    lake, jobs = _remote_jobs(example, [D])
    attempt = subprocess.Popen([sys.executable, "-c", KILLED_ATTEMPT, str(example)], stdout=subprocess.PIPE, text=True)
    try:
        assert attempt.stdout.readline().strip() == "POLLING"
    finally:
        attempt.send_signal(signal.SIGKILL)
        attempt.wait(timeout=30)
    [row] = lake.state.list_jobs(run_id="killed-run")
    assert (row["status"], row["external_id"]) == ("running", "jr-killed")  # what SIGKILL leaves behind

    lake = Lake.open(example, profile="aws")
    client = PerRunCluster({"jr-killed": ["RUNNING"], "jr-1": ["RUNNING", "FAILED"]})
    leases.acquire(lake.state, [("bronze.hubspot_contacts", D)], "rerun")  # the dead process's lease is reclaimed
    [result] = _run(lake, jobs, client, "rerun")
    order = [(name, kw.get("jobRunId")) for name, kw in client.calls]
    assert order.index(("cancel_job_run", "jr-killed")) < order.index(("start_job_run", None))
    assert client.scripts["jr-killed"] == ["CANCELLED"]
    assert lake.state.get_run("killed-run")["status"] == "interrupted"
    assert result.status == "failed" and "jr-1 (2025-10-20) FAILED" in result.error
