from config.errors import ApplicationError


class ImportInvalidError(ApplicationError):
    code = "import_invalid"
