import os
import pathlib
import socket

import pytest

# Read once at start-up: fixtures that isolate a test from the user's
# environment remove the variable before `real_data_dir` runs.
_REAL_DATA_DIR = os.environ.get("KERAS_NIHR_DATA_DIR")


@pytest.fixture
def real_data_dir():
    """Directory of the real data sets, from `KERAS_NIHR_DATA_DIR`.

    Tests that use this fixture are skipped when the variable was unset
    when the tests started, so the suite also runs on a machine without
    the data files.
    """
    value = _REAL_DATA_DIR
    if not value:
        pytest.skip("KERAS_NIHR_DATA_DIR is not set")
    path = pathlib.Path(value)
    if not path.is_dir():
        pytest.fail(
            f"KERAS_NIHR_DATA_DIR={value} is not a directory. Point it at "
            "the folder that holds mnist.npz and the cifar10_*.npz files."
        )
    return path


_LOCAL_HOSTS = ("127.0.0.1", "::1", "localhost")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Fail every test that tries to reach another host.

    Data-set downloads (tfds, `keras.datasets`) must never run in tests.
    Resolving or connecting to a non-loopback host raises at once, and the
    test fails at teardown even if the code under test caught that error,
    so a forgotten `download=False` or data directory cannot hide.
    """
    attempts = []

    def reject(target):
        attempts.append(target)
        raise RuntimeError(
            f"Test tried to reach {target!r}. Tests must not use the "
            "network: pass a data directory or a fake."
        )

    original_connect = socket.socket.connect
    original_getaddrinfo = socket.getaddrinfo

    def guarded_connect(sock, address):
        is_inet = sock.family in (socket.AF_INET, socket.AF_INET6)
        if is_inet and address[0] not in _LOCAL_HOSTS:
            reject(address)
        return original_connect(sock, address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host not in (None, *_LOCAL_HOSTS):
            reject(host)
        return original_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    yield
    if attempts:
        pytest.fail(f"Test tried to use the network: {attempts}")
