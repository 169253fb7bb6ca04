"""Masking of argument values before a message leaves Ai:oS through a channel.

Approvers need to see what will run, but a webhook receiver, a mail server or a chat service
must not receive a password or a card number that happens to be an argument. Every string in
the arguments (proposed, edited, effective) and the text built from them passes the
guardrails' secret and PII detectors (`aios.security.arguments`, which also masks what the
run record keeps); values under a key that names a credential (`password`, `token`,
`secret`, `api_key`, ...) are masked whole. The dashboard, behind its log-in, still shows the
values the request holds.
"""

from __future__ import annotations

from aios.security.arguments import Masking, mask_value, masking

__all__ = ["ARG_FIELDS", "Masking", "mask_value", "masking"]

#: The fields of a request's JSON that hold argument values.
ARG_FIELDS = ("args", "approved_args", "current_args", "effective_args")
