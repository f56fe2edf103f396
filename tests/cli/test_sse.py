"""The Server-Sent Events parser."""

from gradq_client.sse import ServerSentEvent, parse_events


def test_events_fields_comments_and_ids() -> None:
    lines = [
        "retry: 2000",
        "",
        ": keep-alive",
        "",
        "id: 3-0",
        "event: epoch",
        'data: {"epoch": 3,',
        'data:  "loss": 0.5}',
        "",
        "data: no event name\r\n",
        "\r\n",
        "id: 4-1",
        "event: end",
        "data: {}",
    ]
    assert list(parse_events(lines)) == [
        ServerSentEvent("epoch", '{"epoch": 3,\n "loss": 0.5}', "3-0"),
        ServerSentEvent("message", "no event name", "3-0"),
    ]  # the last event is cut off by the end of the stream, so it is dropped
