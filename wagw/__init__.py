"""wagw: a supervised WhatsApp gateway daemon."""

__version__ = "0.1.0"
