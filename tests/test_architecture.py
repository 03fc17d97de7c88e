"""The stages import only earlier stages, without cycles; a metric family imports only the floor.

The checkers work over import edges ``(module, imported, line)`` read from the source with
``ast``, so imports inside functions and ``TYPE_CHECKING`` blocks count, and each can be shown to
fail on made-up edges. docs/architecture.md draws the same picture in words.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import pytest

PACKAGE = "auditkit"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

# The stages in the order data flows; a stage may import its own rank and earlier ones only.
# errors and results are the shared floor; the package's own __init__ may import anything.
ORDER: tuple[tuple[str, ...], ...] = (
    ("errors", "results"),
    ("spec",),
    ("catalogs",),
    ("vendors",),
    ("world",),
    ("probes",),
    ("tables",),
    ("metrics",),
    ("judging",),
    ("scoring",),
    ("suites",),
    ("reports",),
    ("api",),
    ("bundle",),
    ("cli",),
)
RANK = {stage: rank for rank, stages in enumerate(ORDER) for stage in stages}

METRICS = f"{PACKAGE}.metrics"
# Inside metrics: the top knows every family; the floor (private modules, and stats) is
# shared by all of them; every other subpackage is a family.
METRICS_TOP = frozenset({"registry", "power"})
METRICS_PUBLIC_FLOOR = frozenset({"stats"})


class Edge(NamedTuple):
    """``module`` imports ``imported`` at ``line`` of its source."""

    module: str
    imported: str
    line: int

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported}"


def module_name(path: Path, root: Path = ROOT) -> str:
    """The dotted name of the module at ``path`` (a package is its ``__init__``)."""
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_edges(module: str, source: str, *, is_package: bool, known: set[str]) -> list[Edge]:
    """Every import of a ``PACKAGE`` module in ``source``, wherever it stands in the file.

    ``from x import y`` counts as an import of ``x.y`` when that is a module in ``known``.
    """
    edges = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")
                parent = parent if is_package else parent[:-1]
                parent = parent[: len(parent) - (node.level - 1)]
                base = ".".join([*parent, base] if base else parent)
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        for name in dict.fromkeys(names):
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                edges.append(Edge(module, name, node.lineno))
    return sorted(edges, key=lambda edge: edge.line)


def tree_edges(root: Path = ROOT) -> list[Edge]:
    """The import edges of every module under ``root``."""
    paths = sorted(root.rglob("*.py"))
    known = {module_name(path, root) for path in paths}
    edges = []
    for path in paths:
        module = module_name(path, root)
        source = path.read_text(encoding="utf-8")
        is_package = path.name == "__init__.py"
        edges += import_edges(module, source, is_package=is_package, known=known)
    return edges


def stage_of(module: str) -> str | None:
    """The top-level package or module under ``PACKAGE``; None for the package itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def check_stages_known(modules: Iterable[str]) -> list[str]:
    """A message for every top-level module that has no place in ``ORDER``."""
    unknown = sorted({stage_of(m) for m in modules} - {None} - RANK.keys())
    return [f"{PACKAGE}.{stage} is not a stage in ORDER: place it there" for stage in unknown]


def check_layers(edges: Iterable[Edge]) -> list[str]:
    """A message for every import of a later stage (or of the package itself) by a stage."""
    problems = []
    for edge in edges:
        source, target = stage_of(edge.module), stage_of(edge.imported)
        if source is None or source not in RANK:
            continue  # the package's __init__ may import anything; unknown stages: see above
        if target is None:
            problems.append(f"{edge}: stage '{source}' imports the package's __init__")
        elif target in RANK and RANK[target] > RANK[source]:
            problems.append(f"{edge}: stage '{source}' imports the later stage '{target}'")
    return problems


