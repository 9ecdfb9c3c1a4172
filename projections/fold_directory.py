"""How account, directory and note events fold into the view's writes."""

from __future__ import annotations

from typing import Any

from smsledger.domain.accounts import DEFAULT_KEY_NAME, FIRST_KEY_ID, SECRET_NAMES
from smsledger.domain.routing import note_slot
from smsledger.projections import view_writes as w
from smsledger.projections.view_base import time_key
from smsledger.projections.writes import Write


def account_opened(e: Any, position: int) -> list[Write]:
    account_id = str(e.originator_id)
    writes = [
        w.INSERT_ACCOUNT(
            account_id, e.name, e.default_region, e.routing_policy, e.enhanced_inbound
        )
    ]
    key_hash = getattr(e, "api_key_hash", None)
    if key_hash:  # opened with its one key, before keys had names
        writes.append(
            w.INSERT_KEY(
                account_id,
                FIRST_KEY_ID,
                key_hash,
                DEFAULT_KEY_NAME,
                None,
                time_key(e.timestamp),
            )
        )
    return writes


def account_changed(e: Any, position: int) -> list[Write]:
    account_id = str(e.originator_id)
    writes = []
    for column, value in e.changes.items():
        if column in SECRET_NAMES:
            # Sealed by the migration; one still in the clear never reaches
            # the view.
            if isinstance(value, dict):
                writes.append(w.UPSERT_SECRET(account_id, column, value["sealed"]))
            continue
        writes.append(w.UPDATE_ACCOUNT[column](value, account_id))
    return writes


def secrets_changed(e: Any, position: int) -> list[Write]:
    account_id = str(e.originator_id)
    return [w.UPSERT_SECRET(account_id, n, sealed) for n, sealed in e.sealed.items()]


def key_issued(e: Any, position: int) -> list[Write]:
    return [
        w.INSERT_KEY(
            str(e.originator_id),
            e.key_id,
            e.key_hash,
            e.name,
            e.prefix,
            time_key(e.timestamp),
        )
    ]


def key_revoked(e: Any, position: int) -> list[Write]:
    return [w.DELETE_KEY(str(e.originator_id), e.key_id)]


def user(e: Any, position: int) -> list[Write]:
    return [
        w.UPSERT_USER(e.account_id, e.user_id, e.email, e.name, e.active),
        w.INSERT_INDEX(e.account_id, f"user:{e.user_id}", position),
    ]


def contact_registered(e: Any, position: int) -> list[Write]:
    contact = w.INSERT_CONTACT(
        e.account_id, e.contact_id, e.name, e.owner_user_id, position
    )
    return [contact, *set_phones(e, position)]


def contact_renamed(e: Any, position: int) -> list[Write]:
    return [
        w.RENAME_CONTACT(e.name, e.account_id, e.contact_id),
        index_contact(e, position),
    ]


def owner_changed(e: Any, position: int) -> list[Write]:
    return [
        w.SET_OWNER(e.owner_user_id, e.account_id, e.contact_id),
        index_contact(e, position),
    ]


def set_phones(e: Any, position: int) -> list[Write]:
    account_id, contact_id = e.account_id, e.contact_id
    writes = [w.DELETE_PHONES(account_id, contact_id)]
    writes += [
        w.INSERT_PHONE(account_id, phone, contact_id)
        for phone in dict.fromkeys(e.phones)
    ]
    writes.append(index_contact(e, position))
    # A contact that had a phone at some position gained it at an event
    # indexed here; replay then folds that contact's own history, which holds
    # any later removal. So removals need no phone entry, and the fold needs
    # no read, which lets a rebuild stream its writes.
    writes += [
        w.INSERT_INDEX(account_id, f"phone:{phone}", position)
        for phone in sorted(set(e.phones))
    ]
    return writes


def note(e: Any, position: int) -> list[Write]:
    user_id = getattr(e, "user_id", None)
    channel, actor = note_slot(e.kind, user_id)
    note = w.UPSERT_NOTE(
        e.account_id,
        e.contact_id,
        channel,
        actor,
        e.interaction_id,
        e.kind,
        user_id,
        getattr(e, "reply", None),
        time_key(e.occurred_at),
        position,
        None,
        None,
    )
    # The contact's thread, which the inbox shows, has every note.
    thread = w.INSERT_THREAD(e.account_id, e.contact_id, position, e.kind,
                             time_key(e.occurred_at), user_id, None, e.body, None,
                             e.interaction_id)  # fmt: skip
    return [note, index_contact(e, position), thread]


def number(e: Any, position: int) -> list[Write]:
    return [
        w.UPSERT_NUMBER(e.number, e.account_id, e.backup_email, e.label),
        index_number(e, position),
    ]


def number_released(e: Any, position: int) -> list[Write]:
    return [w.DELETE_NUMBER(e.number), index_number(e, position)]


def index_contact(e: Any, position: int) -> Write:
    return w.INSERT_INDEX(e.account_id, f"contact:{e.contact_id}", position)


def index_number(e: Any, position: int) -> Write:
    return w.INSERT_INDEX(e.account_id, f"number:{e.number}", position)
