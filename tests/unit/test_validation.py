"""Job argument models and JID/phone normalisation (pure logic)."""

from __future__ import annotations

import base64
import inspect
import io

import pytest

from wagw import operations
from wagw.addresses import normalize_jid, normalize_phone, normalize_target
from wagw.operations import validate
from wagw.operations.args import InvalidArguments
from workers import wa
from workers.wa import media

ALICE = "15551234567@s.whatsapp.net"
GROUP = "120363000000000001@g.us"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("15551234567", ALICE),
        ("+1 (555) 123-4567", ALICE),
        ("+1.555.123.4567", ALICE),
        (ALICE, ALICE),
        ("15551234567@c.us", ALICE),
        ("15551234567:12@S.WhatsApp.Net", ALICE),  # device part dropped, server lowercased
        ("15551234567.0:3@s.whatsapp.net", ALICE),
        (GROUP, GROUP),
        ("15551234567-1600000000@g.us", "15551234567-1600000000@g.us"),
        ("100000000000001@lid", "100000000000001@lid"),
        ("120363000000000009@newsletter", "120363000000000009@newsletter"),
        ("status@broadcast", "status@broadcast"),
    ],
)
def test_targets_are_normalised(given, expected):
    assert normalize_target(given) == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("hello world", "neither a JID nor a phone number"),
        ("0155512345", "international format"),
        ("+12345", "7 to 15 digits"),
        ("1234567890123456", "7 to 15 digits"),
        ("alice@s.whatsapp.net", "bad user part"),
        ("15551234567@example.com", "unknown server"),
        ("@s.whatsapp.net", "not a valid JID"),
        ("15551234567@", "not a valid JID"),
        ("1" * 300 + "@s.whatsapp.net", "at most 256 characters"),
        ("crash@s.whatsapp.net", "bad user part"),  # only the fake backend knows this user
    ],
)
def test_bad_targets_are_rejected_with_a_reason(given, reason):
    with pytest.raises(ValueError, match=reason):
        normalize_target(given)


def test_fake_control_users_only_with_the_fake_backend():
    assert normalize_target("crash@s.whatsapp.net", fake=True) == "crash@s.whatsapp.net"
    assert normalize_target("hang", fake=True) == "hang@s.whatsapp.net"
    assert normalize_jid("fail@g.us", fake=True) == "fail@g.us"


def test_phone_normalisation():
    assert normalize_phone(" +44 7911 123456 ") == "447911123456"


def test_valid_arguments_come_back_normalised():
    assert validate("fetch_avatar", ("+1 555 123 4567",), {"preview": True}).model_dump() == {
        "jid": ALICE,
        "preview": True,
        "is_community": False,
    }
    assert validate("send_text", (), {"to": "15551234567", "text": "hi", "reply_to": "3EB0AB"}).model_dump() == {
        "to": ALICE,
        "text": "hi",
        "reply_to": "3EB0AB",
        "reply_to_sender": None,
        "mentions": None,
        "reply_to_text": None,
        "typing": None,
    }
    reply_in_group = validate("send_text", (GROUP, "hi", "3EB0AB", "+1 555 123 4567"), {})
    assert (reply_in_group.to, reply_in_group.reply_to_sender) == (GROUP, ALICE)
    assert validate("user_info", ([ALICE, "15551234567", "+15550002222"],), {}).jids == [
        ALICE,
        "15550002222@s.whatsapp.net",
    ]
    assert validate("is_on_whatsapp", (["+1 555 123 4567", ALICE],), {}).phones == ["+15551234567"]
    assert validate("group_info", (GROUP,), {}).jid == GROUP
    assert validate("joined_groups", (), {}).model_dump() == {}
    assert validate("react", (GROUP, "3EB0AA", "", "+1 555 123 4567"), {}).model_dump() == {
        "chat": GROUP,
        "message_id": "3EB0AA",
        "emoji": "",
        "sender": ALICE,
    }
    assert validate("mark_read", (GROUP, ["A1", "B2"], ALICE), {}).model_dump() == {
        "chat": GROUP,
        "ids": ["A1", "B2"],
        "sender": ALICE,
    }