def check_cycles(edges: Iterable[Edge]) -> list[str]:
    """A message for every set of stages that import each other, naming the imports."""
    between = [
        edge
        for edge in edges
        if None not in (stage_of(edge.module), stage_of(edge.imported))
        and stage_of(edge.module) != stage_of(edge.imported)
    ]
    graph: dict[str, set[str]] = {}
    for edge in between:
        graph.setdefault(str(stage_of(edge.module)), set()).add(str(stage_of(edge.imported)))

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for target in graph.get(todo.pop(), ()):
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        return seen

    reached = {stage: reach(stage) for stage in graph}
    cycles = {
        frozenset(s for s in graph if s == stage or (s in reached[stage] and stage in reached[s]))
        for stage in graph
        if stage in reached[stage]
    }
    problems = []
    for cycle in sorted(cycles, key=sorted):
        inside = [
            str(edge)
            for edge in between
            if stage_of(edge.module) in cycle and stage_of(edge.imported) in cycle
        ]
        problems.append(f"import cycle between {', '.join(sorted(cycle))}: " + "; ".join(inside))
    return problems


def metrics_part(module: str) -> str | None:
    """The name right under ``METRICS`` (``popularity`` for ``…metrics.popularity.arp``)."""
    if not module.startswith(METRICS + "."):
        return None
    return module[len(METRICS) + 1 :].split(".")[0]


def check_families(edges: Iterable[Edge], families: Iterable[str]) -> list[str]:
    """A message for every import by a family (or the floor) of another family or the top.

    A family may import its own modules and the floor: the private modules and packages of
    metrics, and ``METRICS_PUBLIC_FLOOR``. The floor imports no family and not the top.
    """
    families = set(families)
    problems = []
    for edge in edges:
        source, target = metrics_part(edge.module), metrics_part(edge.imported)
        if source is None or source in METRICS_TOP:
            continue  # outside metrics, or the top, which may import every family
        if edge.imported != METRICS and target is None:
            continue  # outside metrics: the stage rule governs that
        who = f"family '{source}'" if source in families else f"the metrics floor ('{source}')"
        if edge.imported == METRICS or target in METRICS_TOP:
            problems.append(f"{edge}: {who} imports the top of metrics, which imports it")
        elif target in families and target != source:
            problems.append(f"{edge}: {who} imports family '{target}'")
        elif target not in families and not (
            str(target).startswith("_") or target in METRICS_PUBLIC_FLOOR
        ):
            problems.append(f"{edge}: {who} imports {target!r}, which is not in the floor")
    return problems


def metric_families(root: Path = ROOT) -> set[str]:
    """The public subpackages of ``root``'s metrics package."""
    return {
        path.parent.name
        for path in (root / "metrics").glob("*/__init__.py")
        if not path.parent.name.startswith("_")
    }


@pytest.fixture(scope="module")
def edges() -> list[Edge]:
    return tree_edges()


def test_every_top_level_module_is_a_stage():
    modules = [module_name(path) for path in ROOT.rglob("*.py")]
    assert check_stages_known(modules) == []


def test_no_stage_imports_a_later_stage(edges):
    problems = check_layers(edges)
    assert not problems, "\n".join(problems)


def test_no_import_cycle_between_stages(edges):
    problems = check_cycles(edges)
    assert not problems, "\n".join(problems)


def test_metric_families_import_only_the_floor(edges):
    problems = check_families(edges, metric_families())
    assert not problems, "\n".join(problems)


# The checkers on made-up edges: each can fail, and says where.


def test_a_later_stage_import_is_named_with_its_line():
    edges = [
        Edge("auditkit.spec._models", "auditkit.vendors", 12),
        Edge("auditkit.spec._models", "auditkit.errors", 3),
        Edge("auditkit.metrics.stats", "auditkit.tables", 4),
        Edge("auditkit.tables._codes", "auditkit", 7),
        Edge("auditkit", "auditkit.cli", 1),  # the package's __init__ may import anything
        Edge("auditkit.cli", "auditkit.judging", 2),  # judging may have no modules yet
    ]
    assert check_layers(edges) == [
        "auditkit.spec._models:12 imports auditkit.vendors: "
        "stage 'spec' imports the later stage 'vendors'",
        "auditkit.tables._codes:7 imports auditkit: stage 'tables' imports the package's __init__",
    ]


