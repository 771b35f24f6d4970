"""procurement's use cases. Each runs in one unit of work, the only place that commits; events go
to the outbox in that same transaction.

Modules: :mod:`projects` (the read model of approved projects from review's, acceptance's and
evaluation's events; project reads), :mod:`procurements` (procurements, documents, contract
filings and their checks, overdue filings), :mod:`construction` (progress, payments, suspension,
termination), :mod:`trading` (OCDS webhook and import, matching, mismatches), :mod:`sweep`.
"""

from procurement.service._common import ProcurementDeps

__all__ = ["ProcurementDeps"]