@pytest.mark.parametrize(
    ("operation", "args", "kwargs", "message"),
    [
        ("fetch_avatar", (), {}, "jid: Field required"),
        ("fetch_avatar", (), {"jid": 15551234567}, "jid: Input should be a valid string"),
        ("fetch_avatar", (ALICE,), {"preview": "yes"}, "preview: Input should be a valid boolean"),
        ("fetch_avatar", (ALICE,), {"preview": 1}, "preview: Input should be a valid boolean"),
        ("fetch_avatar", (ALICE,), {"size": "big"}, "size: Extra inputs are not permitted"),
        ("fetch_avatar", (ALICE, False, False, 1), {}, "takes at most 3 positional arguments"),
        ("fetch_avatar", (ALICE,), {"jid": ALICE}, "jid: given twice"),
        ("fetch_avatar", ("not a jid",), {}, "jid: 'not a jid' is neither a JID nor a phone number"),
        ("send_text", (ALICE,), {}, "text: Field required"),
        ("send_text", (ALICE, "x" * 1_048_576), {}, "text: String should have at most 65536 characters"),
        ("send_text", (ALICE, "   "), {}, "text: text is blank"),
        ("send_text", (ALICE, "hi", "not an id!"), {}, "reply_to: String should match pattern"),
        # whose message a group reply quotes: WhatsApp finds the quoted message by id and sender
        ("send_text", (GROUP, "hi", "3EB0AB"), {}, "reply_to_sender (who sent the quoted message) is required"),
        ("send_text", (ALICE, "hi"), {"reply_to_sender": ALICE}, "reply_to_sender is only meaningful with reply_to"),
        ("send_text", (ALICE, "hi", "3EB0AB", "someone"), {}, "reply_to_sender: 'someone' is neither"),
        ("send_image", (ALICE,), {}, "image: Field required"),
        ("send_image", (ALICE, "aGk="), {"view_once": "true"}, "view_once: Input should be a valid boolean"),
        ("send_location", (ALICE, 91, 0), {}, "latitude: Input should be less than or equal to 90"),
        ("send_location", (ALICE, 0, -180.5), {}, "longitude: Input should be greater than or equal to -180"),
        ("send_location", (ALICE, "52.5", 13.4), {}, "latitude: Input should be a number"),
        ("send_location", (ALICE, True, 13.4), {}, "latitude: Input should be a number"),
        ("send_location", (ALICE, float("nan"), 13.4), {}, "latitude: Input should be a finite number"),
        ("send_location", (ALICE, 52.5), {}, "longitude: Field required"),
        ("send_location", (ALICE, 52.5, 13.4), {"name": "x" * 2000}, "name: String should have at most 1024"),
        ("send_location", ("nobody", 52.5, 13.4), {}, "to: 'nobody' is neither a JID nor a phone number"),
        ("send_contact", (ALICE, "Bob"), {}, "phone: Field required"),
        ("send_contact", (ALICE, "  ", "+15557654321"), {}, "name: name is blank"),
        ("send_contact", (ALICE, "Bob\nTEL:+1999", "+15557654321"), {}, "name: name must not contain line breaks"),
        ("send_contact", (ALICE, "Bob", "07911123456"), {}, "must be in international format"),
        (
            "send_contact",
            (ALICE, "Bob", "+999123456789"),
            {},
            "phone: phone number '+999123456789' has no known country code",
        ),
        ("send_contact", (ALICE, "Bob", 15557654321), {}, "phone: Input should be a valid string"),
        ("send_link", (ALICE,), {}, "url: Field required"),
        ("send_link", (ALICE, "ftp://example.com/x"), {}, "is not an http(s) URL with a host"),
        ("send_link", (ALICE, "https:///path"), {}, "is not an http(s) URL with a host"),
        ("send_link", (ALICE, "javascript:alert(1)"), {}, "is not an http(s) URL with a host"),
        ("send_link", (ALICE, "https://example.com/a b"), {}, "url must not contain spaces"),
        ("send_link", (ALICE, "https://example.com/\nx"), {}, "url must not contain spaces"),
        ("send_link", (ALICE, "https://example.com/" + "a" * 2100), {}, "url: String should have at most 2048"),
        ("send_link", (ALICE, "https://[::1"), {}, "is not a URL"),
        ("send_poll", (ALICE, "Lunch?", ["Pizza"]), {}, "options: List should have at least 2 items"),
        ("send_poll", (ALICE, "Lunch?", [str(n) for n in range(13)]), {}, "options: List should have at most 12"),
        ("send_poll", (ALICE, "Lunch?", ["Pizza", "Pizza"]), {}, "options: options must be unique"),
        ("send_poll", (ALICE, "Lunch?", ["Pizza", " "]), {}, "options: an option is blank"),
        ("send_poll", (ALICE, "Lunch?", ["Pizza", "x" * 101]), {}, "an option has more than 100 characters"),
        ("send_poll", (ALICE, " ", ["a", "b"]), {}, "question: question is blank"),
        ("send_poll", (ALICE, "Lunch?", ["a", "b"], 3), {}, "max_answers (3) is more than the 2 options"),
        ("send_poll", (ALICE, "Lunch?", ["a", "b"], 0), {}, "max_answers: Input should be greater than or equal to 1"),
        ("send_poll", (ALICE, "Lunch?", ["a", "b"], "2"), {}, "max_answers: Input should be a valid integer"),
        ("send_poll", (ALICE, "Lunch?", ["a", 2]), {}, "options.1: Input should be a valid string"),
        ("send_file", (ALICE,), {}, "file: Field required"),
        ("send_file", (ALICE, "aGk="), {"filename": "../../etc/passwd"}, "filename must be a plain file name"),
        ("send_file", (ALICE, "aGk="), {"filename": "a\nb.pdf"}, "filename must be a plain file name"),
        ("send_file", (ALICE, "aGk="), {"filename": ".."}, "filename must be a plain file name"),
        ("send_file", (ALICE, "aGk="), {"filename": ""}, "filename: String should have at least 1 character"),
        ("send_file", (ALICE, "x" * 23_000_001), {}, "file: String should have at most 23000000 characters"),
        ("send_sticker", (ALICE,), {}, "sticker: Field required"),
        ("send_sticker", (ALICE, "x" * 1_400_001), {}, "sticker: String should have at most 1400000 characters"),
        ("send_audio", (ALICE,), {}, "audio: Field required"),
        ("send_video", (ALICE,), {}, "video: Field required"),
        ("send_video", (ALICE, "aGk="), {"view_once": "yes"}, "view_once: Input should be a valid boolean"),
        ("send_audio", (ALICE, "aGk="), {"ptt": 1}, "ptt: Input should be a valid boolean"),
        ("user_info", ([],), {}, "jids: List should have at least 1 item"),
        ("user_info", (ALICE,), {}, "jids: Input should be a valid list"),
        ("user_info", ([ALICE] * 101,), {}, "jids: List should have at most 100 items"),
        ("is_on_whatsapp", (["12"],), {}, "7 to 15 digits"),
        (
            "is_on_whatsapp",
            (["251556368777322@lid"],),
            {},
            "phones: '251556368777322@lid' is not a phone number (a LID or group JID has none to look up)",
        ),
        ("group_info", (ALICE,), {}, "is not a group JID"),
        ("mark_read", (GROUP, ["A1"]), {}, "sender is required when chat is a group"),
        ("mark_read", (ALICE, ["bad id!"]), {}, "is not a message id"),
        ("joined_groups", (1,), {}, "takes at most 0 positional arguments"),
        ("my_privacy", ("me",), {}, "takes at most 0 positional arguments"),
        ("contacts", (), {"limit": 10}, "limit: Extra inputs are not permitted"),
        ("react", (ALICE, "3EB0AA"), {}, "emoji: Field required"),
        ("react", (ALICE, "not an id!", "👍"), {}, "message_id: String should match pattern"),
        ("react", (ALICE, "3EB0AA", "a b"), {}, "emoji: emoji must be an emoji"),
        ("react", (ALICE, "3EB0AA", "👍" * 33), {}, "emoji: String should have at most 32 characters"),
        ("react", (GROUP, "3EB0AA", "👍"), {}, "sender (who sent the message) is required when chat is a group"),
        ("react", ("someone", "3EB0AA", "👍"), {}, "chat: 'someone' is neither"),
        ("react", (ALICE, "3EB0AA", "👍", "nobody"), {}, "sender: 'nobody' is neither"),
        ("revoke", (ALICE,), {}, "message_id: Field required"),
        ("send_presence", (), {}, "presence: Field required"),
        ("reject_call", ("ABC123",), {}, "caller: Field required"),
        ("reject_call", ("bad id!", ALICE), {}, "call_id: String should match pattern"),
        ("reject_call", ("ABC123", "nobody"), {}, "caller: 'nobody' is neither"),
        ("reject_call", (123, ALICE), {}, "call_id: Input should be a valid string"),
        ("set_disappearing", (ALICE, 3600), {}, "seconds: must be one of WhatsApp's timers: 0 (off), 86400"),
        ("set_disappearing", (ALICE, "86400"), {}, "seconds: Input should be a valid integer"),
        ("set_disappearing", (ALICE, 86400.0), {}, "seconds: Input should be a valid integer"),
        ("set_disappearing", (ALICE, True), {}, "seconds: Input should be a valid integer"),
        (
            "set_disappearing",
            ("120363000000000001@newsletter", 0),
            {},
            "chat: '120363000000000001@newsletter' is neither a user nor a group chat",
        ),
        ("send_chat_presence", (ALICE, "typing"), {}, "state: Input should be 'composing', 'recording' or 'paused'"),
        ("send_chat_presence", ("nobody", "paused"), {}, "chat: 'nobody' is neither"),
        ("send_chat_presence", (ALICE,), {}, "state: Field required"),
        ("send_presence", ("away",), {}, "presence: Input should be 'available' or 'unavailable'"),
        ("send_presence", ("AVAILABLE",), {}, "presence: Input should be 'available' or 'unavailable'"),
        ("edit_message", (ALICE, "3EB0AA"), {}, "text: Field required"),
        ("edit_message", (ALICE, "3EB0AA", "  "), {}, "text: text is blank"),
        ("edit_message", (ALICE, "3EB0AA", "x" * 65_537), {}, "text: String should have at most 65536 characters"),
        ("edit_message", (ALICE, "3EB0AA", "hi"), {"sender": ALICE}, "sender: Extra inputs are not permitted"),
        ("revoke", (ALICE, ""), {}, "message_id: String should have at least 1 character"),
        ("revoke", (ALICE, "3EB0AA"), {"emoji": "x"}, "emoji: Extra inputs are not permitted"),
        ("revoke", (ALICE, "3EB0AA", "nobody"), {}, "sender: 'nobody' is neither"),
        ("my_privacy", (), {"jid": "me"}, "jid: Extra inputs are not permitted"),
    ],
)
def test_bad_arguments_raise_invalid_arguments(operation, args, kwargs, message):
    with pytest.raises(InvalidArguments) as caught:
        validate(operation, args, kwargs)
    text = str(caught.value)
    assert text.startswith(f"invalid arguments for {operation}: ")
    assert message in text
    assert caught.value.permanent is True


