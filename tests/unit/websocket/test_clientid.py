from __future__ import annotations

import pytest

from framework.websocket import ClientId, ClientIdFactory


def test_ids_are_unique_and_name_their_worker() -> None:
    factory = ClientIdFactory("web1.eu", 3, boot=1_700_000_000)
    ids = [factory.next() for _ in range(1000)]
    assert len(set(ids)) == 1000
    parsed = ClientId.parse(ids[70])
    assert parsed is not None
    assert (parsed.node, parsed.worker, parsed.seq) == ("web1.eu", 3, 71)
    assert str(parsed) == ids[70]
    assert factory.is_local(ids[0])
    assert not ClientIdFactory("web1.eu", 4, boot=1_700_000_000).is_local(ids[0])
    assert not ClientIdFactory("web1.eu", 3, boot=1_700_000_001).is_local(ids[0])


@pytest.mark.parametrize("text", ["", "abc", "a-b-c", "n-x-b-1", "-1-b-1"])
def test_parse_rejects_what_is_not_a_client_id(text: str) -> None:
    assert ClientId.parse(text) is None


def test_node_names_are_checked() -> None:
    with pytest.raises(ValueError, match=r"ws\.node"):
        ClientIdFactory("my-host", 0)
