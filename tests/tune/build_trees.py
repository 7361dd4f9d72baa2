"""Build the fixture trees under tests/tune/trees/ (run by hand: python tests/tune/build_trees.py).

The base is this machine's own /proc and /sys files (the ones the audit reads),
copied as they were when the trees were built; every other tree is the base
with a few files changed (HDD, NVMe, virtio disks; KSM on/off; SMT on/off; two
NUMA nodes; a kernel with the legacy scheduler names ``noop deadline [cfq]``).

Per-check trees: ``trees/<check-id>/<status>-<variant>/`` hold only the files
that check reads; ``<status>`` is the worst status the check must report there.
Whole-host trees: ``trees/hosts/<name>/``.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
TREES = HERE / "trees"
sys.path.insert(0, str(HERE.parents[1] / "src"))

Files = dict[str, str]

REAL = [
    "proc/meminfo",
    "proc/sys/vm/swappiness",
    "proc/sys/vm/zone_reclaim_mode",
    "proc/sys/vm/dirty_ratio",
    "proc/sys/vm/dirty_background_ratio",
    "proc/sys/vm/dirty_bytes",
    "proc/sys/vm/dirty_background_bytes",
    "proc/sys/kernel/numa_balancing",
    "sys/kernel/mm/transparent_hugepage/enabled",
    "sys/kernel/mm/transparent_hugepage/defrag",
    "sys/kernel/mm/ksm/run",
    "sys/kernel/mm/ksm/pages_shared",
    "sys/kernel/mm/ksm/pages_sharing",
    "sys/devices/system/cpu/online",
    "sys/devices/system/cpu/smt/control",
    "sys/devices/system/cpu/smt/active",
    "sys/devices/system/node/node0/cpulist",
    "sys/module/kvm/parameters/halt_poll_ns",
    "sys/module/kvm_pvm/parameters/force",
    "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
    "sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
    "sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages",
    "sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages",
]


def _real() -> Files:
    files: Files = {rel: Path("/", rel).read_text() for rel in REAL}
    cpuinfo = Path("/proc/cpuinfo").read_text()
    files["proc/cpuinfo"] = cpuinfo.split("\n\n")[0] + "\n\n"  # first CPU's block is enough
    mountinfo = Path("/proc/self/mountinfo").read_text().splitlines()
    keep = [line for line in mountinfo if line.split()[4] in ("/", "/proc", "/sys", "/dev", "/dev/shm")]
    files["proc/self/mountinfo"] = "\n".join(keep) + "\n"
    for block in sorted(Path("/sys/block").iterdir()):
        if block.name not in ("vda", "loop0", "zram0"):
            continue
        for leaf in ("scheduler", "rotational"):
            src = block / "queue" / leaf
            if src.exists():
                files[f"sys/block/{block.name}/queue/{leaf}"] = src.read_text()
    cpu = Path("/sys/devices/system/cpu")
    for entry in sorted(cpu.glob("cpu[0-9]*")):
        rel = f"sys/devices/system/cpu/{entry.name}/topology/thread_siblings_list"
        files[rel] = (entry / "topology/thread_siblings_list").read_text()
    for flaw in sorted((cpu / "vulnerabilities").iterdir()):
        files[f"sys/devices/system/cpu/vulnerabilities/{flaw.name}"] = flaw.read_text()
    files["dev/kvm"] = ""
    return files


def _drop(files: Files, prefix: str) -> Files:
    return {k: v for k, v in files.items() if not k.startswith(prefix)}


def disks(files: Files, **devices: tuple[str, str]) -> Files:
    """Replace the block devices: name=(scheduler line, rotational)."""
    out = _drop(files, "sys/block/")
    for name, (sched, rot) in devices.items():
        out[f"sys/block/{name}/queue/scheduler"] = sched + "\n"
        out[f"sys/block/{name}/queue/rotational"] = rot + "\n"
    return out


def smt_on(files: Files, *, cpus: int = 8, nodes: int = 1, flaw: str = "Not affected") -> Files:
    """``cpus`` logical CPUs as pairs of siblings (i, i + cpus/2), spread over ``nodes`` nodes."""
    out = _drop(_drop(files, "sys/devices/system/cpu/"), "sys/devices/system/node/")
    half = cpus // 2
    out["sys/devices/system/cpu/online"] = f"0-{cpus - 1}\n"
    out["sys/devices/system/cpu/smt/control"] = "on\n"
    out["sys/devices/system/cpu/smt/active"] = "1\n"
    for i in range(cpus):
        first = i % half
        out[f"sys/devices/system/cpu/cpu{i}/topology/thread_siblings_list"] = f"{first},{first + half}\n"
    out["sys/devices/system/cpu/vulnerabilities/l1tf"] = flaw + "\n"
    out["sys/devices/system/cpu/vulnerabilities/meltdown"] = "Not affected\n"
    per = max(1, half // nodes)
    for n in range(nodes):
        out[f"sys/devices/system/node/node{n}/cpulist"] = f"{n * per}-{n * per + per - 1}\n"
    return out


def numa(files: Files, nodes: int) -> Files:
    out = _drop(files, "sys/devices/system/node/")
    for n in range(nodes):
        out[f"sys/devices/system/node/node{n}/cpulist"] = f"{n}\n"
    return out


def governors(files: Files, governor: str, cpus: int = 2) -> Files:
    out = dict(files)
    for i in range(cpus):
        out[f"sys/devices/system/cpu/cpu{i}/cpufreq/scaling_governor"] = governor + "\n"
        out[f"sys/devices/system/cpu/cpu{i}/cpufreq/scaling_available_governors"] = "performance powersave\n"
    return out


def sysctl(files: Files, **values: str) -> Files:
    out = dict(files)
    for key, value in values.items():
        out["proc/sys/" + key.replace("__", "/")] = value + "\n"
    return out


def nova(files: Files, **options: str) -> Files:
    body = "".join(f"{k} = {v}\n" for k, v in options.items())
    return {**files, "etc/nova/nova.conf": "[DEFAULT]\n" + body}


def meminfo_huge(files: Files, total: int, free: int) -> Files:
    lines = []
    for line in files["proc/meminfo"].splitlines():
        if line.startswith("HugePages_Total:"):
            lines.append(f"HugePages_Total:   {total}")
        elif line.startswith("HugePages_Free:"):
            lines.append(f"HugePages_Free:    {free}")
        else:
            lines.append(line)
    return {**files, "proc/meminfo": "\n".join(lines) + "\n"}


def huge_pool(files: Files, kb: int, total: int, free: int) -> Files:
    folder = f"sys/kernel/mm/hugepages/hugepages-{kb}kB"
    return {**files, f"{folder}/nr_hugepages": f"{total}\n", f"{folder}/free_hugepages": f"{free}\n"}


def mounts(files: Files, *lines: str) -> Files:
    root = "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard\n"
    body = root + "".join(line + "\n" for line in lines)
    return {**files, "proc/self/mountinfo": body, "var/lib/nova/instances/.keep": ""}


def ksm(files: Files, run: int, shared: int = 0, sharing: int = 0) -> Files:
    return {
        **files,
        "sys/kernel/mm/ksm/run": f"{run}\n",
        "sys/kernel/mm/ksm/pages_shared": f"{shared}\n",
        "sys/kernel/mm/ksm/pages_sharing": f"{sharing}\n",
    }


def kvm_intel(files: Files, nested: str = "Y") -> Files:
    out = _drop(_drop(files, "sys/module/"), "proc/cpuinfo")
    out["proc/cpuinfo"] = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme de pse vmx\n\n"
    out["sys/module/kvm/parameters/halt_poll_ns"] = "200000\n"
    out["sys/module/kvm_intel/parameters/nested"] = nested + "\n"
    return out


# check id → the path prefixes it reads
READS = {
    "io-scheduler": ("sys/block/",),
    "transparent-hugepages": ("sys/kernel/mm/transparent_hugepage/",),
    "hugepages": ("proc/meminfo", "sys/kernel/mm/hugepages/"),
    "ksm": ("sys/kernel/mm/ksm/", "etc/nova/"),
    "smt": ("sys/devices/system/cpu/", "etc/nova/"),
    "zone-reclaim": ("proc/sys/vm/zone_reclaim_mode", "sys/devices/system/node/"),
    "swappiness": ("proc/sys/vm/swappiness",),
    "dirty-ratios": ("proc/sys/vm/dirty",),
    "numa-balancing": ("proc/sys/kernel/numa_balancing", "sys/devices/system/node/"),
    "cpu-governor": ("sys/devices/system/cpu/",),
    "kvm": ("dev/kvm", "sys/module/", "proc/cpuinfo"),
    "instances-path": ("proc/self/mountinfo", "var/lib/nova/", "etc/nova/"),
}

MQ = "[none] mq-deadline kyber bfq"
MQ_DEADLINE = "none [mq-deadline] kyber bfq"


def per_check(base: Files) -> dict[str, dict[str, Files | Callable[[Path], None]]]:
    thp = "sys/kernel/mm/transparent_hugepage/"

    def dir_in_place(rel: str) -> Callable[[Path], None]:
        def make(folder: Path) -> None:
            (folder / rel).mkdir(parents=True)
            (folder / rel / ".keep").write_text("")  # git keeps no empty folders

        return make

    return {
        "io-scheduler": {
            "pass-nvme": disks(base, nvme0n1=(MQ, "0")),
            "pass-hdd": disks(base, sda=(MQ_DEADLINE, "1")),
            "pass-virtio": disks(base, vda=(MQ, "1"), loop0=(MQ, "0")),
            "pass-ssd": disks(base, sda=(MQ, "0")),
            "pass-legacy-hdd": disks(base, sda=("noop [deadline] cfq", "1")),
            "pass-legacy-virtio": disks(base, vda=("[noop] deadline cfq", "1")),
            "fail-this-machine-virtio": base,
            "fail-nvme": disks(base, nvme0n1=(MQ_DEADLINE, "0")),
            "fail-hdd-none": disks(base, sda=(MQ, "1")),
            "fail-legacy-cfq": disks(base, sda=("noop deadline [cfq]", "1")),
            "fail-no-wanted-scheduler": disks(base, sda=("[none] kyber", "1")),
            "na-no-disks": disks(base, loop0=(MQ, "0")),
            "error-unreadable-scheduler": {
                **disks(base, nvme0n1=(MQ, "0")),
                "__make__": dir_in_place("sys/block/sdb/queue/scheduler"),  # type: ignore[dict-item]
            },
        },
        "transparent-hugepages": {
            "pass-this-machine": base,
            "pass-always": {**base, thp + "enabled": "[always] madvise never\n"},
            "fail-never": {**base, thp + "enabled": "always madvise [never]\n"},
            "warn-defrag-always": {**base, thp + "defrag": "[always] defer defer+madvise madvise never\n"},
            "na-no-thp": _drop(base, thp),
        },
        "hugepages": {
            "pass-this-machine-none-reserved": base,
            "pass-in-use": huge_pool(base, 2048, 512, 100),
            "pass-old-kernel-meminfo-only": _drop(meminfo_huge(base, 512, 100), "sys/kernel/mm/hugepages/"),
            "warn-unused": huge_pool(base, 2048, 512, 512),
            "warn-1g-unused": huge_pool(base, 1048576, 16, 16),
            "warn-exhausted": huge_pool(base, 1048576, 16, 0),
            "warn-old-kernel-exhausted": _drop(meminfo_huge(base, 512, 0), "sys/kernel/mm/hugepages/"),
            "error-no-meminfo": _drop(_drop(base, "proc/meminfo"), "sys/kernel/mm/hugepages/"),
            "error-not-a-number": {**base, "sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages": "x\n"},
        },
        "ksm": {
            "na-this-machine-no-nova-conf": ksm(base, 0),
            "pass-overcommit-on": nova(ksm(base, 1, 1200, 25600), ram_allocation_ratio="1.5"),
            "pass-no-overcommit-off": nova(ksm(base, 0), ram_allocation_ratio="1.0"),
            "fail-overcommit-off": nova(ksm(base, 0), ram_allocation_ratio="1.5"),
            "warn-no-overcommit-on": nova(ksm(base, 1, 10, 20), ram_allocation_ratio="1.0"),
            "na-no-ksm": _drop(base, "sys/kernel/mm/ksm/"),
            "error-bad-nova-conf": {**ksm(base, 0), "etc/nova/nova.conf": "ram_allocation_ratio = 1.5\n"},
            "error-not-a-number": {**ksm(base, 0), "sys/kernel/mm/ksm/pages_sharing": "lots\n"},
        },
        "smt": {
            "pass-this-machine-off": base,
            "pass-on-not-vulnerable": nova(smt_on(base), cpu_allocation_ratio="4.0"),
            "warn-on-l1tf": smt_on(
                base, flaw="Mitigation: PTE Inversion; VMX: conditional cache flushes, SMT vulnerable"
            ),
            "error-no-topology": _drop(base, "sys/devices/system/cpu/"),
        },
        "zone-reclaim": {
            "pass-this-machine": base,
            "pass-numa2": numa(sysctl(base, vm__zone_reclaim_mode="0"), 2),
            "fail-numa2-on": numa(sysctl(base, vm__zone_reclaim_mode="1"), 2),
            "na-one-node-on": numa(sysctl(base, vm__zone_reclaim_mode="1"), 1),
        },
        "swappiness": {
            "pass-10": sysctl(base, vm__swappiness="10"),
            "pass-0": sysctl(base, vm__swappiness="0"),
            "fail-this-machine-60": sysctl(base, vm__swappiness="60"),
            "error-not-a-number": sysctl(base, vm__swappiness="sixty"),
            "error-unreadable": {
                **_drop(base, "proc/sys/vm/swappiness"),
                "__make__": dir_in_place("proc/sys/vm/swappiness"),  # type: ignore[dict-item]
            },
        },
        "dirty-ratios": {
            "pass-tuned": sysctl(base, vm__dirty_background_ratio="5", vm__dirty_ratio="40"),
            "warn-this-machine-defaults": sysctl(base, vm__dirty_background_ratio="10", vm__dirty_ratio="20"),
            "warn-dirty-ratio-high": sysctl(base, vm__dirty_background_ratio="5", vm__dirty_ratio="80"),
            "na-set-in-bytes": sysctl(
                base, vm__dirty_background_bytes="67108864", vm__dirty_bytes="268435456"
            ),
        },
        "numa-balancing": {
            "na-this-machine-one-node": base,
            "pass-numa2-on": numa(sysctl(base, kernel__numa_balancing="1"), 2),
            "warn-numa2-off": numa(sysctl(base, kernel__numa_balancing="0"), 2),
            "na-no-numa-balancing": numa(_drop(base, "proc/sys/kernel/numa_balancing"), 2),
        },
        "cpu-governor": {
            "na-this-machine-no-cpufreq": base,
            "pass-performance": governors(base, "performance"),
            "warn-powersave": governors(base, "powersave"),
        },
        "kvm": {
            "pass-this-machine-pvm": base,
            "pass-intel-nested": kvm_intel(base, "Y"),
            "pass-intel-no-nested": kvm_intel(base, "N"),
            "fail-no-kvm": _drop(_drop(kvm_intel(base), "sys/module/"), "dev/kvm"),
        },
        "instances-path": {
            "na-this-machine-absent": base,
            "pass-own-disk-noatime": mounts(
                base, "40 22 8:17 / /var/lib/nova rw,noatime shared:9 - xfs /dev/sdb1 rw,attr2"
            ),
            "pass-nfs": mounts(
                base, "41 22 0:50 / /var/lib/nova/instances rw,relatime - nfs4 nas:/nova rw,vers=4.2"
            ),
            "warn-on-root-relatime": mounts(base),
            "fail-tmpfs": mounts(base, "42 22 0:40 / /var/lib/nova rw,relatime - tmpfs tmpfs rw,size=1G"),
            "error-no-mountinfo": _drop(mounts(base), "proc/self/mountinfo"),
        },
    }


def hosts(base: Files) -> dict[str, Files]:
    legacy = disks(base, sda=("noop deadline [cfq]", "1"), sdb=("noop deadline [cfq]", "0"))
    legacy = smt_on(legacy, cpus=8, nodes=2)
    legacy = governors(legacy, "powersave", cpus=8)
    legacy = sysctl(
        legacy,
        vm__swappiness="60",
        vm__zone_reclaim_mode="1",
        vm__dirty_background_ratio="10",
        kernel__numa_balancing="0",
    )
    legacy = {
        **ksm(legacy, 0),
        "sys/kernel/mm/transparent_hugepage/enabled": "[always] madvise never\n",
        "sys/kernel/mm/transparent_hugepage/defrag": "[always] madvise never\n",
    }
    legacy = nova(kvm_intel(legacy, "N"), ram_allocation_ratio="1.5", cpu_allocation_ratio="4.0")
    legacy = mounts(legacy, "40 22 8:17 / /var/lib/nova rw,relatime - xfs /dev/sdb1 rw,attr2")

    tuned = disks(base, nvme0n1=(MQ, "0"), sda=(MQ_DEADLINE, "1"))
    tuned = sysctl(tuned, vm__swappiness="10", vm__dirty_background_ratio="5", vm__dirty_ratio="40")
    tuned = governors(nova(kvm_intel(tuned, "N"), ram_allocation_ratio="1.0"), "performance")
    tuned = mounts(tuned, "40 22 259:1 / /var/lib/nova rw,noatime - xfs /dev/nvme0n1p1 rw")

    guest = disks(base, vda=(MQ, "1"))
    guest = sysctl(guest, vm__swappiness="30")
    return {"this-machine": base, "legacy-hdd-numa": legacy, "tuned-nvme": tuned, "virtio-guest": guest}


def write_tree(folder: Path, files: Files) -> None:
    for rel, text in files.items():
        if rel == "__make__":
            continue
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    maker = files.get("__make__")
    if callable(maker):
        maker(folder)


GOLDEN = HERE / "golden"


def build_golden() -> None:
    """trees/hosts/legacy-hdd-numa after ``tune apply --yes --persist``: review its diff by eye."""
    from stackrig.tune import ApplySettings, apply

    target = GOLDEN / "legacy-hdd-numa-applied"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(TREES / "hosts" / "legacy-hdd-numa", target)
    backups = HERE / ".golden-backups"
    apply(ApplySettings(root=target, yes=True, persist=True, backups=backups))
    shutil.rmtree(backups)


def main() -> None:
    base = _real()
    if TREES.exists():
        shutil.rmtree(TREES)
    for check, variants in per_check(base).items():
        prefixes = READS[check]
        for variant, files in variants.items():
            assert isinstance(files, dict)
            wanted = {k: v for k, v in files.items() if k == "__make__" or k.startswith(prefixes)}
            folder = TREES / check / variant
            folder.mkdir(parents=True)
            write_tree(folder, wanted)
    for name, files in hosts(base).items():
        write_tree(TREES / "hosts" / name, files)
    build_golden()
    print(f"wrote {sum(1 for _ in TREES.rglob('*') if _.is_file())} files under {TREES}")


if __name__ == "__main__":
    main()
