"""Signed manifests: canonical form, building, signing, and verification against the local
chain's access keys (honest, tampered, foreign key, function-call key, wrong account)."""

import hashlib
import io
import json
import math
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from labeling.models import ProjectQuality
from marketplace.errors import ManifestInvalidError, ManifestTooLargeError
from marketplace.services.manifests import (
    MANIFEST_MAX_BYTES,
    MANIFEST_SCHEMA,
    ManifestFile,
    canonical_json,
    manifest_build,
    manifest_document,
    manifest_parse,
    manifest_verify,
    signed_message,
)
from payouts.near.client import NearClient
from payouts.near.keys import key_generate, key_save, signature_verify
from payouts.services.attestation import attest, signature_decode
from payouts.services.chain import localnet_key_register
from tests.conftest import PLATFORM_ACCOUNT
from tests.factories import project_with_items

# --- canonical JSON ------------------------------------------------------------------


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert (
        canonical_json({"b": [1, True, None], "a": "é"}) == '{"a":"é","b":[1,true,null]}'.encode()
    )


@pytest.mark.parametrize("value", [0.5, math.nan, math.inf, {"a": [1.0]}, {1: "x"}, {"a": b"x"}])
def test_canonical_json_refuses_floats_and_non_json(value) -> None:
    with pytest.raises(TypeError):
        canonical_json(value)


@pytest.mark.parametrize("text", ["a\x00b", "\ud800"])
def test_canonical_json_refuses_unstorable_text(text) -> None:
    with pytest.raises(ValueError, match=r"NUL|surrogate"):
        canonical_json({"t": text})


# --- fixtures ------------------------------------------------------------------------


def _file(tmp_path: Path, name: str, content: bytes, fmt: str) -> tuple[Path, ManifestFile]:
    path = tmp_path / name
    path.write_bytes(content)
    entry = ManifestFile(
        format=fmt,
        name=name,
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        items=2,
        answers=3,
    )
    return path, entry


@pytest.fixture
def signed(db, chain, tmp_path):
    """An honest signed manifest of two small files, with the files on disk."""
    project = project_with_items(items=2, title="Cats and dogs")
    ProjectQuality.objects.create(
        project=project, model_name="all-MiniLM-L6-v2", model_version="1.0", model_sha256="ab" * 32
    )
    jsonl, jsonl_entry = _file(tmp_path, "data.jsonl", b'{"id":1}\n{"id":2}\n', "jsonl")
    csv, csv_entry = _file(tmp_path, "data.csv", b"id\n1\n2\n", "csv")
    manifest = manifest_build(project=project, files=[jsonl_entry, csv_entry])
    text, digest = manifest_document(manifest)
    manifest_path = tmp_path / "manifest.json"
    manifest_path.write_text(text, encoding="utf-8")
    return {
        "project": project,
        "manifest": manifest,
        "text": text,
        "digest": digest,
        "path": manifest_path,
        "jsonl": jsonl,
        "csv": csv,
    }


def _verify(
    document: bytes | str, files: dict | None = None, *, account=PLATFORM_ACCOUNT, client=None
):
    if isinstance(document, str):
        document = document.encode("utf-8")
    return manifest_verify(
        document=document, files=files, expected_account_id=account, client=client
    )


def _codes(report) -> dict[str, str]:
    return {check.name: check.code for check in report.checks}


def _open(*paths: Path) -> dict:
    return {path.name: io.BytesIO(path.read_bytes()) for path in paths}


# --- building ------------------------------------------------------------------------


def test_manifest_holds_the_project_model_counts_and_files_as_decimal_strings(signed) -> None:
    manifest = signed["manifest"]
    project = signed["project"]
    assert manifest["schema"] == MANIFEST_SCHEMA
    assert manifest["platform"] == {"account_id": PLATFORM_ACCOUNT, "network": "localnet"}
    assert manifest["project"]["id"] == str(project.public_id)
    assert manifest["project"]["quality"]["target_confidence"] == str(project.target_confidence)
    assert manifest["project"]["reward_per_answer"] == str(project.reward_per_answer)
    assert (
        manifest["project"]["label_config_sha256"]
        == hashlib.sha256(canonical_json(manifest["project"]["label_config"])).hexdigest()
    )
    assert manifest["scoring_model"] == {
        "name": "all-MiniLM-L6-v2",
        "version": "1.0",
        "sha256": "ab" * 32,
    }
    assert manifest["counts"]["items"] == 2
    assert manifest["counts"]["answers"] == 3
    assert [f["format"] for f in manifest["files"]] == ["csv", "jsonl"]
    canonical_json(manifest)  # no float anywhere
    document = json.loads(signed["text"])
    assert document["signature"]["manifest_sha256"] == signed["digest"]
    assert (
        document["signature"]["manifest_sha256"]
        == hashlib.sha256(canonical_json(document["manifest"])).hexdigest()
    )


