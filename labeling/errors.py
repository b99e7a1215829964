from config.errors import ApplicationError, ConflictError, NotFoundError, PermissionError_


class AssignmentNotFoundError(NotFoundError):
    code = "assignment_not_found"


class AssignmentExpiredError(ConflictError):
    code = "assignment_expired"


class AssignmentClosedError(ConflictError):
    code = "assignment_closed"


class ProjectNotActiveError(ConflictError):
    code = "project_not_active"


class ProjectNotFundedError(ConflictError):
    code = "project_not_funded"


class ProjectStateError(ConflictError):
    code = "project_state_invalid"


class ProjectSettingsError(ApplicationError):
    code = "project_settings_invalid"


class ItemAnsweredError(ConflictError):
    code = "item_answered"


class ContributorPausedError(PermissionError_):
    code = "contributor_paused"


class ItemNotAvailableError(ConflictError):
    code = "item_not_available"
