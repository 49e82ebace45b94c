"""Downloading and unpacking the preprocessed HEAR task archives (``hearbot tasks fetch``).

One archive holds one task directory at one sample rate (``schemas/task-archives.json``):
``<release>-<task_dir>-<sample_rate>.tar.gz`` unpacking to ``<release>/tasks/<task_dir>/``.
`fetch_archives` brings each into ``DEST/<task_dir>/`` (the layout ``verify --tasks-dir``
reads) so that nothing is ever half there:

1. an archive whose ``DEST/<task_dir>/<sample_rate>/`` exists is already done (safe to re-run);
2. an archive without a known md5 is refused before anything is downloaded, unless the
   maintainer gives one (``--md5``) or accepts it unchecked (``--allow-unverified``);
3. the free disk space is checked against what the downloads and the unpacked audio need;
4. the download goes to ``DEST/.downloads/<archive>.part`` and resumes with an HTTP Range
   request after an interruption (in this run, after a retry, or in a later run);
5. the md5 is checked; a mismatch deletes the download and says so;
6. the archive is unpacked into ``DEST/.unpack-<archive>/`` refusing any member outside the
   task's own folder, any link and any special file, then moved into place by one rename.

Every problem raises `FetchError`, whose message says what to fix.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import tarfile
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.common.fileio import write_atomic
from bot.common.schemas import load_json_file, schema_errors

SAMPLE_RATES = (16000, 22050, 32000, 44100, 48000)
DOWNLOADS_DIR = ".downloads"
RECORDS_DIR = ".hearbot-fetch"
STAGING_PREFIX = ".unpack-"
CHUNK = 1 << 20
# WAV (PCM16 mono) plus the split files and the folder entries: what a task takes unpacked.
BYTES_PER_SAMPLE = 2
UNPACKED_OVERHEAD = 1.05
# Without a recorded size, a download is assumed as large as the audio it holds (PCM16 in
# gzip shrinks by a few per cent at most).
Log = Callable[[str], None]


class FetchError(Exception):
    """A download or an archive that cannot be used; the message says what to fix."""


class FetchRefused(FetchError):
    """Nothing was started: a checksum or a download location is missing (a usage problem)."""


@dataclass(frozen=True)
class Source:
    name: str
    url: str
    sample_rates: tuple[int, ...]
    access: str
    note: str


@dataclass(frozen=True)
class Catalogue:
    release: str
    sources: tuple[Source, ...]
    checksums: dict[str, tuple[str, int]]  # archive name -> (md5, bytes)

    def archive_name(self, task_dir: str, sample_rate: int) -> str:
        return f"{self.release}-{task_dir}-{sample_rate}.tar.gz"

    def default_base_url(self, sample_rate: int) -> str | None:
        for source in self.sources:
            if source.access == "https" and sample_rate in source.sample_rates:
                return source.url
        return None


@dataclass(frozen=True)
class ArchiveSpec:
    """One archive to bring in: which task folder, at which rate, and what it should be."""

    task_dir: str
    sample_rate: int
    name: str
    md5: str | None
    size: int | None  # bytes of the archive, when recorded
    unpacked_bytes: int  # estimate, from the audio hours of schemas/tasks.json
    column: str | None = None


@dataclass(frozen=True)
class Outcome:
    spec: ArchiveSpec
    state: str  # "present" (already there) or "fetched"
    verified: bool | None  # md5 checked; False: unpacked unchecked; None: not fetched by hearbot


def load_catalogue() -> Catalogue:
    """schemas/task-archives.json, checked against its schema."""
    document = load_json_file("task-archives.json")
    errors = schema_errors("task-archives.schema.json", document)
    if errors:
        details = "; ".join(e.message for e in errors)
        raise FetchError(f"schemas/task-archives.json does not match its schema: {details}")
    return Catalogue(
        release=document["release"],
        sources=tuple(
            Source(
                name=s["name"],
                url=s["url"],
                sample_rates=tuple(s["sample_rates"]),
                access=s["access"],
                note=s["note"],
            )
            for s in document["sources"]
        ),
        checksums={c["archive"]: (c["md5"], int(c["bytes"])) for c in document["checksums"]},
    )


def estimated_unpacked_bytes(audio_hours: float, sample_rate: int) -> int:
    return int(audio_hours * 3600 * sample_rate * BYTES_PER_SAMPLE * UNPACKED_OVERHEAD)


def plan_archives(
    catalogue: Catalogue,
    sample_rates: Sequence[int],
    columns: Sequence[str] | None,
    extra_task_dirs: Sequence[str] = (),
    md5_overrides: dict[str, str] | None = None,
) -> list[ArchiveSpec]:
    """The archives for these columns (default: every column of schemas/tasks.json) and these
    extra task folders, at each sample rate. Raises `FetchError` for an unknown column or rate."""
    from bot.common.schemas import leaderboard_facts

    facts = leaderboard_facts()
    md5_overrides = dict(md5_overrides or {})
    for rate in sample_rates:
        if rate not in SAMPLE_RATES:
            raise FetchError(
                f"sample rate {rate} is not one of HEAR's: {', '.join(map(str, SAMPLE_RATES))}"
            )
    chosen: list[tuple[str | None, str, float]] = []
    names = list(facts.score_columns) if columns is None else list(columns)
    for name in names:
        try:
            column = facts.column(name)
        except KeyError:
            raise FetchError(
                f"{name!r} is not a leaderboard column; the columns are: "
                + ", ".join(facts.score_columns)
            ) from None
        share = column.audio_hours / len(column.task_dirs)
        chosen += [(column.name, task_dir, share) for task_dir in column.task_dirs]
    for task_dir in extra_task_dirs:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", task_dir):
            raise FetchError(f"--task-dir {task_dir!r} is not a plain folder name")
        chosen.append((None, task_dir, 0.0))
    specs: list[ArchiveSpec] = []
    for rate in dict.fromkeys(sample_rates):
        for column_name, task_dir, hours in chosen:
            name = catalogue.archive_name(task_dir, rate)
            md5, size = catalogue.checksums.get(name, (None, None))
            if name in md5_overrides:
                given = md5_overrides.pop(name).lower()
                if md5 is not None and given != md5:
                    raise FetchError(
                        f"--md5 {name}={given} contradicts the md5 recorded in "
                        f"schemas/task-archives.json ({md5}); check which one the source shows"
                    )
                md5 = given
            unpacked = estimated_unpacked_bytes(hours, rate) if hours else 3 * (size or 0)
            specs.append(ArchiveSpec(task_dir, rate, name, md5, size, unpacked, column_name))
    if md5_overrides:
        raise FetchError(
            "--md5 names archives that are not fetched here: " + ", ".join(sorted(md5_overrides))
        )
    return specs


def parse_md5_options(values: Iterable[str]) -> dict[str, str]:
    """``--md5 ARCHIVE=HEX`` values."""
    result: dict[str, str] = {}
    for value in values:
        name, sep, digest = value.partition("=")
        if not sep or not re.fullmatch(r"[0-9a-fA-F]{32}", digest):
            raise FetchError(
                f"--md5 {value!r}: give ARCHIVE=MD5 with the 32 hex digits the source shows, e.g. "
                "--md5 hear-2021.0.6-esc50-v2.0.0-full-48000.tar.gz=<32 hex digits>"
            )
        result[name] = digest.lower()
    return result


def is_present(dest: Path, spec: ArchiveSpec) -> bool:
    return (dest / spec.task_dir / str(spec.sample_rate)).is_dir()


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def needed_bytes(dest: Path, specs: Sequence[ArchiveSpec]) -> int:
    """Disk space the archives still to fetch need: what is left to download (less what a
    resumable ``.part`` already holds) plus the unpacked audio."""
    total = 0
    for spec in specs:
        download = spec.size if spec.size is not None else spec.unpacked_bytes
        part = dest / DOWNLOADS_DIR / f"{spec.name}.part"
        done = dest / DOWNLOADS_DIR / spec.name
        have = (
            part.stat().st_size if part.is_file() else done.stat().st_size if done.is_file() else 0
        )
        total += max(download - have, 0) + spec.unpacked_bytes
    return total


def free_bytes(path: Path) -> int:
    probe = path
    while not probe.exists():
        probe = probe.parent
    return shutil.disk_usage(probe).free


def fetch_archives(
    specs: Sequence[ArchiveSpec],
    dest: Path,
    base_urls: dict[int, str],
    *,
    release: str,
    allow_unverified: bool = False,
    keep_archives: bool = False,
    retries: int = 5,
    log: Log = lambda _line: None,
    free: Callable[[Path], int] | None = None,
) -> list[Outcome]:
    """Bring every archive into ``dest`` (see the module docstring for the steps)."""
    dest = Path(dest)
    outcomes: list[Outcome] = []
    todo = []
    for spec in specs:
        if is_present(dest, spec):
            verified = recorded_verified(dest, spec.task_dir, spec.sample_rate)
            outcomes.append(Outcome(spec, "present", verified))
        else:
            todo.append(spec)
    unknown = [spec.name for spec in todo if spec.md5 is None]
    if unknown and not allow_unverified:
        raise FetchRefused(
            f"no checksum is known for {len(unknown)} archive(s): {', '.join(unknown)}. "
            "schemas/task-archives.json records only checked md5s, and HEAR publishes no "
            "checksum list; give the md5 the source shows (Zenodo lists one per file) with "
            "--md5 ARCHIVE=MD5, or pass --allow-unverified to unpack them unchecked (recorded "
            "as unverified; `hearbot tasks check` says so)"
        )
    missing_urls = sorted({spec.sample_rate for spec in todo if spec.sample_rate not in base_urls})
    if missing_urls:
        raise FetchRefused(
            f"no download location for {', '.join(map(str, missing_urls))} Hz: the official "
            "archives at that rate are only in the requester-pays buckets "
            "gs://hear2021-archive/tasks/ and s3://hear2021-archive/tasks/; copy them with "
            "`gsutil -u <billing project> cp gs://hear2021-archive/tasks/<archive> DIR/` and "
            "pass --base-url DIR (a folder or an http(s) mirror)"
        )
    if todo:
        need, have = needed_bytes(dest, todo), (free or free_bytes)(dest)
        if need > have:
            raise FetchError(
                f"{dest} has {human_bytes(have)} free but the {len(todo)} archive(s) to fetch "
                f"need about {human_bytes(need)} (downloads plus unpacked audio); free some "
                "space or choose another --dest"
            )
    for spec in todo:
        log(f"{spec.name}: downloading")
        archive = download_archive(spec, dest, base_urls[spec.sample_rate], retries, log)
        log(f"{spec.name}: unpacking")
        unpack_archive(archive, spec, dest, release)
        write_atomic(
            _record_path(dest, spec),
            (
                json.dumps(
                    {
                        "archive": spec.name,
                        "md5": spec.md5,
                        "verified": spec.md5 is not None,
                        "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    },
                    indent=2,
                )
                + "\n"
            ).encode(),
        )
        if not keep_archives:
            archive.unlink()
        outcomes.append(Outcome(spec, "fetched", spec.md5 is not None))
    return outcomes


def _record_path(dest: Path, spec: ArchiveSpec) -> Path:
    return dest / RECORDS_DIR / f"{spec.task_dir}-{spec.sample_rate}.json"


def recorded_verified(dest: Path, task_dir: str, sample_rate: int) -> bool | None:
    """What `fetch_archives` recorded for this folder and rate: True (md5 checked), False
    (unpacked unchecked) or None (not fetched by hearbot)."""
    path = Path(dest) / RECORDS_DIR / f"{task_dir}-{sample_rate}.json"
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record.get("verified") is True


# ---------------------------------------------------------------------------------------------
# Download


def download_archive(spec: ArchiveSpec, dest: Path, base_url: str, retries: int, log: Log) -> Path:
    """The archive, downloaded (resuming a ``.part``) and checked against its md5."""
    downloads = dest / DOWNLOADS_DIR
    downloads.mkdir(parents=True, exist_ok=True)
    done = downloads / spec.name
    part = downloads / f"{spec.name}.part"
    if not done.is_file():
        source = _join(base_url, spec.name)
        if source.startswith(("http://", "https://")):
            _download_http(source, part, spec.size, retries, log)
        else:
            _copy_local(Path(source.removeprefix("file://")), part)
        os.replace(part, done)
    if spec.size is not None and done.stat().st_size != spec.size:
        got_size = done.stat().st_size
        done.unlink()
        raise FetchError(
            f"{spec.name}: {got_size} bytes, not the recorded {spec.size}: the source serves a "
            "truncated or different file. It was deleted; run the command again, or check "
            "--base-url"
        )
    if spec.md5 is not None:
        got = file_md5(done)
        if got != spec.md5:
            done.unlink()
            raise FetchError(
                f"{spec.name}: md5 {got} is not the expected {spec.md5}: the download is "
                "corrupt or the mirror serves another file. It was deleted; run the command "
                "again to download it afresh, or check --base-url"
            )
    else:
        log(f"WARNING: {spec.name}: no checksum known, unpacked unverified (--allow-unverified)")
    return done


def _join(base_url: str, name: str) -> str:
    return base_url + name if base_url.endswith("/") else f"{base_url}/{name}"


def _copy_local(source: Path, part: Path) -> None:
    if not source.is_file():
        raise FetchError(f"{source} does not exist: check --base-url (the folder of the archives)")
    shutil.copyfile(source, part)


def _download_http(url: str, part: Path, size: int | None, retries: int, log: Log) -> None:
    attempt = 0
    while True:
        have = part.stat().st_size if part.is_file() else 0
        if size is not None and have > size:
            part.unlink()
            have = 0
        if size is not None and have == size:
            return
        request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                _receive(response, part, have, url)
            return
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have:
                return  # nothing left to send: the part is whole (the md5 decides)
            raise FetchError(
                f"{url}: HTTP {exc.code} {exc.reason}; check --base-url and that the archive "
                "exists there"
            ) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            attempt += 1
            now = part.stat().st_size if part.is_file() else 0
            if attempt > retries:
                raise FetchError(
                    f"{url}: the download failed {attempt} times, last at byte {now}: {exc}. "
                    f"The {now} bytes received are kept in {part}; run the command again to "
                    "resume"
                ) from None
            log(f"interrupted at byte {now} ({exc}); resuming ({attempt}/{retries})")
            time.sleep(min(2**attempt, 30) if attempt > 1 else 0)


def _receive(response: Any, part: Path, have: int, url: str) -> None:
    status = response.status
    length = response.headers.get("Content-Length")
    if have and status == 206:
        content_range = response.headers.get("Content-Range", "")
        match = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", content_range.strip())
        if not match or int(match.group(1)) != have:
            raise FetchError(f"{url}: the server answered a resume with {content_range!r}")
        mode = "ab"
    else:
        mode, have = "wb", 0  # a full answer: start over
    expected = have + int(length) if length is not None else None
    with part.open(mode) as out:
        while True:
            chunk = response.read(CHUNK)
            if not chunk:
                break
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if expected is not None and part.stat().st_size < expected:
        raise http.client.IncompleteRead(b"", expected - part.stat().st_size)


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Unpack


def unpack_archive(archive: Path, spec: ArchiveSpec, dest: Path, release: str) -> None:
    """Unpack into a staging folder beside the target, then move it into place by a rename."""
    from bot.hear.tasks import METADATA_FILE, TaskError, read_task

    staging = dest / f"{STAGING_PREFIX}{spec.name}"
    if staging.exists():
        shutil.rmtree(staging)  # left by an interrupted run
    staging.mkdir(parents=True)
    root = f"{release}/tasks/{spec.task_dir}"
    try:
        _extract(archive, staging, root, spec.name)
        unpacked = staging / root
        rate_dir = unpacked / str(spec.sample_rate)
        if not (unpacked / METADATA_FILE).is_file() or not rate_dir.is_dir():
            raise FetchError(
                f"{spec.name} has no {root}/{METADATA_FILE} or no {root}/{spec.sample_rate}/ "
                "folder: it is not the task at the sample rate asked for"
            )
        try:
            read_task(unpacked)
        except TaskError as exc:
            raise FetchError(f"{spec.name}: the task inside is broken: {exc}") from None
        _move_into_place(unpacked, dest / spec.task_dir, spec)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _extract(archive: Path, staging: Path, root: str, name: str) -> None:
    def member_filter(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
        clean = member.name.removeprefix("./").rstrip("/")
        if clean != root and not clean.startswith(root + "/") and not root.startswith(clean + "/"):
            raise FetchError(
                f"{name} holds {member.name!r}, outside {root}/: not the archive of this task "
                "(nothing was unpacked)"
            )
        if not (member.isfile() or member.isdir()):
            raise FetchError(
                f"{name} holds {member.name!r}, a link or special file; task archives hold only "
                "files and folders (nothing was unpacked)"
            )
        try:
            return tarfile.data_filter(member, path)
        except tarfile.FilterError as exc:
            raise FetchError(f"{name}: unsafe member: {exc} (nothing was unpacked)") from None

    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                tar.extract(member, staging, filter=member_filter)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise FetchError(
            f"{name} is truncated or not a gzip tar archive ({exc}); nothing was unpacked. "
            "Delete it from the source or fetch it again"
        ) from None


def _move_into_place(unpacked: Path, target: Path, spec: ArchiveSpec) -> None:
    rate = str(spec.sample_rate)
    if not target.exists():
        os.rename(unpacked, target)
        return
    # Another sample rate of this task is already here: the metadata must be the same files.
    for item in sorted(unpacked.iterdir()):
        if item.name == rate or not item.is_file():
            continue
        mine = target / item.name
        if not mine.is_file() or mine.read_bytes() != item.read_bytes():
            raise FetchError(
                f"{spec.name}: {item.name} differs from {mine} (unpacked from another sample "
                "rate): the archives come from different releases; remove "
                f"{target} and fetch every rate again from one source"
            )
    os.rename(unpacked / rate, target / rate)
