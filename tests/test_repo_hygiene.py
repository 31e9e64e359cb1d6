"""Hygiene of the test suite itself, checked on the source (``ast``), so a
regression fails here rather than in review:

* no module under tests/ imports a test module (``test_*``) or ``conftest``:
  shared harnesses live in tests/support/ (imported as ``support.*``),
  shared fixtures in tests/conftest.py, and tests/support/ defines no
  fixture (a fixture imported into a test module is an F811 redefinition
  and hides which one a test gets);
* no ``pytest.raises(Exception)`` or ``pytest.raises(BaseException)`` (also
  in a tuple or as ``expected_exception=``): such a test passes on any
  error, including the wrong one;
* no path outside the repository without a guard: a path climbed from
  ``__file__`` above the repository root (``Path(__file__).parents[2]`` in
  tests/x.py, ``os.path.dirname`` three times, ``/ ".."``), or a literal
  ``Path("/...")`` / ``Path("../...")`` / ``open("/...")``, must be bound to
  a module-level name, and every function that uses the name must check
  ``NAME.exists()`` (``is_file``/``is_dir``) in its body or its
  ``skipif`` decorator -- a developer checkout need not have what CI puts
  beside the clone (e.g. ../shared/).

Each check is a function of source text; the ``*_detects_*`` tests show that
each one fails on a bad example.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
GUARDS = ("exists", "is_file", "is_dir")
BROAD = ("Exception", "BaseException")


def _sources() -> list[Path]:
    """Every Python file of the suite: tests/*.py and tests/support/*.py."""
    return sorted(TESTS.glob("*.py")) + sorted((TESTS / "support").glob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


# ---------------------------------------------------------------------------
# 1. imports of test modules; fixtures in support modules
# ---------------------------------------------------------------------------
def _is_test_module(dotted: str) -> bool:
    return any(part.startswith("test_") or part == "conftest" for part in dotted.split("."))


def imports_of_test_modules(source: str) -> list[tuple[int, str]]:
    """(line, module) of every import of a test module or of conftest."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if _is_test_module(a.name)]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if _is_test_module(base):
                found.append((node.lineno, base))
            else:
                found += [(node.lineno, f"{base}.{a.name}".lstrip(".")) for a in node.names
                          if _is_test_module(a.name)]
    return found


def fixture_definitions(source: str) -> list[tuple[int, str]]:
    """(line, name) of every function decorated with ``pytest.fixture``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                if ast.unparse(target) in ("pytest.fixture", "fixture"):
                    found.append((node.lineno, node.name))
    return found


def test_no_module_imports_a_test_module():
    bad = {_rel(p): hits for p in _sources() if (hits := imports_of_test_modules(p.read_text()))}
    assert not bad, f"move what is shared to tests/support/ (or a fixture to tests/conftest.py): {bad}"


def test_support_modules_define_no_fixture():
    bad = {_rel(p): hits for p in sorted((TESTS / "support").glob("*.py"))
           if (hits := fixture_definitions(p.read_text()))}
    assert not bad, f"fixtures belong in tests/conftest.py: {bad}"


def test_import_check_detects_test_modules():
    assert imports_of_test_modules("from test_engine_oracle import compare\n") == [(1, "test_engine_oracle")]
    assert imports_of_test_modules("import x\nimport test_foo as T\n") == [(2, "test_foo")]
    assert imports_of_test_modules("from conftest import FAST_BACKENDS\n") == [(1, "conftest")]
    assert imports_of_test_modules("from tests import test_x\n") == [(1, "tests.test_x")]
    assert imports_of_test_modules("from support.engine import Sim\nimport pytest\n") == []
    assert fixture_definitions("import pytest\n@pytest.fixture(scope='module')\ndef sim():\n    pass\n") == \
        [(3, "sim")]


# ---------------------------------------------------------------------------
# 2. pytest.raises(Exception)
# ---------------------------------------------------------------------------
def broad_raises(source: str) -> list[int]:
    """Lines of ``pytest.raises`` whose expected exception is Exception or
    BaseException (alone, in a tuple, or as ``expected_exception=``)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and ast.unparse(node.func) in ("pytest.raises", "raises")):
            continue
        expected = node.args[:1] + [k.value for k in node.keywords if k.arg == "expected_exception"]
        names = []
        for e in expected:
            names += e.elts if isinstance(e, ast.Tuple) else [e]
        if any(ast.unparse(n).split(".")[-1] in BROAD for n in names):
            lines.append(node.lineno)
    return lines


def test_no_pytest_raises_exception():
    bad = {_rel(p): lines for p in _sources() if (lines := broad_raises(p.read_text()))}
    assert not bad, f"name the exception the code raises (and a match= when the type is broad): {bad}"


def test_raises_check_detects_broad_exceptions():
    src = ("import pytest\n"
           "with pytest.raises(Exception):\n    pass\n"
           "with pytest.raises((ValueError, BaseException)):\n    pass\n"
           "with pytest.raises(expected_exception=builtins.Exception):\n    pass\n"
           "with pytest.raises(ValueError, match='x'):\n    pass\n")
    assert broad_raises(src) == [2, 4, 6]


# ---------------------------------------------------------------------------
# 3. paths outside the repository
# ---------------------------------------------------------------------------
def _climbs(node: ast.AST, names: dict[str, int]) -> int | None:
    """How many directories ``node`` climbs from ``__file__``'s own path
    (``Path(__file__)``: 0, ``.parent``: 1, ``.parents[k]``: k + 1, a
    ``/ ".."`` segment: 1 each), following module-level names in ``names``;
    None when the expression is not a path derived from ``__file__``."""
    if isinstance(node, ast.Name):
        return 0 if node.id == "__file__" else names.get(node.id)
    if isinstance(node, ast.Attribute) and node.attr == "parent":
        up = _climbs(node.value, names)
        return None if up is None else up + 1
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "parents":
        up = _climbs(node.value.value, names)
        k = node.slice
        if up is None or not (isinstance(k, ast.Constant) and isinstance(k.value, int)):
            return None
        return up + k.value + 1
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        up = _climbs(node.left, names)
        if up is None:
            return None
        if isinstance(node.right, ast.Constant) and isinstance(node.right.value, str):
            for part in Path(node.right.value).parts:
                up = up + 1 if part == ".." else up
        return up
    if isinstance(node, ast.Call):
        fn = ast.unparse(node.func)
        if fn.endswith((".resolve", ".absolute")) and isinstance(node.func, ast.Attribute):
            return _climbs(node.func.value, names)
        if fn in ("Path", "pathlib.Path", "os.path.abspath", "os.path.realpath", "os.path.normpath") and node.args:
            return _climbs(node.args[0], names)
        if fn == "os.path.dirname" and node.args:
            up = _climbs(node.args[0], names)
            return None if up is None else up + 1
        if fn == "os.path.join" and node.args:
            return _climbs(ast.BinOp(node.args[0], ast.Div(), ast.Constant("/".join(
                a.value for a in node.args[1:] if isinstance(a, ast.Constant) and isinstance(a.value, str)))), names)
    return None


def _outside_literal(node: ast.AST) -> bool:
    """``Path("/...")``, ``Path("../...")``, ``open("/...")``: a literal path
    that does not start inside the working copy."""
    if not (isinstance(node, ast.Call) and node.args and ast.unparse(node.func) in ("Path", "pathlib.Path", "open")):
        return False
    arg = node.args[0]
    return isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith(("/", ".."))


def _guarded(fn: ast.AST, name: str) -> bool:
    """``fn`` checks ``name.exists()`` (is_file, is_dir) in its body or decorators."""
    for node in ast.walk(fn):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in GUARDS
                and isinstance(node.func.value, ast.Name) and node.func.value.id == name):
            return True
    return False


def unguarded_outside_paths(source: str, depth: int) -> list[str]:
    """Problems with paths outside the repository in a module ``depth``
    directories below the repository root (tests/x.py: 1): an inline one, or
    a module-level name bound to one and used by a function without a guard."""
    tree = ast.parse(source)
    allowed = depth + 1  # Path(__file__).parent is the module's directory
    names: dict[str, int] = {}
    outside: dict[str, int] = {}  # name -> line
    inline: list[int] = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            up = _climbs(stmt.value, names)
            for t in targets:
                if isinstance(t, ast.Name):
                    if up is not None:
                        names[t.id] = up
                    if (up is not None and up > allowed) or _outside_literal(stmt.value):
                        outside[t.id] = stmt.lineno
    bound = {id(n) for s in tree.body if isinstance(s, (ast.Assign, ast.AnnAssign)) and s.value is not None
             for n in ast.walk(s.value)}
    for node in ast.walk(tree):
        if id(node) in bound or not isinstance(node, ast.expr):
            continue
        up = _climbs(node, {k: v for k, v in names.items() if k not in outside})
        if (up is not None and up > allowed and not isinstance(node, ast.Name)) or _outside_literal(node):
            inline.append(node.lineno)
    problems = [f"line {n}: a path outside the repository inline; bind it to a module-level name and guard "
                "its uses with NAME.exists()" for n in sorted(set(inline))]
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        used = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and n.id in outside}
        problems += [f"{fn.name} (line {fn.lineno}) uses {name} (outside the repository, line {outside[name]}) "
                     f"without checking {name}.exists()" for name in sorted(used) if not _guarded(fn, name)]
    return problems


def test_no_unguarded_path_outside_the_repository():
    bad = {}
    for p in _sources():
        depth = len(p.relative_to(REPO).parts) - 1
        if problems := unguarded_outside_paths(p.read_text(), depth):
            bad[_rel(p)] = problems
    assert not bad, bad


@pytest.mark.parametrize("source, problems", [
    # ../shared beside the clone, guarded: fine
    ("SHARED = Path(__file__).resolve().parents[1].parent / 'shared'\n"
     "def test_a():\n    if not SHARED.exists():\n        pytest.skip('absent')\n    SHARED.read_text()\n", 0),
    ("SHARED = Path(__file__).resolve().parents[1].parent / 'shared'\n"
     "@pytest.mark.skipif(not SHARED.is_file(), reason='absent')\ndef test_a():\n    SHARED.read_text()\n", 0),
    # the same without a guard
    ("SHARED = Path(__file__).resolve().parents[1].parent / 'shared'\ndef test_a():\n    SHARED.read_text()\n", 1),
    ("ROOT = Path(__file__).resolve().parent.parent\nOUT = ROOT / '..' / 'x'\ndef test_a():\n    OUT.read_text()\n", 1),
    ("D = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))\n"
     "def test_a():\n    open(D)\n", 1),
    ("def test_a():\n    (Path(__file__).parents[2] / 'x').read_text()\n", 1),
    ("def test_a():\n    Path('/work/shared/x.json').read_text()\n", 1),
    # inside the repository: fine
    ("ROOT = Path(__file__).resolve().parents[1]\nK = ROOT / 'clearing'\ndef test_a():\n    K.read_text()\n", 0),
    ("V = Path(__file__).with_name('vectors')\ndef test_a():\n    V.read_text()\n", 0),
])
def test_path_check_detects_unguarded_outside_paths(source, problems):
    assert len(unguarded_outside_paths(source, depth=1)) == problems
