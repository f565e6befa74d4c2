"""Boot and container benchmark: boot time, resolution cost, woven-call overhead.

Run: ``python bench/boot.py`` (``--beans 500 --aspects 50 --repeat 5``). Prints, in one run:

* boot time of a generated app with N beans and M aspects (cold: first import, in a fresh
  interpreter; warm: modules already imported);
* µs per resolution for a singleton, a prototype with 3 dependencies, and a request bean
  (plus the same prototype through plain ``injector`` for comparison);
* the overhead of a call woven with one ``around`` advice vs a plain call, sync and async.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import timeit
from pathlib import Path
from typing import Any

import injector

from framework import Application, bean

_ROOT = Path(__file__).resolve().parent.parent


def generate(root: Path, beans: int, aspects: int, per_module: int = 10) -> None:
    package = root / "benchapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for start in range(0, beans, per_module):
        lines = ["from framework import bean", ""]
        imports: set[int] = set()
        body: list[str] = []
        for i in range(start, min(start + per_module, beans)):
            deps = [d for d in (i - 1, i - 7, i - 31) if d >= 0]
            params = ", ".join(f"d{d}: Bean{d}" for d in deps)
            imports.update(d // per_module for d in deps if d // per_module != start // per_module)
            body += [
                "@bean",
                f"class Bean{i}:",
                f"    def __init__(self{', ' if params else ''}{params}) -> None:",
                f"        self.deps = ({''.join(f'd{d}, ' for d in deps)})",
                "",
                "    def work(self, x: int) -> int:",
                "        return x + 1",
                "",
            ]
        for module in sorted(imports):
            names = ", ".join(
                f"Bean{d}" for d in range(module * per_module, (module + 1) * per_module)
            )
            lines.append(f"from benchapp.beans{module:03d} import {names}")
        (package / f"beans{start // per_module:03d}.py").write_text("\n".join(lines + body))
    advice = ["from framework.aop import ProceedingJoinPoint, around, aspect, point_bean", ""]
    for a in range(aspects):
        advice += [
            f"@aspect(order={a})",
            f'@point_bean(include=["Bean{a}?"])',
            f"class Aspect{a}:",
            "    @around",
            "    def wrap(self, jp: ProceedingJoinPoint) -> object:",
            "        return jp.proceed()",
            "",
        ]
    (package / "aspects.py").write_text("\n".join(advice))


_CHILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    t0 = time.perf_counter()
    from framework import Application
    t1 = time.perf_counter()
    app = Application.boot(["benchapp"])
    t2 = time.perf_counter()
    print(t1 - t0, t2 - t1, len(app.container.definitions))
    """
)


def boot_times(beans: int, aspects: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), beans, aspects)
        cold = []
        for _ in range(repeat):
            out = subprocess.run(
                [sys.executable, "-c", _CHILD.format(root=tmp)],
                check=True,
                capture_output=True,
                text=True,
                cwd=_ROOT,
            ).stdout.split()
            cold.append(float(out[1]))
        sys.path.insert(0, tmp)
        try:
            Application.boot(["benchapp"])
            warm = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                Application.boot(["benchapp"])
                warm.append(time.perf_counter() - t0)
        finally:
            sys.path.remove(tmp)
            for name in [n for n in sys.modules if n.startswith("benchapp")]:
                del sys.modules[name]
    return {"cold": statistics.median(cold) * 1e3, "warm": statistics.median(warm) * 1e3}


@bean
class A:
    pass


@bean
class B:
    pass


@bean
class C:
    pass


@bean(scope="prototype")
class Proto:
    def __init__(self, a: A, b: B, c: C) -> None:
        self.a, self.b, self.c = a, b, c


@bean(scope="request")
class PerRequest:
    def __init__(self, a: A) -> None:
        self.a = a


