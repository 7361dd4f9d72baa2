"""``tune apply --persist`` and ``tune revert`` on a full disk: the persist files are a set."""

from __future__ import annotations

import shlex
from pathlib import Path

from stackrig.errors import ExitCode
from tests.services import FILL_TMPFS, in_small_tmpfs

from .conftest import TREES, snapshot

SYSCTL = "etc/sysctl.d/90-stackrig.conf"
PERSIST = (SYSCTL, "etc/udev/rules.d/90-stackrig-scheduler.rules", "etc/tmpfiles.d/90-stackrig.conf")


def _temporaries(root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob("*") if ".stackrig-" in p.name]


def test_persist_files_on_a_full_disk_stay_old_together(tmp_path: Path) -> None:
    """The three persist files (sysctl.d, udev rules.d, tmpfiles.d) are written beside theirs
    first: a full disk at the second leaves the old sysctl file, no new udev or tmpfiles file
    (nor the folders made for them), every setting as it was, no temporaries, one line naming
    the folder (exit 1). With room again apply; then a revert on a full disk (nothing restored,
    still all new) and with room (all as before)."""
    tree = TREES / "hosts" / "legacy-hdd-numa"
    # an old sysctl file (replaced: no new room needed once it is), no udev or tmpfiles file yet
    old = f'mkdir -p "$MNT/root/etc/sysctl.d"; printf "vm.dirty_ratio = 5\\n" > "$MNT/root/{SYSCTL}"'
    tune = '"$STACKRIG" --data-dir "$OUT/home" tune'
    out = in_small_tmpfs(
        tmp_path,
        f"""
        cp -a {shlex.quote(str(tree))} "$MNT/root"
        {old}
        cp -a "$MNT/root" "$OUT/before"
        dd if=/dev/zero of="$MNT/filler" bs=4k count=$(( $(stat -f -c %a "$MNT") - 1 )) status=none
        {tune} apply --root "$MNT/root" --yes --persist > "$OUT/apply.out" 2> "$OUT/apply.err"
        echo $? > "$OUT/apply.rc"
        cp -a "$MNT/root" "$OUT/after"
        rm "$MNT/filler"
        {tune} apply --root "$MNT/root" --yes --persist > /dev/null 2> "$OUT/apply2.err"
        echo $? > "$OUT/apply2.rc"
        cp -a "$MNT/root" "$OUT/applied"
        {FILL_TMPFS}
        {tune} revert --root "$MNT/root" --latest > /dev/null 2> "$OUT/revert.err"
        echo $? > "$OUT/revert.rc"
        cp -a "$MNT/root" "$OUT/not-reverted"
        rm "$MNT/filler"
        {tune} revert --root "$MNT/root" --latest > /dev/null 2> "$OUT/revert2.err"
        echo $? > "$OUT/revert2.rc"
        cp -a "$MNT/root" "$OUT/reverted"
        """,
    )
    assert (out / "apply.rc").read_text().strip() == str(ExitCode.FAILED)
    err = (out / "apply.err").read_text()
    folder = tmp_path / "small" / "root" / "etc" / "udev" / "rules.d"  # the second of the set
    assert f"no space left on device in {folder}" in err, err
    assert "Traceback" not in err
    assert (out / "apply.out").read_text() == ""
    assert snapshot(out / "after") == snapshot(out / "before")  # every file and setting as it was
    assert _temporaries(out / "after") == []

    assert (out / "apply2.rc").read_text().strip() == "0", (out / "apply2.err").read_text()
    applied = out / "applied"
    assert "vm.swappiness = 10" in (applied / "etc/sysctl.d/90-stackrig.conf").read_text()
    assert "queue/scheduler" in (applied / "etc/udev/rules.d/90-stackrig-scheduler.rules").read_text()
    assert "ksm/run" in (applied / "etc/tmpfiles.d/90-stackrig.conf").read_text()

    assert (out / "revert.rc").read_text().strip() == str(ExitCode.FAILED)
    assert "no space left on device" in (out / "revert.err").read_text()
    not_reverted = out / "not-reverted"
    for rel in PERSIST:  # the set stays all new, not some old and some new
        assert (not_reverted / rel).read_bytes() == (applied / rel).read_bytes()
    assert _temporaries(not_reverted) == []

    assert (out / "revert2.rc").read_text().strip() == "0", (out / "revert2.err").read_text()
    assert snapshot(out / "reverted") == snapshot(out / "before")
