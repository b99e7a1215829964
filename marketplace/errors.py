from rest_framework import status

from config.errors import ApplicationError


class ImportInvalidError(ApplicationError):
    code = "import_invalid"


class ImportTooLargeError(ApplicationError):
    """Too many items, or a file over IMPORT_MAX_FILE_BYTES."""

    code = "import_too_large"
    http_status = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


class DatasetPublishError(ApplicationError):
    """A dataset's terms or datasheet refused (the field is in `extra`)."""

    code = "dataset_publish_invalid"


class ManifestInvalidError(ApplicationError):
    """A manifest document that cannot be read as one: `code` says why (manifest_not_json,
    manifest_text_invalid, manifest_too_deep, manifest_number_invalid,
    manifest_schema_unknown, manifest_invalid, manifest_missing)."""

    code = "manifest_invalid"


class ManifestTooLargeError(ApplicationError):
    code = "manifest_too_large"
    http_status = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


class VerifyFilesTooManyError(ApplicationError):
    code = "verify_files_too_many"
