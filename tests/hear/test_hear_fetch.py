"""`hearbot tasks fetch` and `hearbot tasks check DIR` on the whole tasks folder, against a
local HTTP server (tests/hear/archive_server.py) serving the real spoken_digit archive from
../shared/data whole and broken on purpose, and hand-made hostile archives."""

from __future__ import annotations

import hashlib
import io
import json
import random
import tarfile
from pathlib import Path

import pytest

from bot.cli import main
from bot.hear import fetch
from bot.hear.inventory import inventory

from .archive_server import serve
from .helpers import SPOKEN_DIGIT_CANDIDATES, SPOKEN_DIGIT_NAME

TASK = "spoken_digit-1.0.9-small"
MD5 = "a54f91fffed6ac916673148e5b1913a0"


@pytest.fixture(scope="module")
def archive() -> Path:
    found = next((p for p in SPOKEN_DIGIT_CANDIDATES if p.is_file()), None)
    if found is None:
        pytest.skip("shared/data spoken_digit tarball is absent")
    return found


def only_spoken_digit(dest: Path, base_url: str, *extra: str) -> int:
    return main(
        [
            "tasks",
            "fetch",
            "--sample-rate",
            "44100",
            "--columns",
            *extra,
            "--task-dir",
            TASK,
            "--dest",
            str(dest),
            "--base-url",
            base_url,
        ]
    )


def leftovers(dest: Path) -> list[str]:
    """Anything half-unpacked: staging folders, or a task folder without its audio."""
    found = [p.name for p in dest.glob(f"{fetch.STAGING_PREFIX}*")]
    task = dest / TASK
    if task.exists() and not (task / "44100").is_dir():
        found.append(f"{TASK} without 44100/")
    return found


def test_catalogue_matches_its_schema_and_the_shared_archive(archive: Path) -> None:
    catalogue = fetch.load_catalogue()
    assert catalogue.archive_name(TASK, 44100) == SPOKEN_DIGIT_NAME
    assert catalogue.checksums[SPOKEN_DIGIT_NAME] == (MD5, archive.stat().st_size)
    assert fetch.file_md5(archive) == MD5
    # Zenodo is the only plain-HTTPS source, and only at 48 kHz.
    assert catalogue.default_base_url(48000) is not None
    assert catalogue.default_base_url(44100) is None


def fetch_spoken_digit(dest: Path, url: str, retries: int = 0) -> list[fetch.Outcome]:
    catalogue = fetch.load_catalogue()
    specs = fetch.plan_archives(catalogue, [44100], [], [TASK])
    return fetch.fetch_archives(
        specs, dest, {44100: url}, release=catalogue.release, retries=retries
    )


def test_fetch_then_check_then_fetch_again(archive: Path, tmp_path: Path, capsys) -> None:
    dest = tmp_path / "tasks"
    with serve({SPOKEN_DIGIT_NAME: archive}) as server:
        code = main(
            [
                "tasks",
                "fetch",
                "--sample-rate",
                "44100",
                "--columns",
                "--task-dir",
                TASK,
                "--dest",
                str(dest),
                "--base-url",
                f"{server.url}/good/",
            ]
        )
        out = capsys.readouterr().out
        assert code == 0, out
        assert f"{TASK} at 44100 Hz: fetched (md5 checked)" in out
        assert (dest / TASK / "task_metadata.json").is_file()
        assert len(list((dest / TASK / "44100").rglob("*.wav"))) > 0
        assert not (dest / fetch.DOWNLOADS_DIR / SPOKEN_DIGIT_NAME).exists()  # deleted
        assert leftovers(dest) == []
        # Safe to re-run: nothing is downloaded again.
        before = len(server.requests)
        code = main(
            [
                "tasks",
                "fetch",
                "--sample-rate",
                "44100",
                "--columns",
                "--task-dir",
                TASK,
                "--dest",
                str(dest),
                "--base-url",
                f"{server.url}/good/",
            ]
        )
        assert code == 0
        assert "already present (md5 checked)" in capsys.readouterr().out
        assert len(server.requests) == before

    # The task folder itself checks out; the tasks folder is listed per column and rate.
    assert main(["tasks", "check", str(dest / TASK)]) == 0
    capsys.readouterr()
    report = tmp_path / "check.json"
    code = main(["tasks", "check", str(dest), "--sample-rate", "44100", "--json", str(report)])
    out = capsys.readouterr().out
    assert code == 1  # no leaderboard column is there
    assert "metadata-missing" not in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "present" in next(line for line in out.splitlines() if TASK in line)
    assert "ESC-50" in lines and "missing" in lines["ESC-50"]
    data = json.loads(report.read_text())
    mine = [e for e in data["entries"] if e["task_dir"] == TASK]
    assert mine == [
        {
            "column": None,
            "task_dir": TASK,
            "sample_rate": 44100,
            "state": "present",
            "detail": mine[0]["detail"],
            "verified": True,
        }
    ]
    assert data["complete"] is False


