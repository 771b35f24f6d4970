"""review's use cases. Each runs in one unit of work, the only place that commits; events go to the
outbox in that same transaction.

Modules: :mod:`cases` (opening from intake's events, reading, formal review), :mod:`opinions`,
:mod:`experts` (library, draws, scoring), :mod:`plan` (decision, annual plan, extension),
:mod:`approval` (application, rounds, steps, the approval document), :mod:`changes`,
:mod:`tasks` (SLA work lists, reassignment, reminders) and :mod:`sweep` (the background worker).
"""

from review.service._common import ReviewDeps
from review.service.cases import get_case, list_cases

__all__ = ["ReviewDeps", "get_case", "list_cases"]
