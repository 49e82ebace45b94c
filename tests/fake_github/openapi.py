"""GitHub's official OpenAPI description (npm @octokit/openapi) as a request/response checker.

The fake GitHub routes every request through ``Spec.match`` (so a path or method that GitHub
does not have is a violation, not a silently served route) and checks:

- the request: path parameters, query parameters (unknown ones too), and the JSON body
  against the operation's ``requestBody`` schema;
- the response: its status is documented for the operation (an undocumented 4xx/5xx must at
  least be a ``basic-error``), and the JSON body matches that status' schema.

The spec is OpenAPI 3.0.3; its schemas become JSON Schema 2020-12 by translating
``nullable: true`` (to a ``"null"`` type, enum member, or ``anyOf`` branch) and dropping
OpenAPI-only keywords. ``$ref``s resolve with ``referencing`` against the translated
``components``. ``webhook_errors`` checks event payloads against @octokit/webhooks-schemas.
Both files are loaded once per process.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO_ROOT / "node_modules"
OPENAPI_FILE = NODE_MODULES / "@octokit" / "openapi" / "generated" / "api.github.com.json"
WEBHOOKS_FILE = NODE_MODULES / "@octokit" / "webhooks-schemas" / "schema.json"
SPEC_URI = "urn:x-hearbot-tests:github-openapi"

# Path parameters that GitHub documents as possibly containing slashes (a file path, a ref,
# base...head); only as the last segment of a template, and only when nothing else matches.
SLASHED_PARAMETERS = frozenset({"path", "ref", "basehead"})
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "contains", "propertyNames")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_DROPPED = frozenset(
    {
        "nullable",
        "example",
        "examples",
        "discriminator",
        "readOnly",
        "writeOnly",
        "xml",
        "externalDocs",
        "deprecated",
    }
)


def missing_files() -> list[Path]:
    return [path for path in (OPENAPI_FILE, WEBHOOKS_FILE) if not path.is_file()]


def require_octokit(missing: list[Path] | None = None) -> None:
    """Skip the calling test when the npm packages are absent, but fail it in CI (``CI`` set),
    whose setup (``scripts/setup.sh --dev``: ``npm ci``) installs them."""
    missing = missing_files() if missing is None else missing
    if not missing:
        return
    shown = ", ".join(str(path.relative_to(REPO_ROOT)) for path in missing)
    message = (
        f"{shown} not found: run `npm ci` in the repository root to install @octokit/openapi "
        "and @octokit/webhooks-schemas (pinned in package.json)"
    )
    if os.environ.get("CI"):
        pytest.fail(message + "; CI setup must install them", pytrace=False)
    pytest.skip(message)


def to_json_schema(node: Any) -> Any:
    """One OpenAPI 3.0 Schema Object as JSON Schema 2020-12 (refs made absolute)."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED or key.startswith("x-"):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_VALUES and isinstance(value, dict):
            out[key] = to_json_schema(value)
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [to_json_schema(sub) for sub in value]
        elif key == "$ref" and isinstance(value, str) and value.startswith("#"):
            out[key] = SPEC_URI + value
        else:
            out[key] = value
    if node.get("nullable") is True:
        out = _nullable(out)
    return out


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if any(key in schema for key in ("$ref", *_SCHEMA_LISTS)) or "type" not in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    schema = {**schema, "type": [*types, "null"] if "null" not in types else types}
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