def test_connection_dropped_midway_resumes_with_a_range_request(
    archive: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "tasks"
    with serve({SPOKEN_DIGIT_NAME: archive}) as server:
        with pytest.raises(fetch.FetchError, match="run the command again to resume"):
            fetch_spoken_digit(dest, f"{server.url}/drop/", retries=0)
        part = dest / fetch.DOWNLOADS_DIR / f"{SPOKEN_DIGIT_NAME}.part"
        half = archive.stat().st_size // 2
        assert part.stat().st_size == half  # kept for the next run
        assert leftovers(dest) == [] and not (dest / TASK).exists()
        outcomes = fetch_spoken_digit(dest, f"{server.url}/drop/", retries=0)
        assert [o.state for o in outcomes] == ["fetched"]
        assert server.requests[-1][1] == f"bytes={half}-"  # resumed, not started over
    assert (dest / TASK / "44100").is_dir()


def test_an_interruption_is_retried_within_the_run(archive: Path, tmp_path: Path) -> None:
    dest = tmp_path / "tasks"
    with serve({SPOKEN_DIGIT_NAME: archive}) as server:
        outcomes = fetch_spoken_digit(dest, f"{server.url}/drop/", retries=2)
        assert [o.state for o in outcomes] == ["fetched"]
        assert [r for _, r in server.requests] == [None, f"bytes={archive.stat().st_size // 2}-"]


def test_a_server_that_ignores_range_restarts_cleanly(archive: Path, tmp_path: Path) -> None:
    dest = tmp_path / "tasks"
    part = dest / fetch.DOWNLOADS_DIR / f"{SPOKEN_DIGIT_NAME}.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(archive.read_bytes()[:1000])
    with serve({SPOKEN_DIGIT_NAME: archive}) as server:
        fetch_spoken_digit(dest, f"{server.url}/norange/")
    assert (dest / TASK / "44100").is_dir()


@pytest.mark.parametrize("mode", ["truncated", "corrupt"])
def test_a_broken_archive_is_refused_by_its_checksum(
    archive: Path, tmp_path: Path, mode: str, capsys
) -> None:
    dest = tmp_path / "tasks"
    with serve({SPOKEN_DIGIT_NAME: archive}) as server:
        code = only_spoken_digit(dest, f"{server.url}/{mode}/")
    err = capsys.readouterr().err
    assert code == 1
    if mode == "truncated":
        size = archive.stat().st_size
        assert f"{size // 2} bytes, not the recorded {size}" in err and "truncated" in err
    else:
        assert f"is not the expected {MD5}" in err
    assert "deleted" in err and "run the command again" in err
    assert leftovers(dest) == [] and not (dest / TASK).exists()
    assert list((dest / fetch.DOWNLOADS_DIR).iterdir()) == []


def test_a_truncated_archive_without_a_checksum_is_not_half_unpacked(
    tmp_path: Path, capsys
) -> None:
    """Unchecked (--allow-unverified), a truncated gzip fails while unpacking, and nothing of
    it is left in the tasks folder."""
    name = "hear-2021.0.6-other_task-44100.tar.gz"
    dest = tmp_path / "tasks"
    root = "hear-2021.0.6/tasks/other_task"
    noise = random.Random(0).randbytes(400_000)  # incompressible: the cut falls inside a member
    whole = _tar([_file(f"{root}/task_metadata.json", b"{}"), _file(f"{root}/44100/a.wav", noise)])
    with serve({name: whole[: len(whole) // 2]}) as server:
        code = main(
            [
                "tasks",
                "fetch",
                "--sample-rate",
                "44100",
                "--columns",
                "--task-dir",
                "other_task",
                "--dest",
                str(dest),
                "--base-url",
                f"{server.url}/good/",
                "--allow-unverified",
            ]
        )
    err = capsys.readouterr().err
    assert code == 1
    assert "WARNING" in err and "unverified" in err
    assert "truncated or not a gzip tar archive" in err
    assert not (dest / "other_task").exists()
    assert list(dest.glob(f"{fetch.STAGING_PREFIX}*")) == []


def test_an_unknown_checksum_is_refused_before_any_download(tmp_path: Path, capsys) -> None:
    with serve({}) as server:
        code = main(
            [
                "tasks",
                "fetch",
                "--sample-rate",
                "48000",
                "--columns",
                "ESC-50",
                "--dest",
                str(tmp_path / "t"),
                "--base-url",
                f"{server.url}/good/",
            ]
        )
        assert server.requests == []
    err = capsys.readouterr().err
    assert code == 2
    assert "no checksum is known" in err and "hear-2021.0.6-esc50-v2.0.0-full-48000.tar.gz" in err
    assert "--md5 ARCHIVE=MD5" in err and "--allow-unverified" in err


def test_a_rate_without_a_public_source_says_how_to_get_it(tmp_path: Path, capsys) -> None:
    code = main(
        [
            "tasks",
            "fetch",
            "--sample-rate",
            "16000",
            "--columns",
            "ESC-50",
            "--allow-unverified",
            "--dest",
            str(tmp_path / "t"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "requester-pays" in err and "gsutil -u" in err and "--base-url DIR" in err


def test_not_enough_disk_is_refused_before_any_download(archive: Path, tmp_path: Path) -> None:
    catalogue = fetch.load_catalogue()
    specs = fetch.plan_archives(catalogue, [44100], [], [TASK])
    with serve({SPOKEN_DIGIT_NAME: archive}) as server:
        with pytest.raises(fetch.FetchError, match=r"has 1\.0 KB free but .* need about"):
            fetch.fetch_archives(
                specs,
                tmp_path,
                {44100: f"{server.url}/good/"},
                release=catalogue.release,
                free=lambda _path: 1000,
            )
        assert server.requests == []


def test_plan_estimates_the_unpacked_size_per_rate() -> None:
    catalogue = fetch.load_catalogue()
    (spec,) = fetch.plan_archives(catalogue, [16000], ["ESC-50"])
    # 2.8 h of PCM16 mono at 16 kHz, plus 5 %.
    assert spec.unpacked_bytes == int(2.8 * 3600 * 16000 * 2 * 1.05)
    with pytest.raises(fetch.FetchError, match="not a leaderboard column"):
        fetch.plan_archives(catalogue, [16000], ["ESC 50"])
    with pytest.raises(fetch.FetchError, match="contradicts the md5 recorded"):
        fetch.plan_archives(catalogue, [44100], [], [TASK], {SPOKEN_DIGIT_NAME: "f" * 32})


# ---------------------------------------------------------------------------------------------
# Hostile archives


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return buffer.getvalue()


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


ROOT = "hear-2021.0.6/tasks/evil"


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([_file("/etc/evil")], "outside hear-2021.0.6/tasks/evil/"),
        ([_file(f"{ROOT}/../../../../escaped")], "unsafe member"),
        ([_file("hear-2021.0.6/tasks/other/task_metadata.json")], "outside"),
        ([_link(f"{ROOT}/44100", "/etc")], "a link or special file"),
        ([_link(f"{ROOT}/hard", "/etc/passwd", tarfile.LNKTYPE)], "a link or special file"),
        ([_file(f"{ROOT}/task_metadata.json", b"{}")], "no hear-2021.0.6/tasks/evil/44100/"),
    ],
    ids=["absolute", "dotdot", "other-task", "symlink", "hardlink", "no-audio"],
)
def test_hostile_archives_are_refused_and_nothing_is_left(
    tmp_path: Path, members: list, message: str, capsys
) -> None:
    data = _tar(members)
    name = "hear-2021.0.6-evil-44100.tar.gz"
    dest = tmp_path / "tasks"
    with serve({name: data}) as server:
        code = main(
            [
                "tasks",
                "fetch",
                "--sample-rate",
                "44100",
                "--columns",
                "--task-dir",
                "evil",
                "--dest",
                str(dest),
                "--base-url",
                f"{server.url}/good/",
                "--md5",
                f"{name}={hashlib.md5(data).hexdigest()}",
            ]
        )
    err = capsys.readouterr().err
    assert code == 1, err
    assert message in err
    assert sorted(p.name for p in dest.iterdir()) == [fetch.DOWNLOADS_DIR]
    assert not (tmp_path / "escaped").exists()


def test_a_second_rate_joins_the_task_folder(archive: Path, tmp_path: Path) -> None:
    """Another rate of the same task lands beside the first when its metadata files are the
    same; an archive whose metadata differs (another release) is refused."""
    root = f"hear-2021.0.6/tasks/{TASK}"
    with tarfile.open(archive) as tar:
        metadata = [
            (tarfile.TarInfo(m.name), tar.extractfile(m).read())  # type: ignore[union-attr]
            for m in tar
            if m.isfile() and m.name.count("/") == 3
        ]
        wav = next(m for m in tar if m.name.endswith(".wav"))
        wav_bytes = tar.extractfile(wav).read()  # type: ignore[union-attr]
    one_wav = [_file(f"{root}/48000/fold00/{Path(wav.name).name}", wav_bytes)]
    second = _tar(metadata + one_wav)
    changed = [
        (info, data + b"10,extra\n" if info.name.endswith("labelvocabulary.csv") else data)
        for info, data in metadata
    ]
    third = _tar([*changed, _file(f"{root}/22050/fold00/{Path(wav.name).name}", wav_bytes)])
    names = {rate: f"hear-2021.0.6-{TASK}-{rate}.tar.gz" for rate in (48000, 22050)}
    dest = tmp_path / "tasks"
    with serve({SPOKEN_DIGIT_NAME: archive, names[48000]: second, names[22050]: third}) as server:
        fetch_spoken_digit(dest, f"{server.url}/good/")
        catalogue = fetch.load_catalogue()
        for rate, data in ((48000, second), (22050, third)):
            specs = fetch.plan_archives(
                catalogue, [rate], [], [TASK], {names[rate]: hashlib.md5(data).hexdigest()}
            )
            run = lambda specs=specs, rate=rate: fetch.fetch_archives(  # noqa: E731
                specs, dest, {rate: f"{server.url}/good/"}, release=catalogue.release
            )
            if rate == 48000:
                run()
            else:
                with pytest.raises(fetch.FetchError, match=r"labelvocabulary\.csv differs"):
                    run()
    assert sorted(p.name for p in (dest / TASK).iterdir() if p.is_dir()) == ["44100", "48000"]
    entries = {(e.task_dir, e.sample_rate): e for e in inventory(dest, [44100, 48000])}
    assert entries[(TASK, 44100)].state == "present"
    assert entries[(TASK, 48000)].state == "corrupt"  # one WAV of the many the splits list
    assert list(dest.glob(f"{fetch.STAGING_PREFIX}*")) == []
