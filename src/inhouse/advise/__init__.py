"""``inhouse advise``: which model and settings to run on this machine, measured (issue 13)."""

from .run import AdviseOptions, AdviseResult, run_advise, stratified

__all__ = ["AdviseOptions", "AdviseResult", "run_advise", "stratified"]
