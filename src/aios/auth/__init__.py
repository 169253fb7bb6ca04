"""Authentication: users with roles (viewer, approver, admin), argon2 passwords, API tokens."""

from aios.auth.tokens import IssuedToken, TokenInfo, TokenStore, api_tokens, hash_token
from aios.auth.users import Role, User, UserStore, users

__all__ = [
    "IssuedToken",
    "Role",
    "TokenInfo",
    "TokenStore",
    "User",
    "UserStore",
    "api_tokens",
    "hash_token",
    "users",
]
