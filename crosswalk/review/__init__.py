"""Review: the store of people's decisions about proposed links (store.py), the
auto-accept policy report (policy.py) and the review workbook round trip (workbook.py)."""
from .policy import policy_report
from .store import (
    ACTIONS,
    DECISION_ACTIONS,
    STATUSES,
    Conflict,
    Decision,
    DecisionResult,
    Event,
    LinkKey,
    LinkState,
    ReviewStore,
    StoreError,
)
from .intake import Intake, load_build_output
from .workbook import ImportReport, export_workbook, import_workbook, write_review_workbook

__all__ = ["ACTIONS", "DECISION_ACTIONS", "STATUSES", "Conflict", "Decision", "DecisionResult", "Event",
           "ImportReport", "LinkKey", "LinkState", "ReviewStore", "StoreError", "export_workbook",
           "Intake", "import_workbook", "load_build_output", "policy_report", "write_review_workbook"]
