"""The multi-process demo (``zkclear demo``): :mod:`clearing.demo.run` (the
command, the orchestrator and the operator: the run and its day loop),
:mod:`clearing.demo.processes` (the child processes: spawning, the member
control channel, stopping them all), :mod:`clearing.demo.ledger_view` (the
public ledger as the demo follows it: what the clearing node knew, cycle by
cycle, proof counts, the public invariants), :mod:`clearing.demo.oracle_check`
(the public outputs against the plaintext oracle's),
:mod:`clearing.demo.participant` (one member process),
:mod:`clearing.demo.report` (report.json, the chart, the HTML) and
:mod:`clearing.demo.errors`.

The top layer of the house (beside :mod:`clearing.cli` and
:mod:`clearing.commands`): it may import every package below it and nothing
imports it except the CLI, by module name.
"""
