"""Imported once by the worker processes' fork server: loads the built-in handlers there.

Each worker process is forked from that server, so it starts with Ai:oS and the built-in
agents already imported instead of importing them again for every execution.
"""

from aios.runtime.executors.work import execute_work_item, worker_registry

__all__ = ["execute_work_item"]

worker_registry()
