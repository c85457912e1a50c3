"""Avro schemas of the events (``*.avsc``) and the one codec module that reads and writes them."""
