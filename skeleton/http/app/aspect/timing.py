"""Times every public method of the services (see docs/aop.md)."""

import logging
import time
from typing import Any

from framework.aop import ProceedingJoinPoint, around, aspect, point_bean

log = logging.getLogger(__name__)


@aspect
@point_bean(include=["*Service"])
class Timing:
    def __init__(self) -> None:
        self.calls: list[str] = []

    @around
    def timed(self, jp: ProceedingJoinPoint) -> Any:
        began = time.perf_counter()
        try:
            return jp.proceed()
        finally:
            name = f"{jp.bean_name}.{jp.method.__name__}"
            self.calls.append(name)
            log.debug("%s took %.3f ms", name, (time.perf_counter() - began) * 1000)
