"""A real Rucio server (41.5.1 from PyPI) for the rucio_real test tier; see docs/rucio-real.md."""
