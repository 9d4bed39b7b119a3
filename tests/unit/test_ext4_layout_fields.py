"""The ext4 structs declare (for the type checker) exactly the fields their Layout tables set."""
import pytest

from moss_host.fs.drivers.ext4 import groups, inode, superblock
from moss_host.fs.drivers.ext4.layout import Layout


def _python_type(st) -> str:
    """What Layout.unpack stores for a struct format: bytes for "Ns", a tuple for arrays, else int."""
    if st.format.endswith("s"):
        return "bytes"
    return "int" if len(st.unpack_from(bytes(st.size))) == 1 else "tuple[int, ...]"


@pytest.mark.parametrize("cls, layouts", [
    (superblock.SuperBlockData, [superblock._LAYOUT]),
    (inode.DiskInode, [inode._BASE]),
    (groups.GroupDesc, [groups._LO, groups._HI]),
], ids=["superblock", "inode", "group_desc"])
def test_struct_declares_every_layout_field_with_its_type(cls: type, layouts: list[Layout]) -> None:
    declared = cls.__annotations__
    for layout in layouts:
        for name, _off, st in layout.fields:
            assert declared.get(name) == _python_type(st), name
