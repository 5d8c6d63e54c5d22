"""``download-data cifar10 DIR`` against a local HTTP server on 127.0.0.1: good, corrupted, short, missing archives and a server that is gone."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import pickle
import re
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from ofa_dash.cli import main
from ofa_dash.data import CIFAR10_CHECKSUM, DatasetError, download_cifar10, load_dataset, parse_checksum

BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def _archive() -> bytes:
    """A CIFAR-10 python archive in the official layout, 4 images per batch."""
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in BATCHES:
            batch = {b"batch_label": b"x", b"labels": [0, 1, 2, 3], b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"filenames": [b"a.png"] * 4}
            raw = pickle.dumps(batch)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return buf.getvalue()


ARCHIVE = _archive()
SHA256 = f"sha256:{hashlib.sha256(ARCHIVE).hexdigest()}"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/good.tar.gz":
            self._send(ARCHIVE)
        elif self.path == "/corrupt.tar.gz":
            damaged = bytearray(ARCHIVE)
            damaged[len(damaged) // 2] ^= 0xFF
            self._send(bytes(damaged))
        elif self.path == "/short.tar.gz":  # announces the whole archive, sends half, hangs up
            self._send(ARCHIVE[: len(ARCHIVE) // 2], length=len(ARCHIVE))
            self.close_connection = True
        else:
            self.send_error(404, "Not Found")

    def _send(self, body: bytes, length: int | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/gzip")
        self.send_header("Content-Length", str(length if length is not None else len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


def _final_line(err: str) -> str:
    return [line for line in re.split(r"[\r\n]", err) if line.strip()][-1]


def _cli(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_good_archive_is_verified_kept_and_loads(server, tmp_path, capsys):
    dest = tmp_path / "cifar10"
    code, stdout, err = _cli(capsys, "download-data", "cifar10", str(dest), "--url", f"{server}/good.tar.gz", "--checksum", SHA256, "--json")
    assert code == 0, err
    assert f"{len(ARCHIVE) / 1024:.1f}k" in err  # progress counts bytes (KiB here)
    result = json.loads(stdout)
    archive = Path(result["archive"])
    assert archive == dest / "cifar-10-python.tar.gz" and archive.read_bytes() == ARCHIVE and result["checksum"] == SHA256
    assert sorted(p.name for p in dest.iterdir()) == ["cifar-10-python.tar.gz"]  # no temporaries left
    data = load_dataset(dest, cache_dir=tmp_path / "cache")
    assert data.train.images.shape == (20, 32, 32, 3) and len(data.test) == 4
    # a second call finds the verified archive and fetches nothing (the server is not even asked)
    assert download_cifar10(dest, url=f"{server}/missing", checksum=SHA256) == archive


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/corrupt.tar.gz", "failed its sha256 check"),
        ("/short.tar.gz", f"stopped after {len(ARCHIVE) // 2:,} of {len(ARCHIVE):,} bytes"),
        ("/missing", "HTTP 404"),
    ],
)
def test_bad_downloads_fail_in_one_line_and_leave_nothing(path, message, server, tmp_path, capsys):
    dest = tmp_path / "cifar10"
    code, stdout, err = _cli(capsys, "download-data", "cifar10", str(dest), "--url", f"{server}{path}", "--checksum", SHA256)
    assert code == 2 and stdout == ""
    error = _final_line(err)  # a progress bar may precede it on the same stream
    assert error.startswith("error: ") and message in error and "--url" in error and error == err.rstrip("\n").split("\r")[-1]
    assert not dest.exists()  # not even the folder it made: an empty dataset folder would look like a dataset


def test_a_bad_download_keeps_the_archive_already_there(server, tmp_path):
    dest = tmp_path / "cifar10"
    dest.mkdir()
    (dest / "cifar-10-python.tar.gz").write_bytes(b"an older file")
    with pytest.raises(DatasetError, match="failed its sha256 check"):
        download_cifar10(dest, url=f"{server}/corrupt.tar.gz", checksum=SHA256)
    assert [p.name for p in dest.iterdir()] == ["cifar-10-python.tar.gz"] and (dest / "cifar-10-python.tar.gz").read_bytes() == b"an older file"


def test_server_gone_is_one_clear_line(tmp_path, capsys):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    url = f"http://127.0.0.1:{httpd.server_address[1]}/good.tar.gz"
    httpd.server_close()  # nobody listens on that port any more
    code, stdout, err = _cli(capsys, "download-data", "cifar10", str(tmp_path / "d"), "--url", url, "--checksum", SHA256)
    assert code == 2 and stdout == "" and err.count("\n") == 1
    assert "could not download" in err and "offline or unreachable" in err and "by hand" in err
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize(("checksum", "message"), [("crc32:1234", "not ALGORITHM:HEX"), ("sha256:abc", "has 64 hex digits"), ("md5:zz", "not ALGORITHM:HEX")])
def test_malformed_checksums_are_refused_before_anything_is_fetched(checksum, message, tmp_path):
    with pytest.raises(DatasetError, match=message):
        download_cifar10(tmp_path / "d", url="http://127.0.0.1:9/never", checksum=checksum)
    assert not (tmp_path / "d").exists()


def test_the_official_checksum_stays_the_default():
    assert parse_checksum(CIFAR10_CHECKSUM) == ("md5", "c58f30108f718f92721af3b95e74349a")