def _translate_objects(node: Any) -> Any:
    """Walk non-schema OpenAPI objects (parameters, responses, media types), translating each
    ``schema`` found and dropping examples."""
    if isinstance(node, list):
        return [_translate_objects(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("example", "examples"):
            continue
        out[key] = to_json_schema(value) if key == "schema" else _translate_objects(value)
    return out


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    required: bool
    schema: dict[str, Any]


@dataclass
class Operation:
    method: str
    template: str
    operation_id: str
    literal_segments: int
    pattern: re.Pattern[str]
    greedy_pattern: re.Pattern[str]
    param_names: tuple[str, ...]
    raw: dict[str, Any]
    path_item_parameters: list[Any]
    _parameters: list[Parameter] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Match:
    operation: Operation
    path_params: dict[str, str]


def _template_regex(template: str, *, greedy_last: bool) -> tuple[re.Pattern[str], tuple[str, ...]]:
    names: list[str] = []
    parts = []
    segments = template.split("/")
    for index, segment in enumerate(segments):
        pieces = re.split(r"(\{[^}]+\})", segment)
        regex = ""
        for piece in pieces:
            if piece.startswith("{") and piece.endswith("}"):
                names.append(piece[1:-1])
                last = index == len(segments) - 1
                spans = greedy_last and last and piece[1:-1] in SLASHED_PARAMETERS
                regex += "(.+)" if spans else "([^/]+)"
            else:
                regex += re.escape(piece)
        parts.append(regex)
    return re.compile("^" + "/".join(parts) + "$"), tuple(names)


class Spec:
    """The REST description, indexed for matching and validation."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.version = document["info"]["version"]
        components = document["components"]
        self.schemas = {name: to_json_schema(s) for name, s in components["schemas"].items()}
        self.parameters = _translate_objects(components["parameters"])
        self.responses = _translate_objects(components["responses"])
        self.request_bodies = _translate_objects(components.get("requestBodies", {}))
        resource = Resource.from_contents(
            {"components": {"schemas": self.schemas}}, default_specification=DRAFT202012
        )
        self.registry: Registry = Registry().with_resource(SPEC_URI, resource)
        self.operations: list[Operation] = []
        for template, item in document["paths"].items():
            for method, raw in item.items():
                if method in ("parameters", "summary", "description", "servers"):
                    continue
                pattern, names = _template_regex(template, greedy_last=False)
                greedy, _ = _template_regex(template, greedy_last=True)
                literal = sum(1 for s in template.split("/") if s and "{" not in s)
                self.operations.append(
                    Operation(
                        method=method.upper(),
                        template=template,
                        operation_id=raw["operationId"],
                        literal_segments=literal,
                        pattern=pattern,
                        greedy_pattern=greedy,
                        param_names=names,
                        raw=_translate_objects(raw),
                        path_item_parameters=_translate_objects(item.get("parameters", [])),
                    )
                )
        self._validators: dict[str, Draft202012Validator] = {}

    # --- matching ----------------------------------------------------------------------

    def match(self, method: str, raw_path: str) -> Match | None:
        """The operation for ``method`` + percent-encoded ``raw_path``, most specific first;
        a last ``SLASHED_PARAMETERS`` one may span slashes only if nothing else matches."""
        for greedy in (False, True):
            found = []
            for op in self.operations:
                if op.method != method:
                    continue
                hit = (op.greedy_pattern if greedy else op.pattern).match(raw_path)
                if hit:
                    values = [urllib.parse.unquote(v) for v in hit.groups()]
                    found.append((op, dict(zip(op.param_names, values, strict=True))))
            if found:
                op, params = max(found, key=lambda pair: pair[0].literal_segments)
                return Match(op, params)
        return None

    def parameters_of(self, op: Operation) -> list[Parameter]:
        if op._parameters is None:
            params = []
            for entry in [*op.path_item_parameters, *op.raw.get("parameters", [])]:
                if "$ref" in entry:
                    entry = self.parameters[entry["$ref"].rsplit("/", 1)[1]]
                params.append(
                    Parameter(
                        name=entry["name"],
                        location=entry["in"],
                        required=bool(entry.get("required")),
                        schema=entry.get("schema", {}),
                    )
                )
            op._parameters = params
        return op._parameters

    # --- validation --------------------------------------------------------------------

    def _errors(self, key: str, schema: dict[str, Any], instance: Any) -> list[str]:
        validator = self._validators.get(key)
        if validator is None:
            validator = Draft202012Validator(schema, registry=self.registry)
            self._validators[key] = validator
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        return [
            f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {_short(e.message)}"
            for e in errors[:5]
        ]

    def request_errors(
        self, match: Match, query: dict[str, list[str]], body: bytes, content_type: str
    ) -> list[str]:
        op = match.operation
        errors: list[str] = []
        params = self.parameters_of(op)
        for param in params:
            if param.location == "path":
                value = _coerce(match.path_params[param.name], param.schema)
                for e in self._errors(f"{op.operation_id}:path:{param.name}", param.schema, value):
                    errors.append(f"path parameter {param.name}={value!r}: {e}")
        known = {p.name: p for p in params if p.location == "query"}
        for name, values in query.items():
            if name not in known:
                errors.append(f"query parameter {name!r} is not defined for {op.operation_id}")
                continue
            schema = known[name].schema
            if len(values) > 1 and schema.get("type") != "array":
                errors.append(f"query parameter {name!r} given {len(values)} times")
            value = _coerce(values[0], schema)
            for e in self._errors(f"{op.operation_id}:query:{name}", schema, value):
                errors.append(f"query parameter {name}={values[0]!r}: {e}")
        for param in known.values():
            if param.required and param.name not in query:
                errors.append(f"required query parameter {param.name!r} is missing")
        errors += self._body_errors(op, body, content_type)
        return errors

    def _body_errors(self, op: Operation, body: bytes, content_type: str) -> list[str]:
        request_body = op.raw.get("requestBody")
        if request_body and "$ref" in request_body:
            request_body = self.request_bodies[request_body["$ref"].rsplit("/", 1)[1]]
        if not request_body:
            return (
                [f"{op.operation_id} takes no request body, got {len(body)} bytes"] if body else []
            )
        if not body:
            return ["request body is required"] if request_body.get("required") else []
        media = request_body.get("content", {}).get("application/json")
        if media is None:
            return [f"{op.operation_id} does not take a JSON body"]
        if not content_type.startswith("application/json"):
            return [f"request body sent as {content_type!r}, not application/json"]
        try:
            instance = json.loads(body)
        except ValueError as exc:
            return [f"request body is not JSON: {exc}"]
        return [
            f"request body {e}"
            for e in self._errors(f"{op.operation_id}:body", media["schema"], instance)
        ]

    def response_errors(self, match: Match, status: int, body: bytes) -> list[str]:
        op = match.operation
        responses = op.raw.get("responses", {})
        response = responses.get(str(status)) or responses.get("default")
        if response is not None and "$ref" in response:
            response = self.responses[response["$ref"].rsplit("/", 1)[1]]
        if response is None:
            if status < 400:
                documented = ", ".join(sorted(responses))
                return [f"status {status} is not documented for {op.operation_id} ({documented})"]
            response = {"content": {"application/json": {"schema": self.schemas["basic-error"]}}}
        media = response.get("content", {}).get("application/json")
        if media is None:
            return (
                [f"status {status} has no body in the spec, got {len(body)} bytes"] if body else []
            )
        try:
            instance = json.loads(body)
        except ValueError as exc:
            return [f"response body is not JSON: {exc}"]
        key = f"{op.operation_id}:response:{status}"
        return [f"response body {e}" for e in self._errors(key, media["schema"], instance)]


def _coerce(text: str, schema: dict[str, Any]) -> Any:
    """A path/query string as the type its schema names (so that '5' checks as integer)."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "integer" in kinds and re.fullmatch(r"-?\d+", text):
        return int(text)
    if "number" in kinds:
        try:
            return float(text)
        except ValueError:
            return text
    if "boolean" in kinds and text in ("true", "false"):
        return text == "true"
    return text


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[:limit] + "…"


@cache
def load_spec() -> Spec:
    return Spec(json.loads(OPENAPI_FILE.read_bytes()))


@cache
def _webhook_definitions() -> dict[str, Any]:
    return json.loads(WEBHOOKS_FILE.read_bytes())["definitions"]


def webhook_errors(event: str, action: str, payload: Any) -> list[str]:
    """Violations of ``payload`` against @octokit/webhooks-schemas' ``<event>$<action>``."""
    definitions = _webhook_definitions()
    name = f"{event}${action}"
    if name not in definitions:
        return [f"@octokit/webhooks-schemas has no definition {name!r}"]
    validator = Draft7Validator({"$ref": f"#/definitions/{name}", "definitions": definitions})
    errors = sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path))
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {_short(e.message)}"
        for e in errors[:10]
    ]