def test_the_signature_is_domain_separated(signed, chain) -> None:
    document = json.loads(signed["text"])
    raw = signature_decode(document["signature"]["signature"])
    message = b"nearlabel-manifest/1:" + signed["digest"].encode()
    assert signed_message(signed["digest"]) == message
    assert signature_verify(
        public_key=chain.platform_key.public_key, message=message, signature=raw
    )
    # Not a signature of the bare digest (what a NEAR transaction signs).
    assert not signature_verify(
        public_key=chain.platform_key.public_key,
        message=bytes.fromhex(signed["digest"]),
        signature=raw,
    )


def test_attest_refuses_a_bare_digest(chain) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        attest(message=b"\x00" * 32)


def test_a_project_without_a_model_has_no_scoring_model(db, chain) -> None:
    project = project_with_items(items=1)
    assert manifest_build(project=project, files=[])["scoring_model"] is None


# --- verifying -----------------------------------------------------------------------


def test_an_honest_manifest_and_its_files_verify(signed) -> None:
    report = _verify(signed["text"], _open(signed["jsonl"], signed["csv"]))
    assert report.ok, report.checks
    assert _codes(report) == {
        "manifest_sha256": "ok",
        "signature": "ok",
        "platform": "ok",
        "file:data.jsonl": "ok",
        "file:data.csv": "ok",
    }
    assert report.files_not_given == []
    assert report.manifest_sha256 == signed["digest"]
    # What it is about, for the reader to compare with what they were sold.
    manifest = json.loads(signed["text"])["manifest"]
    assert report.subject["project"]["id"] == manifest["project"]["id"]
    assert report.subject["project"]["title"] == manifest["project"]["title"]
    assert report.subject["generated_at"] == manifest["generated_at"]


def test_a_renamed_file_still_matches_and_missing_files_are_listed(signed) -> None:
    report = _verify(signed["text"], {"renamed.bin": io.BytesIO(signed["csv"].read_bytes())})
    assert report.ok
    assert "data.csv" in next(c.detail for c in report.checks if c.name == "file:renamed.bin")
    assert report.files_not_given == ["data.jsonl"]


def test_the_document_layout_is_not_what_is_signed(signed) -> None:
    compact = json.dumps(json.loads(signed["text"]), separators=(",", ":"))
    assert _verify(compact).ok


