"""fleet discover vs the amazon.aws aws_ec2 inventory plugin, on one moto server, in one run.

A moto server on 127.0.0.1 gets INSTANCES instances in each of REGIONS regions. Then,
as subprocesses, the way a user runs them:

* ``stackrig fleet discover --region A,B,C,D --hostname id -o inventory`` with a cold
  cache (``--refresh``) and a warm cache (its default TTL);
* ``ansible-inventory -i fleet.stackrig.yml --list`` with stackrig's own inventory plugin
  (``stackrig.fleet.discover``, from the collection inside the package, run by the
  ansible-core of stackrig's venv), ``hostname: id``, cold (``refresh: true``) and warm;
* ``ansible-inventory -i aws_ec2.yml --list`` with ``hostnames: [instance-id]`` and the
  jsonfile cache on, cold (cache folder removed) and warm.

The plugin runs from a separate venv (PyPI ``ansible==12.3.0`` ships amazon.aws; ~500 MB):
``--ansible-venv`` (default ``.bench/ansible-venv``), created with ``--install-ansible``
when missing. Without it only the stackrig figures are printed, and it says so.
Every figure is the median of ``--repeat`` runs; host counts are checked to be equal.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1")
PLUGIN_CONFIG = """plugin: amazon.aws.aws_ec2
regions: {regions}
endpoint_url: {endpoint}
hostnames:
  - instance-id
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: {cache}
cache_timeout: 3600
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = (workdir / "moto.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto_server did not start")


def populate(endpoint: str, regions: tuple[str, ...], count: int) -> None:
    import boto3

    for region in regions:
        ec2 = boto3.client("ec2", region_name=region, endpoint_url=endpoint)
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        left = count
        while left:
            batch = min(500, left)
            ec2.run_instances(
                ImageId=image,
                InstanceType="t3.micro",
                MinCount=batch,
                MaxCount=batch,
                TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Role", "Value": "bench"}]}],
            )
            left -= batch


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds of the command (user + sys), and its stdout."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds, cpu, done.stdout


