"""Files a manifest names by sha256 (URL-pinned archives, weights), found by content.

A URL pin (`pkg @ https://host/pkg-1.0-py3-none-any.whl#sha256=<hex>`) and the manifest's
`weights` name exact bytes. Trusted code finds those bytes before anything runs: in the
work directory's cache (``work/files/<sha256>/<file name>``), in a `--find-links` directory
(by content: the same sha256, whatever the file is called there) or in a file the submitter
gives (`--weights-file`); only when none has them, and the run may use the network, it
downloads the URL. Every copy is checked against the sha256 and written under a temporary
name, then renamed: the cache never holds a partial or a wrong file. pip then installs the
cached copy as a `file://` URL (the sandbox has no network), still under its `#sha256=`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bot.common.fileio import sha256_of
from bot.common.log import Log

FILES = "files"
MAX_CANDIDATES = 2000
"""Files looked at per --find-links directory (a listing, no recursion)."""
ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2")
_URL_PIN = re.compile(
    r"^\s*(?:(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?P<extras>\[[^\]]*\])?\s*@\s*)?"
    r"(?P<url>https://[^\s#]+)#sha256=(?P<sha>[0-9a-f]{64})(?P<rest>\s*(;.*)?)$"
)


class PinnedFileError(RuntimeError):
    """The pinned bytes could not be found or fetched; the message says what to do."""


@dataclass(frozen=True)
class UrlPin:
    line: str
    name: str
    """The requirement name before `@` ("" for a bare URL line)."""
    url: str
    sha256: str
    file_name: str
    rest: str
    """Extras and environment marker, kept as written."""
    extras: str = ""

    def local_line(self, path: Path) -> str:
        """The same requirement, pointing at ``path`` (pip still checks the sha256)."""
        target = f"{path.resolve().as_uri()}#sha256={self.sha256}"
        if not self.name:
            return f"{target}{self.rest}"
        return f"{self.name}{self.extras} @ {target}{self.rest}"


def url_pin(line: str) -> UrlPin | None:
    """The URL pin on an install line, or None when the line is not one."""
    match = _URL_PIN.match(line)
    if not match:
        return None
    file_name = unquote(urlsplit(match.group("url")).path.rsplit("/", 1)[-1])
    return UrlPin(
        line=line.strip(),
        name=match.group("name") or "",
        extras=match.group("extras") or "",
        url=match.group("url"),
        sha256=match.group("sha"),
        file_name=file_name,
        rest=match.group("rest").rstrip(),
    )


def cached(cache: Path, sha256: str, file_name: str) -> Path | None:
    """``cache/<sha256>/<file_name>`` when it is there with those bytes."""
    path = cache / sha256 / file_name
    if path.is_file() and not path.is_symlink() and sha256_of(path) == sha256:
        return path
    return None


def find_by_content(sha256: str, file_name: str, directories: Sequence[Path]) -> Path | None:
    """A regular file with ``sha256`` in one of ``directories``: a file of the same name
    first, then any archive (a wheel renamed or kept under another name still counts)."""
    for directory in directories:
        same_name = directory / file_name
        if same_name.is_file() and sha256_of(same_name) == sha256:
            return same_name
    for directory in directories:
        try:
            names = sorted(entry.name for entry in os.scandir(directory) if entry.is_file())
        except OSError:
            continue
        for name in names[:MAX_CANDIDATES]:
            candidate = directory / name
            if name != file_name and name.endswith(ARCHIVE_SUFFIXES):  # noqa: SIM102
                if sha256_of(candidate) == sha256:  # hashed only when the name could be one
                    return candidate
    return None


def keep(source: Path, sha256: str, file_name: str, cache: Path) -> Path:
    """A checked copy of ``source`` at ``cache/<sha256>/<file_name>`` (temp file + rename)."""
    target = cache / sha256 / file_name
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.parent / f".{file_name}.partial"
    shutil.copyfile(source, partial)
    actual = sha256_of(partial)
    if actual != sha256:
        partial.unlink(missing_ok=True)
        raise PinnedFileError(f"{source} changed while it was copied (sha256 {actual})")
    os.replace(partial, target)
    return target


def download(url: str, sha256: str, file_name: str, cache: Path, log: Log) -> Path:
    """``url`` fetched once into ``cache/<sha256>/<file_name>``, checked by content."""
    target = cache / sha256 / file_name
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.parent / f".{file_name}.partial"
    log(f"downloading {url}")
    actual = download_to(url, partial)
    if actual != sha256:
        partial.unlink(missing_ok=True)
        raise PinnedFileError(f"{url} has sha256 {actual}, the manifest says {sha256}")
    os.replace(partial, target)
    return target


def download_to(url: str, partial: Path) -> str:
    """``url`` streamed into ``partial`` (a MiB at a time); the sha256 of what came. The caller
    checks it, then renames ``partial`` into place or removes it."""
    import requests

    digest = hashlib.sha256()
    with requests.get(url, stream=True, timeout=60) as response:
        response.raise_for_status()
        with partial.open("wb") as handle:
            for chunk in response.iter_content(chunk_size=1 << 20):
                digest.update(chunk)
                handle.write(chunk)
    return digest.hexdigest()


def local_url_pins(
    lines: Sequence[str],
    find_links: Sequence[Path],
    cache: Path,
    log: Log,
    *,
    network: bool,
) -> dict[str, str]:
    """For each URL-pinned install line, the same line pointing at a checked local copy.

    Looked for in ``cache``, then in ``find_links`` by content; downloaded only when
    ``network`` is allowed. A pin found nowhere is a `PinnedFileError` saying how to supply
    the file."""
    local: dict[str, str] = {}
    for line in lines:
        pin = url_pin(line)
        if pin is None:
            continue
        path = cached(cache, pin.sha256, pin.file_name)
        if path is not None:
            log(f"install: {pin.file_name} (sha256 {pin.sha256[:12]}…) from the cache {path}")
        else:
            found = find_by_content(pin.sha256, pin.file_name, find_links)
            if found is not None:
                log(f"install: {pin.file_name} (sha256 {pin.sha256[:12]}…) is {found}")
                path = keep(found, pin.sha256, pin.file_name, cache)
            elif network:
                path = download(pin.url, pin.sha256, pin.file_name, cache, log)
            else:
                where = ", ".join(str(d) for d in find_links) or "no --find-links directory given"
                raise PinnedFileError(
                    f"the install line {pin.line!r} names a file by URL, and this run has no "
                    f"network (no --package-index); no file with sha256 {pin.sha256} was found "
                    f"in --find-links ({where}) or in the cache ({cache}). Put the file you "
                    "published (the same bytes) in a directory and pass `--find-links DIR`."
                )
        local[pin.line] = pin.local_line(path)
        log(f"install: {pin.url} is installed from {local[pin.line]} (same sha256, no network)")
    return local
