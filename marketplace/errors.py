from rest_framework import status

from config.errors import ApplicationError, ConflictError, NotFoundError, PermissionError_


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
    manifest_schema_unknown, manifest_duplicate_key, manifest_invalid, manifest_missing)."""

    code = "manifest_invalid"


class ManifestTooLargeError(ApplicationError):
    code = "manifest_too_large"
    http_status = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


class VerifyFilesTooManyError(ApplicationError):
    code = "verify_files_too_many"


# --- Datasets, purchases, downloads -----------------------------------------------------
# Money refusals reuse the payouts codes: insufficient_funds (409), deposit_* (400),
# chain_unavailable (503), near_account_* (409).


class DatasetNotFoundError(NotFoundError):
    """No dataset with this id that the caller may see (unlisted ones: owner and buyers)."""

    code = "dataset_not_found"


class DatasetVersionNotFoundError(NotFoundError):
    code = "dataset_version_not_found"


class DatasetFileNotFoundError(NotFoundError):
    """The version has no file in this format (or its file is gone from the store)."""

    code = "dataset_file_not_found"


class PurchaseNotFoundError(NotFoundError):
    code = "purchase_not_found"


class DatasetNotForSaleError(ConflictError):
    """The version is not ready, was withdrawn from sale, or its dataset is unlisted."""

    code = "dataset_not_for_sale"


class DatasetAlreadyOwnedError(ConflictError):
    """The buyer already bought this version (or a purchase of it awaits its deposit)."""

    code = "dataset_already_owned"


class DatasetOwnPurchaseError(ConflictError):
    code = "dataset_own_purchase"


class PurchaseMethodInvalidError(ApplicationError):
    code = "purchase_method_invalid"


class DatasetNotPurchasedError(PermissionError_):
    """A download by someone who neither owns the dataset nor completed a purchase."""

    code = "dataset_not_purchased"


class CatalogueQueryInvalidError(ApplicationError):
    """A catalogue filter that is not what it should be (the parameter is in `extra`)."""

    code = "catalogue_query_invalid"


class ExportFormatUnknownError(ApplicationError):
    code = "export_format_unknown"


class ExportNotFoundError(NotFoundError):
    code = "export_not_found"


class ExportForbiddenError(PermissionError_):
    code = "export_forbidden"


class ExportEmptyError(ConflictError):
    """A project with no item: there is nothing to export."""

    code = "export_empty"


class ExportNotReadyError(ConflictError):
    code = "export_not_ready"


class ExportFailedError(ConflictError):
    code = "export_failed"


class ExportFileGoneError(ApplicationError):
    code = "export_file_gone"
    http_status = status.HTTP_410_GONE


class ExportJobsLimitError(ApplicationError):
    """Too many of the user's exports queued or running at once."""

    code = "export_jobs_limit"
    http_status = status.HTTP_429_TOO_MANY_REQUESTS
