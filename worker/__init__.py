"""numlookup: phone-number intelligence for telephony and CRM (HTTP, AMI, FastAGI, CLI)."""

__version__ = "0.1.0"
