"""A second, independent check of R5: HL7's own definitions, not fhir.resources.

The official core package ``hl7.fhir.r5.core`` 5.0.0 (published on the npm
registry by HL7) carries the R5 JSON Schema (``openapi/fhir.schema.json``),
every StructureDefinition, ValueSet and CodeSystem. This module validates a
resource two ways with it:

- :meth:`R5Definitions.schema_errors`: the JSON Schema, with ``jsonschema``
  (unknown elements, primitive formats such as ids, dateTimes, integer64 as
  string);
- :meth:`R5Definitions.definition_errors`: a small walker over the
  StructureDefinition snapshots written here, independent of Navet's and of
  fhir.resources' code: required elements (min >= 1), codes of *required*
  bindings (ValueSets expanded from the package's CodeSystems where they can
  be), and reference target types (``targetProfile``).

The test suite fetches the package itself the first time a test needs it, when ``npm`` is
on the PATH: ``npm install --no-save --prefix .cache/fhir hl7.fhir.r5.core@5.0.0`` (once;
later runs find it there). Without npm, or offline, those tests skip (fail in CI) saying
why, and the end of the run says it once more. ``NAVET_FHIR_R5_CORE`` may point at an
unpacked package instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "hl7.fhir.r5.core@5.0.0"
CACHE = ROOT / ".cache" / "fhir"
DEFAULT = CACHE / "node_modules" / "hl7.fhir.r5.core"
HOW = (f"install npm (apt-get install npm) and the tests fetch it, or run: npm install "
       f"--no-save --prefix .cache/fhir {PACKAGE} (or set NAVET_FHIR_R5_CORE to an "
       f"unpacked hl7.fhir.r5.core package)")
FETCH_TIMEOUT_S = 600
_LITERAL = re.compile(r"^([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}$")
_missing: list[str] = []


def _found() -> Path | None:
    for candidate in (os.environ.get("NAVET_FHIR_R5_CORE"), DEFAULT):
        if candidate and (Path(candidate) / "package.json").exists():
            return Path(candidate)
    return None


@cache
def package_dir() -> Path | None:
    """The unpacked package: found, or fetched now with npm (once per run); None if neither.

    :func:`missing_reason` then says why, for the skip message.
    """
    found = _found()
    if found is not None:
        return found
    reason = fetch(CACHE)
    if reason is None and (found := _found()) is not None:
        return found
    _missing.append(reason or f"npm installed {PACKAGE} but {DEFAULT} has no package.json")
    return None


def fetch(prefix: Path) -> str | None:
    """``npm install`` the package under ``prefix``; None on success, else why not."""
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not on the PATH, so the suite cannot fetch it"
    prefix.mkdir(parents=True, exist_ok=True)
    with (prefix / ".fetch.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run fetching at the same time
        with contextlib.suppress(OSError):
            if (prefix / "node_modules" / "hl7.fhir.r5.core" / "package.json").exists():
                return None
        try:
            proc = subprocess.run(
                [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix",
                 str(prefix), PACKAGE], capture_output=True, text=True, timeout=FETCH_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"npm install {PACKAGE} failed: {err}"
    if proc.returncode != 0:
        last = [line for line in proc.stderr.splitlines() if line.strip()][-3:]
        return f"npm install {PACKAGE} failed (exit {proc.returncode}): {' / '.join(last)}"
    return None


def missing_reason() -> str:
    """Why :func:`package_dir` found nothing, and how to fix it."""
    why = _missing[-1] if _missing else "not found"
    return f"{why}; {HOW}"


class R5Definitions:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        manifest = json.loads((directory / "package.json").read_text(encoding="utf-8"))
        assert manifest["name"] == "hl7.fhir.r5.core" and manifest["version"] == "5.0.0"
        self.schema = json.loads((directory / "openapi" / "fhir.schema.json").read_text())
        self._index: dict[str, str] | None = None
        self._validators: dict[str, jsonschema.Draft6Validator] = {}

    # ------------------------------------------------------------------ JSON Schema

    def schema_errors(self, resource: dict[str, Any]) -> list[str]:
        rtype = resource.get("resourceType", "?")
        validator = self._validators.get(rtype)
        if validator is None:
            validator = self._validators[rtype] = jsonschema.Draft6Validator(
                {"$ref": f"#/definitions/{rtype}", "definitions": self.schema["definitions"]})
        return [f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message[:300]}"
                for e in validator.iter_errors(resource)]

    # ------------------------------------------------------------------ definitions

    def load(self, url: str) -> dict[str, Any] | None:
        """The conformance resource with canonical ``url`` (version suffix ignored)."""
        url = url.split("|")[0]
        last = url.rstrip("/").rsplit("/", 1)[-1]
        for kind in ("StructureDefinition", "ValueSet", "CodeSystem"):
            path = self.dir / f"{kind}-{last}.json"
            if path.exists() and _read(path).get("url") == url:
                return _read(path)
        if self._index is None:  # not named by convention: index every file once
            self._index = {}
            for path in self.dir.glob("*.json"):
                try:
                    found = json.loads(path.read_text(encoding="utf-8")).get("url")
                except ValueError:
                    continue
                if isinstance(found, str):
                    self._index[found] = path.name
        name = self._index.get(url)
        return _read(self.dir / name) if name else None

    def elements(self, type_name: str) -> dict[str, dict[str, Any]]:
        sd = self.load(f"http://hl7.org/fhir/StructureDefinition/{type_name}")
        assert sd is not None, f"no StructureDefinition for {type_name}"
        return {e["path"]: e for e in sd["snapshot"]["element"]}

    def expand(self, url: str) -> set[tuple[str, str]] | None:
        """(system, code) pairs of a ValueSet, or None if the package cannot expand it."""
        vs = self.load(url)
        if vs is None:
            return None
        out: set[tuple[str, str]] = set()
        for inc in vs.get("compose", {}).get("include", []):
            if inc.get("filter"):
                return None
            for nested in inc.get("valueSet", []):
                sub = self.expand(nested)
                if sub is None:
                    return None
                out |= sub
            system = inc.get("system")
            if system is None:
                continue
            if inc.get("concept"):
                out |= {(system, c["code"]) for c in inc["concept"]}
                continue
            cs = self.load(system)
            if cs is None or cs.get("content") not in (None, "complete"):
                return None
            out |= {(system, code) for code in _codes(cs.get("concept", []))}
        return out

    def element(self, path: str) -> dict[str, Any] | None:
        return self.elements(path.split(".")[0]).get(path)

    def definition_errors(self, resource: dict[str, Any]) -> list[str]:
        errors: list[str] = []
        rtype = resource["resourceType"]
        self._node(rtype, rtype, resource, errors)
        return errors

    def _node(self, sd_name: str, path: str, node: dict[str, Any], errors: list[str]) -> None:
        elements = self.elements(sd_name)
        prefix = path + "."
        for el_path, el in elements.items():
            if not el_path.startswith(prefix) or "." in el_path[len(prefix):]:
                continue
            name = el_path[len(prefix):]
            if name.endswith("[x]"):
                stem = name[:-3]
                keys = [(k, k[len(stem):]) for k in node
                        if k.startswith(stem) and k[len(stem):][:1].isupper()]
            else:
                keys = [(name, None)] if name in node else []
            if el.get("min", 0) >= 1 and not keys:
                errors.append(f"{el_path}: required (min {el['min']}) but absent")
            for key, suffix in keys:
                values = node[key] if isinstance(node[key], list) else [node[key]]
                types = el.get("type", [])
                if suffix is not None:
                    types = [t for t in types if t["code"].lower() == suffix.lower()]
                    if not types:
                        errors.append(f"{el_path}: {key} is not one of its types")
                        continue
                for value in values:
                    self._value(el, types[0]["code"] if types else None, value, el_path,
                                sd_name, errors)

    def _value(self, el: dict[str, Any], tcode: str | None, value: Any, path: str,
               sd_name: str, errors: list[str]) -> None:
        binding = el.get("binding", {})
        if binding.get("strength") == "required" and binding.get("valueSet"):
            allowed = self.expand(binding["valueSet"])
            if allowed is not None:
                for system, code in _coded(tcode, value):
                    ok = (code in {c for _, c in allowed}) if system is None \
                        else (system, code) in allowed
                    if not ok:
                        errors.append(f"{path}: {system or ''}#{code} is not in "
                                      f"{binding['valueSet']}")
        if tcode in ("Reference", "CodeableReference"):
            targets = {t.rsplit("/", 1)[1] for t in
                       next(t for t in el["type"] if t["code"] == tcode).get("targetProfile", [])}
            ref = value.get("reference") if tcode == "CodeableReference" else value
            if isinstance(ref, dict):
                literal = ref.get("reference")
                target = _LITERAL.match(literal).group(1) if literal and _LITERAL.match(
                    literal) else ref.get("type")
                if target is not None and targets and "Resource" not in targets \
                        and target not in targets:
                    errors.append(f"{path}: points to {target}, R5 allows "
                                  f"{', '.join(sorted(targets))}")
        if "contentReference" in el:
            self._node(sd_name, el["contentReference"].split("#", 1)[1], value, errors)
        elif tcode in ("BackboneElement", "Element"):
            self._node(sd_name, path, value, errors)
        elif tcode == "Resource" and isinstance(value, dict):
            errors += self.definition_errors(value)
        elif tcode and tcode[0].isupper() and isinstance(value, dict) \
                and tcode not in ("Extension", "Narrative"):
            self._node(tcode, tcode, value, errors)


def _codes(concepts: list[dict[str, Any]]) -> list[str]:
    out = []
    for c in concepts:
        out.append(c["code"])
        out += _codes(c.get("concept", []))
    return out


def _coded(tcode: str | None, value: Any) -> list[tuple[str | None, str]]:
    if tcode == "code" and isinstance(value, str):
        return [(None, value)]
    if tcode == "Coding" and isinstance(value, dict) and "code" in value:
        return [(value.get("system"), value["code"])]
    if tcode == "CodeableConcept" and isinstance(value, dict):
        return [(c.get("system"), c["code"]) for c in value.get("coding", []) if "code" in c]
    return []


@cache
def _read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
