"""The moto side of the fleet tests: a client for the test's own checks and the fake credentials.

The fixtures (``moto_endpoint``, ``aws``) are in ``tests/fleet/conftest.py``: one real moto_server
per test session (per xdist worker); boto3 is never patched, every test talks HTTP to moto on
127.0.0.1. Each test starts from a reset moto (``POST /moto-api/reset``) with fake credentials in
the environment, instance-metadata lookups switched off and no shared AWS config files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REGION = "us-east-1"


@dataclass
class MotoAws:
    endpoint: str
    vpc: str
    image: str
    key_name: str

    def client(self, service: str = "ec2", region: str = REGION) -> Any:
        import boto3

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def instances(
        self, prefix: str, region: str = REGION, states: tuple[str, ...] = ("running",)
    ) -> list[Any]:
        ec2 = self.client(region=region)
        found = ec2.describe_instances(
            Filters=[
                {"Name": "tag:stackrig:fleet", "Values": [prefix]},
                {"Name": "instance-state-name", "Values": list(states)},
            ]
        )
        return [i for r in found["Reservations"] for i in r["Instances"]]

    def launch(self, count: int, region: str, tags: dict[str, str] | None = None) -> list[str]:
        """Instances made behind stackrig's back (for discover)."""
        ec2 = self.client(region=region)
        spec = [
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()]}
        ]
        made = ec2.run_instances(
            ImageId=self.image,
            MinCount=count,
            MaxCount=count,
            InstanceType="t3.micro",
            **({"TagSpecifications": spec} if tags else {}),
        )
        return [i["InstanceId"] for i in made["Instances"]]


def fake_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_MAX_ATTEMPTS",
        "AWS_RETRY_MODE",
    ):
        monkeypatch.delenv(name, raising=False)
