"""The local AWS control-plane server the observability tests use is real and isolated per test."""

from __future__ import annotations

import boto3


def test_moto_server_serves_cloudwatch_and_resets(moto_endpoint: str) -> None:
    client = boto3.client("cloudwatch", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.put_metric_data(Namespace="T", MetricData=[{"MetricName": "M", "Value": 1.0}])
    assert [m["MetricName"] for m in client.list_metrics(Namespace="T")["Metrics"]] == ["M"]


def test_state_does_not_leak_between_tests(moto_endpoint: str) -> None:
    client = boto3.client("cloudwatch", endpoint_url=moto_endpoint, region_name="us-east-1")
    assert client.list_metrics(Namespace="T")["Metrics"] == []
