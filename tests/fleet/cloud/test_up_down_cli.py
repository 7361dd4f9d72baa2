"""fleet up / discover / down through the real console script against a real moto_server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from stackrig.fleet import read_inventory
from tests.conftest import STACKRIG
from tests.fleet import aws_proxy
from tests.fleet.moto import MotoAws
from tests.services import wait_until


def up_args(aws: MotoAws, *extra: str, count: int = 2) -> list[str]:
    return [
        "fleet", "up", "--prefix", "web", "--count", str(count), "--image", aws.image, "--type", "t3.micro",
        "--key-name", aws.key_name, "--vpc", aws.vpc, "--rule", "tcp:22:0.0.0.0/0",
        "--endpoint-url", aws.endpoint, "--poll-interval", "0.05", *extra,
    ]  # fmt: skip


def names(aws: MotoAws, prefix: str = "web") -> list[str]:
    return sorted(next(t["Value"] for t in i["Tags"] if t["Key"] == "Name") for i in aws.instances(prefix))


def test_up_again_scale_and_down(aws: MotoAws, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hosts = tmp_path / "hosts.yml"
    first = cli(
        *up_args(aws, "--tag", "team=storage", "--format", "yaml", "--hostname", "name", "-o", str(hosts))
    )
    assert first.returncode == 0, first.stderr
    assert names(aws) == ["web-1", "web-2"]
    inventory = read_inventory(hosts)
    assert sorted(h.name for h in inventory.hosts) == ["web-1", "web-2"]
    assert "launched 2" in first.stderr
    for instance in aws.instances("web"):
        tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
        assert tags["stackrig:fleet"] == "web"
        assert tags["team"] == "storage"

    again = cli(*up_args(aws, "--json"))
    assert again.returncode == 0, again.stderr
    doc = again.json()
    assert doc["data"]["launched"] == []
    assert doc["data"]["security_group"]["created"] is False
    listed = doc["data"]["inventory"]["hosts"]
    assert [h["name"] for h in listed] == [h["ansible_host"] for h in listed]  # default names: addresses
    assert len(listed) == 2
    assert names(aws) == ["web-1", "web-2"]

    grown = cli(*up_args(aws, count=3))
    assert grown.returncode == 0, grown.stderr
    assert names(aws) == ["web-1", "web-2", "web-3"]

    refused = cli(*up_args(aws, count=1))
    assert refused.returncode == 4
    assert "would terminate 2 (web-2, web-3)" in refused.stderr
    assert "--scale-down" in refused.stderr
    assert names(aws) == ["web-1", "web-2", "web-3"]

    shrunk = cli(*up_args(aws, "--scale-down", count=1))
    assert shrunk.returncode == 0, shrunk.stderr
    assert names(aws) == ["web-1"]

    down_args = [
        "fleet",
        "down",
        "--prefix",
        "web",
        "--endpoint-url",
        aws.endpoint,
        "--poll-interval",
        "0.05",
    ]
    listed = cli(*down_args, "--dry-run")
    assert listed.returncode == 0
    assert "would terminate web-1" in listed.stdout
    assert "would delete security group sg-" in listed.stdout
    refused_down = cli(*down_args, stdin="")
    assert refused_down.returncode == 4
    assert "without --yes (stdin is not a terminal)" in refused_down.stderr
    assert names(aws) == ["web-1"]
    gone = cli(*down_args, "--yes", "--json")
    assert gone.returncode == 0, gone.stderr
    assert len(gone.json()["data"]["terminated"]) == 1
    assert names(aws) == []
    groups = aws.client().describe_security_groups(Filters=[{"Name": "group-name", "Values": ["web-sg"]}])
    assert groups["SecurityGroups"] == []
    nothing = cli(*down_args, "--yes")
    assert nothing.returncode == 0
    assert "nothing to remove" in nothing.stdout


def test_down_asks_on_a_terminal(aws: MotoAws, cli) -> None:  # type: ignore[no-untyped-def]
    import pty

    assert cli(*up_args(aws, count=1)).returncode == 0
    args = [str(STACKRIG), "fleet", "down", "--prefix", "web", "--endpoint-url", aws.endpoint]
    for answer, code, left in (("n", 4, ["web-1"]), ("y", 0, [])):
        leader, follower = pty.openpty()
        try:
            proc = subprocess.Popen(
                [*args, "--poll-interval", "0.05"],
                stdin=follower,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            os.close(follower)
            os.write(leader, f"{answer}\n".encode())
            _, err = proc.communicate(timeout=60)
        finally:
            os.close(leader)
        assert proc.returncode == code, err
        assert "Terminate 1 instance(s) and 1 security group(s) of fleet web" in err
        assert names(aws) == left


def test_unknown_vpc_is_one_usage_line(aws: MotoAws, cli, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    args = up_args(aws)
    args[args.index(aws.vpc)] = "vpc-0123456789abcdef0"
    done = cli(*args)
    assert done.returncode == 2
    assert done.stderr.startswith("error: VPC vpc-0123456789abcdef0 does not exist in us-east-1")
    assert "Traceback" not in done.stderr
    assert aws.instances("web", states=("pending", "running")) == []


def test_no_credentials_says_how(aws: MotoAws, cli) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k not in {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}}
    for command in (up_args(aws), ["fleet", "discover", "--endpoint-url", aws.endpoint]):
        done = subprocess.run([str(STACKRIG), *command, "--json"], env=env, capture_output=True, text=True,
                              check=False, timeout=60)  # fmt: skip
        assert done.returncode == 3, done.stderr
        error = json.loads(done.stdout)["error"]
        assert error["message"].startswith("no AWS credentials found")
        assert "AWS_ACCESS_KEY_ID" in error["hint"]


def test_credentials_are_never_printed(aws: MotoAws, cli) -> None:  # type: ignore[no-untyped-def]
    secret = "sEcReT-never-shown-1234567890"
    key = "AKIANEVERSHOWN123456"
    env = {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}
    with aws_proxy.serve("throttle") as proxy:
        for command in (
            [*up_args(aws), "--endpoint-url", proxy.url, "--max-attempts", "2"],
            ["fleet", "discover", "--endpoint-url", proxy.url, "--max-attempts", "1", "-v"],
            ["fleet", "down", "--prefix", "web", "--endpoint-url", aws.endpoint, "--dry-run", "--json"],
        ):
            done = cli(*command, env=env)
            assert secret not in done.stdout + done.stderr
            assert key not in done.stdout + done.stderr


def test_throttled_api_exits_failed(aws: MotoAws, cli) -> None:  # type: ignore[no-untyped-def]
    with aws_proxy.serve("throttle") as proxy:
        env = {"AWS_MAX_ATTEMPTS": "2", "AWS_RETRY_MODE": "adaptive"}  # botocore's own variables work too
        done = cli("fleet", "down", "--prefix", "web", "--endpoint-url", proxy.url, "--json", env=env)
    assert done.returncode == 1
    error = done.json()["error"]
    assert error["type"] == "ThrottledError"
    assert "after 2 attempts" in error["message"]
    assert proxy.actions == ["DescribeInstances", "DescribeInstances"]


def test_ctrl_c_during_up_reports_what_exists(aws: MotoAws, data_dir: Path) -> None:
    with aws_proxy.serve("forward", aws.endpoint) as proxy:
        proxy.hold("DescribeInstances", after="RunInstances")
        args = up_args(aws, count=2)
        args[args.index(aws.endpoint)] = proxy.url
        proc = subprocess.Popen(
            [str(STACKRIG), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            wait_until(proxy.holding.is_set, timeout=60, what="the wait loop's DescribeInstances")
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted: fleet web in us-east-1 has 2 instance(s), all tagged stackrig:fleet=web" in err
    made = aws.instances("web", states=("pending", "running"))
    assert len(made) == 2
    for instance in made:
        assert instance["InstanceId"] in err
        tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
        assert tags["stackrig:fleet"] == "web"
        assert tags["Name"] in {"web-1", "web-2"}


def test_bad_flags_are_usage_errors(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base = ["fleet", "up", "--prefix", "web", "--count", "1", "--image", "ami-1", "--type", "t3.micro",
            "--vpc", "vpc-1", "--endpoint-url", "http://127.0.0.1:9"]  # fmt: skip
    for extra, message in (
        (["--rule", "tcp:22"], "rule 'tcp:22' is not PROTO:PORT[-PORT]:CIDR"),
        (["--tag", "Name=x"], "tag key 'Name' is reserved"),
        (["--retry-mode", "eager"], "--retry-mode 'eager' is not standard or adaptive"),
        (["--address", "both"], "'both' is not one of auto, public, private"),
    ):
        done = cli(*base, *extra)
        assert done.returncode == 2, done.stderr
        assert message in done.stderr
