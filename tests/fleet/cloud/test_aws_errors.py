"""The boto3 error mapping: each foreign failure becomes one stackrig error (real sockets, no patching)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackrig.errors import ExitCode, MissingError
from stackrig.fleet._aws import AwsTarget, CredentialsMissingError, ThrottledError
from stackrig.fleet.cloud import plan_down
from tests.fleet import aws_proxy
from tests.fleet.moto import fake_credentials
from tests.services import free_port


def test_throttled_api_is_retried_then_failed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_credentials(monkeypatch, tmp_path)
    with aws_proxy.serve("throttle") as proxy:
        target = AwsTarget(region="us-east-1", endpoint_url=proxy.url, max_attempts=3)
        with pytest.raises(ThrottledError) as caught:
            plan_down(target, "web")
    assert caught.value.exit_code == ExitCode.FAILED
    assert "throttling requests (RequestLimitExceeded)" in caught.value.message
    assert "after 3 attempts" in caught.value.message
    assert proxy.actions == ["DescribeInstances"] * 3


def test_no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_credentials(monkeypatch, tmp_path)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(CredentialsMissingError) as caught:
        plan_down(AwsTarget(region="us-east-1", endpoint_url=f"http://127.0.0.1:{free_port()}"), "web")
    assert caught.value.exit_code == ExitCode.MISSING
    assert "no AWS credentials found" in caught.value.message
    assert caught.value.hint is not None
    assert "AWS_ACCESS_KEY_ID" in caught.value.hint


def test_unreachable_endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_credentials(monkeypatch, tmp_path)
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(MissingError) as caught:
        plan_down(AwsTarget(region="us-east-1", endpoint_url=url, max_attempts=1), "web")
    assert f"cannot reach the AWS API at {url}" in caught.value.message


def test_unknown_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_credentials(monkeypatch, tmp_path)
    with pytest.raises(CredentialsMissingError, match="AWS profile 'nope' is not configured"):
        plan_down(AwsTarget(region="us-east-1", profile="nope"), "web")


def test_no_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from stackrig.errors import UsageError
    from stackrig.fleet.discover import DiscoverSettings, discover

    fake_credentials(monkeypatch, tmp_path)
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(UsageError, match="no AWS region given"):
        discover(DiscoverSettings(), cache_root=tmp_path, target=AwsTarget(endpoint_url=url, max_attempts=1))
    with pytest.raises(UsageError, match="no AWS region given"):
        plan_down(AwsTarget(endpoint_url=url, max_attempts=1), "web")