def _tamper(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    assert len(old) == len(new)
    return text.replace(old, new)


def test_one_byte_changed_in_the_manifest_fails(signed) -> None:
    tampered = _tamper(signed["text"], "Cats and dogs", "Cats and dogz")
    report = _verify(tampered)
    assert not report.ok
    assert _codes(report)["manifest_sha256"] == "manifest_hash_mismatch"


def test_a_key_given_twice_is_refused_not_verified(signed) -> None:
    # Python keeps the last of two keys, other parsers the first: with a forged key put
    # before the real one, the signed digest still matched while a first-wins reader
    # (or a person reading the file) saw the forgery.
    text = signed["text"]
    assert text.count('"manifest": {') == 1
    forged = text.replace('"manifest": {', '"manifest": {"project": {"title": "Forged"}, ', 1)
    with pytest.raises(ManifestInvalidError) as caught:
        _verify(forged)
    assert caught.value.code == "manifest_duplicate_key"


def test_one_byte_changed_in_a_pinned_hash_fails(signed) -> None:
    sha = hashlib.sha256(signed["csv"].read_bytes()).hexdigest()
    flipped = sha[:-1] + ("0" if sha[-1] != "0" else "1")
    report = _verify(_tamper(signed["text"], sha, flipped), _open(signed["csv"]))
    assert _codes(report)["manifest_sha256"] == "manifest_hash_mismatch"
    assert _codes(report)["file:data.csv"] == "file_hash_mismatch"


def test_one_byte_changed_in_the_signature_fails(signed) -> None:
    signature = json.loads(signed["text"])["signature"]["signature"]
    last = signature[-1]
    forged = signature[:-1] + ("2" if last != "2" else "3")
    report = _verify(_tamper(signed["text"], signature, forged))
    assert not report.ok
    assert _codes(report)["signature"] == "signature_invalid"


def test_a_stated_digest_that_is_not_the_signed_one_fails(signed) -> None:
    digest = signed["digest"]
    other = digest[:-1] + ("0" if digest[-1] != "0" else "1")
    report = _verify(_tamper(signed["text"], digest, other))
    assert _codes(report)["manifest_sha256"] == "manifest_hash_mismatch"
    assert _codes(report)["signature"] == "signature_invalid"


def test_one_byte_changed_in_a_file_fails(signed) -> None:
    content = bytearray(signed["jsonl"].read_bytes())
    content[2] ^= 1
    report = _verify(signed["text"], {"data.jsonl": io.BytesIO(bytes(content))})
    assert not report.ok
    assert _codes(report)["file:data.jsonl"] == "file_hash_mismatch"
    report = _verify(signed["text"], {"other.jsonl": io.BytesIO(bytes(content))})
    assert _codes(report)["file:other.jsonl"] == "file_not_in_manifest"


def _sign_with_another_key(settings, tmp_path, manifest) -> tuple[str, object]:
    from payouts.services import chain as chain_services

    other = key_generate(account_id=PLATFORM_ACCOUNT)
    path = tmp_path / "other.json"
    key_save(other, path)
    settings.NEAR_PRIVATE_KEY_FILE = str(path)
    chain_services._key_from_file.cache_clear()
    text, _ = manifest_document(manifest)
    return text, other


def test_a_manifest_signed_by_a_key_not_on_the_account_fails(signed, settings, tmp_path) -> None:
    text, other = _sign_with_another_key(settings, tmp_path, signed["manifest"])
    assert json.loads(text)["signature"]["public_key"] == other.public_key
    report = _verify(text)
    assert _codes(report)["signature"] == "key_not_on_chain"
    assert not report.ok
    # Once the account holds the key (a rotation adds it first), the same document verifies.
    assert localnet_key_register(key=other)
    assert _verify(text).ok


def test_a_function_call_key_is_not_enough(signed, settings, tmp_path, chain) -> None:
    text, other = _sign_with_another_key(settings, tmp_path, signed["manifest"])
    chain.client.sandbox(
        "sandbox_add_key",
        {
            "account_id": PLATFORM_ACCOUNT,
            "public_key": other.public_key,
            "permission": {
                "FunctionCall": {
                    "allowance": None,
                    "receiver_id": PLATFORM_ACCOUNT,
                    "method_names": [],
                }
            },
        },
    )
    assert _codes(_verify(text))["signature"] == "key_not_full_access"


def test_another_expected_account_fails_signer_unexpected(signed) -> None:
    report = _verify(signed["text"], account="someone-else.localnet")
    assert _codes(report)["signature"] == "signer_unexpected"


def test_an_unknown_account_fails_key_not_on_chain(signed, settings, tmp_path) -> None:
    from payouts.services import chain as chain_services

    stranger = key_generate(account_id="stranger.localnet")
    path = tmp_path / "stranger.json"
    key_save(stranger, path)
    settings.NEAR_ACCOUNT_ID = "stranger.localnet"
    settings.NEAR_PRIVATE_KEY_FILE = str(path)
    chain_services._key_from_file.cache_clear()
    manifest = dict(signed["manifest"], platform={"account_id": "stranger.localnet"})
    text, _ = manifest_document(manifest)
    report = _verify(text, account="stranger.localnet")
    assert _codes(report)["signature"] == "key_not_on_chain"


def test_a_manifest_naming_another_platform_fails(signed) -> None:
    manifest = dict(signed["manifest"], platform={"account_id": "other.localnet"})
    text, _ = manifest_document(manifest)
    assert _codes(_verify(text))["platform"] == "platform_account_mismatch"


def test_an_unreachable_chain_is_said_so(signed) -> None:
    with NearClient("http://127.0.0.1:9", timeout=2) as client:
        report = _verify(signed["text"], client=client)
    assert report.chain_unavailable
    assert not report.ok
    assert _codes(report)["signature"] == "chain_unavailable"


# --- documents that are not manifests --------------------------------------------------


def _document(**changes) -> bytes:
    document = {
        "schema": MANIFEST_SCHEMA,
        "manifest": {"schema": MANIFEST_SCHEMA, "files": []},
        "signature": {
            "algorithm": "ed25519",
            "account_id": PLATFORM_ACCOUNT,
            "public_key": "ed25519:x",
            "signature": "ed25519:y",
            "manifest_sha256": "0" * 64,
        },
    }
    document.update(changes)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("document", "code"),
    [
        (b"", "manifest_not_json"),
        (b"not json", "manifest_not_json"),
        (b"\xff\xfe{}", "manifest_not_json"),
        (b'{"a": "\x00"}', "manifest_not_json"),
        (b'{"a": "\\u0000"}', "manifest_text_invalid"),
        (b'{"a": "\\ud800"}', "manifest_text_invalid"),
        (b"[" * 1000 + b"]" * 1000, "manifest_too_deep"),
        (b'{"a": 1e400}', "manifest_number_invalid"),
        (b'{"a": 1, "a": 1}', "manifest_duplicate_key"),
        (b"[]", "manifest_invalid"),
        (b"{}", "manifest_schema_unknown"),
        (_document(schema="nearlabel-manifest/2"), "manifest_schema_unknown"),
        (_document(manifest={"schema": "x"}), "manifest_schema_unknown"),
        (_document(manifest=[]), "manifest_invalid"),
        (_document(signature={"algorithm": "rsa"}), "manifest_invalid"),
        (_document(signature={"algorithm": "ed25519"}), "manifest_invalid"),
        (
            _document(manifest={"schema": MANIFEST_SCHEMA, "files": [{"name": "x"}]}),
            "manifest_invalid",
        ),
        (_document(manifest={"schema": MANIFEST_SCHEMA}), "manifest_invalid"),
        (
            _document(manifest={"schema": MANIFEST_SCHEMA, "files": [], "score": 0.5}),
            "manifest_invalid",
        ),
    ],
)
def test_documents_that_are_not_manifests_answer_a_code(document: bytes, code: str) -> None:
    with pytest.raises(ManifestInvalidError) as caught:
        manifest_parse(document)
    assert caught.value.code == code


