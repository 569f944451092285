"""The architecture as a contract: what each part may import, and who reads the environment.

* The domain (shared/supportdesk, the Lambda layer) knows nothing of the web function, the
  mail adapter or the dev code, nor of the web stack and its servers.
* Lambda code (functions/) never imports the dev code, moto or pytest: none of them ships.
* In the domain and the functions only supportdesk/config.py reads the environment.

Checked on the syntax tree, so imports inside functions and `if TYPE_CHECKING:` blocks
count as much as those at the top of a module.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOMAIN = REPO / "shared" / "supportdesk"
FUNCTIONS = REPO / "functions"
CONFIG = DOMAIN / "config.py"

# The web function, the mail adapter, the dev code; the web stack and its servers.
NOT_IN_THE_DOMAIN = ("portal", "inbound", "supportdesk_dev", "starlette", "mangum", "uvicorn")
# What runs only on a developer's machine or in the tests.
NOT_IN_LAMBDA = ("supportdesk_dev", "moto", "pytest")
# The modules that hold the process environment, and their names that read or change it.
ENVIRONMENT_MODULES = ("os", "posix", "nt")
ENVIRONMENT_NAMES = frozenset({"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"})


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import anywhere in the tree, dynamic ones
    (`importlib.import_module("x")`, `__import__("x")`) included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # A relative import stays inside its own package: it cannot reach another one.
            yield node.lineno, node.module
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                yield node.lineno, node.args[0].value


def forbidden_imports(source: str, path: str, forbidden: tuple[str, ...]) -> list[Finding]:
    """Each import in `source` of a module in `forbidden` or below one of them."""
    return [
        Finding(path, line, f"imports {module}")
        for line, module in _imports(ast.parse(source, path))
        if any(module == name or module.startswith(name + ".") for name in forbidden)
    ]


def environment_reads(source: str, path: str) -> list[Finding]:
    """Each place in `source` that reads or changes the process environment."""
    tree = ast.parse(source, path)
    modules = set()  # the names the environment's modules are bound to in this file
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top in ENVIRONMENT_MODULES:
                    modules.add(alias.asname if alias.asname and "." not in alias.name else top)
        elif isinstance(node, ast.ImportFrom) and node.module in ENVIRONMENT_MODULES:
            for alias in node.names:
                if alias.name in ENVIRONMENT_NAMES or alias.name == "*":
                    found.append(Finding(path, node.lineno, f"imports {alias.name} from {node.module}"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT_NAMES:
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in modules:
                found.append(Finding(path, node.lineno, f"reads {owner.id}.{node.attr}"))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
              and len(node.args) >= 2 and isinstance(node.args[0], ast.Name) and node.args[0].id in modules
              and isinstance(node.args[1], ast.Constant) and node.args[1].value in ENVIRONMENT_NAMES):
            found.append(Finding(path, node.lineno, f"reads {node.args[0].id}.{node.args[1].value}"))
    return sorted(found, key=lambda f: f.line)


def sources(*roots: Path) -> list[Path]:
    files = sorted(path for root in roots for path in root.rglob("*.py"))
    assert files, f"no Python files under {', '.join(str(r) for r in roots)}"
    return files


def relative(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def report(findings: list[Finding], rule: str) -> str:
    return f"{rule}:\n" + "\n".join(f"  {finding}" for finding in findings)


# --- the contract, on the tree as it is -----------------------------------------------------

def test_the_domain_imports_neither_web_nor_mail_adapter_nor_dev_code() -> None:
    findings = [finding for path in sources(DOMAIN)
                for finding in forbidden_imports(path.read_text(), relative(path), NOT_IN_THE_DOMAIN)]
    assert not findings, report(findings, "the domain (the Lambda layer) must not import "
                                          + ", ".join(NOT_IN_THE_DOMAIN))


def test_lambda_code_imports_neither_dev_code_nor_test_tools() -> None:
    findings = [finding for path in sources(FUNCTIONS)
                for finding in forbidden_imports(path.read_text(), relative(path), NOT_IN_LAMBDA)]
    assert not findings, report(findings, "Lambda code must not import " + ", ".join(NOT_IN_LAMBDA))


def test_only_the_settings_read_the_environment() -> None:
    findings = [finding for path in sources(DOMAIN, FUNCTIONS) if path != CONFIG
                for finding in environment_reads(path.read_text(), relative(path))]
    assert not findings, report(findings, "only shared/supportdesk/config.py (Settings) may read the "
                                          "environment; add a field to Settings instead")


def test_the_settings_do_read_the_environment() -> None:
    # Else the rule above would hold for a wrong reason (say, a renamed module).
    assert environment_reads(CONFIG.read_text(), relative(CONFIG))


# --- the checker, on sources made to break the contract -----------------------------------

def test_an_import_inside_a_function_or_for_type_checking_is_reported_with_its_line() -> None:
    source = "\n".join([
        "from typing import TYPE_CHECKING",
        "import json",
        "if TYPE_CHECKING:",
        "    from starlette.requests import Request",
        "def handler():",
        "    import supportdesk_dev.stack as stack",
        "    from . import sibling",
        "    return importlib.import_module('portal.app')",
    ])
    found = [str(f) for f in forbidden_imports(source, "shared/supportdesk/x.py", NOT_IN_THE_DOMAIN)]
    assert found == [
        "shared/supportdesk/x.py:4: imports starlette.requests",
        "shared/supportdesk/x.py:6: imports supportdesk_dev.stack",
        "shared/supportdesk/x.py:8: imports portal.app",
    ]


@pytest.mark.parametrize("module", ["supportdesk", "supportdesk.config", "portals", "inbound_mail"])
def test_a_name_that_only_looks_alike_is_not_reported(module: str) -> None:
    assert forbidden_imports(f"import {module}\n", "x.py", NOT_IN_THE_DOMAIN) == []


def test_every_way_of_reading_the_environment_is_reported() -> None:
    source = "\n".join([
        "import os",
        "import os as system",
        "from os import environ as env, path",
        "stage = os.environ.get('STAGE')",
        "region = os.getenv('AWS_REGION')",
        "system.putenv('X', '1')",
        "table = getattr(os, 'environ')['TABLE_NAME']",
        "here = os.path.dirname(__file__)",
    ])
    found = [str(f) for f in environment_reads(source, "functions/portal/x.py")]
    assert found == [
        "functions/portal/x.py:3: imports environ from os",
        "functions/portal/x.py:4: reads os.environ",
        "functions/portal/x.py:5: reads os.getenv",
        "functions/portal/x.py:6: reads system.putenv",
        "functions/portal/x.py:7: reads os.environ",
    ]


def test_links_are_built_from_route_names_outside_the_route_table() -> None:
    """A path written by hand drifts from the route it means; url()/url_for() cannot."""
    portal = FUNCTIONS / "portal"
    written = [f"{relative(path)}:{number}" for path in [*portal.glob("*.py"), *portal.glob("templates/*.html")]
               if path.name != "app.py"
               for number, line in enumerate(path.read_text().splitlines(), 1)
               if re.search(r"[\"'`]/api/", line)]
    assert written == [], "write links with url()/url_for() and the route's name:\n" + "\n".join(written)
