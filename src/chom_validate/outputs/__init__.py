"""Output formats. Every format renders the same RunReport; redaction already happened in the models."""
