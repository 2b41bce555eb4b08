"""``watchfloor up``'s stack refuses ports something else already listens on."""

from __future__ import annotations

import socket

import pytest

from console.stack import Stack, StackOptions, port_in_use
from tests.support.ports import free_port


@pytest.fixture
def listener():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_a_listening_port_is_in_use_and_a_free_one_is_not(listener):
    assert port_in_use("127.0.0.1", listener)
    assert not port_in_use("127.0.0.1", free_port())


@pytest.mark.parametrize("flag", ["--port", "--console-port"])
def test_up_refuses_a_taken_port_before_starting_anything(tmp_path, listener, flag):
    server_port, console_port = (listener, free_port()) if flag == "--port" else (free_port(), listener)
    stack = Stack(StackOptions(tmp_path, server_port=server_port, console_port=console_port))
    with pytest.raises(RuntimeError, match=rf"127\.0\.0\.1:{listener} is already in use \({flag}\)"):
        stack.start()
    assert not (tmp_path / "logs").exists()  # no server was spawned
