"""Join points: what an advice sees of one call of an advised method.

One join point is created per call and per aspect; all the advices of that aspect see the same
object. The classes have ``__slots__`` and no ``__init__`` because the weaver creates them on
every advised call (see ``weaving.py``); user code only reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["JoinPoint", "Link", "ProceedingJoinPoint"]


class Link:
    """One aspect's place in one advised method of one bean instance (built per instance).

    ``inner`` is what this aspect wraps: the next aspect's entry, or the bound target method.
    The advice tuples hold bound advice methods; for async methods each non-around entry is a
    ``(advice, is_async)`` pair, decided at boot.
    """

    __slots__ = (
        "afters",
        "arounds",
        "bean_name",
        "befores",
        "inner",
        "method",
        "returnings",
        "target",
        "throwings",
    )

    def __init__(
        self, target: Any, method: Callable[..., Any], bean_name: str, inner: Callable[..., Any]
    ) -> None:
        self.target = target
        self.method = method
        self.bean_name = bean_name
        self.inner = inner
        self.arounds: tuple[Any, ...] = ()
        self.befores: tuple[Any, ...] = ()
        self.afters: tuple[Any, ...] = ()
        self.returnings: tuple[Any, ...] = ()
        self.throwings: tuple[Any, ...] = ()


class JoinPoint:
    """One call of an advised method, as ``before``/``after``/``after_*`` advices see it.

    Attributes:
        args: the positional arguments (without ``self``); after ``jp.proceed(*new)`` in an
            around advice of the same aspect, the replaced ones.
        kwargs: the keyword arguments (same rule).
        return_value: what the call returned (set before ``after`` and ``after_returning``
            run), else ``None``.
        exception: the ``Exception`` the call raised (set before ``after`` and
            ``after_throwing`` run), else ``None``.
    """

    __slots__ = ("_link", "args", "exception", "kwargs", "return_value")

    _link: Link
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    return_value: Any
    exception: Exception | None

    @property
    def target(self) -> Any:
        """The bean instance whose method is called."""
        return self._link.target

    @property
    def method(self) -> Callable[..., Any]:
        """The original, unadvised function, unbound (``Service.get``): read its name or marks;
        ``jp.method(jp.target, ...)`` calls it without any advice."""
        return self._link.method

    @property
    def bean_name(self) -> str:
        """The name of the bean whose method is called."""
        return self._link.bean_name

    def __repr__(self) -> str:
        name = getattr(self.method, "__qualname__", self.method)
        return f"<JoinPoint {name} args={self.args!r} kwargs={self.kwargs!r}>"


class ProceedingJoinPoint(JoinPoint):
    """The join point an ``around`` advice receives: it adds :meth:`proceed`."""

    __slots__ = ()

    def proceed(self, *args: Any, **kwargs: Any) -> Any:
        """Run the rest of the call: this aspect's ``before`` advices, inner aspects, the target.

        Without arguments the current ``args``/``kwargs`` are used; with any, they replace both
        (and later advices of this aspect see the new ones). Each call runs the rest again, so
        an around advice may retry. For an ``async def`` method it returns an awaitable:
        ``return await jp.proceed()``.

        Returns:
            What the rest of the chain returned.

        Raises:
            Whatever the rest of the chain raised.
        """
        # The fast path: this aspect has one around advice and nothing else.
        if args or kwargs:
            self.args = args
            self.kwargs = kwargs
        if self.kwargs:
            return self._link.inner(*self.args, **self.kwargs)
        return self._link.inner(*self.args)


class ChainJoinPoint(ProceedingJoinPoint):
    """Sync methods of an aspect with several around advices or other advice kinds."""

    __slots__ = ("_depth",)

    _depth: int

    def proceed(self, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            self.args = args
            self.kwargs = kwargs
        link = self._link
        depth = self._depth
        if depth < len(link.arounds):
            self._depth = depth + 1
            try:
                return link.arounds[depth](self)
            finally:
                self._depth = depth  # so that an around advice may proceed again
        for advice in link.befores:
            advice(self)
        return link.inner(*self.args, **self.kwargs)


class AsyncChainJoinPoint(ChainJoinPoint):
    """Async methods of an aspect with several around advices or other advice kinds."""

    __slots__ = ()

    async def proceed(self, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            self.args = args
            self.kwargs = kwargs
        link = self._link
        depth = self._depth
        if depth < len(link.arounds):
            self._depth = depth + 1
            try:
                return await link.arounds[depth](self)
            finally:
                self._depth = depth
        for advice, is_async in link.befores:
            if is_async:
                await advice(self)
            else:
                advice(self)
        return await link.inner(*self.args, **self.kwargs)
