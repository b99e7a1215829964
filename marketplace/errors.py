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
