"""Manifests: what an export or a dataset snapshot is, signed by the platform account.

A manifest pins the files of an export by sha256 and size, and says where their records
come from: the project and its label configuration, the quality settings, the model that
scored the answers, the counts, and (for a snapshot) the dataset's terms. The per-answer
provenance (who, when, score, decision, payout transaction) is inside the files.

The signed document is

    {"schema": "nearlabel-manifest/1", "manifest": {...},
     "signature": {"algorithm": "ed25519", "account_id", "public_key", "signature",
                   "manifest_sha256", "network"}}

where manifest_sha256 = sha256(canonical_json(manifest)) and the signature is the
platform key's ed25519 signature of b"nearlabel-manifest/1:" + manifest_sha256 (hex):
domain-separated, never the bare digest a NEAR transaction signs. The document's own
layout (indentation, key order) is not signed; its manifest's canonical form is.

`manifest_verify` checks a document, and optionally the files, without the database:
the platform's word is not needed, only the chain's (payouts.services.attestation).
"""

import hashlib
import json
import logging
import math
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC
from decimal import Decimal
from typing import Any, BinaryIO

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from config.validation import (
    JsonNumberInvalidError,
    JsonTooDeepError,
    MalformedRequestError,
    TextInvalidError,
    json_parse,
)
from labeling.models import Item, Project, ProjectQuality, Submission
from marketplace.errors import ManifestInvalidError, ManifestTooLargeError
from marketplace.models import DatasetVersion, ExportJob
from marketplace.storage import file_sha256
from payouts.errors import AttestationChainUnavailableError, AttestationError
from payouts.near.client import NearClient
from payouts.services.attestation import Attestation, attest, attestation_verify
from payouts.services.chain import platform_primary_key

log = logging.getLogger(__name__)

MANIFEST_SCHEMA = "nearlabel-manifest/1"
SIGNED_PREFIX = MANIFEST_SCHEMA.encode("ascii") + b":"
# A manifest is a few kilobytes (the label configuration is the biggest part): a
# document over this is refused unread.
MANIFEST_MAX_BYTES = 2 * 1024 * 1024
MANIFEST_MAX_DEPTH = 32
_SHA256_RE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ManifestFile:
    format: str  # "jsonl" | "csv" | "parquet"
    name: str  # the file's name as downloaded
    sha256: str  # hex
    size: int  # bytes
    items: int
    answers: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    code: str  # "ok", or why not (a stable code)
    detail: str = ""


@dataclass
class VerifyReport:
    checks: list[Check] = field(default_factory=list)
    manifest_sha256: str = ""  # as computed from the document's manifest
    account_id: str = ""  # the account whose signature was checked
    files_not_given: list[str] = field(default_factory=list)
    # What the manifest is about, as it says (ids and titles of the project and, for a
    # dataset version, the dataset): a valid manifest of A proves nothing about B.
    subject: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every check holds (and there was at least one)."""
        return bool(self.checks) and all(check.ok for check in self.checks)

    @property
    def chain_unavailable(self) -> bool:
        return any(check.code == "chain_unavailable" for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "manifest_sha256": self.manifest_sha256,
            "account_id": self.account_id,
            "checks": [asdict(check) for check in self.checks],
            "files_not_given": list(self.files_not_given),
            "subject": dict(self.subject),
        }


# --- canonical form ------------------------------------------------------------------


def canonical_json(obj: Any) -> bytes:
    """The canonical UTF-8 JSON of `obj`: keys sorted, no spaces, non-ASCII as is.

    Refuses (TypeError) floats, NaN included, and anything JSON has no form for: the
    manifest holds figures as decimal strings, so its bytes never depend on how a
    language prints a float. Text with NUL is allowed by JSON but refused here too
    (ValueError), as are lone surrogates (no UTF-8 for them). Iterative: any depth.
    """
    stack: list[Any] = [obj]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                raise ValueError("canonical JSON text must not contain NUL")
        elif isinstance(node, bool) or node is None or isinstance(node, int):
            pass
        elif isinstance(node, float):
            raise TypeError(f"canonical JSON refuses floats ({node!r}): use a decimal string")
        elif isinstance(node, dict):
            for key, value in node.items():
                if not isinstance(key, str):
                    raise TypeError(f"canonical JSON keys are text, not {type(key).__name__}")
                stack.append(key)
                stack.append(value)
        elif isinstance(node, list | tuple):
            stack.extend(node)
        else:
            raise TypeError(f"canonical JSON has no form for {type(node).__name__}")
    text = json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")  # UnicodeEncodeError (a ValueError) for a lone surrogate


def manifest_sha256(manifest: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(manifest)).hexdigest()


def signed_message(manifest_sha256_hex: str) -> bytes:
    """What the platform key signs for a manifest: the schema's prefix and the hex digest."""
    return SIGNED_PREFIX + manifest_sha256_hex.encode("ascii")


