"""Files written as a set (stackrig._fileset): all old or all new, on a full disk and across kills."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stackrig._fileset import STAGE_PREFIX, write_set
from stackrig.errors import OutputPathError
from tests.services import in_small_tmpfs


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


def _stages(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(STAGE_PREFIX)]


def test_a_new_set_then_a_replaced_one_keeps_other_files(tmp_path: Path) -> None:
    inv, hv = tmp_path / "hosts.ini", tmp_path / "host_vars"
    with write_set(files=[inv], folders=[hv]) as stage:
        stage.write(hv / "a.yml", "a: 1\n")
        stage.write(hv / "b.yml", "b: 1\n")
        stage.write(inv, "[all]\na\nb\n")
    assert inv.read_text() == "[all]\na\nb\n"
    assert _tree(hv) == {"a.yml": "a: 1\n", "b.yml": "b: 1\n"}
    (hv / "mine.yml").write_text("hand: written\n")  # the user's own file
    (hv / "deep").mkdir()
    (hv / "deep" / "x.yml").write_text("x: 1\n")
    inv.chmod(0o640)
    with write_set(files=[inv], folders=[hv]) as stage:
        stage.write(hv / "a.yml", "a: 2\n")  # never written through the hard link to the old file
        stage.remove(hv / "b.yml")
        stage.write(inv, "[all]\na\n")
    assert inv.read_text() == "[all]\na\n"
    assert oct(inv.stat().st_mode & 0o777) == "0o640"  # the mode of the file it replaced
    assert _tree(hv) == {"a.yml": "a: 2\n", "deep/x.yml": "x: 1\n", "mine.yml": "hand: written\n"}
    assert _stages(tmp_path) == []


def test_an_error_inside_leaves_everything_as_it_was(tmp_path: Path) -> None:
    inv, hv = tmp_path / "hosts.ini", tmp_path / "host_vars"
    with write_set(files=[inv], folders=[hv]) as stage:
        stage.write(hv / "a.yml", "old\n")
        stage.write(inv, "old\n")

    def half_way() -> None:
        with write_set(files=[inv], folders=[hv]) as stage:
            stage.write(hv / "a.yml", "new\n")
            raise RuntimeError("half-way")

    with pytest.raises(RuntimeError):
        half_way()
    assert inv.read_text() == "old\n"
    assert _tree(hv) == {"a.yml": "old\n"}
    assert _stages(tmp_path) == []


def test_bad_members_are_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputPathError, match="a file is in the way"), write_set(folders=[tmp_path / "file"]):
        pass
    with pytest.raises(OutputPathError, match="it is a folder"), write_set(files=[tmp_path]):
        pass
    with pytest.raises(OutputPathError, match="does not exist"), write_set(files=[tmp_path / "no" / "x"]):
        pass


_KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
import stackrig._fileset as fs
folder = Path(sys.argv[1])
when = sys.argv[2]
if when == "after-mark":
    real = fs._roll_forward
    def first_member_then_die(stage):
        inodes = __import__("json").loads((stage / fs.COMMIT).read_text())
        name = sorted(inodes)[0]
        if (stage / name).is_dir():
            fs._exchange(stage / name, folder / name)
        else:
            (stage / name).rename(folder / name)
        os.kill(os.getpid(), signal.SIGKILL)
    fs._roll_forward = first_member_then_die
with fs.write_set(files=[folder / "hosts.ini"], folders=[folder / "host_vars"]) as stage:
    stage.write(folder / "host_vars" / "a.yml", "new\\n")
    if when == "while-writing":
        os.kill(os.getpid(), signal.SIGKILL)
    stage.write(folder / "hosts.ini", "new\\n")
"""


@pytest.mark.parametrize("when", ["while-writing", "after-mark"])
def test_a_kill_is_rolled_back_or_forward_by_the_next_write(tmp_path: Path, when: str) -> None:
    inv, hv = tmp_path / "hosts.ini", tmp_path / "host_vars"
    with write_set(files=[inv], folders=[hv]) as stage:
        stage.write(hv / "a.yml", "old\n")
        stage.write(inv, "old\n")
    done = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(tmp_path), when], check=False)
    assert done.returncode == -signal.SIGKILL
    assert len(_stages(tmp_path)) == 1  # what the killed writer left
    with write_set(files=[tmp_path / "other.txt"]) as stage:  # any later set in the folder
        stage.write(tmp_path / "other.txt", "x\n")
    assert _stages(tmp_path) == []
    expected = "old\n" if when == "while-writing" else "new\n"
    assert inv.read_text() == expected
    assert _tree(hv) == {"a.yml": expected}


def _cloud_json(path: Path, count: int) -> None:
    """describe-instances with tags that INI cannot hold safely (so they go to host_vars)."""
    instances = [
        {
            "InstanceId": f"i-{n:017x}",
            "PrivateIpAddress": f"10.0.{n >> 8}.{n & 255}",
            "State": {"Name": "running"},
            "Tags": [{"Key": "Name", "Value": f"web-{n}"}, {"Key": "note", "Value": "{{ x }} " * 40}],
        }
        for n in range(count)
    ]
    path.write_text(json.dumps({"Reservations": [{"Instances": instances}]}))


