"""The extended attributes of one ext4 file, as fs/ext4/xattr.c keeps them: in the inode body
after i_extra_isize first, in one external xattr block (i_file_acl) when they do not fit.

Setting follows ext4_xattr_set_handle: try the inode body (the entry replaced where it is,
or appended); if it does not fit there, the block (entries sorted), and the old copy leaves
the body. A value too big for either is ENOSPC (no ea_inode feature). A block shared with
other inodes (h_refcount > 1) is copied before it changes; a block left empty is released.
Not done: sharing identical blocks between inodes (Linux's mbcache); e2fsck does not need it.
"""
from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Optional

from ....errors import EEXIST, ENODATA, ENOSPC, EOPNOTSUPP, Errno
from ...vfs import now_ns
from ...xattr import POSIX_ACL_ACCESS, POSIX_ACL_DEFAULT, SECURITY, TRUSTED, USER, XATTR_CREATE, XATTR_REPLACE
from .inode import EXT4_GOOD_OLD_INODE_SIZE
from .superblock import COMPAT_EXT_ATTR
from .xattr import (XATTR_BLOCK_CHECKSUM, XEntry, block_entries, block_sort_key, drop_xattr_block_ref, encode_block,
                    ibody_entries, store_ibody, xattr_block_checksum)

if TYPE_CHECKING:
    from .node import Ext4Inode

# ext4_xattr_handler_map: name index -> prefix (a whole name for the POSIX ACLs). Index 7
# (system.data, inline data) has no handler: never listed, never reachable by name.
PREFIXES = {1: USER, 2: POSIX_ACL_ACCESS, 3: POSIX_ACL_DEFAULT, 4: TRUSTED, 6: SECURITY}
POSIX_ACL_XATTR_VERSION = 2
ACL_USER, ACL_GROUP = 0x02, 0x08
ACL_UNDEFINED_ID = 0xFFFFFFFF
NAMESPACES: tuple[bytes, ...] = (USER, POSIX_ACL_ACCESS, POSIX_ACL_DEFAULT, TRUSTED, SECURITY)


def split_name(full: bytes) -> tuple[int, bytes]:
    """(name index, the name after the prefix) of a full name fs/xattr.py resolved."""
    for index, prefix in PREFIXES.items():
        if prefix.endswith(b".") and full.startswith(prefix):
            return index, full[len(prefix):]
        if full == prefix:
            return index, b""
    raise Errno(EOPNOTSUPP)


def _find(entries: list[XEntry], index: int, name: bytes) -> Optional[int]:
    for i, e in enumerate(entries):
        if e.name_index == index and e.name == name:
            return i
    return None


def _block(inode: "Ext4Inode") -> list[XEntry]:
    blk = inode.disk.file_acl
    return block_entries(inode.fs.blockdev.read_block(blk)) if blk else []


def xattr_get(inode: "Ext4Inode", full: bytes) -> bytes:
    """ext4_xattr_get: the inode body, then the block; ENODATA."""
    index, name = split_name(full)
    for entries in (ibody_entries(inode.disk), _block(inode)):
        i = _find(entries, index, name)
        if i is not None:
            value = entries[i].value
            return acl_to_xattr(value) if full in (POSIX_ACL_ACCESS, POSIX_ACL_DEFAULT) else value
    raise Errno(ENODATA)


def acl_to_xattr(stored: bytes) -> bytes:
    """ext4_acl_from_disk, then posix_acl_to_xattr: ext4 keeps version 1 with short entries
    (tag, perm) for USER_OBJ, GROUP_OBJ, MASK and OTHER and (tag, perm, id) for USER and GROUP;
    user space reads version 2, every entry (tag, perm, id) with id -1 where none applies."""
    out, off = [struct.pack("<I", POSIX_ACL_XATTR_VERSION)], 4
    while off + 4 <= len(stored):
        tag, perm = struct.unpack_from("<HH", stored, off)
        if tag in (ACL_USER, ACL_GROUP):
            ident = struct.unpack_from("<I", stored, off + 4)[0]
            off += 8
        else:
            ident, off = ACL_UNDEFINED_ID, off + 4
        out.append(struct.pack("<HHI", tag, perm, ident))
    return b"".join(out)


def xattr_list(inode: "Ext4Inode") -> list[bytes]:
    """ext4_listxattr: the body's names, then the block's; indexes without a handler are skipped."""
    return [PREFIXES[e.name_index] + e.name if PREFIXES[e.name_index].endswith(b".") else PREFIXES[e.name_index]
            for e in ibody_entries(inode.disk) + _block(inode) if e.name_index in PREFIXES]


