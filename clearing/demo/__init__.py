"""The multi-process demo (``zkclear demo``): :mod:`clearing.demo.run` (the
orchestrator and the operator), :mod:`clearing.demo.participant` (one member
process) and :mod:`clearing.demo.report` (report.json, the chart, the HTML).

The top layer of the house (beside :mod:`clearing.cli` and
:mod:`clearing.commands`): it may import every package below it and nothing
imports it except the CLI, by module name.
"""
