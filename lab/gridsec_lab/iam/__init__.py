"""Lab INDIGO IAM v1.12: a test double of the IAM endpoints gridsec.ops uses (OpenID discovery, JWKS,
token endpoint, SCIM Users, account finders, labels, tokens API), faithful to IAM's source; see
docs/lab-iam.md for the conformance table."""
from .lab import IamLab  # noqa: F401
from .model import IamState  # noqa: F401
from .server import IamServer  # noqa: F401
