"""The commands of the `spikewright` command line (:mod:`spikewright.cli`), one module each:
``add_parser(sub)`` adds its parser and the function that runs it; :mod:`.args` holds the
options several share. A command module imports no other command module."""
