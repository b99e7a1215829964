from config.errors import ApplicationError, ConflictError


class ImportInvalidError(ApplicationError):
    code = "import_invalid"


class ProjectNotFundedError(ConflictError):
    code = "project_not_funded"


class ProjectStateError(ConflictError):
    code = "project_state_invalid"