def medians(runs: list[tuple[float, float, str]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def stackrig_runs(
    endpoint: str, regions: tuple[str, ...], work: Path, env: dict[str, str], repeat: int
) -> dict:
    home = work / "stackrig-home"
    out = work / "stackrig-inventory.json"
    base = [
        str(BIN / "stackrig"), "--data-dir", str(home), "fleet", "discover", "--endpoint-url", endpoint,
        "--region", ",".join(regions), "--hostname", "id", "--format", "json", "-o", str(out),
    ]  # fmt: skip
    cold = medians([timed([*base, "--refresh"], env) for _ in range(repeat)])
    warm = medians([timed(base, env) for _ in range(repeat)])
    hosts = len(json.loads(out.read_text())["all"]["hosts"])
    return {"cold": cold, "warm": warm, "hosts": hosts}


def stackrig_plugin_runs(
    endpoint: str, regions: tuple[str, ...], work: Path, env: dict[str, str], repeat: int
) -> dict:
    from stackrig.fleet.collection import collection_info

    home = work / "stackrig-plugin-home"
    plugin_env = dict(
        env,
        STACKRIG_HOME=str(home),
        ANSIBLE_COLLECTIONS_PATH=str(collection_info().collections_path),
        ANSIBLE_LOCAL_TEMP=str(work / "ansible-tmp"),
        ANSIBLE_HOME=str(work / "ansible-home"),
    )
    runs = {}
    for name, refresh in (("cold", "true"), ("warm", "false")):
        config = work / f"{name}.stackrig.yml"
        config.write_text(
            "plugin: stackrig.fleet.discover\n"
            f"region: {json.dumps(list(regions))}\nendpoint_url: {endpoint}\n"
            f"hostname: id\nrefresh: {refresh}\n"
        )
        argv = [str(BIN / "ansible-inventory"), "-i", str(config), "--list"]
        runs[name] = [timed(argv, plugin_env) for _ in range(repeat)]
    hosts = len(json.loads(runs["warm"][-1][2])["_meta"]["hostvars"])
    return {"cold": medians(runs["cold"]), "warm": medians(runs["warm"]), "hosts": hosts}


def plugin_runs(  # noqa: PLR0917 - one call site
    venv: Path, endpoint: str, regions: tuple[str, ...], work: Path, env: dict[str, str], repeat: int
) -> dict:
    cache = work / "aws_ec2-cache"
    config = work / "aws_ec2.yml"
    config.write_text(PLUGIN_CONFIG.format(regions=json.dumps(list(regions)), endpoint=endpoint, cache=cache))
    plugin_env = dict(
        env, ANSIBLE_LOCAL_TEMP=str(work / "ansible-tmp"), ANSIBLE_HOME=str(work / "ansible-home")
    )
    argv = [str(venv / "bin" / "ansible-inventory"), "-i", str(config), "--list"]
    cold_runs = []
    for _ in range(repeat):
        shutil.rmtree(cache, ignore_errors=True)
        cold_runs.append(timed(argv, plugin_env))
    warm_runs = [timed(argv, plugin_env) for _ in range(repeat)]
    hosts = len(json.loads(warm_runs[-1][2])["_meta"]["hostvars"])
    return {"cold": medians(cold_runs), "warm": medians(warm_runs), "hosts": hosts}


def install_ansible(venv: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "ansible==12.3.0", "boto3"], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instances", type=int, default=2000, help="instances per region (default 2000)")
    parser.add_argument("--regions", type=int, default=4, choices=range(1, len(REGIONS) + 1))
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is shown")
    parser.add_argument("--ansible-venv", type=Path, default=ROOT / ".bench" / "ansible-venv")
    parser.add_argument("--install-ansible", action="store_true", help="create --ansible-venv if missing")
    args = parser.parse_args()
    regions = REGIONS[: args.regions]
    venv: Path | None = args.ansible_venv
    if venv is not None and not (venv / "bin" / "ansible-inventory").exists():
        if args.install_ansible:
            install_ansible(venv)
        else:
            venv = None
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - moto accepts any key
        AWS_DEFAULT_REGION=regions[0],
        AWS_EC2_METADATA_DISABLED="true",
        NO_COLOR="1",
    )
    os.environ.update(
        {k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    )
    with tempfile.TemporaryDirectory(prefix="stackrig-bench-discover-") as tmp:
        work = Path(tmp)
        moto, endpoint = start_moto(work)
        try:
            started = time.perf_counter()
            populate(endpoint, regions, args.instances)
            made = time.perf_counter() - started
            print(f"moto: {args.instances} instances x {len(regions)} regions created in {made:.1f} s")
            ours = stackrig_runs(endpoint, regions, work, env, args.repeat)
            ours_in_ansible = stackrig_plugin_runs(endpoint, regions, work, env, args.repeat)
            theirs = plugin_runs(venv, endpoint, regions, work, env, args.repeat) if venv else None
        finally:
            moto.terminate()
            moto.wait(30)
    total = args.instances * len(regions)
    print(f"fleet discover, {total} instances in {len(regions)} regions (median of {args.repeat} runs)")
    print("wall = elapsed seconds; cpu = user+sys seconds of the command itself (moto's work not included)")
    print(f"{'':27}{'cold wall':>10}{'cold cpu':>10}{'warm wall':>10}{'warm cpu':>10}{'hosts':>7}")
    rows = [("stackrig fleet discover", ours), ("ansible-inventory stackrig", ours_in_ansible)]
    if theirs is not None:
        rows.append(("ansible-inventory aws_ec2", theirs))
    for name, row in rows:
        (cold_wall, cold_cpu), (warm_wall, warm_cpu) = row["cold"], row["warm"]
        print(
            f"{name:27}{cold_wall:>9.2f}s{cold_cpu:>9.2f}s{warm_wall:>9.2f}s{warm_cpu:>9.2f}s{row['hosts']:>7}"
        )
    if theirs is None:
        print("aws_ec2 plugin: not measured (no --ansible-venv; pass --install-ansible to create it)")
        return 0
    ratio = [theirs[k][i] / ours[k][i] for k in ("cold", "warm") for i in (0, 1)]
    print(
        f"speed-up (aws_ec2 / stackrig): cold {ratio[0]:.1f}x wall, {ratio[1]:.1f}x cpu; "
        f"warm {ratio[2]:.1f}x wall, {ratio[3]:.1f}x cpu (goal: cold >= 2x, warm >= 10x)"
    )
    inside = [theirs[k][0] / ours_in_ansible[k][0] for k in ("cold", "warm")]
    print(
        f"inside ansible-inventory (aws_ec2 / stackrig.fleet.discover): cold {inside[0]:.1f}x wall, "
        f"warm {inside[1]:.1f}x wall"
    )
    if len({theirs["hosts"], ours["hosts"], ours_in_ansible["hosts"]}) != 1:
        print(f"WARNING: host counts differ ({ours['hosts']}, {ours_in_ansible['hosts']}, {theirs['hosts']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
