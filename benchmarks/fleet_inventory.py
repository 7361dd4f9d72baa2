"""Speed of ``stackrig fleet inventory`` beside ``json.load`` alone and the seed's script.

Generates ``aws ec2 describe-instances`` JSON with 10,000 and 100,000 instances
(realistic fields: NICs, block devices, security groups, tags; some without a
public address) and runs, each as its own process on the same file:

- ``json.load``: a bare ``python -c 'json.load(...)'`` (the floor for any tool);
- the seed's script (its logic, reconstructed: only ``Instances[0]`` of each
  reservation, a plain IP list, ``agent.yml`` from the environment);
- ``stackrig fleet inventory FILE --state any -o hosts.ini`` (every instance, INI).

Wall time and peak memory (max RSS) per process are printed side by side, then
``ansible-inventory --list`` is run on the 10,000-host output.
Usage: python benchmarks/fleet_inventory.py [--sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

BIN = Path(sys.executable).parent

SEED_SCRIPT = r'''
import os
import json
import sys

_AGENT_YML = """
version: 1
  hostname: %s
  port: 4524
  backend: aws
  access_key_id: %s
  secret_access_key: %s
  region: %s
  zone: %s
"""

def main(input_data):
    instances = [
        {
            u'ip': i[u'Instances'][0][u'PublicIpAddress'],
            u'name': i[u'Instances'][0][u'KeyName'],
        }
        for i in input_data[u'Reservations']
    ]
    with open('./ansible_inventory', 'w') as inventory_output:
        inventory_output.write('[flocker_control_service]\n')
        inventory_output.write(instances[0][u'ip'] + '\n')
        inventory_output.write('\n[flocker_agents]\n')
        for instance in instances:
            inventory_output.write(instance[u'ip'] + '\n')
        inventory_output.write('\n[nodes:children]\nflocker_control_service\nflocker_agents\n')
    with open('./agent.yml', 'w') as agent_yml:
        agent_yml.write(_AGENT_YML % (instances[0][u'ip'], os.environ['AWS_ACCESS_KEY_ID'],
            os.environ['AWS_SECRET_ACCESS_KEY'], os.environ['MY_AWS_DEFAULT_REGION'],
            os.environ['MY_AWS_DEFAULT_REGION'] + os.environ['MY_AWS_ZONE']))

if __name__ == '__main__':
    if sys.stdin.isatty():
        raise SystemExit("Must pipe input into this script.")
    stdin_json = json.load(sys.stdin)
    main(stdin_json)
'''


def _instance(n: int, rng: random.Random) -> dict[str, object]:
    zone = rng.choice(["us-east-1a", "us-east-1b", "us-east-1c"])
    private = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
    public = f"54.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
    has_public = n % 10 != 3  # one in ten in a private subnet
    iid = f"i-{n:017x}"
    nic: dict[str, object] = {
        "Attachment": {
            "AttachTime": "2024-05-01T10:00:00+00:00",
            "AttachmentId": f"eni-attach-{n:017x}",
            "DeleteOnTermination": True,
            "DeviceIndex": 0,
            "Status": "attached",
        },
        "Description": "",
        "Groups": [{"GroupName": "web", "GroupId": "sg-0123456789abcdef0"}],
        "MacAddress": "0e:12:34:56:78:9a",
        "NetworkInterfaceId": f"eni-{n:017x}",
        "OwnerId": "123456789012",
        "PrivateDnsName": f"ip-{private.replace('.', '-')}.ec2.internal",
        "PrivateIpAddress": private,
        "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": private}],
        "SourceDestCheck": True,
        "Status": "in-use",
        "SubnetId": "subnet-0123456789abcdef0",
        "VpcId": "vpc-0123456789abcdef0",
    }
    instance: dict[str, object] = {
        "AmiLaunchIndex": 0,
        "ImageId": "ami-0abcdef1234567890",
        "InstanceId": iid,
        "InstanceType": rng.choice(["t3.micro", "t3.small", "m5.large"]),
        "KeyName": "deploy-key",
        "LaunchTime": "2024-05-01T10:00:00+00:00",
        "Monitoring": {"State": "disabled"},
        "Placement": {"AvailabilityZone": zone, "GroupName": "", "Tenancy": "default"},
        "PrivateDnsName": f"ip-{private.replace('.', '-')}.ec2.internal",
        "PrivateIpAddress": private,
        "ProductCodes": [],
        "PublicDnsName": f"ec2-{public.replace('.', '-')}.compute-1.amazonaws.com" if has_public else "",
        "State": {"Code": 16, "Name": "running"},
        "StateTransitionReason": "",
        "SubnetId": "subnet-0123456789abcdef0",
        "VpcId": "vpc-0123456789abcdef0",
        "Architecture": "x86_64",
        "BlockDeviceMappings": [
            {
                "DeviceName": "/dev/xvda",
                "Ebs": {
                    "AttachTime": "2024-05-01T10:00:01+00:00",
                    "DeleteOnTermination": True,
                    "Status": "attached",
                    "VolumeId": f"vol-{n:017x}",
                },
            }
        ],
        "EbsOptimized": False,
        "Hypervisor": "xen",
        "NetworkInterfaces": [nic],
        "RootDeviceName": "/dev/xvda",
        "RootDeviceType": "ebs",
        "SecurityGroups": [{"GroupName": "web", "GroupId": "sg-0123456789abcdef0"}],
        "SourceDestCheck": True,
        "Tags": [
            {"Key": "Name", "Value": f"my-prefix-{n}"},
            {"Key": "Role", "Value": rng.choice(["web", "db", "cache"])},
            {"Key": "Team", "Value": "storage"},
        ],
        "VirtualizationType": "hvm",
    }
    if has_public:
        instance["PublicIpAddress"] = public
        nic["Association"] = {"IpOwnerId": "amazon", "PublicDnsName": "", "PublicIp": public}
    return instance


def generate(path: Path, count: int) -> None:
    """Reservations of 1-4 instances each (run-instances --count makes multi-instance reservations).

    Written one reservation at a time, indented like the aws CLI's output.
    """
    rng = random.Random(count)
    n = 0
    with path.open("w") as handle:
        handle.write('{\n    "Reservations": [\n')
        while n < count:
            size = min(rng.randint(1, 4), count - n)
            instances = [_instance(n + k, rng) for k in range(size)]
            # the seed reads Instances[0]: give every first instance a public IP so its script can run at all
            instances[0].setdefault("PublicIpAddress", f"54.200.{n >> 8 & 255}.{n & 255}")
            reservation = {
                "Groups": [],
                "Instances": instances,
                "OwnerId": "123456789012",
                "ReservationId": f"r-{n:017x}",
            }
            if n:
                handle.write(",\n")
            handle.write(textwrap.indent(json.dumps(reservation, indent=4), "        "))
            n += size
        handle.write("\n    ]\n}\n")


def measure(
    argv: list[str], *, stdin: Path | None = None, cwd: Path, env: dict[str, str] | None = None
) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB, exit code) of one process."""
    started = time.perf_counter()
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as handle:
        proc = subprocess.Popen(
            argv, stdin=handle, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd, env=env
        )
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 and proc.stderr is not None:
        print(f"   ! {argv[0]} exited {proc.returncode}: {proc.stderr.read().decode()[-500:]}")
    return wall, usage.ru_maxrss / 1024, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "MY_AWS_DEFAULT_REGION": "us-east-1",
        "MY_AWS_ZONE": "a",
        "STACKRIG_HOME": tempfile.mkdtemp(prefix="stackrig-bench-home-"),
    }
    with tempfile.TemporaryDirectory(prefix="stackrig-bench-fleet-") as tmp:
        work = Path(tmp)
        seed = work / "seed_script.py"
        seed.write_text(SEED_SCRIPT)
        print("fleet inventory: describe-instances JSON → Ansible inventory (one process each, same file)")
        header = (
            f"{'instances':>10} {'JSON MB':>8} | {'tool':<34} {'wall s':>8} {'peak MiB':>9} "
            f"{'x json.load':>11} {'hosts':>8}"
        )
        print(header)
        print("-" * len(header))
        ten_k_inventory: Path | None = None
        for count in sizes:
            source = work / f"describe-{count}.json"
            generate(source, count)
            mb = source.stat().st_size / 1e6
            base_wall, base_rss, _ = measure(
                [sys.executable, "-c", "import json,sys; json.load(open(sys.argv[1]))", str(source)], cwd=work
            )
            rows = [("python json.load only", base_wall, base_rss, "-")]
            seed_dir = work / f"seed-{count}"
            seed_dir.mkdir()
            wall, rss, code = measure([sys.executable, str(seed)], stdin=source, cwd=seed_dir, env=env)
            seed_hosts = (
                sum(
                    1
                    for line in (seed_dir / "ansible_inventory").read_text().splitlines()
                    if line[:1].isdigit()
                )
                if code == 0
                else 0
            )
            rows.append(("seed script (Instances[0] only)", wall, rss, str(seed_hosts)))
            target = work / f"hosts-{count}.ini"
            wall, rss, code = measure(
                [
                    str(BIN / "stackrig"),
                    "fleet",
                    "inventory",
                    str(source),
                    "--state",
                    "any",
                    "--group",
                    "nodes",
                    "-o",
                    str(target),
                ],
                cwd=work,
                env=env,
            )
            hosts = (
                sum(1 for line in target.read_text().splitlines() if " ansible_host=" in line)
                if code == 0
                else 0
            )
            rows.append(("stackrig fleet inventory (INI)", wall, rss, str(hosts)))
            for name, w, r, h in rows:
                print(
                    f"{count:>10} {mb:>8.1f} | {name:<34} {w:>8.2f} {r:>9.0f} {w / base_wall:>11.2f} {h:>8}"
                )
            if count == 10_000:
                ten_k_inventory = target
        if ten_k_inventory is not None:
            started = time.perf_counter()
            done = subprocess.run(
                [str(BIN / "ansible-inventory"), "-i", str(ten_k_inventory), "--list"],
                capture_output=True,
                text=True,
                cwd=work,
                env={**env, "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"},
                check=False,
            )
            wall = time.perf_counter() - started
            listed = len(json.loads(done.stdout)["_meta"]["hostvars"]) if done.returncode == 0 else 0
            print(
                f"\nansible-inventory --list on the 10,000-instance INI: exit {done.returncode}, "
                f"{listed} hosts, {wall:.2f} s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
