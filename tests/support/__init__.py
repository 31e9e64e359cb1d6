"""Shared test harnesses (no tests here; each harness's own check is a
tests/test_*_harness.py module).

* :mod:`support.backends` -- the group backends that load here.
* :mod:`support.engine` -- the clearing engine in-process with the prover's
  witness store and members (``Sim``), scenario runs, the oracle cross-check.
* :mod:`support.services` -- the node and the prover service in-process
  over mutual TLS (``Cluster``), the services' oracle cross-check.
* :mod:`support.processes` -- the services as real OS processes, and the
  member process of the concurrency test (``python -m support.processes``).
* :mod:`support.privacy` -- the privacy suite's runs, secrets and scanner.

The package is imported as ``support`` (``from support.engine import Sim``):
tests/ is on ``sys.path`` -- pytest puts it there for the rootless test
modules and tests/conftest.py makes sure of it -- never as ``tests.support``.
Fixtures built on these harnesses (``cluster``, ``procs``) live in
tests/conftest.py, so no test module imports a fixture or another test
module (tests/test_repo_hygiene.py checks it)."""
