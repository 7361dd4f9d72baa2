"""Files written as a set: an inventory and its ``host_vars/``, a run folder and its files.

:func:`stackrig._io.atomic_write` makes one file old or new, never half. A set of files that
belong together needs more: a full disk half-way through must leave the old set whole, and a
reader must never pair a new inventory with old host variables. :func:`write_set` stages the
new version of every member (files and folders) in a hidden folder beside it, on the same file
system, and only when every byte is written and synced swaps the members in by rename:

1. stage: ``<folder>/.stackrig-set-<pid>-<token>/<member>``; a folder member starts as a copy
   of the live folder made of hard links (no data copied, no space taken), so the files the set
   does not write (a user's own ``host_vars`` of other hosts) stay;
2. mark: once every member of every folder is staged, a ``COMMIT`` file naming each member's
   new inode is synced into each stage: the point of no return;
3. swap: each folder member is exchanged with the live one in one step (``renameat2``'s
   ``RENAME_EXCHANGE``; two renames where the file system lacks it), each file is renamed
   over the live one; then the stage (holding the old versions) is removed.

A failure before the mark (``ENOSPC``, a bad name) removes the stages: nothing live changed. A
crash after it is rolled forward by the next :func:`write_set` in that folder, which also
removes stages without a mark that no live process owns.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import secrets
import shutil
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from stackrig._io import _current_umask as _umask
from stackrig._io import _fsync_dir, remove_leftovers, temporary_beside
from stackrig.errors import DiskFullError, OutputPathError, StackrigError

__all__ = ["FilesBeside", "Staging", "write_files", "write_set"]

STAGE_PREFIX = ".stackrig-set-"
COMMIT = "COMMIT"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _libc_renameat2() -> object | None:
    try:
        return getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    except OSError:  # pragma: no cover - no C library to load
        return None


_renameat2 = _libc_renameat2()


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step; False where the kernel or file system cannot."""
    if _renameat2 is None:  # pragma: no cover - glibc before 2.28
        return False
    call = _renameat2
    done = call(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)  # type: ignore[operator]
    if done == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _write_all(fd: int, payload: bytes) -> None:
    """Every byte of ``payload`` to ``fd`` (os.write may write fewer), then to the disk."""
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def _explain(exc: OSError, path: Path) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"cannot write {path}: permission denied"
    if exc.errno == errno.EROFS:
        return f"cannot write {path}: read-only file system"
    return f"cannot write {path}: {exc.strerror or exc}"


def _link_copy(source: Path, target: Path) -> None:
    """``target`` as a copy of folder ``source`` made of hard links (folders made anew)."""
    target.mkdir(stat.S_IMODE(source.stat().st_mode) | 0o700)
    for entry in os.scandir(source):
        there = target / entry.name
        if entry.is_dir(follow_symlinks=False):
            _link_copy(Path(entry.path), there)
        elif entry.is_symlink():
            there.symlink_to(Path(entry.path).readlink())
        else:
            os.link(entry.path, there, follow_symlinks=False)
    shutil.copymode(source, target)


