"""The sync at a glance: the running totals kept as the sync works (`tallies.py`), the sync page's figures
and charts (`figures.py`, `charts.py`, `views.py`) and the Prometheus metrics (`metrics.py`)."""
