"""Bad input never raises: each becomes a diagnostic (or exists=False)."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import check

from synthetic_ls.config import MAX_CONFIG_BYTES, Range, check_config_bytes, check_config_file


def test_missing_file(tmp_path: Path) -> None:
    result = check_config_file(tmp_path / "synthetic.config.ts")
    assert result.exists is False and result.config is None and result.diagnostics == []


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "synthetic.config.ts"
    path.write_text("")
    result = check_config_file(path)
    assert [d.code for d in result.diagnostics] == ["no-default-export"]
    assert result.diagnostics[0].range == Range.of(0, 0, 0, 0)
    assert result.config is None


def test_whitespace_only() -> None:
    result = check("\n\n   \n")
    assert [d.code for d in result.diagnostics] == ["no-default-export"]


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "synthetic.config.ts"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)))
    result = check_config_file(path)
    assert [d.code for d in result.diagnostics] == ["not-utf8"]
    assert "binary" in result.diagnostics[0].message
    assert result.has_errors and result.config is None


def test_non_utf8_file_points_at_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "synthetic.config.ts"
    path.write_bytes(b'export default {\n  label: "caf\xe9" };\n')
    result = check_config_file(path)
    assert [d.code for d in result.diagnostics] == ["not-utf8"]
    assert result.diagnostics[0].range.start.line == 1


def test_directory(tmp_path: Path) -> None:
    path = tmp_path / "synthetic.config.ts"
    path.mkdir()
    result = check_config_file(path)
    assert [d.code for d in result.diagnostics] == ["unreadable"]
    assert "folder" in result.diagnostics[0].message


def _bytes_read() -> int:
    """Bytes this thread has read through system calls so far (the kernel's own count)."""
    for line in Path("/proc/thread-self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/thread-self/io")


def test_ten_megabyte_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "synthetic.config.ts"
    line = b'export default { templates: { a: { label: "x" } } };\n'
    path.write_bytes(line * (10 * 1024 * 1024 // len(line) + 1))
    small = tmp_path / "small" / "synthetic.config.ts"
    small.parent.mkdir()
    small.write_bytes(line)
    check_config_file(small)  # whatever the first check imports is read now
    before = _bytes_read()
    result = check_config_file(path)
    read = _bytes_read() - before
    assert [d.code for d in result.diagnostics] == ["file-too-large"]
    assert "MB" in result.diagnostics[0].message
    # Refused from its size alone: not even the first megabyte was read.
    assert read < 64 * 1024, f"{read} bytes read"


def test_oversized_text_in_memory() -> None:
    result = check_config_bytes(b" " * (MAX_CONFIG_BYTES + 1), Path("x.ts"), None)
    assert [d.code for d in result.diagnostics] == ["file-too-large"]


def test_bom_is_ignored() -> None:
    source = "\ufeffexport default { templates: { a: {} } };\n"
    result = check_config_bytes(source.encode(), Path("x.ts"), None)
    assert result.diagnostics == [] and result.config is not None


def test_garbage_text() -> None:
    result = check(")))}}}{{{ ::: \"\n'''\n" * 500)
    assert result.has_errors
    assert len(result.diagnostics) == 201
    assert result.diagnostics[-1].code == "too-many-problems"