def test_send_location_takes_json_numbers():
    args = validate("send_location", ("+1 555 123 4567", 52, -13.25), {"name": "Office"})
    assert args.model_dump() == {
        "to": ALICE,
        "latitude": 52.0,
        "longitude": -13.25,
        "name": "Office",
        "address": None,
        "typing": None,
    }


def test_send_contact_normalises_the_number():
    args = validate("send_contact", (ALICE, " Bob ", "+1 (555) 765-4321"), {})
    assert (args.name, args.phone) == ("Bob", "15557654321")
    assert validate("send_contact", (ALICE, "Bob", "15557654321@s.whatsapp.net"), {}).phone == "15557654321"


def test_the_message_never_echoes_a_huge_input():
    with pytest.raises(InvalidArguments) as caught:
        validate("send_text", (ALICE, "y" * 1_048_576), {})
    assert len(str(caught.value)) < 200


def test_job_functions_validate_before_needing_a_worker():
    # Outside a wa-worker the arguments are still checked first (and fail permanently)...
    with pytest.raises(InvalidArguments, match="jid: Field required"):
        wa.fetch_avatar()
    # ...while good arguments say where the job must run.
    with pytest.raises(RuntimeError, match="run only in `wagw wa-worker`"):
        wa.fetch_avatar(ALICE)


