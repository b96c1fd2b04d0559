"""The public status page and the service status it shows, in three floors:

- :mod:`.board`: pure. A service's status derived from its open incidents, and the :class:`Board`
  (what the public may see) built from snapshots passed in, with its JSON form;
- :mod:`.html`: the board as HTML, styled by ``status.css`` (a package data file);
- :mod:`.reads` and :mod:`.page`: the storage reads and the HTTP handler for ``/status`` and
  ``/status.json``.
"""