# --- building and signing --------------------------------------------------------------


def _decimal_text(value: float | int) -> str:
    """A float or int as a plain decimal string: 0.95 -> "0.95", 1e-05 -> "0.00001"."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        text = format(Decimal(repr(value)), "f")
        return text
    return str(value)


def _decimals(value: Any) -> Any:
    """`value` with every float replaced by its decimal string (JSON from the database)."""
    if isinstance(value, float):
        return _decimal_text(value)
    if isinstance(value, dict):
        return {key: _decimals(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_decimals(child) for child in value]
    return value


def _iso(moment: Any) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _scoring_model(project: Project) -> dict[str, str] | None:
    quality = ProjectQuality.objects.filter(project=project).first()
    if quality is None or not quality.model_name:
        return None
    return {
        "name": quality.model_name,
        "version": quality.model_version,
        "sha256": quality.model_sha256,
    }


def _counts(
    project: Project, files: list[ManifestFile], version: DatasetVersion | None
) -> dict[str, int]:
    submissions = Submission.objects.filter(assignment__project=project)
    accepted = submissions.filter(status=Submission.Status.ACCEPTED)
    if version is not None:
        shares = version.royalty_shares.aggregate(total=Sum("accepted_answers"))["total"]
        return {
            "items": version.items_count,
            "answers": version.answers_count,
            "accepted": shares or 0,
            "contributors": version.contributors_count,
        }
    if files:
        items, answers = files[0].items, files[0].answers
    else:
        items = Item.objects.filter(project=project).count()
        answers = submissions.count()
    return {
        "items": items,
        "answers": answers,
        "accepted": accepted.count(),
        "contributors": submissions.values("assignment__contributor").distinct().count(),
    }


def manifest_build(
    *,
    project: Project,
    files: list[ManifestFile],
    dataset_version: DatasetVersion | None = None,
) -> dict[str, Any]:
    """The manifest of `files` (an export of `project`, or the snapshot `dataset_version`).

    Read-only. Every figure that is not a count is a decimal string; the label
    configuration's floats too. Raises ValueError when the files disagree on the records
    they hold (every format of one export holds the same items and answers).
    """
    if len({(f.items, f.answers) for f in files}) > 1:
        raise ValueError("the files of one manifest must hold the same items and answers")
    label_config = _decimals(project.label_config)
    manifest: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA,
        "generated_at": _iso(timezone.now()),
        "platform": {
            "account_id": settings.NEAR_ACCOUNT_ID,
            "network": settings.NEAR_NETWORK_ID,
        },
        "project": {
            "id": str(project.public_id),
            "title": project.title,
            "task_type": project.task_type,
            "label_config": label_config,
            "label_config_sha256": hashlib.sha256(canonical_json(label_config)).hexdigest(),
            "quality": {
                "answers_per_item": str(project.answers_per_item),
                "min_answers_per_item": str(project.min_answers_per_item),
                "target_confidence": _decimal_text(project.target_confidence),
                "gold_rate": _decimal_text(project.gold_rate),
                "accept_threshold": _decimal_text(project.accept_threshold),
                "reject_threshold": _decimal_text(project.reject_threshold),
                "min_reputation": _decimal_text(project.min_reputation),
            },
            "reward_per_answer": str(project.reward_per_answer),
            "platform_fee_bps": str(project.platform_fee_bps),
            "created_at": _iso(project.created_at),
            "published_at": _iso(project.published_at),
            "completed_at": _iso(project.completed_at),
        },
        "scoring_model": _scoring_model(project),
        "counts": _counts(project, files, dataset_version),
        "files": [f.to_dict() for f in sorted(files, key=lambda f: (f.format, f.name))],
    }
    if dataset_version is not None:
        dataset = dataset_version.dataset
        manifest["dataset"] = {
            "id": str(dataset.public_id),
            "title": dataset.title,
            "version": dataset_version.number,
            "version_id": str(dataset_version.public_id),
            "licence": dataset_version.licence,
            "price": str(dataset_version.price),
            "fee_bps": str(dataset_version.fee_bps),
            "royalty_bps": str(dataset_version.royalty_bps),
        }
    canonical_json(manifest)  # fails here, not when signing, for anything not canonical
    return manifest


def _subject(manifest: dict[str, Any]) -> dict[str, Any]:
    """The project (and dataset version) a manifest says it is about, for the report."""

    def pick(part: Any, keys: tuple[str, ...]) -> dict[str, Any] | None:
        if not isinstance(part, dict):
            return None
        return {key: part[key] for key in keys if isinstance(part.get(key), str | int)}

    subject: dict[str, Any] = {
        "project": pick(manifest.get("project"), ("id", "title", "task_type")),
        "dataset": pick(manifest.get("dataset"), ("id", "title", "version", "licence")),
        "generated_at": manifest.get("generated_at")
        if isinstance(manifest.get("generated_at"), str)
        else None,
    }
    return subject


def manifest_document(manifest: dict[str, Any]) -> tuple[str, str]:
    """(the signed document as JSON text, manifest_sha256 hex): signs with the platform's
    primary key (payouts.services.attestation). Deterministic for one manifest and key."""
    digest = manifest_sha256(manifest)
    attestation = attest(message=signed_message(digest))
    document = {
        "schema": MANIFEST_SCHEMA,
        "manifest": manifest,
        "signature": {
            "algorithm": "ed25519",
            "account_id": attestation.account_id,
            "public_key": attestation.public_key,
            "signature": attestation.signature,
            "manifest_sha256": digest,
            "network": settings.NEAR_NETWORK_ID,
        },
    }
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return text, digest


def manifest_resign(document: str) -> tuple[str, str] | None:
    """The document signed again by the current primary key, its manifest unchanged (so
    are its sha256 and the files it pins); None if that key already signed it.

    For a key rotation: re-sign stored manifests before the old key is deleted from the
    account, after which its signatures no longer verify. Raises ManifestInvalidError
    for a document that is not a manifest.
    """
    parsed = manifest_parse(document.encode("utf-8"))
    if parsed.signature["public_key"] == platform_primary_key().public_key:
        return None
    return manifest_document(parsed.manifest)


def manifests_resign() -> int:
    """Re-sign every stored manifest (dataset versions, exports) another key signed.

    Returns how many were re-signed; a repeat re-signs none. Each row is saved on its
    own: an interruption leaves the rest for the next run.
    """
    count = 0
    for model in (DatasetVersion, ExportJob):
        for pk in model.objects.exclude(manifest="").order_by("pk").values_list("pk", flat=True):
            with transaction.atomic():
                row = model.objects.select_for_update().get(pk=pk)
                resigned = manifest_resign(row.manifest)
                if resigned is not None:
                    row.manifest = resigned[0]
                    row.save(update_fields=["manifest"])
                    count += 1
    if count:
        log.info("re-signed %s manifests with %s", count, platform_primary_key().public_key)
    return count


# --- verifying -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Parsed:
    manifest: dict[str, Any]
    signature: dict[str, str]
    files: list[ManifestFile]


def _invalid(message: str, *, code: str = "manifest_invalid", path: str = "") -> Exception:
    return ManifestInvalidError(message, code=code, extra={"path": path} if path else None)


_KINDS = {
    str: gettext_lazy("text"),
    int: gettext_lazy("an integer"),
    dict: gettext_lazy("an object"),
}


def _field(obj: dict[str, Any], name: str, kind: type, *, at: str) -> Any:
    value = obj.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _invalid(
            gettext("%(path)s must be %(kind)s.")
            % {
                "path": f"{at}/{name}",
                "kind": {str: "text", int: "an integer"}.get(kind, "an object"),
            },
            path=f"{at}/{name}",
        )
    return value


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKeyError(key)
        seen[key] = value
    return seen


def _duplicate_key(document: bytes) -> str | None:
    """The first key an object of the (already valid JSON) document repeats, or None.

    Refused: a parser that keeps the first of two keys (several do) would read another
    manifest than the one whose sha256 we compute (Python keeps the last), so a
    signed manifest could be shown with a forged title or files beside its real ones."""
    try:
        json.loads(bytes(document).decode("utf-8"), object_pairs_hook=_unique_keys)
    except _DuplicateKeyError as exc:
        return exc.key
    return None


def manifest_parse(document: bytes) -> _Parsed:
    """Read a signed manifest document. Raises ManifestTooLargeError (413) or
    ManifestInvalidError with a code: manifest_not_json, manifest_text_invalid,
    manifest_too_deep, manifest_number_invalid, manifest_schema_unknown,
    manifest_duplicate_key, manifest_invalid."""
    if len(document) > MANIFEST_MAX_BYTES:
        raise ManifestTooLargeError(
            gettext("A manifest is at most %(limit)s bytes.") % {"limit": MANIFEST_MAX_BYTES},
            extra={"limit_bytes": MANIFEST_MAX_BYTES},
        )
    try:
        data = json_parse(bytes(document), max_depth=MANIFEST_MAX_DEPTH)
    except MalformedRequestError as exc:
        raise _invalid(
            gettext("The manifest is not JSON: %(reason)s") % {"reason": exc.message},
            code="manifest_not_json",
        ) from None
    except TextInvalidError as exc:
        raise _invalid(exc.message, code="manifest_text_invalid", path=exc.path) from None
    except JsonTooDeepError as exc:
        raise _invalid(exc.message, code="manifest_too_deep") from None
    except JsonNumberInvalidError as exc:
        raise _invalid(exc.message, code="manifest_number_invalid") from None
    duplicate = _duplicate_key(document)
    if duplicate is not None:
        raise _invalid(
            gettext("The manifest names the key %(key)s twice in one object.")
            % {"key": json.dumps(duplicate)},
            code="manifest_duplicate_key",
        )
    if not isinstance(data, dict):
        raise _invalid(gettext("A manifest document is a JSON object."))
    if data.get("schema") != MANIFEST_SCHEMA:
        raise _invalid(
            gettext("Not a manifest of schema %(schema)s.") % {"schema": MANIFEST_SCHEMA},
            code="manifest_schema_unknown",
            path="/schema",
        )
    manifest = _field(data, "manifest", dict, at="")
    signature = _field(data, "signature", dict, at="")
    if manifest.get("schema") != MANIFEST_SCHEMA:
        raise _invalid(
            gettext("Not a manifest of schema %(schema)s.") % {"schema": MANIFEST_SCHEMA},
            code="manifest_schema_unknown",
            path="/manifest/schema",
        )
    if signature.get("algorithm") != "ed25519":
        raise _invalid(
            gettext("The signature's algorithm must be ed25519."), path="/signature/algorithm"
        )
    for name in ("account_id", "public_key", "signature", "manifest_sha256"):
        _field(signature, name, str, at="/signature")
    if not _SHA256_RE.fullmatch(signature["manifest_sha256"]):
        raise _invalid(
            gettext("manifest_sha256 must be 64 lowercase hex digits."),
            path="/signature/manifest_sha256",
        )
    entries = manifest.get("files")
    if not isinstance(entries, list):
        raise _invalid(gettext("/manifest/files must be a list."), path="/manifest/files")
    files = []
    for index, entry in enumerate(entries):
        at = f"/manifest/files/{index}"
        if not isinstance(entry, dict):
            raise _invalid(gettext("%(path)s must be an object.") % {"path": at}, path=at)
        values = {name: _field(entry, name, str, at=at) for name in ("format", "name", "sha256")}
        counts = {name: _field(entry, name, int, at=at) for name in ("size", "items", "answers")}
        if not _SHA256_RE.fullmatch(values["sha256"]) or min(counts.values()) < 0:
            raise _invalid(
                gettext("%(path)s needs a hex sha256 and counts of at least 0.") % {"path": at},
                path=at,
            )
        files.append(ManifestFile(**values, **counts))
    try:
        canonical_json(manifest)
    except TypeError as exc:
        raise _invalid(
            gettext("The manifest holds a value canonical JSON refuses: %(reason)s")
            % {"reason": str(exc)}
        ) from None
    return _Parsed(manifest=manifest, signature=signature, files=files)


def _signature_check(
    parsed: _Parsed, *, expected_account_id: str, client: NearClient | None
) -> Check:
    signature = parsed.signature
    attestation = Attestation(
        account_id=signature["account_id"],
        public_key=signature["public_key"],
        signature=signature["signature"],
    )
    try:
        attestation_verify(
            message=signed_message(signature["manifest_sha256"]),
            attestation=attestation,
            expected_account_id=expected_account_id,
            client=client,
        )
    except AttestationChainUnavailableError as exc:
        return Check("signature", False, "chain_unavailable", exc.message)
    except AttestationError as exc:
        return Check("signature", False, exc.code, exc.message)
    return Check(
        "signature",
        True,
        "ok",
        gettext("Signed by %(key)s, a full-access key of %(account)s on chain.")
        % {"key": attestation.public_key, "account": attestation.account_id},
    )


def manifest_verify(
    *,
    document: bytes,
    files: dict[str, BinaryIO] | None,
    expected_account_id: str,
    client: NearClient | None,
) -> VerifyReport:
    """Check a signed manifest document and, if given, files against it.

    Checks: the manifest's sha256 is the one signed (manifest_hash_mismatch); the
    signature, signer and key on chain (payouts.services.attestation's codes:
    signature_invalid, signer_unexpected, key_not_on_chain, key_not_full_access,
    chain_unavailable); the platform account the manifest names is the signer
    (platform_account_mismatch); and each given file, read in constant memory, is one
    of the manifest's files by sha256 and size, whatever it is called now
    (file_hash_mismatch when a manifest file of its name has other content,
    file_not_in_manifest otherwise). Manifest files not given are listed
    (files_not_given), not a failure: a buyer may check only the format they use.

    A document that cannot be read raises ManifestInvalidError / ManifestTooLargeError
    (nothing is checked). `client` None: the configured NEAR RPC. No database.
    """
    parsed = manifest_parse(document)
    report = VerifyReport(
        account_id=parsed.signature["account_id"], subject=_subject(parsed.manifest)
    )
    computed = manifest_sha256(parsed.manifest)
    report.manifest_sha256 = computed
    stated = parsed.signature["manifest_sha256"]
    if computed == stated:
        report.checks.append(Check("manifest_sha256", True, "ok", computed))
    else:
        report.checks.append(
            Check(
                "manifest_sha256",
                False,
                "manifest_hash_mismatch",
                gettext("The manifest's sha256 is %(computed)s; the signature covers %(stated)s.")
                % {"computed": computed, "stated": stated},
            )
        )
    report.checks.append(
        _signature_check(parsed, expected_account_id=expected_account_id, client=client)
    )
    platform = parsed.manifest.get("platform")
    platform_account = platform.get("account_id") if isinstance(platform, dict) else None
    if platform_account == parsed.signature["account_id"]:
        report.checks.append(Check("platform", True, "ok", str(platform_account)))
    else:
        report.checks.append(
            Check(
                "platform",
                False,
                "platform_account_mismatch",
                gettext("The manifest names the platform %(named)s, but %(signer)s signed it.")
                % {"named": json.dumps(platform_account), "signer": parsed.signature["account_id"]},
            )
        )
    matched: set[int] = set()
    by_content = {(f.sha256, f.size): index for index, f in enumerate(parsed.files)}
    by_name = {f.name: f for f in parsed.files}
    for given_name, file in (files or {}).items():
        sha256, size = file_sha256(file)
        index = by_content.get((sha256, size))
        name = f"file:{given_name}"
        if index is not None:
            matched.add(index)
            entry = parsed.files[index]
            report.checks.append(
                Check(name, True, "ok", f"{entry.name} ({entry.format}, {size} bytes, {sha256})")
            )
        elif given_name in by_name:
            entry = by_name[given_name]
            report.checks.append(
                Check(
                    name,
                    False,
                    "file_hash_mismatch",
                    gettext(
                        "%(size)s bytes with sha256 %(sha256)s; the manifest's %(name)s has "
                        "%(expected_size)s bytes with sha256 %(expected)s."
                    )
                    % {
                        "size": size,
                        "sha256": sha256,
                        "name": entry.name,
                        "expected_size": entry.size,
                        "expected": entry.sha256,
                    },
                )
            )
        else:
            report.checks.append(
                Check(
                    name,
                    False,
                    "file_not_in_manifest",
                    gettext("No file of the manifest has sha256 %(sha256)s and %(size)s bytes.")
                    % {"sha256": sha256, "size": size},
                )
            )
    report.files_not_given = [f.name for i, f in enumerate(parsed.files) if i not in matched]
    return report