def test_job_functions_show_their_arguments():
    assert list(inspect.signature(wa.send_text).parameters) == [
        "to",
        "text",
        "reply_to",
        "reply_to_sender",
        "mentions",
        "reply_to_text",
        "typing",
    ]
    assert inspect.signature(wa.fetch_avatar).parameters["preview"].default is False
    assert operations.operation_of("workers.wa.mark_read") is operations.OPERATIONS["mark_read"]
    assert operations.operation_of("workers.webhooks.deliver") is None


# Images -----------------------------------------------------------------------------------
def test_image_sources_are_told_apart(tmp_path):
    picture = tmp_path / "a.png"
    picture.write_bytes(PNG)
    encoded = base64.b64encode(PNG).decode()
    assert media.image_source("https://example.com/a.png", tmp_path) == ("url", "https://example.com/a.png")
    assert media.image_source(str(picture), tmp_path) == ("path", str(picture))
    assert media.image_source("./a.png", tmp_path) == ("path", "./a.png")
    assert media.image_source(f"file://{picture}", tmp_path) == ("path", str(picture))
    assert media.image_source(encoded, tmp_path) == ("bytes", encoded)
    assert media.image_source(f"data:image/png;base64,{encoded}", tmp_path) == ("bytes", encoded)
    # A JPEG's base64 starts with a slash: still base64 when no such file exists.
    assert media.image_source("/9j/4AAQSkZJRg==", tmp_path)[0] == "bytes"


