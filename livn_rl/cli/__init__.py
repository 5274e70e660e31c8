"""The ``livn-rl`` command line: one module per command (``systems``, ``envs``, ``simulate``, ``sample``, ``train``,
``ring``, ``lateral-line``), helpers shared by them in :mod:`~livn_rl.cli.common`, the parser in
:mod:`~livn_rl.cli.main`."""

from livn_rl.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
