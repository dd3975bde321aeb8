"""Which Go entries the conformance tier stubs, and the Go source each stub's model follows.

Pure constants (the pytest process imports this; it must not load neonize).

A stub is a Go entry of neonize's library that needs WhatsApp's servers. Every other entry
wagw reaches runs for real: TRACED ones (offline builders and readers of the client's own
store) cross the real Go function, with their arguments recorded so tests can see the call.

Each citation is (module, file, function) at the sources neonize 0.5.2's library was built
from: goneonize (package main, neonize's goneonize/ folder) and whatsmeow
go.mau.fi/whatsmeow@v0.0.0-20260921121126-35ae40906e74. test_stub_sources checks every
stub has one and that each cited file and function is in that library.
"""

from __future__ import annotations

GONEONIZE, WHATSMEOW = "goneonize", "whatsmeow"
WHATSMEOW_VERSION = "v0.0.0-20260921121126-35ae40906e74"

Citation = tuple[str, str, str]  # (module, file, function: "Name" or "(*Client).Name")


def _entry(name: str, *whatsmeow: tuple[str, str], file: str = "main.go") -> tuple[Citation, ...]:
    return ((GONEONIZE, file, name), *((WHATSMEOW, f, function) for f, function in whatsmeow))


CITATIONS: dict[str, tuple[Citation, ...]] = {
    # connect: the events it emits and the LID pairs it stores before dispatching a message
    "Neonize": _entry(
        "Neonize",
        ("client.go", "(*Client).Connect"),
        ("message.go", "(*Client).handleEncryptedMessage"),
        ("client.go", "(*Client).StoreLIDPNMapping"),
    ),
    "Stop": _entry("Stop", ("client.go", "(*Client).Disconnect")),
    "GetProfilePicture": _entry("GetProfilePicture", ("user.go", "(*Client).GetProfilePictureInfo")),
    "IsOnWhatsApp": _entry("IsOnWhatsApp", ("user.go", "(*Client).IsOnWhatsApp")),
    "GetUserInfo": _entry("GetUserInfo", ("user.go", "(*Client).GetUserInfo")),
    "SendMessage": _entry("SendMessage", ("send.go", "(*Client).SendMessage")),
    "Upload": _entry("Upload", ("upload.go", "(*Client).Upload")),
    "GetGroupInfo": _entry("GetGroupInfo", ("group.go", "(*Client).GetGroupInfo")),
    "GetJoinedGroups": _entry("GetJoinedGroups", ("group.go", "(*Client).GetJoinedGroups")),
    "MarkRead": _entry("MarkRead", ("receipt.go", "(*Client).MarkRead")),
    "GetPrivacySettings": _entry("GetPrivacySettings", ("privacysettings.go", "(*Client).GetPrivacySettings")),
    "SendPresence": _entry("SendPresence", ("presence.go", "(*Client).SendPresence")),
    "SendChatPresence": _entry("SendChatPresence", ("presence.go", "(*Client).SendChatPresence")),
    # the send path's warm-up after WhatsApp's reach-out limit (workers/wa/host.py)
    "SubscribePresence": _entry("SubscribePresence", ("presence.go", "(*Client).SubscribePresence")),
    "SetDisappearingTimer": _entry("SetDisappearingTimer", ("send.go", "(*Client).SetDisappearingTimer")),
    "RejectCall": _entry("RejectCall", ("call.go", "(*Client).RejectCall")),
    "LeaveGroup": _entry("LeaveGroup", ("group.go", "(*Client).LeaveGroup")),
    "SetGroupPhoto": _entry("SetGroupPhoto", ("group.go", "(*Client).SetGroupPhoto")),
    "GetGroupInfoFromLink": _entry("GetGroupInfoFromLink", ("group.go", "(*Client).GetGroupInfoFromLink")),
    "JoinGroupWithLink": _entry("JoinGroupWithLink", ("group.go", "(*Client).JoinGroupWithLink")),
    "UpdateGroupParticipants": _entry("UpdateGroupParticipants", ("group.go", "(*Client).UpdateGroupParticipants")),
    "CreateGroup": _entry("CreateGroup", ("group.go", "(*Client).CreateGroup")),
    "GetGroupRequestParticipants": _entry(
        "GetGroupRequestParticipants", ("group.go", "(*Client).GetGroupRequestParticipants")
    ),
    "GetGroupInviteLink": _entry("GetGroupInviteLink", ("group.go", "(*Client).GetGroupInviteLink")),
    "SetGroupAnnounce": _entry("SetGroupAnnounce", ("group.go", "(*Client).SetGroupAnnounce")),
    "SetGroupLocked": _entry("SetGroupLocked", ("group.go", "(*Client).SetGroupLocked")),
    "SetGroupName": _entry("SetGroupName", ("group.go", "(*Client).SetGroupName")),
    "SetGroupTopic": _entry("SetGroupTopic", ("group.go", "(*Client).SetGroupTopic")),
    "DownloadMediaWithPath": _entry(
        "DownloadMediaWithPath",
        ("download.go", "(*Client).DownloadMediaWithPath"),
        ("download.go", "(*Client).downloadAndDecrypt"),
        ("download.go", "validateMedia"),
    ),
}
STUBBED = tuple(CITATIONS)

# Real Go, recorded: offline, on the connection's real whatsmeow client and its store.
TRACED = ("GetMe", "BuildReaction", "BuildPollVoteCreation", "GenerateMessageID", "GetAllContacts")
