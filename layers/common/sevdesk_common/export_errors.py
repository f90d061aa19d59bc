"""What can go wrong with a DATEV export. The class names are also the state machine's error
names (its Retry and Catch match them, and a failed job stores the name), so keep them stable."""

from __future__ import annotations

from sevdesk_common.errors import AppError, Conflict, NotFound, ServiceUnavailable


class ExportNotFound(NotFound):
    code = "export_not_found"


class ExportNotReady(Conflict):
    code = "export_not_ready"


class ExportFailed(Conflict):
    code = "export_failed"


class ExportNotStarted(ServiceUnavailable):
    """Step Functions did not take the execution; the job is marked failed, nothing runs."""

    code = "export_not_started"


# ---------------------------------------------------------------- raised by the state machine's steps


class ExportJobNotRunning(Conflict):
    """The step's job is not running (finished, or never started): the step does nothing."""

    code = "export_job_not_running"


class ExportPreconditionMissing(Conflict):
    code = "export_precondition_missing"


class ExportSettingsRefused(AppError):
    status = 422
    code = "export_settings_refused"


class ExportPeriodRefused(AppError):
    status = 422
    code = "export_period_refused"


class ExportBusy(Conflict):
    """sevDesk refused to start a job while another runs (409): retried with backoff."""

    code = "export_busy"


class ExportOutcomeUnknown(ServiceUnavailable):
    """sevDesk did not confirm the job's creation and offers no read to find it: never re-sent."""

    code = "export_outcome_unknown"


class ExportDownloadFailed(ServiceUnavailable):
    """Fetching the ZIP from sevDesk's link failed or broke off: retried with a fresh link."""

    code = "export_download_failed"


class ExportFileInvalid(AppError):
    status = 502
    code = "export_file_invalid"


class ExportDeadlineExceeded(AppError):
    """Raised by the state machine itself (a Pass state names it), never in Python."""

    status = 504
    code = "export_deadline_exceeded"