def test_images_are_decoded_sniffed_and_bounded(tmp_path):
    assert media.decode_base64(base64.b64encode(PNG).decode()) == PNG
    assert media.sniff_image(PNG) == "image/png"
    assert media.sniff_image(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert media.sniff_image(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"
    with pytest.raises(InvalidArguments, match="not a JPEG, PNG, GIF or WebP"):
        media.sniff_image(b"%PDF-1.7")
    with pytest.raises(InvalidArguments, match="not an http\\(s\\) URL, base64 data or a file in the media folder"):
        media.decode_base64("this is not base64!")
    with pytest.raises(InvalidArguments, match="not a file in the media folder"):
        media.read_media_file(str(tmp_path / "missing.png"), tmp_path)
    with pytest.raises(InvalidArguments, match="more than"):
        media.check_image_size(media.MAX_IMAGE_BYTES + 1)


def test_media_types_are_sniffed_from_a_few_magic_numbers():
    assert media.sniff(b"%PDF-1.4") == "application/pdf"
    assert media.sniff(b"PK\x03\x04rest") == "application/zip"
    assert media.sniff(b"\0\0\0\x18ftypmp42") == "video/mp4"
    assert media.sniff(b"\0\0\0\x18ftypM4A ") == "audio/mp4"
    assert media.sniff(b"OggS\0") == "audio/ogg"
    assert media.sniff(b"ID3\x04") == "audio/mpeg"
    assert media.sniff(b"RIFF\0\0\0\0WAVEfmt ") == "audio/wav"
    assert media.sniff(b"hello, world") is None


def test_a_document_is_bounded_by_its_own_cap(tmp_path):
    from wagw.operations.args import MAX_DOCUMENT_BYTES

    big = tmp_path / "big.pdf"
    with big.open("wb") as out:
        out.truncate(MAX_DOCUMENT_BYTES + 1)
    with pytest.raises(InvalidArguments, match="send_file: file: 104857601 bytes is more than 104857600 bytes"):
        media.read_media_file(str(big), tmp_path, media.DOCUMENT)
    media.check_size(MAX_DOCUMENT_BYTES, media.DOCUMENT)  # the cap itself is fine
    with pytest.raises(InvalidArguments, match=r"send_image: image: .* is more than"):
        media.check_size(media.MAX_IMAGE_BYTES + 1, media.IMAGE)


def test_a_sticker_is_one_static_image_made_512_square(tmp_path):
    from PIL import Image

    from wagw.config import Settings

    settings = Settings(_env_file=None, data_dir=tmp_path)

    def prepare(data: bytes) -> dict:
        return media.prepare(
            "send_sticker", {"to": "1@s.whatsapp.net", "sticker": base64.b64encode(data).decode()}, settings, None
        )

    big = io.BytesIO()
    Image.new("RGBA", (1024, 600), (0, 0, 255, 100)).save(big, "webp")
    params = prepare(big.getvalue())
    with Image.open(io.BytesIO(base64.b64decode(params["sticker_b64"]))) as scaled:
        assert scaled.size == (512, 512) and scaled.mode == "RGBA" and params["mimetype"] == "image/png"
        assert scaled.getpixel((256, 0))[3] == 0 and scaled.getpixel((256, 256)) == (0, 0, 255, 100)
    frames = [Image.new("RGB", (32, 32), colour) for colour in ("red", "blue")]
    animated = io.BytesIO()
    frames[0].save(animated, "webp", save_all=True, append_images=frames[1:])
    with pytest.raises(InvalidArguments, match="send_sticker: sticker: an animated image"):
        prepare(animated.getvalue())
    with pytest.raises(InvalidArguments, match="send_sticker: sticker: not a JPEG, PNG or WebP image"):
        prepare(b"GIF89a" + b"1" * 30)
    with pytest.raises(InvalidArguments, match="send_sticker: sticker: the image does not decode"):
        prepare(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(InvalidArguments, match="is more than 1048576 bytes"):
        media.check_size(1024 * 1024 + 1, media.STICKER)


def test_audio_is_typed_from_its_bytes_and_a_voice_note_is_ogg_opus(tmp_path):
    from tests.audiofiles import MP3, m4a, ogg_opus
    from wagw.config import Settings
    from wagw.operations.audio import duration

    settings = Settings(_env_file=None, data_dir=tmp_path)

    def mimetype(data: bytes, ptt: bool = False) -> str:
        params = {"to": "1@s.whatsapp.net", "audio": base64.b64encode(data).decode(), "ptt": ptt}
        return media.prepare("send_audio", params, settings, None)["mimetype"]

    assert mimetype(ogg_opus(5), ptt=True) == "audio/ogg; codecs=opus"
    assert mimetype(MP3) == "audio/mpeg" and mimetype(m4a(3)) == "audio/mp4"
    with pytest.raises(InvalidArguments, match="send_audio: audio: a voice note \\(ptt\\) must be Ogg Opus audio"):
        mimetype(MP3, ptt=True)
    with pytest.raises(InvalidArguments, match="send_audio: audio: not Ogg, MP3 or M4A audio"):
        mimetype(b"%PDF-1.7 not audio")
    assert duration(ogg_opus(7.4), "audio/ogg; codecs=opus") == 7
    assert duration(m4a(95), "audio/mp4") == 95
    assert duration(MP3, "audio/mpeg") is None
    assert duration(b"OggS\0broken", "audio/ogg") is None


def test_an_image_that_does_not_decode_is_invalid_before_it_reaches_the_host(tmp_path):
    """Finding 7: these pass the magic-bytes check; Pillow (in neonize) cannot open them."""
    from wagw.config import Settings

    settings = Settings(_env_file=None, data_dir=tmp_path)
    for corrupt in (b"\xff\xd8\xff\xe0" + b"\0junk" * 50, b"\x89PNG\r\n\x1a\n" + b"\0" * 64, b"GIF89a" + b"1" * 30):
        image = base64.b64encode(corrupt).decode()
        with pytest.raises(InvalidArguments, match="image: the image does not decode") as caught:
            media.image_params({"to": "1@s.whatsapp.net", "image": image}, settings, None)
        assert caught.value.permanent


def test_an_address_argument_is_read_one_way():
    """The address rule is written once (args.Address): every argument that names one person
    or chat is of that type, and the narrower rules (a group, a list of people, a chat with a
    timer) read the address with the same function first."""
    from wagw.operations import args

    assert inspect.getsource(args).count("normalize_target(") == 1
    single = ("to", "chat", "sender", "reply_to_sender", "caller")
    narrower = {("SetDisappearingArgs", "chat")}  # its own rule, after the address is read
    seen = 0
    for op in operations.OPERATIONS.values():
        for name, field in op.args.model_fields.items():
            if name not in single and not (name == "jid" and op.name == "fetch_avatar"):
                continue
            if (op.args.__name__, name) in narrower:
                continue
            validators = [getattr(item, "func", None) for item in field.metadata]
            if not validators and field.annotation is not str:  # optional: Address | None
                (inner,) = [arg for arg in field.annotation.__args__ if arg is not type(None)]
                validators = [getattr(item, "func", None) for item in inner.__metadata__]
            # An Address first; a media message's `to` then refuses a channel (MediaTarget).
            assert validators[:1] == [args._address], f"{op.name}.{name} is not an Address"
            assert validators[1:] in ([], [args._not_a_channel]), f"{op.name}.{name}: {validators}"
            seen += 1
    assert seen >= 20


def test_typing_is_true_or_seconds_up_to_twenty():
    assert validate("send_text", (ALICE, "hi"), {"typing": True}).typing is True
    assert validate("send_text", (ALICE, "hi"), {"typing": 2.5}).typing == 2.5
    assert validate("send_audio", (ALICE, "https://example.com/a.ogg"), {"typing": 3}).typing == 3
    for bad in ("yes", -1, 21, [1]):
        with pytest.raises(InvalidArguments, match="typing"):
            validate("send_text", (ALICE, "hi"), {"typing": bad})