class Staging:
    """Where the new versions of a set's members are written (see :func:`write_set`)."""

    def __init__(self, members: Sequence[tuple[Path, bool]]) -> None:
        self._stages: dict[Path, Path] = {}
        self._members: dict[Path, bool] = {}  # live path -> is a folder
        for live, is_folder in members:
            self._members[live] = is_folder

    def _open(self) -> None:
        for live, is_folder in self._members.items():
            folder = live.parent
            if folder not in self._stages:
                _recover(folder)
                stage = folder / f"{STAGE_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
                stage.mkdir(0o700)
                self._stages[folder] = stage
            if is_folder:
                staged = self.staged(live)
                if live.is_dir():
                    _link_copy(live, staged)
                else:
                    staged.mkdir()

    def staged(self, live: Path) -> Path:
        """The staged path of a member, or of a path inside a folder member."""
        for member in self._members:
            if live == member or member in live.parents:
                return self._stages[member.parent] / live.relative_to(member.parent)
        raise ValueError(f"{live} is not in this set")

    def write(self, live: str | os.PathLike[str], data: str | bytes, *, mode: int | None = None) -> None:
        """Write the new version of a member file (or of a file inside a member folder).

        The file keeps the mode of the one it replaces; a new one gets ``mode`` (default 0666
        less the umask).
        """
        path = _absolute(live)
        if mode is None:
            try:
                mode = stat.S_IMODE(path.stat().st_mode)
            except OSError:
                mode = 0o666
        target = self.staged(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            target.unlink()  # a hard link to the live file: never write through it
        payload = data.encode("utf-8") if isinstance(data, str) else data
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            os.fchmod(fd, mode & ~_umask() if mode == 0o666 else mode)
            _write_all(fd, payload)
        finally:
            os.close(fd)

    def remove(self, live: str | os.PathLike[str]) -> None:
        """Leave a file out of the new version of a member folder."""
        with contextlib.suppress(FileNotFoundError):
            self.staged(_absolute(live)).unlink()

    def _mark(self) -> list[Path]:
        """Sync every staged byte, then mark each stage: past this, the set goes in."""
        marks: dict[Path, dict[str, int]] = {stage: {} for stage in self._stages.values()}
        for live in self._members:
            staged = self.staged(live)
            marks[staged.parent][live.name] = staged.lstat().st_ino
        for stage, inodes in marks.items():
            _fsync_tree(stage)
            fd = os.open(stage / COMMIT, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, json.dumps(inodes).encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            _fsync_dir(stage)
        return list(marks)

    def _discard(self) -> None:
        for stage in self._stages.values():
            shutil.rmtree(stage, ignore_errors=True)


def _fsync_tree(folder: Path) -> None:
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                fd = os.open(os.path.join(root, name), os.O_RDONLY)  # noqa: PTH118 - os.walk gives strings
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        _fsync_dir(Path(root))


def _roll_forward(stage: Path) -> None:
    """Put each member of a marked stage in place (again, after a crash), then drop the stage."""
    inodes: dict[str, int] = json.loads((stage / COMMIT).read_text())
    folder = stage.parent
    for name, inode in inodes.items():
        live, staged = folder / name, stage / name
        try:
            if live.lstat().st_ino == inode:
                continue  # swapped in already
        except FileNotFoundError:
            staged.rename(live)
            continue
        if staged.is_dir() and not staged.is_symlink():
            if not _exchange(staged, live):
                old = stage / f"{name}.old"
                live.rename(old)
                staged.rename(live)
        else:
            staged.rename(live)
    _fsync_dir(folder)
    shutil.rmtree(stage, ignore_errors=True)


def _owner_alive(stage: Path) -> bool:
    pid_text = stage.name[len(STAGE_PREFIX) :].partition("-")[0]
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _recover(folder: Path) -> None:
    """Finish the marked stages that a killed process left in ``folder``; drop the unmarked ones."""
    try:
        leftovers = [p for p in folder.iterdir() if p.name.startswith(STAGE_PREFIX) and p.is_dir()]
    except OSError:
        return
    for stage in leftovers:
        if _owner_alive(stage):
            continue  # its writer is still at work (or swapping it in)
        if (stage / COMMIT).is_file():
            _roll_forward(stage)
        else:
            shutil.rmtree(stage, ignore_errors=True)


@contextlib.contextmanager
def write_set(
    files: Sequence[str | os.PathLike[str]] = (), folders: Sequence[str | os.PathLike[str]] = ()
) -> Iterator[Staging]:
    """Write new versions of ``files`` and ``folders`` as one set (see the module's docstring).

    Inside the block, write with :meth:`Staging.write` (and drop files from a folder with
    :meth:`Staging.remove`); a folder starts as the live folder's contents. Leaving the block
    normally swaps the set in; an exception leaves every member as it was. Each member's
    parent folder must exist. OS errors become an :class:`OutputPathError` naming the path.
    """
    members = [(_absolute(f), False) for f in files] + [(_absolute(d), True) for d in folders]
    for live, is_folder in members:
        _check_member(live, is_folder)
    staging = Staging(members)
    try:
        staging._open()
        yield staging
        stages = staging._mark()
    except OSError as exc:
        staging._discard()
        where = Path(exc.filename) if isinstance(exc.filename, str) else members[0][0].parent
        raise _set_error(exc, _live_name(where, staging), staging) from exc
    except BaseException:
        staging._discard()
        raise
    for stage in stages:  # past the point of no return: a failure now is finished by the next write
        try:
            _roll_forward(stage)
        except OSError as exc:
            raise OutputPathError(
                f"cannot put the new {stage.parent} files in place: {exc.strerror or exc}",
                hint="the next write to that folder finishes it",
            ) from exc


def write_files(files: Sequence[tuple[str | os.PathLike[str], str | bytes]]) -> list[Path]:
    """Write each ``(path, data)`` as one set (see :func:`write_set`): all old or all new.

    The files may lie in several folders (one stage in each); folders missing on the way are
    made first and removed again when the set fails, so a failure leaves nothing behind.
    Returns the paths written.
    """
    paths = [_absolute(path) for path, _ in files]
    made = _make_parents(paths)
    try:
        with write_set(files=paths) as stage:
            for index, (_, data) in enumerate(files):  # no zip(strict=): tune's remote runs on 3.9
                stage.write(paths[index], data)
    except BaseException:
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return paths


def _make_parents(paths: Sequence[Path]) -> list[Path]:
    """Make the missing folders of ``paths``, outermost first; return those made."""
    made: list[Path] = []
    for path in paths:
        missing = [p for p in (path.parent, *path.parent.parents) if not p.exists() and p not in made]
        for folder in reversed(missing):
            try:
                folder.mkdir()
            except FileExistsError:
                continue  # made by someone else meanwhile
            except OSError as exc:
                for done in reversed(made):
                    with contextlib.suppress(OSError):
                        done.rmdir()
                raise _set_error(exc, folder, None) from exc
            made.append(folder)
    return made


def _set_error(exc: OSError, live: Path, staging: Staging | None) -> StackrigError:
    """A full disk as one line naming the folder (exit 1); any other OS error naming the path."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        if staging is not None and live in staging._stages:
            return DiskFullError(live)
        return DiskFullError(live.parent, writing=live.name)
    return OutputPathError(_explain(exc, live))


class FilesBeside:
    """Files in folders other tools own (``/etc/sysctl.d``, ``/etc/udev/rules.d``), as a set as
    far as their layout allows.

    They cannot be staged in one folder and swapped in by one rename: each is read by name
    from a folder full of other people's files, and a rename does not cross folders. So
    :meth:`write` writes (and syncs) each new file beside its target under a temporary name;
    a failure there (a full disk) is followed by :meth:`discard`, which removes them: every
    old file stays. :meth:`commit` then gives each old file a second name (a hard link: no
    space) and renames each new one into place; a rename refused half-way puts the old files
    back from their second names. Only a crash during those renames (no I/O, microseconds)
    can leave some files new and some old.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []  # (target, its new version beside it)

    def write(self, path: str | os.PathLike[str], data: str | bytes, *, mode: int | None = None) -> None:
        """Write the new version of ``path`` beside it. It keeps the mode of the file it
        replaces; a new file gets ``mode`` (default 0666 less the umask)."""
        target = _absolute(path)
        _check_member(target, is_folder=False)
        payload = data.encode("utf-8") if isinstance(data, str) else data
        try:
            try:
                mode = stat.S_IMODE(target.stat().st_mode)
            except FileNotFoundError:
                mode = mode if mode is not None else 0o666 & ~_umask()
            remove_leftovers(target.parent)
            fd, name = temporary_beside(target)
            self._staged.append((target, Path(name)))  # known before a byte is written: discard removes it
            try:
                os.fchmod(fd, mode)
                _write_all(fd, payload)
            finally:
                os.close(fd)
        except OSError as exc:
            raise _set_error(exc, target, None) from exc

    def discard(self) -> None:
        """Remove every new version written: the targets stay as they were."""
        for _, new in self._staged:
            with contextlib.suppress(OSError):
                new.unlink()
        self._staged.clear()

    def commit(self) -> list[Path]:
        """Put every new version in place; on a refusal, put the old files back and raise."""
        seconds: list[Path | None] = []  # each target's second name (None: it did not exist)
        done = 0
        current = Path()
        try:
            for current, _ in self._staged:
                seconds.append(_second_name(current))
            for current, new in self._staged:
                new.rename(current)
                done += 1
        except OSError as exc:
            for index, old in enumerate(seconds[:done]):  # no zip(strict=): tune's remote runs on 3.9
                target = self._staged[index][0]
                with contextlib.suppress(OSError):
                    if old is None:
                        target.unlink()
                    else:
                        old.rename(target)
            self._forget(seconds)
            self.discard()
            raise _set_error(exc, current, None) from exc
        self._forget(seconds)
        for folder in dict.fromkeys(target.parent for target, _ in self._staged):
            _fsync_dir(folder)
        written = [target for target, _ in self._staged]
        self._staged.clear()
        return written

    @staticmethod
    def _forget(seconds: list[Path | None]) -> None:
        for old in seconds:
            if old is not None:
                with contextlib.suppress(OSError):
                    old.unlink()


def _second_name(target: Path) -> Path | None:
    """A hard link to ``target`` beside it, named as a temporary file (None: no target)."""
    while True:
        link = target.with_name(f".{target.name}.stackrig-{secrets.token_hex(4)}.tmp")
        try:
            os.link(target, link, follow_symlinks=False)
        except FileNotFoundError:
            return None
        except FileExistsError:
            continue
        return link


def _absolute(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.abspath(path))  # noqa: PTH100 - normalises '..' as Path.absolute does not


def _check_member(live: Path, is_folder: bool) -> None:
    if live.parent.exists() and not live.parent.is_dir():
        raise OutputPathError(f"cannot write {live}: {live.parent} is not a folder")
    if not live.parent.is_dir():
        raise OutputPathError(
            f"cannot write {live}: folder {live.parent} does not exist",
            hint="create the folder first or choose another path",
        )
    if is_folder and live.exists() and not live.is_dir():
        raise OutputPathError(f"cannot write folder {live}: a file is in the way")
    if not is_folder and live.is_dir():
        raise OutputPathError(f"cannot write {live}: it is a folder")


def _live_name(path: Path, staging: Staging) -> Path:
    """A staged path as the user knows it (the live path it stands for)."""
    for folder, stage in staging._stages.items():
        if stage == path or stage in path.parents:
            rest = path.relative_to(stage)
            return folder / rest if rest.parts else folder
    return path
