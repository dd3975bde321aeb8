"""The operation table's rows in the groups docs/jobs.md and SPEC list them in: the tags of
the native routes and the consolidated MCP tools (`whatsapp_<group>` with an `action`)."""

from __future__ import annotations

GROUPS: dict[str, tuple[str, ...]] = {
    "profile": ("fetch_avatar", "user_info", "is_on_whatsapp", "contacts", "my_privacy"),
    "send": (
        "send_text",
        "send_image",
        "send_file",
        "send_video",
        "send_audio",
        "send_sticker",
        "send_location",
        "send_contact",
        "send_link",
        "send_poll",
    ),
    "message": ("react", "revoke", "edit_message", "mark_read", "download_media"),
    "chat": ("send_presence", "send_chat_presence", "set_disappearing", "reject_call"),
    "group": (
        "group_info",
        "joined_groups",
        "create_group",
        "group_participants",
        "group_requests",
        "leave_group",
        "set_group_name",
        "set_group_topic",
        "set_group_photo",
        "set_group_locked",
        "set_group_announce",
        "group_invite_link",
        "join_group",
        "group_info_from_link",
    ),
}
TITLES = {
    "profile": "profile and lookup",
    "send": "send",
    "message": "act on a message",
    "chat": "presence and chats",
    "group": "groups",
}


def group_of(operation: str) -> str:
    for group, names in GROUPS.items():
        if operation in names:
            return group
    return "other"
