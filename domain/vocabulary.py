"""Policy, Rule, Status, note kinds and the channel of each: their one home."""

from __future__ import annotations

from typing import Literal, get_args

from smsledger.domain.errors import InvalidInput

# How an account weighs its team's notes (ROUTING.md).
Policy = Literal["sms_then_call", "most_recent_interaction"]
POLICIES: tuple[Policy, ...] = get_args(Policy)
DEFAULT_POLICY: Policy = "sms_then_call"

# Which rule of ROUTING.md decided.
Rule = Literal[
    "previous_sms",
    "campaign_reply",
    "previous_call",
    "contact_owner",
    "unknown_sender",
    "no_owner",
    "number_not_configured",
    "handoff",
]
RULES: tuple[Rule, ...] = get_args(Rule)

# A decision either names a recipient or waits for its number to be configured.
Status = Literal["routed", "held"]

# The notes of the team, and the channel each is weighed on. A hand-off note
# is made for each contact of a decision handed to a user (ROUTING.md): it is
# weighed as that user's SMS.
NoteKind = Literal["sms", "campaign_sms", "call", "handoff"]
NOTE_KINDS: tuple[NoteKind, ...] = get_args(NoteKind)
Channel = Literal["sms", "call"]
CHANNEL: dict[str, Channel] = {
    "sms": "sms",
    "campaign_sms": "sms",
    "call": "call",
    "handoff": "sms",
}
# The rule a note decides by, when it does.
RULE_OF_NOTE: dict[str, Rule] = {
    "sms": "previous_sms",
    "campaign_sms": "campaign_reply",
    "call": "previous_call",
    "handoff": "handoff",
}

# What became of the decision's mail.
DeliveryState = Literal["pending", "sent", "failed"]

# What became of a reply sent through the account's SMS provider.
DispatchState = Literal["queued", "sent", "failed"]


def check_policy(raw: object) -> Policy:
    """`raw` as a policy; anything else is an error, never a default."""
    for policy in POLICIES:
        if raw == policy:
            return policy
    raise InvalidInput(
        "routing_policy", f"must be one of {', '.join(POLICIES)}, not {raw!r}"
    )


def channel_of(kind: str) -> Channel:
    """The channel a note of this kind is weighed on."""
    return CHANNEL[kind]