def test_a_cycle_is_named_with_the_imports_that_make_it():
    edges = [
        Edge("auditkit.errors", "auditkit.results", 5),
        Edge("auditkit.results", "auditkit.errors", 9),
        Edge("auditkit.spec", "auditkit.errors", 2),
    ]
    assert check_layers(edges) == []  # the floor's two modules share a rank ...
    assert check_cycles(edges) == [  # ... but may not import each other both ways
        "import cycle between errors, results: "
        "auditkit.errors:5 imports auditkit.results; auditkit.results:9 imports auditkit.errors"
    ]


def test_a_family_importing_another_is_named_with_its_line():
    families = {"homogenization", "segments"}
    edges = [
        Edge("auditkit.metrics.segments.outcomes", "auditkit.metrics.homogenization.cross", 25),
        Edge("auditkit.metrics.segments.outcomes", "auditkit.metrics.segments.groups", 26),
        Edge("auditkit.metrics.segments.outcomes", "auditkit.metrics._overlap", 27),
        Edge("auditkit.metrics.segments.outcomes", "auditkit.metrics.stats", 28),
        Edge("auditkit.metrics.segments.outcomes", "auditkit.tables", 29),
        Edge("auditkit.metrics.segments", "auditkit.metrics.registry", 3),
        Edge("auditkit.metrics.homogenization", "auditkit.metrics", 4),
        Edge("auditkit.metrics._overlap", "auditkit.metrics.segments", 5),
        Edge("auditkit.metrics.segments.pairs", "auditkit.metrics.fresh", 6),
        Edge("auditkit.metrics.registry", "auditkit.metrics.segments", 7),
    ]
    assert check_families(edges, families) == [
        "auditkit.metrics.segments.outcomes:25 imports auditkit.metrics.homogenization.cross: "
        "family 'segments' imports family 'homogenization'",
        "auditkit.metrics.segments:3 imports auditkit.metrics.registry: "
        "family 'segments' imports the top of metrics, which imports it",
        "auditkit.metrics.homogenization:4 imports auditkit.metrics: "
        "family 'homogenization' imports the top of metrics, which imports it",
        "auditkit.metrics._overlap:5 imports auditkit.metrics.segments: "
        "the metrics floor ('_overlap') imports family 'segments'",
        "auditkit.metrics.segments.pairs:6 imports auditkit.metrics.fresh: "
        "family 'segments' imports 'fresh', which is not in the floor",
    ]


def test_imports_are_read_wherever_they_stand():
    source = (
        "from typing import TYPE_CHECKING\n"
        "import auditkit.errors\n"
        "from auditkit.metrics import stats, METRICS\n"
        "from . import _overlap\n"
        "from ..tables import AuditTables\n"
        "if TYPE_CHECKING:\n"
        "    from auditkit.vendors import Vendor\n"
        "def later():\n"
        "    import auditkit.cli\n"
        "import numpy\n"
    )
    known = {"auditkit.metrics.stats", "auditkit.metrics._overlap"}
    found = import_edges("auditkit.metrics.kernel", source, is_package=False, known=known)
    assert found == [
        Edge("auditkit.metrics.kernel", "auditkit.errors", 2),
        Edge("auditkit.metrics.kernel", "auditkit.metrics.stats", 3),
        Edge("auditkit.metrics.kernel", "auditkit.metrics", 3),
        Edge("auditkit.metrics.kernel", "auditkit.metrics._overlap", 4),
        Edge("auditkit.metrics.kernel", "auditkit.tables", 5),
        Edge("auditkit.metrics.kernel", "auditkit.vendors", 7),
        Edge("auditkit.metrics.kernel", "auditkit.cli", 9),
    ]
