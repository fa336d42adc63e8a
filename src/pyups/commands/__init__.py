"""What each command does, called by :mod:`pyups.cli` once the arguments are parsed.

A command module has one entry point per command it serves, ``main(args) -> exit code``
(``list_main``, ``status_main`` ... where a module serves several). The others are what
commands share: exit codes and the configuration to use (common), talking to upsd and
failing clearly (upsd, explain), and whom to log in as (login).
"""