def test_a_huge_document_is_refused_unread() -> None:
    with pytest.raises(ManifestTooLargeError):
        manifest_parse(b" " * (MANIFEST_MAX_BYTES + 1))


# --- manage.py dataset_verify ------------------------------------------------------------


def _command(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("dataset_verify", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


def test_command_passes_an_honest_download(signed, chain) -> None:
    code, output = _command(
        str(signed["jsonl"]),
        str(signed["csv"]),
        "--manifest",
        str(signed["path"]),
        "--rpc-url",
        chain.url,
    )
    assert code == 0, output
    assert "ok   signature: ok" in output
    assert "VERIFIED" in output


def test_command_fails_a_tampered_file_with_its_code(signed, tmp_path) -> None:
    tampered = tmp_path / "tampered" / "data.csv"
    tampered.parent.mkdir()
    tampered.write_bytes(signed["csv"].read_bytes().replace(b"2", b"3"))
    code, output = _command(str(tampered), "--manifest", str(signed["path"]))
    assert code == 1
    assert "FAIL file:data.csv: file_hash_mismatch" in output


def test_command_fails_another_account(signed) -> None:
    code, output = _command(
        str(signed["csv"]), "--manifest", str(signed["path"]), "--account", "other.localnet"
    )
    assert code == 1
    assert "signer_unexpected" in output


def test_command_exit_codes_for_unreadable_input_and_no_chain(signed, tmp_path) -> None:
    code, output = _command(str(signed["csv"]), "--manifest", str(tmp_path / "missing.json"))
    assert code == 2
    assert "manifest_unreadable" in output
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"{not json")
    code, output = _command(str(signed["csv"]), "--manifest", str(bad))
    assert (code, output.split(":")[0]) == (2, "manifest_not_json")
    code, output = _command(str(tmp_path / "nope.csv"), "--manifest", str(signed["path"]))
    assert code == 2
    code, output = _command(
        str(signed["csv"]), "--manifest", str(signed["path"]), "--rpc-url", "http://127.0.0.1:9"
    )
    assert code == 3
    assert "chain_unavailable" in output


def test_a_rotation_re_signs_stored_manifests(signed, settings, tmp_path, chain) -> None:
    """A manifest signed by a key the account no longer holds stops verifying; re-signed
    with the primary key it verifies again, with the same manifest and files."""
    from marketplace.models import ExportJob
    from marketplace.services.manifests import manifests_resign
    from payouts.services import chain as chain_services

    primary_file = settings.NEAR_PRIVATE_KEY_FILE
    old_text, _old_key = _sign_with_another_key(settings, tmp_path, signed["manifest"])
    project = signed["project"]
    job = ExportJob.objects.create(
        project=project, requested_by=project.owner, format="jsonl", manifest=old_text
    )
    assert _codes(_verify(old_text))["signature"] == "key_not_on_chain"
    settings.NEAR_PRIVATE_KEY_FILE = primary_file
    chain_services._key_from_file.cache_clear()
    assert manifests_resign() == 1
    job.refresh_from_db()
    report = _verify(job.manifest, _open(signed["csv"]))
    assert report.ok
    assert report.manifest_sha256 == signed["digest"]
    assert json.loads(job.manifest)["manifest"] == signed["manifest"]
    assert manifests_resign() == 0
