"""Peak memory of ``stackrig fleet inventory`` beside ``json.load`` of the same file, up to 1 GB.

``fleet inventory`` reads cloud JSON with a streaming reader; the goal (issue 25) is that its peak
memory stays below what ``json.load`` alone needs for the same document, at every size. Shapes:

- ``compact``: ``aws ec2 describe-instances --output json`` squeezed, one small instance per
  reservation (the most instances per byte: the hardest case for per-host memory);
- ``pretty``: the aws CLI's indented output with realistic instances (NICs, block devices, tags);
- ``list``: ``--query 'Reservations[].Instances[]'`` (one top-level array, as az, gcloud and
  openstack print theirs).

Each is generated at the sizes asked (default 10 MB, 100 MB, 1 GB), then measured as separate
processes (peak RSS from wait4), one after the other. Prints the ratio stackrig / json.load, and
first what each process needs for an empty input (at 10 MB that fixed part still weighs).
Usage: python benchmarks/fleet_inventory_memory.py [--sizes-mb 1,10,100,1000] [--shapes compact,pretty,list]

Figures, 2026-12-05, 2 CPUs shared (load average 3-14), peak MiB (ratio stackrig / json.load);
before = main at bad034e, after = fleet's lazy start (same benchmark, run one after the other):

    shape      MB   json.load   before          after
    compact     1        17       40 (2.39)       24 (1.41)
    compact    10        81       78 (0.96)       60 (0.73)
    compact   100       721      434 (0.60)      385 (0.53)
    compact  1000      7083     3890 (0.55)     3654 (0.52)
    pretty      1        13       36 (2.74)       20 (1.53)
    pretty     10        43       61 (1.41)       34 (0.78)
    pretty    100       346      131 (0.38)      105 (0.30)
    pretty   1000      3367      800 (0.24)      745 (0.22)
    list        1        17       41 (2.44)       25 (1.49)
    list       10        80       87 (1.09)       65 (0.81)
    list      100       712      527 (0.74)      470 (0.66)
    list     1000      6981     4825 (0.69)     4487 (0.64)
    empty input          10       34              18

From 10 MB up stackrig needs less than json.load. At 1 MB it cannot: json.load's whole peak is
13-17 MiB, and a Python process with click and typer imported, before any code of stackrig and any
input, already holds 16 MiB (interpreter 8.5, + json 9.7, + click 12.9, + typer 16.0, each VmHWM);
fleet inventory's own modules, the run and a 1 MB input add 4-9 MiB to that (the input's part
itself is below json.load's: 2-6 MiB against 3-7 MiB).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path


def _small(n: int) -> dict[str, object]:
    return {
        "InstanceId": f"i-{n:017x}",
        "PrivateIpAddress": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
        "State": {"Code": 16, "Name": "running"},
        "Placement": {"AvailabilityZone": "us-east-1a"},
        "InstanceType": "t3.micro",
        "Tags": [{"Key": "Name", "Value": f"web-{n}"}],
    }


def _rich(n: int) -> dict[str, object]:
    doc = _small(n)
    doc.update(
        ImageId="ami-0abcdef1234567890",
        KeyName="ops",
        LaunchTime="2026-01-01T00:00:00+00:00",
        VpcId="vpc-0123456789abcdef0",
        SubnetId="subnet-0123456789abcdef0",
        PrivateDnsName=f"ip-10-0-{n >> 8 & 255}-{n & 255}.ec2.internal",
        Architecture="x86_64",
        BlockDeviceMappings=[
            {"DeviceName": "/dev/xvda", "Ebs": {"VolumeId": f"vol-{n:017x}", "Status": "attached"}}
        ],
        NetworkInterfaces=[
            {
                "NetworkInterfaceId": f"eni-{n:017x}",
                "PrivateIpAddress": doc["PrivateIpAddress"],
                "Attachment": {"DeviceIndex": 0, "Status": "attached"},
                "Groups": [{"GroupId": "sg-0123456789abcdef0", "GroupName": "web"}],
            }
        ],
        SecurityGroups=[{"GroupId": "sg-0123456789abcdef0", "GroupName": "web"}],
    )
    doc["Tags"] = [*doc["Tags"], {"Key": "team", "Value": f"t{n % 7}"}, {"Key": "env", "Value": "prod"}]  # type: ignore[misc]
    return doc


def _chunks(shape: str, target: int) -> Iterator[str]:
    """The document in pieces until it is about ``target`` bytes."""
    written, n = 0, 0
    if shape == "list":
        yield "["
        while written < target:
            piece = ("," if n else "") + json.dumps(_small(n), separators=(",", ":"))
            written += len(piece)
            n += 1
            yield piece
        yield "]"
        return
    yield '{"Reservations": ['
    while written < target:
        if shape == "pretty":
            reservation = {
                "Groups": [],
                "Instances": [_rich(n)],
                "OwnerId": "123456789012",
                "ReservationId": f"r-{n:017x}",
            }
            piece = ("," if n else "") + "\n" + json.dumps(reservation, indent=4)
        else:
            reservation = {"Instances": [_small(n)], "ReservationId": f"r-{n:017x}"}
            piece = ("," if n else "") + json.dumps(reservation, separators=(",", ":"))
        written += len(piece)
        n += 1
        yield piece
    yield "]}"


def generate(path: Path, shape: str, target: int) -> None:
    with path.open("w") as handle:
        buffer: list[str] = []
        size = 0
        for piece in _chunks(shape, target):
            buffer.append(piece)
            size += len(piece)
            if size > 1 << 22:
                handle.write("".join(buffer))
                buffer, size = [], 0
        handle.write("".join(buffer))


# Each measured process reports its own peak (VmHWM) when it exits. The ru_maxrss that wait4 gives
# is no use at small sizes: Linux keeps the high-water mark of the memory a process had before
# execve, and a spawned child starts as this benchmark's process, so every figure was floored at the
# benchmark's own RSS (13 MiB and more after generating an input).
_REPORT_PEAK = """import atexit
def _stackrig_bench_peak():
    import sys
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                sys.__stderr__.write("\\nstackrig-bench-vmhwm " + line.split()[1] + "\\n")
atexit.register(_stackrig_bench_peak)
"""
JSON_LOAD = "import json,sys; json.load(open(sys.argv[1]))"
# What the console script ``stackrig`` runs (see its entry point in pyproject.toml).
STACKRIG = "import sys; sys.argv[0] = 'stackrig'; from stackrig.cli.app import main; main()"


def measure(code: str, args: list[str], cwd: Path, *, quiet: bool = False) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB, exit code) of ``python -c code args``."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _REPORT_PEAK + code, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=cwd,
        check=False,
    )
    elapsed = time.perf_counter() - started
    stderr = proc.stderr.decode(errors="replace")
    peaks = [line.split()[1] for line in stderr.splitlines() if line.startswith("stackrig-bench-vmhwm ")]
    if proc.returncode != 0 and not quiet:
        print(f"   ! exit {proc.returncode}: {stderr[-300:]}")
    return elapsed, int(peaks[-1]) / 1024 if peaks else float("nan"), proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes-mb", default="1,10,100,1000")
    parser.add_argument("--shapes", default="compact,pretty,list")
    args = parser.parse_args()
    sizes = [int(s) * 1_000_000 for s in args.sizes_mb.split(",")]
    shapes = args.shapes.split(",")
    print("fleet inventory peak memory beside json.load (separate processes, same file)")
    print(
        f"{'shape':<8} {'MB':>6} | {'json.load MiB':>13} {'s':>6} | "
        f"{'stackrig MiB':>12} {'s':>6} | ratio  (load)"
    )
    load: Callable[[], str] = lambda: " ".join(f"{x:.1f}" for x in os.getloadavg())  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="stackrig-bench-fleetmem-") as tmp:
        work = Path(tmp)
        home = str(work / "home")
        # What each process costs before any input: the interpreter, and stackrig's own code.
        empty = work / "empty.json"
        empty.write_text('{"Reservations": []}')
        python = measure(JSON_LOAD, [str(empty)], work)
        ours = measure(
            STACKRIG,
            ["--data-dir", home, "fleet", "inventory", str(empty), "-o", str(work / "h")],
            work,
            quiet=True,
        )
        print(
            f"empty input: json.load {python[1]:.0f} MiB, stackrig {ours[1]:.0f} MiB (its code, not its data)"
        )
        for shape in shapes:
            for size in sizes:
                source = work / f"{shape}-{size}.json"
                generate(source, shape, size)
                mb = source.stat().st_size / 1e6
                base = measure(JSON_LOAD, [str(source)], work)
                ours = measure(
                    STACKRIG,
                    [
                        "--data-dir",
                        home,
                        "fleet",
                        "inventory",
                        str(source),
                        "--state",
                        "any",
                        "-o",
                        str(work / "hosts.ini"),
                    ],
                    work,
                )
                verdict = "below" if ours[1] < base[1] else "ABOVE"
                print(
                    f"{shape:<8} {mb:6.0f} | {base[1]:13.0f} {base[0]:6.1f} | "
                    f"{ours[1]:12.0f} {ours[0]:6.1f} | "
                    f"{ours[1] / base[1]:5.2f} {verdict}  ({load()})"
                )
                source.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
