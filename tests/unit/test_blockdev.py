"""BlockDevice: cached block I/O over a disk-image file, write-back on flush, readable errors."""
import errno

import pytest

from moss_host.errors import Errno
from moss_host.fs.blockdev import BlockDevice, BlockDeviceError


def image(tmp_path, nbytes=8192, fill=b"\0"):
    p = tmp_path / "disk.img"
    p.write_bytes((fill * nbytes)[:nbytes])
    return p


def test_reads_are_block_granular_and_cached(tmp_path):
    p = tmp_path / "d.img"
    p.write_bytes(bytes(range(256)) * 32)
    dev = BlockDevice(str(p), read_only=True)
    assert dev.num_blocks == 8
    assert dev.read_block(1) == (bytes(range(256)) * 4)
    assert 1 in dev.cache


def test_writes_reach_the_image_only_on_flush(tmp_path):
    p = image(tmp_path)
    dev = BlockDevice(str(p))
    dev.write_block(2, b"abc")
    assert dev.read_block(2)[:4] == b"abc\0"
    assert p.read_bytes()[2048:2051] == b"\0\0\0"
    dev.flush()
    assert p.read_bytes()[2048:2051] == b"abc"
    assert not dev.dirty


def test_in_place_edit_with_mark_dirty_is_written_back(tmp_path):
    p = image(tmp_path)
    with BlockDevice(str(p)) as dev:
        buf = dev.block(7)
        buf[10:12] = b"hi"
        dev.mark_dirty(7)
    assert p.read_bytes()[7 * 1024 + 10:7 * 1024 + 12] == b"hi"


def test_missing_image_is_a_readable_enoent(tmp_path):
    with pytest.raises(BlockDeviceError) as e:
        BlockDevice(str(tmp_path / "nope.img"))
    assert e.value.code == errno.ENOENT and "does not exist" in str(e.value)


def test_reading_past_the_end_of_a_short_image_is_eio(tmp_path):
    dev = BlockDevice(str(image(tmp_path, 1500)), read_only=True)
    with pytest.raises(Errno) as e:
        dev.read_block(1)
    assert e.value.code == errno.EIO and "too short" in str(e.value)


def test_writing_a_read_only_device_is_erofs(tmp_path):
    dev = BlockDevice(str(image(tmp_path)), read_only=True)
    with pytest.raises(Errno) as e:
        dev.write_block(0, b"x")
    assert e.value.code == errno.EROFS


def test_eviction_keeps_dirty_blocks(tmp_path):
    p = image(tmp_path, 64 * 1024)
    dev = BlockDevice(str(p), cache_blocks=4)
    dev.write_block(0, b"dirty")
    for b in range(1, 40):
        dev.read_block(b)
    assert 0 in dev.cache and len(dev.cache) <= 5
    dev.flush()
    assert p.read_bytes()[:5] == b"dirty"


def test_a_buffer_handed_out_for_editing_survives_eviction(tmp_path):
    p = image(tmp_path, 64 * 1024)
    dev = BlockDevice(str(p), cache_blocks=4)
    buf = dev.block(3)
    for b in range(10, 40):
        dev.read_block(b)                 # enough reads to evict everything evictable
    buf[:4] = b"late"
    dev.mark_dirty(3)
    assert dev.block(3) is buf
    dev.flush()
    assert p.read_bytes()[3 * 1024:3 * 1024 + 4] == b"late"


def test_drop_clean_forgets_only_what_the_image_has(tmp_path):
    dev = BlockDevice(str(image(tmp_path)))
    dev.read_block(0)
    dev.write_block(1, b"dirty")
    dev.block(2)                                    # pinned: handed out for editing
    dev.read_block(3)
    dev.drop_clean()
    assert sorted(dev.cache) == [1, 2]
    assert dev.read_block(1)[:5] == b"dirty"
