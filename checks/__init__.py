"""Built-in checks, one module per domain. Every module here is imported by the registry."""
