"""Accounts and access: users with roles, API keys, and the one permission table.

See :mod:`facesearch.auth.roles` for the roles and :data:`PERMISSIONS`,
:mod:`facesearch.auth.keys` for the key format, :class:`Accounts` for the operations.
"""

from facesearch.auth.accounts import Accounts, IssuedKey, Principal
from facesearch.auth.keys import NewKey, generate_key, hash_key, key_prefix
from facesearch.auth.roles import PERMISSIONS, Action, Role, allowed, parse_roles

__all__ = [
    "PERMISSIONS",
    "Accounts",
    "Action",
    "IssuedKey",
    "NewKey",
    "Principal",
    "Role",
    "allowed",
    "generate_key",
    "hash_key",
    "key_prefix",
    "parse_roles",
]
