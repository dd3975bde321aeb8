"""The simulated account's names and numbers, and the Go side's exact error texts, shared
by the tests and the child.

Pure constants: importing this module loads nothing (whatsmeow.py, which the child uses,
imports neonize; the pytest process must not).
"""

from __future__ import annotations

ACCOUNT = "15550001111"  # the account's phone number (country code 1)
DEVICE = f"{ACCOUNT}:7@s.whatsapp.net"
ACCOUNT_LID = "100000000000001@lid"  # the account's LID (whatsmeow's Store.LID, from the pairing)
HIDDEN_USER = "15550008888"  # hides their picture from us: ErrProfilePictureUnauthorized
SLOW_USER = "15550007777"  # the picture query times out: ErrIQTimedOut

ALICE = "15551234567@s.whatsapp.net"
ALICE_LID = "251556368777322@lid"
BOB = "15557654321@s.whatsapp.net"  # an older account: WhatsApp answers with the phone JID
GROUP = "120363402106000000@g.us"
LEGACY_GROUP = "15550001111-1700000100@g.us"  # "<creator>-<creation time>": the time is exact
GROUP_CREATED = 1_700_000_100  # 2023-11-14T22:15:00Z; float32 makes it 1_700_000_128
NOPIC = "nopic@s.whatsapp.net"
PRIVATE_USER = "15550006666@s.whatsapp.net"  # privacy settings: may only be invited to groups
INVITE_CODE = "HbLNhIVW8Nh5Gh0iHpDlhm"  # LEGACY_GROUP's invite code (the account is not in it)
REVOKED_CODE = "Fq7bWzT2yK9dLmP4sR6vXa"

# whatsmeow errors.go / goneonize main.go, verbatim.
ERR_PROFILE_PICTURE_NOT_SET = "that user or group does not have a profile picture"
ERR_PROFILE_PICTURE_UNAUTHORIZED = "the user has hidden their profile picture from you"
ERR_IQ_TIMED_OUT = "info query timed out"
ERR_GROUP_NOT_FOUND = "that group does not exist"
# whatsmeow IQError.Error(): "info query returned status %d: %s" (ErrIQNotFound, ErrIQForbidden…)
ERR_IQ_BAD_REQUEST = "info query returned status 400: bad-request"
ERR_IQ_NOT_FOUND = "info query returned status 404: item-not-found"
ERR_IQ_FORBIDDEN = "info query returned status 403: forbidden"
ERR_IQ_NOT_AUTHORIZED = "info query returned status 401: not-authorized"
ERR_NOT_IN_GROUP = "you're not participating in that group"
ERR_INVALID_IMAGE_FORMAT = "the given data is not a valid image"
ERR_INVITE_LINK_INVALID = "that group invite link is not valid"
ERR_INVITE_LINK_REVOKED = "that group invite link has been revoked"
ERR_INVITE_LINK_UNAUTHORIZED = "you don't have the permission to get the group's invite link"
ERR_FUNCTION_RETURNED_NOTHING = "Function returned nothing."
# protobuf-go writes "proto:" then a space or a no-break space (per build); use the latter.
PROTO_PREFIX = "proto:\u00a0"
ERR_NO_PUSH_NAME = "can't send presence without PushName set"  # whatsmeow's ErrNoPushName
# whatsmeow: wrapIQError(ErrInvalidDisappearingTimer, ErrIQBadRequest)
ERR_INVALID_DISAPPEARING_TIMER = "invalid disappearing timer provided: info query returned status 400: bad-request"
ERR_NOT_CONNECTED = "websocket not connected"  # whatsmeow's ErrNotConnected
ERR_RECIPIENT_AD_JID = "message recipient must be a user JID with no device part"  # ErrRecipientADJID
# whatsmeow send.go SendMessage: fmt.Errorf("%w %d", ErrServerReturnedError, code) for WhatsApp's 463
ERR_REACH_OUT_LIMITED = "server returned error 463"
# WhatsApp's reach-out limit refuses messages to this person (a user part ending in 463, as the
# fake backend's convention, so that test_parity runs the same job on both)
REACH_OUT_USER = "15550000463"
