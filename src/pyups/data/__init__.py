"""Files installed with pyups: the example configuration (``pyups.conf.example``)."""