def xattr_set(inode: "Ext4Inode", full: bytes, value: Optional[bytes], flags: int) -> None:
    """ext4_xattr_set_handle: set (value None: remove) with XATTR_CREATE/XATTR_REPLACE."""
    inode.fs.check_writable()
    if full in (POSIX_ACL_ACCESS, POSIX_ACL_DEFAULT):
        raise Errno(EOPNOTSUPP)             # ACLs are not kept (reading one finds none)
    index, name = split_name(full)
    body, block = ibody_entries(inode.disk), _block(inode)
    in_body, in_block = _find(body, index, name), _find(block, index, name)
    if in_body is None and in_block is None:
        if flags & XATTR_REPLACE or value is None:
            raise Errno(ENODATA)
    elif flags & XATTR_CREATE:
        raise Errno(EEXIST)
    new_body, new_block = list(body), list(block)
    if in_body is not None:
        del new_body[in_body]
    if in_block is not None:
        del new_block[in_block]
    if value is not None:
        entry = XEntry(index, name, value)
        body_try = list(body)
        if in_body is not None:
            body_try[in_body] = entry
        else:
            body_try.append(entry)
        if _fits_body(inode, body_try):
            new_body = body_try
        else:
            new_block = sorted(new_block + [entry], key=block_sort_key)
            if encode_block(new_block, inode.bs) is None:
                raise Errno(ENOSPC)
    if new_block != block:
        _write_block(inode, new_block)
    store_ibody(inode.disk, new_body)
    inode.ctime_ns = _current_time(inode)
    inode.save()
    if not inode.fs.sbd.s_feature_compat & COMPAT_EXT_ATTR:
        inode.fs.sbd.s_feature_compat |= COMPAT_EXT_ATTR      # ext4_xattr_update_super_block
        inode.fs.write_super()


def _current_time(inode: "Ext4Inode") -> int:
    """current_time(): whole seconds on a filesystem of 128-byte inodes, which keep no
    nanoseconds (its s_time_gran, as the oracle shows), nanoseconds otherwise."""
    now = now_ns()
    if len(inode.disk.raw) <= EXT4_GOOD_OLD_INODE_SIZE:
        now -= now % 1_000_000_000
    return now


def _fits_body(inode: "Ext4Inode", entries: list[XEntry]) -> bool:
    """Would the entries fit in the inode body? (store_ibody on a copy of the record.)"""
    saved = bytes(inode.disk.raw)
    ok = store_ibody(inode.disk, entries)
    inode.disk.raw[:] = saved
    return ok


def _write_block(inode: "Ext4Inode", entries: list[XEntry]) -> None:
    """Put the block's new entries on disk: in place if only this inode uses the block, else in
    a new block (the shared one loses a reference); no entries: the inode lets the block go."""
    fs, disk, bs = inode.fs, inode.disk, inode.bs
    old = disk.file_acl
    seed = fs.sbd.csum_seed if fs.csum else None
    if old:
        buf = fs.blockdev.block(old)
        refs = struct.unpack_from("<I", buf, 4)[0]
        if entries and refs <= 1:
            _store(inode, old, entries)
            return
        if drop_xattr_block_ref(buf, old, seed):
            fs.alloc.free_blocks(old, 1)
        else:
            fs.blockdev.mark_dirty(old)
        _set_file_acl(inode, 0)
        disk.set_blocks_512(disk.blocks_512(bs) - bs // 512, bs)
    if entries:
        g = (inode.ino - 1) // fs.sbd.s_inodes_per_group
        blk = fs.alloc.alloc_blocks(fs.groups.group_start(g), 1)[0]
        _store(inode, blk, entries)
        _set_file_acl(inode, blk)
        disk.set_blocks_512(disk.blocks_512(bs) + bs // 512, bs)


def _store(inode: "Ext4Inode", blk: int, entries: list[XEntry]) -> None:
    fs = inode.fs
    buf = encode_block(entries, inode.bs)
    assert buf is not None                  # xattr_set checked that they fit
    if fs.csum:
        struct.pack_into("<I", buf, XATTR_BLOCK_CHECKSUM, xattr_block_checksum(fs.sbd.csum_seed, blk, bytes(buf)))
    fs.blockdev.write_block(blk, buf)


def _set_file_acl(inode: "Ext4Inode", blk: int) -> None:
    inode.disk.i_file_acl_lo, inode.disk.l_i_file_acl_high = blk & 0xFFFFFFFF, blk >> 32
