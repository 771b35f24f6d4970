"""Every scenario module; importing this package registers them, in this order (later issues add
theirs here)."""

from bench.scenarios import submit  # noqa: I001, F401 - first: events reads its submit window
from bench.scenarios import events  # noqa: F401
from bench.scenarios import screening  # noqa: F401
from bench.scenarios import screening_submit  # noqa: F401
from bench.scenarios import portfolio  # noqa: F401
from bench.scenarios import ocds_import  # noqa: F401
from bench.scenarios import portal  # noqa: F401
from bench.scenarios import memory  # noqa: F401 - last: reads RSS after the others ran
