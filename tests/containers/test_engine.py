"""The test engine itself: private, side by side with others, and nothing left when it stops."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.containers import prepare
from tests.containers.build import make_image
from tests.containers.engine import Engine, start_engine


def mounts_under(*folders: Path) -> list[str]:
    with open("/proc/self/mounts", encoding="utf-8") as handle:
        points = [line.split()[1] for line in handle]
    prefixes = [str(f.resolve()) for f in folders]
    return [p for p in points if any(p == x or p.startswith(x + "/") for x in prefixes)]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def children(pid: int) -> list[int]:
    done = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return [int(p) for p in done.stdout.split()]


def test_a_second_engine_beside_the_first_leaves_nothing(engine: Engine, tmp_path: Path) -> None:
    """Another engine (as another test run would start) works beside the session's; when it stops,
    its containers, network and volume are gone, then its daemon, its containerd, its mounts
    (overlays, the network namespace's nsfs file) and its folder."""
    data_root = tmp_path / "data-root"
    second = start_engine(data_root)
    try:
        assert second.socket != engine.socket
        assert not Path("/var/run/docker.sock").exists()
        base = prepare.base_tag()
        saved = tmp_path / "base.tar"
        engine.run("save", "-o", str(saved), base)
        second.run("load", "-q", "-i", str(saved))
        second.run("network", "create", "lifecycle")
        container = second.run(
            "run", "-d", "--network", "lifecycle", "-v", "lifecycle-data:/data", "-p", "127.0.0.1::8000",
            base, "sleep", "infinity",
        ).stdout.strip()  # fmt: skip
        assert second.leftovers() == {"containers": [container[:12]], "networks": ["lifecycle"],
                                      "volumes": ["lifecycle-data"]}  # fmt: skip
        assert any("nsfs" in line for line in Path("/proc/self/mounts").read_text().splitlines()
                   if str(second.root) in line)  # fmt: skip
        assert engine.run("ps", "-q").stdout.strip() != container[:12]  # the first engine does not see it
        assert second.process is not None
        daemon = second.process.pid
        containerd = children(daemon)
        assert containerd
    finally:
        second.stop()
    assert not alive(daemon)
    assert not any(alive(pid) for pid in containerd)
    assert mounts_under(second.root, data_root) == []
    assert not second.root.exists()
    assert engine.run("version").returncode == 0  # the session's engine is untouched
    shutil.rmtree(data_root)  # the images it loaded (a persistent data-root would keep them)


def test_make_image_says_how_to_make_a_missing_base_image(tmp_path: Path) -> None:
    """On a daemon without debian:bookworm-slim (no registry here), make image stops at once and says
    how to make it, before building any wheel."""
    empty = start_engine(tmp_path / "data-root")
    try:
        context = tmp_path / "context"
        done = make_image(empty, context)
    finally:
        empty.stop()
    assert done.returncode != 0
    assert "the base image debian:bookworm-slim is not on the daemon" in done.stderr
    assert "sudo scripts/base-image.sh" in done.stderr
    assert not context.exists()


def test_make_image_without_a_daemon(tmp_path: Path) -> None:
    nowhere = Engine(root=tmp_path, data_root=tmp_path / "data")  # never started: nothing answers
    done = make_image(nowhere, tmp_path / "context")
    assert done.returncode != 0
    assert f"no Docker daemon answers at {nowhere.host}" in done.stderr
