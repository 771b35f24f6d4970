"""acceptance's use cases. Each runs in one unit of work, the only place that commits; events go to
the outbox in that same transaction.

Modules: :mod:`contracts` (the read model of procurement's contract.filed), :mod:`projects`
(reading, trial run, evidence, extension), :mod:`acceptances` (application, panel, decision,
report, rectification, filing).
"""

from acceptance.service._common import AcceptanceDeps, DrawnExpert, DrawResult, PanelDrawer

__all__ = ["AcceptanceDeps", "DrawResult", "DrawnExpert", "PanelDrawer"]
