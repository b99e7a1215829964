from config.errors import ConflictError, NotFoundError


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
