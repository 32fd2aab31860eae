"""What the console tells a user when a form or a filter is wrong."""

from __future__ import annotations

from projects_import.errors import ProjectsImportError


class ConsoleError(ProjectsImportError):
    """A console request that cannot be done, with a message fit for the page."""

    code = "invalid_request"
    http_status = 400
