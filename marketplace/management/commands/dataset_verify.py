"""`manage.py dataset_verify FILE [FILE ...] --manifest M [--account ID] [--rpc-url URL]`.

Checks downloaded files against their signed manifest and the signature against the
account's access keys on a NEAR RPC of your choice: the server that sold the files is
not asked anything. Prints every check with its code.

Exit status: 0 every check holds; 1 a check failed; 2 the manifest or a file cannot be
read; 3 the NEAR RPC could not be reached (nothing is known about the signature).
"""

from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.errors import ApplicationError
from marketplace.services.manifests import MANIFEST_MAX_BYTES, manifest_verify
from payouts.near.client import NearClient

EXIT_FAILED = 1
EXIT_UNREADABLE = 2
EXIT_CHAIN_UNAVAILABLE = 3


class Command(BaseCommand):
    help = (
        "Verify dataset files against their signed manifest, and the manifest's signature "
        "against the platform account's full-access keys on chain. Exit 0 only if every "
        "check holds; 1 if one fails, 2 for unreadable input, 3 if the RPC is unreachable."
    )
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="downloaded data files")
        parser.add_argument("--manifest", required=True, help="the signed manifest (JSON)")
        parser.add_argument(
            "--account",
            default=None,
            help="the NEAR account you trust to have signed it (default: NEAR_ACCOUNT_ID, "
            f"here {settings.NEAR_ACCOUNT_ID})",
        )
        parser.add_argument(
            "--rpc-url",
            default=None,
            help="the NEAR RPC to ask for the account's keys (default: NEAR_RPC_URL)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        account = options["account"] or settings.NEAR_ACCOUNT_ID
        rpc_url = options["rpc_url"] or settings.NEAR_RPC_URL
        manifest_path = Path(options["manifest"])
        try:
            with manifest_path.open("rb") as handle:
                document = handle.read(MANIFEST_MAX_BYTES + 1)
        except OSError as exc:
            raise CommandError(
                f"manifest_unreadable: {manifest_path}: {exc.strerror or exc}",
                returncode=EXIT_UNREADABLE,
            ) from None
        with ExitStack() as stack, NearClient(rpc_url, timeout=settings.NEAR_RPC_TIMEOUT) as client:
            files: dict[str, BinaryIO] = {}
            for name in options["files"]:
                path = Path(name)
                try:
                    files[path.name if path.name not in files else name] = stack.enter_context(
                        path.open("rb")
                    )
                except OSError as exc:
                    raise CommandError(
                        f"file_unreadable: {path}: {exc.strerror or exc}",
                        returncode=EXIT_UNREADABLE,
                    ) from None
            try:
                report = manifest_verify(
                    document=document, files=files, expected_account_id=account, client=client
                )
            except ApplicationError as exc:
                raise CommandError(
                    f"{exc.code}: {exc.message}", returncode=EXIT_UNREADABLE
                ) from None
        self.stdout.write(f"manifest {manifest_path} (sha256 {report.manifest_sha256})")
        self.stdout.write(f"expected signer {account}, asked {rpc_url}")
        project = report.subject.get("project") or {}
        dataset = report.subject.get("dataset") or {}
        if dataset:
            self.stdout.write(
                f"about dataset {dataset.get('id')} v{dataset.get('version')} "
                f"({dataset.get('title')!r}, {dataset.get('licence')})"
            )
        self.stdout.write(
            f"about project {project.get('id')} ({project.get('title')!r}), "
            f"generated {report.subject.get('generated_at')}"
        )
        for check in report.checks:
            mark = "ok  " if check.ok else "FAIL"
            self.stdout.write(f"{mark} {check.name}: {check.code} {check.detail}".rstrip())
        for name in report.files_not_given:
            self.stdout.write(f"note files_not_given: {name} (not checked)")
        if report.chain_unavailable:
            raise CommandError(
                "chain_unavailable: the NEAR RPC did not answer; nothing is known about the key",
                returncode=EXIT_CHAIN_UNAVAILABLE,
            )
        if not report.ok:
            failed = ", ".join(c.code for c in report.checks if not c.ok)
            raise CommandError(f"NOT VERIFIED ({failed})", returncode=EXIT_FAILED)
        self.stdout.write(self.style.SUCCESS("VERIFIED"))
