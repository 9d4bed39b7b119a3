"""docs/syscalls.md is generated, never hand-edited: it must match the table and the tests."""
from moss_host.syscalls import doc


def test_syscall_doc_matches_the_table_and_the_tests():
    assert doc.DOC.read_text() == doc.render(), "docs/syscalls.md is stale: run `just syscall-doc`"


def test_every_implemented_syscall_is_in_the_doc_as_implemented():
    text = doc.render()
    from moss_host.syscalls.table import SYSCALLS
    for entry in SYSCALLS.values():
        assert f"| {entry.nr} | {entry.name} | implemented" in text
