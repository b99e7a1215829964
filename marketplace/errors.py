from rest_framework import status

from config.errors import ApplicationError, ConflictError, NotFoundError, PermissionError_


class ImportInvalidError(ApplicationError):
    code = "import_invalid"


class ImportTooLargeError(ApplicationError):
    """Too many items, or a file over IMPORT_MAX_FILE_BYTES."""

    code = "import_too_large"
    http_status = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


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