def test_inventory_and_host_vars_on_a_nearly_full_disk(tmp_path: Path) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    _cloud_json(old, 3)
    _cloud_json(new, 120)  # 120 host_vars files of 4 KiB blocks: more than the room left
    out = in_small_tmpfs(
        tmp_path,
        f"""
        "$STACKRIG" fleet inventory {old} -o "$MNT/hosts.ini" --host-vars-dir "$MNT/host_vars" 2> "$OUT/err0"
        printf 'mine: 1\\n' > "$MNT/host_vars/mine.yml"
        dd if=/dev/zero of="$MNT/filler" bs=4k status=none 2>/dev/null; rm -f "$MNT/filler"
        dd if=/dev/zero of="$MNT/filler" bs=4k count=$(( $(stat -f -c %a "$MNT") - 16 )) status=none
        cp -r "$MNT/host_vars" "$OUT/before_hv"; cp "$MNT/hosts.ini" "$OUT/before.ini"
        "$STACKRIG" fleet inventory {new} -o "$MNT/hosts.ini" --host-vars-dir "$MNT/host_vars" 2> "$OUT/err"
        echo $? > "$OUT/rc"
        cp -r "$MNT/host_vars" "$OUT/after_hv"; cp "$MNT/hosts.ini" "$OUT/after.ini"
        ls -A "$MNT" > "$OUT/ls"
        rm "$MNT/filler"
        "$STACKRIG" fleet inventory {new} -o "$MNT/hosts.ini" --host-vars-dir "$MNT/host_vars" 2> "$OUT/err2"
        echo $? > "$OUT/rc2"
        ls "$MNT/host_vars" | wc -l > "$OUT/count2"; ls -A "$MNT" > "$OUT/ls2"
        """,
    )
    assert (out / "rc").read_text().strip() != "0", (out / "err").read_text()
    err = (out / "err").read_text()
    assert f"error: no space left on device in {tmp_path / 'small'}" in err  # host_vars or its folder
    assert ".stackrig-set" not in err  # the folder the user knows, not the hidden stage
    assert (out / "rc").read_text().strip() == "1"
    assert "Traceback" not in err
    assert (out / "after.ini").read_text() == (out / "before.ini").read_text()
    assert _tree(out / "after_hv") == _tree(out / "before_hv")  # not one file half-updated
    assert "mine.yml" in _tree(out / "after_hv")
    assert sorted((out / "ls").read_text().split()) == ["filler", "host_vars", "hosts.ini"]  # no stage left
    assert (out / "rc2").read_text().strip() == "0", (out / "err2").read_text()
    assert int((out / "count2").read_text()) == 121  # 120 hosts and the user's own file
    assert sorted((out / "ls2").read_text().split()) == ["host_vars", "hosts.ini"]


def _temporaries(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if ".stackrig-" in p.name)


def test_files_beside_their_targets_go_in_together(tmp_path: Path) -> None:
    """FilesBeside (files in folders other tools own): new versions wait beside their targets."""
    from stackrig._fileset import FilesBeside

    one, two = tmp_path / "a" / "one.conf", tmp_path / "b" / "two.conf"
    one.parent.mkdir()
    two.parent.mkdir()
    one.write_text("old one\n")
    one.chmod(0o600)
    files = FilesBeside()
    files.write(one, "new one\n", mode=0o644)
    files.write(two, "new two\n", mode=0o640)
    assert one.read_text() == "old one\n"  # nothing in place before commit
    assert not two.exists()
    assert files.commit() == [one, two]
    assert (one.read_text(), two.read_text()) == ("new one\n", "new two\n")
    assert (one.stat().st_mode & 0o777, two.stat().st_mode & 0o777) == (0o600, 0o640)  # kept; asked
    assert _temporaries(tmp_path) == []

    files = FilesBeside()
    files.write(one, "newer one\n")
    files.discard()  # a failure elsewhere (a setting refused): the old files stay
    assert one.read_text() == "new one\n"
    assert _temporaries(tmp_path) == []


def test_a_rename_refused_half_way_puts_the_old_files_back(tmp_path: Path) -> None:
    from stackrig._fileset import FilesBeside

    one, two, three = tmp_path / "one.conf", tmp_path / "two.conf", tmp_path / "three.conf"
    one.write_text("old one\n")
    files = FilesBeside()
    for path in (one, two, three):
        files.write(path, f"new {path.stem}\n")
    three.mkdir()  # after staging: the third rename is refused
    (three / "inside").write_text("x\n")
    with pytest.raises(OutputPathError, match=r"three\.conf"):
        files.commit()
    assert one.read_text() == "old one\n"  # the first went in, then back
    assert not two.exists()  # the second was new: gone again
    assert (three / "inside").read_text() == "x\n"
    assert _temporaries(tmp_path) == []


def test_write_files_full_disk_is_one_line_naming_the_folder(tmp_path: Path) -> None:
    """write_files on a full tmpfs: DiskFullError naming the live folder; old files and no folder
    made for the set are left."""
    script = tmp_path / "write.py"
    script.write_text(
        "import sys\nfrom pathlib import Path\nfrom stackrig._fileset import write_files\n"
        "from stackrig.errors import StackrigError\nmnt = Path(sys.argv[1])\n"
        "try:\n    write_files([(mnt / 'old.txt', b'n' * 8192),\n"
        "                 (mnt / 'made' / 'deep' / 'x', b'x' * 65536)])\n"
        "except StackrigError as exc:\n    print(int(exc.exit_code), exc.message)\n"
    )
    out = in_small_tmpfs(
        tmp_path,
        f"""
        printf old > "$MNT/old.txt"
        dd if=/dev/zero of="$MNT/filler" bs=4k count=$(( $(stat -f -c %a "$MNT") - 4 )) status=none
        {sys.executable} {script} "$MNT" > "$OUT/said"
        ls -A "$MNT" > "$OUT/ls"; cat "$MNT/old.txt" > "$OUT/old"
        """,
    )
    said = (out / "said").read_text()
    assert said.startswith(f"1 no space left on device in {tmp_path / 'small'}"), said
    assert (out / "old").read_text() == "old"
    assert sorted((out / "ls").read_text().split()) == ["filler", "old.txt"]  # no made/, no stage
