"""Evidence records (schemas/verification-record.schema.json): one per verification or
maintainer override, bound to a row's content and its manifest by sha256.

Pure: building a record from a verification result and reading records back. Where they are
stored (the ``hearbot-evidence`` branch) is ``bot.publish.store``'s business.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot import __version__
from bot.common import strict_json
from bot.common.schemas import json_pointer, schema_errors

RECORD_SCHEMA = "verification-record.schema.json"
MAX_RECORD_BYTES = 4 * 1024 * 1024
RECORDS_DIR = "records"  # on the evidence branch: records/<binding key>/<name>.json
BOUND_DIR = "bound"  # on the evidence branch: bound/<slug>.verification.json (publish job)
# Optional per-column fields of a verification result that the record carries when present.
STATISTICAL_FIELDS = ("members", "mean", "sd", "interval", "ci95")


class RecordError(ValueError):
    """An evidence record is unusable; the message says which and why."""


@dataclass(frozen=True)
class Binding:
    model: str
    slug: str
    row_sha256: str
    manifest_sha256: str

    @property
    def key(self) -> str:
        return binding_key(self.row_sha256, self.manifest_sha256)

    def as_json(self) -> dict[str, str]:
        return {
            "model": self.model,
            "slug": self.slug,
            "row_sha256": self.row_sha256,
            "manifest_sha256": self.manifest_sha256,
            "key": self.key,
        }


@dataclass(frozen=True)
class RunContext:
    """Who and what wrote a record: the workflow run and the maintainer who asked for it."""

    pr: int
    head_sha: str
    repository: str  # owner/name
    server_url: str  # https://github.com
    triggered_by: str
    run_id: int | None
    run_attempt: int | None
    hearbot_commit: str | None
    recorded_at: str  # RFC 3339, UTC

    @property
    def pr_url(self) -> str:
        return f"{self.server_url}/{self.repository}/pull/{self.pr}"

    @property
    def run_url(self) -> str | None:
        if self.run_id is None:
            return None
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"

    def file_name(self, kind: str) -> str:
        """The record's file name in its binding folder: unique per run attempt."""
        stamp = self.recorded_at.replace(":", "").replace("-", "")
        run = f"run{self.run_id}-{self.run_attempt or 1}" if self.run_id else "local"
        return f"{stamp}-{kind}-{run}.json"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def binding_key(row_sha256: str, manifest_sha256: str) -> str:
    return sha256_hex(f"{row_sha256}\n{manifest_sha256}".encode())


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _header(kind: str, binding: Binding, context: RunContext) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "kind": kind,
        "binding": binding.as_json(),
        "pull_request": {
            "number": context.pr,
            "head_sha": context.head_sha,
            "url": context.pr_url,
        },
        "recorded_at": context.recorded_at,
        "run": {"id": context.run_id, "attempt": context.run_attempt, "url": context.run_url},
        "triggered_by": context.triggered_by,
    }


def verification_record(
    result: Mapping[str, Any], binding: Binding, context: RunContext
) -> dict[str, Any]:
    """The evidence record of a (schema-valid) verification result."""
    verification = result["verification"]
    model = verification["model"]
    environment = verification["environment"]
    columns = []
    for entry in verification["columns"]:
        column = {
            key: entry[key]
            for key in ("column", "outcome", "claimed", "reproduced", "delta", "tolerance")
        }
        for key in STATISTICAL_FIELDS:
            if key in entry:
                column[key] = entry[key]
        columns.append(column)
    record = _header("verification", binding, context)
    record.update(
        {
            "verdict": verification["verdict"],
            "reason": verification["reason"],
            "columns": columns,
            "provenance": {
                "hearbot_version": str(result.get("tool", {}).get("version", __version__)),
                "hearbot_commit": context.hearbot_commit,
                "install_pin": model["install_pin"],
                "weights_sha256": model["weights_sha256"],
                "hear_module": model["hear_module"],
                "device": environment["device"],
                "python": environment["python"],
                "torch": environment["torch"],
                "cuda": environment.get("cuda"),
                "driver": environment.get("driver"),
                "evaluation_mode": environment.get("evaluation_mode"),
                "installed_from": environment["installed_from"],
                "packages": list(environment["provenance"]),
                "sandbox": environment["sandbox"],
            },
            "timings": dict(verification["timings"]),
        }
    )
    check_record(record)
    return record


def override_record(
    decision: str, reason: str, binding: Binding, context: RunContext
) -> dict[str, Any]:
    """The evidence record of a maintainer's ``/override accept|reject REASON``."""
    record = _header("override", binding, context)
    record["override"] = {"decision": decision, "by": context.triggered_by, "reason": reason}
    check_record(record)
    return record


def check_record(record: Any) -> None:
    errors = schema_errors(RECORD_SCHEMA, record)
    if errors:
        first = errors[0]
        raise RecordError(
            f"not a valid evidence record at {json_pointer(first) or '/'}: {first.message}"
        )


def record_bytes(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, indent=2, sort_keys=True, allow_nan=False).encode() + b"\n"


def read_record(data: bytes, where: str) -> dict[str, Any]:
    """A stored record, checked: strict JSON, the schema, and a key that matches its hashes."""
    if len(data) > MAX_RECORD_BYTES:
        raise RecordError(f"{where}: larger than {MAX_RECORD_BYTES} bytes")
    try:
        record = strict_json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RecordError(f"{where}: not strict JSON ({exc})") from None
    try:
        check_record(record)
    except RecordError as exc:
        raise RecordError(f"{where}: {exc}") from None
    binding = record["binding"]
    if binding["key"] != binding_key(binding["row_sha256"], binding["manifest_sha256"]):
        raise RecordError(f"{where}: its binding key does not match its row and manifest hashes")
    return record