def per_call_us(fn: Any, number: int = 200_000) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def resolution() -> dict[str, float]:
    app = Application.from_classes(A, B, C, Proto, PerRequest)
    get = app.container.get
    results = {
        "singleton": per_call_us(lambda: get(A)),
        "prototype (3 deps)": per_call_us(lambda: get(Proto)),
    }
    with app.request_scope():
        get(PerRequest)
        results["request (in scope)"] = per_call_us(lambda: get(PerRequest))

    def scoped() -> None:
        with app.request_scope():
            get(PerRequest)

    results["request (new scope each)"] = per_call_us(scoped, number=100_000)
    plain = injector.Injector()
    plain.binder.bind(A, scope=injector.singleton)
    plain.binder.bind(B, scope=injector.singleton)
    plain.binder.bind(C, scope=injector.singleton)

    class InjProto:
        @injector.inject
        def __init__(self, a: A, b: B, c: C) -> None:
            self.a, self.b, self.c = a, b, c

    results["plain injector prototype (3 deps)"] = per_call_us(
        lambda: plain.get(InjProto), number=20_000
    )
    return results


def woven() -> dict[str, float]:
    from framework.aop import ProceedingJoinPoint, around, aspect, point_execution

    @bean
    class Target:
        def work(self, x: int) -> int:
            return x + 1

        def report(self, x: int) -> dict[str, Any]:
            return {"id": x, "name": f"user-{x}", "tags": ["a", "b"], "active": x > 0}

        async def awork(self, x: int) -> int:
            return x + 1

    @bean
    class Plain:
        def work(self, x: int) -> int:
            return x + 1

        def report(self, x: int) -> dict[str, Any]:
            return {"id": x, "name": f"user-{x}", "tags": ["a", "b"], "active": x > 0}

        async def awork(self, x: int) -> int:
            return x + 1

    @aspect(order=1)
    @point_execution(include=[r".*\.Target\.(work|report)"])
    class Wrap:
        @around
        def wrap(self, jp: ProceedingJoinPoint) -> Any:
            return jp.proceed()

    @aspect(order=2)
    @point_execution(include=[r".*\.Target\.awork"])
    class AsyncWrap:
        @around
        async def wrap(self, jp: ProceedingJoinPoint) -> Any:
            return await jp.proceed()

    app = Application.from_classes(Target, Plain, Wrap, AsyncWrap)
    target, plain = app.container.get(Target), app.container.get(Plain)
    sync_plain = per_call_us(lambda: plain.work(1))
    sync_woven = per_call_us(lambda: target.work(1))
    body_plain = per_call_us(lambda: plain.report(1))
    body_woven = per_call_us(lambda: target.report(1))

    async def drive(obj: Any, n: int) -> float:
        work = obj.awork
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(n):
                await work(1)
            best = min(best, time.perf_counter() - t0)
        return best / n * 1e6

    async_plain = asyncio.run(drive(plain, 100_000))
    async_woven = asyncio.run(drive(target, 100_000))
    return {
        "sync plain, trivial body": sync_plain,
        "sync woven (1 around), trivial body": sync_woven,
        "sync ratio, trivial body": sync_woven / sync_plain,
        "sync overhead per call": sync_woven - sync_plain,
        "sync plain, small real body": body_plain,
        "sync woven (1 around), small real body": body_woven,
        "sync ratio, small real body": body_woven / body_plain,
        "async plain": async_plain,
        "async woven (1 around)": async_woven,
        "async ratio": async_woven / async_plain,
        "async overhead per call": async_woven - async_plain,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beans", type=int, default=500)
    parser.add_argument("--aspects", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    boot = boot_times(args.beans, args.aspects, args.repeat)
    print(f"boot, {args.beans} beans + {args.aspects} aspects (median of {args.repeat})")
    print(f"  cold (fresh interpreter, imports included): {boot['cold']:8.1f} ms  (goal < 300)")
    print(f"  warm (modules already imported):            {boot['warm']:8.1f} ms")
    print("resolution, µs per container.get()")
    for name, value in resolution().items():
        print(f"  {name:40s} {value:8.3f}")
    print("woven call vs plain call, µs per call")
    for name, value in woven().items():
        unit = "x" if "ratio" in name else ""
        print(f"  {name:40s} {value:8.3f}{unit}")


if __name__ == "__main__":
    main()
