"""Authentication: users with roles (viewer, approver, admin), argon2 passwords, API tokens
(with a key's own limits, budget and models: `KeyPolicy`)."""

from aios.auth.keys import KeyPolicy
from aios.auth.tokens import IssuedToken, TokenInfo, TokenStore, api_tokens, hash_token
from aios.auth.users import Role, User, UserStore, users

__all__ = [
    "IssuedToken",
    "KeyPolicy",
    "Role",
    "TokenInfo",
    "TokenStore",
    "User",
    "UserStore",
    "api_tokens",
    "hash_token",
    "users",
]
