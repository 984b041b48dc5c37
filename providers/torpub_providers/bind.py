"""A BIND zone file as a torpub backend.

torpub rewrites only its marked block and the SOA serial, has ``named-checkzone``
load the new file before it atomically replaces the old one, then runs the
operator's reload command (e.g. ``rndc reload``). One file replace carries out
every phase of a plan at once, so make-before-break holds trivially.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from torpub import atomic
from torpub.errors import ConfigError, ProviderError, ZoneError
from torpub.format.records import Record
from torpub.provider import (
    Capabilities,
    Option,
    Target,
    canonical_name,
    check_plan_zone,
    zone_name,
)
from torpub.publish import zonefile
from torpub.publish.plan import Action, Change, Plan

NAME = "bind"
# BIND holds up to 65535 octets of TXT rdata, one length octet per 255 included.
MAX_VALUE_LENGTH = 65000
COMMAND_TIMEOUT = 120
_CHECKZONE_PLACES = ("/usr/sbin/named-checkzone", "/usr/bin/named-checkzone")
_PARSE_ERROR = re.compile(r"dns_\w+: ")


@dataclass(frozen=True)
class BindOptions:
    zone_file: Path
    reload_command: tuple[str, ...] = ()
    checkzone: str | None = None

    @classmethod
    def from_target(cls, target: Target) -> BindOptions:
        opts = target.checked(BindProvider.options)
        zone_file = opts.path("zone_file")
        assert zone_file is not None  # required
        reload = opts.text("reload_command")
        try:
            command = tuple(shlex.split(reload)) if reload else ()
        except ValueError as e:
            raise ConfigError(f"reload command {reload!r} does not split into words: {e}") from e
        return cls(zone_file, command, opts.text("checkzone"))


def _utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


class BindProvider:
    """Publishes into one zone file that a BIND server (or anything reading its
    format) loads; ``today`` feeds the date-based serial."""

    options: ClassVar[tuple[Option, ...]] = (
        Option("zone_file", Path, "the zone file torpub edits", required=True),
        Option("reload_command", str, "a command to run after writing, e.g. 'rndc reload'"),
        Option("checkzone", str, "the named-checkzone program [default: found on PATH]"),
    )

    def __init__(self, target: Target, *, today: Callable[[], dt.date] = _utc_today) -> None:
        self._options = BindOptions.from_target(target)
        # Resolved once: a symlinked zone file is read, checked and replaced at its
        # target (the link stays a link), and a relative one is found from any cwd.
        self._real = Path(os.path.realpath(self._options.zone_file))
        self._zone = zone_name(target.zone) if target.zone else None
        self._today = today

    @property
    def zone(self) -> str:
        return self._zone_of(self._read())

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(max_value_length=MAX_VALUE_LENGTH)

    def records(self) -> Sequence[Record]:
        text = self._read()
        zone = self._zone_of(text)
        self._checkzone(zone, self._real, shown=self._options.zone_file)
        return self._block_records(text, zone)

    def apply(self, plan: Plan) -> None:
        self._remove_leftovers()
        if not plan.has_changes:
            return  # an unchanged zone keeps its serial, so secondaries transfer nothing
        path = self._options.zone_file
        text = self._read()
        self._check_replaceable()
        zone = self._zone_of(text)
        check_plan_zone(plan, zone)
        records = plan.state_after(self._block_records(text, zone), NAME)
        with _naming(path):
            new_text, serial = zonefile.raise_serial(
                zonefile.with_block(text, records), self._today()
            )
        try:  # both stage temp files beside the zone file
            self._refuse_collisions(zone, text, written_names(plan.changes))
            self._replace(zone, text, new_text)
        except OSError as e:  # e.g. a directory torpub's user may not write
            raise ProviderError(NAME, f"cannot write {path}: {e.strerror or e}") from e
        self._reload(serial)

    def _read(self) -> str:
        path = self._options.zone_file
        try:
            data = atomic.read_regular(self._real)
        except FileNotFoundError:
            raise ZoneError(
                f"zone file {path} does not exist; torpub does not create zones"
            ) from None
        except OSError as e:
            raise ZoneError(f"cannot read zone file {path}: {e.strerror}") from e
        # surrogateescape carries any non-UTF-8 byte (a Latin-1 comment, say) through unchanged.
        return data.decode("utf-8", "surrogateescape")

    def _remove_leftovers(self) -> None:
        """Temp files of a run killed before its rename would stay beside the zone forever."""
        try:
            atomic.remove_leftovers(self._real)
        except FileNotFoundError:
            pass  # no directory, no zone file: reading it says so
        except OSError as e:
            raise ZoneError(f"cannot list the directory of {self._real}: {e.strerror}") from e

    def _check_replaceable(self) -> None:
        try:
            atomic.replaceable(self._real)
        except OSError as e:
            raise ZoneError(
                f"will not replace zone file {self._options.zone_file}: {e.strerror}"
            ) from e

    def _zone_of(self, text: str) -> str:
        path = self._options.zone_file
        with _naming(path):
            stated = zonefile.zone_origin(text)
        if self._zone and stated and self._zone != stated:
            raise ZoneError(f"{path} holds zone {stated}, not {self._zone}")
        zone = self._zone or stated
        if zone is None:
            raise ZoneError(
                f"{path} does not state its zone's name (its SOA owner is @); pass --zone"
            )
        return zone

    def _block_records(self, text: str, zone: str) -> tuple[Record, ...]:
        with _naming(self._options.zone_file):
            block = zonefile.find_block(text)
            return zonefile.parse_block(block.body, zone) if block else ()

    def _refuse_collisions(self, zone: str, text: str, written: set[str]) -> None:
        """A name torpub writes must hold nothing outside its block: BIND would
        merge both into one RRset, half of which torpub would then rewrite."""
        path = self._options.zone_file
        with _staged(self._real, zonefile.without_block(text)) as outside:
            dump = self._checkzone(zone, outside, "-D", "-o", "-", shown=path)
        shared = sorted(written & dumped_names(dump))
        if shared:
            more = f" and {len(shared) - 3} more" if len(shared) > 3 else ""
            raise ProviderError(
                NAME,
                f"{', '.join(shared[:3])}{more} already hold records outside torpub's block "
                f"in {path}; torpub will not share a name it does not own",
            )

    def _replace(self, zone: str, old_text: str, new_text: str) -> None:
        path = self._options.zone_file
        with _staged(self._real, new_text) as staged:
            self._checkzone(zone, staged, shown=path, what="would not load after the change")
            if self._read() != old_text:
                raise ProviderError(NAME, f"{path} changed while torpub was writing it; run again")
            try:
                atomic.commit(staged, self._real)
            except OSError as e:
                raise ZoneError(f"cannot replace zone file {path}: {e.strerror}") from e

    def _checkzone(
        self,
        zone: str,
        file: Path,
        *flags: str,
        shown: Path | None = None,
        what: str = "does not load",
    ) -> str:
        """Load ``file`` as ``zone`` the way named would; the output on success."""
        command = [self._checkzone_binary(), *flags, zone, str(file)]
        result = _run(command, cwd=self._options.zone_file.parent, tool="named-checkzone")
        if result.returncode != 0:
            error = checkzone_error(result.stdout + result.stderr)
            if shown is not None:
                error = error.replace(str(file), str(shown))
            raise ZoneError(f"{shown or file} {what} as zone {zone}: {error}")
        return result.stdout

    def _checkzone_binary(self) -> str:
        if self._options.checkzone:
            return self._options.checkzone
        found = shutil.which("named-checkzone")
        found = found or next((p for p in _CHECKZONE_PLACES if os.access(p, os.X_OK)), None)
        if found is None:
            raise ConfigError(
                "named-checkzone is not installed (Debian: bind9-utils); set the checkzone option"
            )
        return found

    def _reload(self, serial: int) -> None:
        command = self._options.reload_command
        if not command:
            return
        path = self._options.zone_file
        done = f"wrote {path} (serial {serial}) but "
        result = _run(list(command), cwd=None, tool=command[0], context=done)
        if result.returncode != 0:
            why = first_line(result.stderr) or first_line(result.stdout)
            raise ProviderError(
                NAME,
                f"{done}the reload command failed (exit {result.returncode}): {why or 'no output'}",
            )


def written_names(changes: Iterable[Change]) -> set[str]:
    return {canonical_name(c.record.name) for c in changes if c.action is not Action.DELETE}


def dumped_names(dump: str) -> set[str]:
    """Owner names in ``named-checkzone -D`` output, which puts one record per
    line and its absolute owner first."""
    names = set()
    for line in dump.splitlines():
        owner = line.split(maxsplit=1)[0] if line.strip() else ";"
        if not owner.startswith(";"):
            names.add(canonical_name(owner))
    return names


def checkzone_error(output: str) -> str:
    """The line of named-checkzone's output that says what is wrong: a parse
    error with its file and line, else the last line before its verdict."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        if _PARSE_ERROR.match(line):
            return line
    for before, line in itertools.pairwise(lines):
        if line.endswith("not loaded due to errors."):
            return before
    return lines[0] if lines else "no output"


def first_line(output: str) -> str:
    return next((line.strip() for line in output.splitlines() if line.strip()), "")


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Name the file in errors from the zone-file text functions, which know no path."""
    try:
        yield
    except ZoneError as e:
        raise ZoneError(f"{path}: {e}") from e


@contextlib.contextmanager
def _staged(path: Path, text: str) -> Iterator[Path]:
    """A fully written temp file beside ``path``, removed unless committed; it
    stays open, and so locked, until then (see :mod:`torpub.atomic`)."""
    try:
        fd, tmp = atomic.temp_path_for(path)
    except OSError as e:
        raise ZoneError(f"cannot write a file beside {path}: {e.strerror}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8", "surrogateescape"))
            f.flush()
            os.fsync(f.fileno())
            yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _run(
    command: list[str], cwd: Path | None, tool: str, context: str = ""
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise ProviderError(NAME, f"{context}{tool} did not finish in {COMMAND_TIMEOUT} s") from e
    except OSError as e:
        raise ProviderError(NAME, f"{context}cannot run {tool}: {e.strerror or e}") from e
