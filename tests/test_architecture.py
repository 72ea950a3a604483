"""The layout shows the architecture: layers import only from the layers before them."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "portfolio_rl"

#: Lower layers first, one folder each: a module may import from an earlier layer or from its
#: own folder; the two folders of one layer (agents and baselines) may not import each other.
#: Only the package face, ``__main__`` and ``errors`` sit outside a folder.
LAYERS = [
    ["portfolio_rl", "errors"],
    ["plumbing"],
    ["conventions"],
    ["data"],
    ["envs"],
    ["agents", "baselines"],
    ["backtest"],
    ["report"],
    ["workflows"],
    ["cli"],
    ["__main__"],
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def unit(module: str) -> str:
    """``portfolio_rl.agents.grpo`` -> ``agents``; ``portfolio_rl`` -> ``portfolio_rl``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts)
        out[name.removesuffix(".__init__")] = path
    return out


def imports(path: Path, module: str) -> set[str]:
    """Every portfolio_rl module ``path`` imports, ``TYPE_CHECKING`` blocks included."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("portfolio_rl"))
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("portfolio_rl"):
                # ``from pkg import submodule`` depends on the submodule; any other name, on pkg
                for a in node.names:
                    sub = f"{node.module}.{a.name}"
                    found.add(sub if sub in modules() else node.module)
    found.discard(module)
    return found


def test_every_module_has_a_layer():
    assert {unit(m) for m in modules()} <= set(RANK)


def test_no_module_imports_a_higher_layer():
    wrong = []
    for module, path in modules().items():
        for target in imports(path, module):
            a, b = unit(module), unit(target)
            if a == b or target == "portfolio_rl.errors" or b == "portfolio_rl":
                continue
            if RANK[b] >= RANK[a]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_the_module_graph_has_no_cycle():
    graph = {m: imports(p, m) & set(modules()) for m, p in modules().items()}
    # the package imports its subpackages' __init__ implicitly: only explicit edges count
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join([*trail, node, nxt]))
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])


def test_no_file_over_400_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert not long, long


def test_only_the_face_main_and_errors_sit_outside_a_role_folder():
    loose = {p.stem for p in PACKAGE.glob("*.py")}
    assert loose == {"__init__", "__main__", "errors"}


@pytest.mark.parametrize("path", sorted((PACKAGE / "workflows").glob("*.py")), ids=lambda p: p.stem)
def test_workflows_never_print(path):
    source = path.read_text()
    assert "print(" not in source and "sys.stdout" not in source and "sys.stderr" not in source


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("portfolio_rl.workflows.pipeline", ("torch", "matplotlib")),
        ("portfolio_rl.backtest.runner", ("torch", "matplotlib", "sklearn", "scipy.stats")),
        ("portfolio_rl.cli", ("torch", "matplotlib", "cvxpy", "sklearn", "scipy", "gymnasium")),
    ],
)
def test_heavy_modules_are_imported_only_where_used(module, absent):
    code = f"import sys, {module}; print(sorted(m for m in {absent!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_a_baselines_only_backtest_imports_no_torch(tmp_path):
    code = (
        "import sys\n"
        "from portfolio_rl.workflows import pipeline\n"
        "from portfolio_rl.workflows.experiment import ExperimentConfig\n"
        "from portfolio_rl.backtest.engine import BacktestConfig\n"
        "exp = ExperimentConfig(backtest=BacktestConfig(start='2020-01-01'), n_boot=10,\n"
        "                       strategies=('equal_weight', 'min_variance'))\n"
        f"pipeline.backtest(exp, out=__import__('pathlib').Path({str(tmp_path / 'r')!r}))\n"
        "print('torch' in sys.modules, 'matplotlib' in sys.modules, 'gymnasium' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False False False", out.stdout + out.stderr


PUBLIC = ("agents", "backtest", "baselines", "conventions", "data", "envs", "report", "workflows")


@pytest.mark.parametrize("package", PUBLIC)
def test_every_package_exports_its_public_names(package):
    import importlib

    module = importlib.import_module(f"portfolio_rl.{package}")
    assert module.__all__, package
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"


def test_importing_the_packages_is_cheap():
    code = (
        "import sys, portfolio_rl, portfolio_rl.agents, portfolio_rl.backtest, "
        "portfolio_rl.data, portfolio_rl.workflows, portfolio_rl.agents.config\n"
        "print(sorted(m for m in ('torch', 'cvxpy', 'matplotlib', 'scipy.stats') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
