"""The lab Argus PAP: a test/demo server speaking the PAP's SOAP services (ARGUS.md)."""
