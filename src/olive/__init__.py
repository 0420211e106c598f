"""olive: an outbound predictive dialer for Asterisk."""

__version__ = "0.1.0"
__all__ = ["__version__"]
