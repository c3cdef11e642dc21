"""Jinja templates for certification reports (one per kind and format, shared macros in ``_*.j2``)."""
