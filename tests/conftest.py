import os

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """torch on one thread for a test module: the small problems are fastest so and
    immune to other processes' load (use with ``pytest.mark.usefixtures``)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _deb_bytes(control: bytes, files: dict[str, bytes]) -> bytes:
    """A Debian package as ``dpkg-deb`` lays it out: an ar archive of debian-binary, control.tar.xz, data.tar.xz."""
    import io
    import tarfile

    def tar_xz(members: dict[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:xz") as tf:
            for name, blob in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(blob)
                tf.addfile(info, io.BytesIO(blob))
        return buf.getvalue()

    members = {"debian-binary": b"2.0\n", "control.tar.xz": tar_xz({"./control": control}), "data.tar.xz": tar_xz(files)}
    return b"!<arch>\n" + b"".join(f"{n:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(b):<10}`\n".encode() + b + b"\n" * (len(b) % 2)
                                   for n, b in members.items())


@pytest.fixture
def make_deb():
    """``make_deb(path, control, files)`` writes a ``.deb`` holding ``files`` (path → bytes) and returns its path."""
    def make(path, control: bytes, files: dict[str, bytes]):
        path.write_bytes(_deb_bytes(control, files))
        return path
    return make
