"""Directories of ext2/3/4: lookup, readdir, and the namespace operations.

Entries are found by a linear scan of every block (htree indexes are only an
accelerator; see dir.py). readdir positions are byte offsets into the directory
file (block * block_size + offset in block): an entry never moves once written, so
positions stay valid while entries are added and removed.
The VFS has already checked names, permissions and existence before these run.
"""
from __future__ import annotations

import stat as S
from typing import Iterator, Optional

from ....errors import EIO, EMLINK, ENOENT, ENOSPC, ENOTEMPTY, Errno
from ...vfs import DirEntry, Inode, dtype_of, now_ns
from . import dir as D
from . import htree as H
from .inode import EXT4_INDEX_FL
from .node import Ext4Inode
from .xattr import inline_dir_entries

EXT4_LINK_MAX = 65000
_FT_TO_DT = {D.FT_REG_FILE: 8, D.FT_DIR: 4, D.FT_CHRDEV: 2, D.FT_BLKDEV: 6, D.FT_FIFO: 1,
             D.FT_SOCK: 12, D.FT_SYMLINK: 10}


class Ext4Dir(Ext4Inode):
    _names: Optional[dict[bytes, int]] = None      # name -> physical block (see _find)
    _slack: Optional[list[int]] = None             # per logical block: largest free record

    # -- block access
    def _blocks(self, first: int = 0) -> Iterator[tuple[int, int]]:
        """(logical, physical) of each directory block from `first` on."""
        runs = self.runs()
        for lblk in range(first, self.size // self.bs):
            m = runs.lookup(lblk)
            if m is None:
                raise Errno(EIO, f"ext4: directory {self.ino} has a hole at block {lblk}")
            yield lblk, m[0]

    def _pblk(self, lblk: int) -> int:
        """The physical block of directory block lblk (directories have no holes: EIO if one does)."""
        m = self.runs().lookup(lblk)
        if m is None:
            raise Errno(EIO, f"ext4: directory {self.ino} has a hole at block {lblk}")
        return m[0]

    def _check_block(self, lblk: int, pblk: int, buf: bytes) -> None:
        """Verify a leaf's checksum the first time it is read (blocks we changed get a fresh
        tail at write-back, so theirs is not checked)."""
        if not self.fs.csum or pblk in self.fs.verified_dir_blocks or pblk in self.fs.dirty_dir_leaves:
            return
        seed = self.fs.inode_seed(self)
        assert seed is not None                 # the filesystem has metadata_csum (fs.csum above)
        if D.has_tail(buf) and not D.tail_ok(buf, seed):
            raise Errno(EIO, f"ext4: directory {self.ino} block {lblk} checksum mismatch")
        self.fs.verified_dir_blocks.add(pblk)

    def _scan(self, first: int = 0) -> Iterator[tuple[int, int, D.Dirent]]:
        """Every live entry from block `first` on: (logical block, physical block, entry).
        Snapshots each block, so edits during the scan do not confuse it."""
        if self.is_inline:
            yield from ((0, 0, d) for d in inline_dir_entries(self.disk, self.ino))
            return
        for lblk, pblk in self._blocks(first):
            buf = self.fs.blockdev.read_block(pblk)
            self._check_block(lblk, pblk, buf)
            for d in D.entries(buf, self.fs.filetype):
                if d.inode:
                    yield lblk, pblk, d

    def forget_index(self) -> None:
        self._names = None
        self._slack = None

    def _find(self, name: bytes) -> Optional[tuple[int, D.Dirent]]:
        """(physical block, entry) of name. The first call scans the whole directory into
        `_names` (name -> block), kept up to date by every edit, so lookups are then O(1)."""
        if self.is_inline:
            return next(((pblk, d) for _, pblk, d in self._scan() if d.name == name), None)
        if self._names is None:
            self._names = {d.name: pblk for _, pblk, d in self._scan()}
        pblk = self._names.get(name)
        if pblk is None:
            return None
        for d in D.entries(self.fs.blockdev.read_block(pblk), self.fs.filetype):
            if d.inode and d.name == name:
                return pblk, d
        raise Errno(EIO, f"ext4: directory {self.ino} index out of step for {name!r}")

    def _store(self, pblk: int, buf: bytearray) -> None:
        """A leaf block changed; its checksum tail is recomputed at write-back."""
        del buf
        if self.fs.csum:
            seed = self.fs.inode_seed(self)
            assert seed is not None
            self.fs.dirty_dir_leaves[pblk] = seed
        self.fs.blockdev.mark_dirty(pblk)

    # -- reading
    def lookup(self, name: bytes) -> Ext4Inode:
        found = self._find(name)
        if found is None:
            raise Errno(ENOENT)
        return self.fs.iget(found[1].inode)

    def readdir(self, pos: int) -> Iterator[DirEntry]:
        bs = self.bs
        for lblk, _, d in self._scan(0 if self.is_inline else pos // bs):
            where = lblk * bs + d.off
            if where >= pos:
                yield DirEntry(d.name, d.inode, self._dtype(d), where + d.rec_len)

    def _dtype(self, d: D.Dirent) -> int:
        dt = _FT_TO_DT.get(d.file_type)
        return dt if dt is not None else dtype_of(self.fs.iget(d.inode).mode)

    def is_empty(self) -> bool:
        return all(d.name in (b".", b"..") for _, _, d in self._scan())

    # -- entry edits
    def _add_entry(self, name: bytes, ino: int, mode: int) -> None:
        """Add name -> ino; reuse free space in a block, else grow the directory by a block."""
        self.fs.check_writable()
        ft = D.ft_of_mode(mode) if self.fs.filetype else 0
        if self.disk.i_flags & EXT4_INDEX_FL:
            if self._dx_insert(name, ino, ft):
                self.touch()
                return
            self._deindex()
        lblk, pblk = self._block_with_space(D.rec_len_needed(len(name)))
        buf = self.fs.blockdev.block(pblk)
        slot = D.find_space(buf[:self._usable()], len(name))
        assert slot is not None and self._slack is not None     # _block_with_space found room
        D.add_at(buf, slot, ino, name, ft)
        self._slack[lblk] = D.largest_space(buf[:self._usable()])
        self._store(pblk, buf)
        if self._names is not None:
            self._names[name] = pblk
        self.touch()

    def _block_with_space(self, need: int) -> tuple[int, int]:
        """(logical, physical) of a block with room for a record of `need` bytes, growing the
        directory if none has. `_slack` (each block's largest free record, kept by every edit)
        spares rescanning all blocks for each new name."""
        if self._slack is None:
            usable = self._usable()
            self._slack = [D.largest_space(self.fs.blockdev.read_block(p)[:usable]) for _, p in self._blocks()]
        for lblk, free in enumerate(self._slack):
            if free >= need:
                return lblk, self._pblk(lblk)
        pblk = self._grow()
        self._slack.append(self._usable())
        return len(self._slack) - 1, pblk

    def _usable(self) -> int:
        return self.bs - (D.TAIL_SIZE if self.fs.csum else 0)

    def _grow(self) -> int:
        """Append an empty leaf block; returns its physical block."""
        lblk = self.size // self.bs
        self.write_data(lblk * self.bs, bytes(D.empty_leaf(self.bs, self.fs.csum)))
        return self._pblk(lblk)

    def _dx_insert(self, name: bytes, ino: int, ft: int) -> bool:
        """Insert through the hash index (htree.py); False when that case is not handled."""
        pblk = self._pblk

        def dirty(lblk: int, leaf: bool) -> None:
            p = pblk(lblk)
            if leaf:
                self._store(p, self.fs.blockdev.block(p))
            else:
                self.fs.blockdev.mark_dirty(p)

        def grow() -> int:
            self._grow()
            return self.size // self.bs - 1

        def moved(n: bytes, lblk: int) -> None:
            if self._names is not None:
                self._names[n] = pblk(lblk)

        io = H.DirIO(self.bs, self.fs.inode_seed(self), lambda lblk: self.fs.blockdev.block(pblk(lblk)),
                     dirty, grow, moved)
        version = H.hash_version(io.block(0), self.fs.sbd.s_flags)
        self._slack = None
        try:
            return H.insert(io, name, ino, ft, version, self.fs.sbd.s_hash_seed)
        except Errno as e:
            if e.code == ENOSPC:        # a block grown but not yet indexed: keep the dir valid
                self._deindex()
            raise

    def _deindex(self) -> None:
        """Turn an htree directory into a linear one before adding to it (see dir.py)."""
        for lblk, pblk in self._blocks():
            buf = self.fs.blockdev.block(pblk)
            if lblk == 0 or D.is_dx_node(buf, lblk):
                buf[:] = D.deindex_block(bytes(buf), lblk, self.fs.csum)
                self._store(pblk, buf)
        self.disk.i_flags &= ~EXT4_INDEX_FL
        self._slack = None
        self.save()

    def _remove_entry(self, name: bytes) -> int:
        self.fs.check_writable()
        found = self._find(name)
        if found is None:
            raise Errno(ENOENT)
        pblk = found[0]
        buf = self.fs.blockdev.block(pblk)
        ino = D.remove(buf, name)
        assert ino is not None                  # _find found it in this block
        self._store(pblk, buf)
        if self._slack is not None:              # the freed record may now be the largest
            lblk = next(lb for lb, pb in self._blocks() if pb == pblk)
            self._slack[lblk] = D.largest_space(buf[:self._usable()])
        if self._names is not None:
            self._names.pop(name, None)
        self.touch()
        return ino

    def _retarget(self, name: bytes, ino: int, mode: int) -> None:
        found = self._find(name)
        assert found is not None                # rename found the victim entry
        buf = self.fs.blockdev.block(found[0])
        D.retarget(buf, name, ino, D.ft_of_mode(mode) if self.fs.filetype else 0)
        self._store(found[0], buf)
        self.touch()

    def _set_dotdot(self, parent_ino: int) -> None:
        """A moved directory's ".." now names its new parent."""
        _, pblk = next(self._blocks())
        buf = self.fs.blockdev.block(pblk)
        D.retarget(buf, b"..", parent_ino, D.FT_DIR if self.fs.filetype else 0)
        self._store(pblk, buf)

    def _inc_nlink(self) -> None:
        """A new subdirectory: one more link from its "..". With dir_nlink a count that would
        reach EXT4_LINK_MAX becomes 1, meaning "many" (ext4_inc_count); without it, EMLINK."""
        if self.nlink == 1:
            return
        if self.nlink + 1 >= EXT4_LINK_MAX:
            if not self.fs.dir_nlink:
                raise Errno(EMLINK)
            self.nlink = 1
        else:
            self.nlink += 1

    def _dec_nlink(self) -> None:
        if self.nlink > 2:
            self.nlink -= 1

    # -- namespace operations
    def _add_new(self, name: bytes, inode: Ext4Inode) -> Ext4Inode:
        """Enter a just-made inode; if that fails (ENOSPC growing the directory), free it
        again rather than leave it unattached (ext4_add_nondir's error path)."""
        try:
            self._add_entry(name, inode.ino, inode.mode)
        except Errno:
            self.fs.release(inode)
            raise
        return inode

    def create(self, name: bytes, mode: int, uid: int, gid: int, rdev: int = 0) -> Inode:
        return self._add_new(name, self.fs.new_inode(mode, uid, gid, self, rdev=rdev))

    def mkdir(self, name: bytes, mode: int, uid: int, gid: int) -> Inode:
        if not self.fs.dir_nlink and self.nlink >= EXT4_LINK_MAX:
            raise Errno(EMLINK)
        child = self.fs.new_inode(S.S_IFDIR | (mode & 0o7777), uid, gid, self)
        assert isinstance(child, Ext4Dir)
        child.nlink = 2
        try:
            child.write_data(0, bytes(D.new_dir_block(child.ino, self.ino, self.bs, self.fs.csum, self.fs.filetype)))
        except Errno:
            self.fs.release(child)
            raise
        _, pblk = next(child._blocks())
        child._store(pblk, child.fs.blockdev.block(pblk))
        child.save()
        self._add_new(name, child)
        self._inc_nlink()
        self.save()
        return child

    def symlink(self, name: bytes, target: bytes, uid: int, gid: int) -> Inode:
        return self._add_new(name, self.fs.new_symlink(target, uid, gid, self))

    def tmpfile(self, mode: int, uid: int, gid: int) -> Inode:
        """ext4_tmpfile: a new inode with no name, on the orphan list (so a crash frees it)
        until linkat names it or its last close frees it."""
        inode = self.fs.new_inode(mode, uid, gid, self)
        inode.nlink = 0
        self.fs.orphans.add(inode)
        return inode

    def link(self, name: bytes, inode: Inode) -> None:
        assert isinstance(inode, Ext4Inode)
        if inode.nlink >= EXT4_LINK_MAX:
            raise Errno(EMLINK)
        self._add_entry(name, inode.ino, inode.mode)
        if inode.nlink == 0:
            self.fs.orphans.remove(inode)       # an O_TMPFILE file gets its first name
        inode.nlink += 1
        inode.ctime_ns = now_ns()
        inode.save()

    def unlink(self, name: bytes) -> None:
        inode = self.fs.iget(self._remove_entry(name))
        self.fs.drop_link(inode)

    def rmdir(self, name: bytes) -> None:
        victim = self.lookup(name)
        assert isinstance(victim, Ext4Dir)      # the VFS checked it is a directory
        if not victim.is_empty():
            raise Errno(ENOTEMPTY)
        self._remove_entry(name)
        self.fs.drop_dir(victim)
        self._dec_nlink()
        self.save()

    def rename(self, old_name: bytes, new_dir: Inode, new_name: bytes) -> None:
        assert isinstance(new_dir, Ext4Dir)
        inode = self.lookup(old_name)
        found = new_dir._find(new_name)
        victim = self.fs.iget(found[1].inode) if found else None
        if isinstance(victim, Ext4Dir) and not victim.is_empty():
            raise Errno(ENOTEMPTY)
        moving_dir = inode.is_dir and new_dir is not self
        if moving_dir and victim is None:
            new_dir._inc_nlink()
        if victim is None:
            new_dir._add_entry(new_name, inode.ino, inode.mode)
        else:
            new_dir._retarget(new_name, inode.ino, inode.mode)
        self._remove_entry(old_name)
        if victim is not None:
            if victim.is_dir:
                self.fs.drop_dir(victim)
                if not moving_dir:
                    new_dir._dec_nlink()
            else:
                self.fs.drop_link(victim)
        if moving_dir:
            assert isinstance(inode, Ext4Dir)
            inode._set_dotdot(new_dir.ino)
            self._dec_nlink()
        inode.ctime_ns = now_ns()
        inode.save()
        self.save()
        new_dir.save()
