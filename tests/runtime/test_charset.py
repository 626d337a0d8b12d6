import pytest

from semiocr.runtime.charset import Charset, CharsetError, UnknownCharacterError


def test_layout_blank_dict_order_space(tmp_path):
    p = tmp_path / "dict.txt"
    p.write_text("b\na\nc\n", encoding="utf-8")
    cs = Charset.from_file(p)
    assert cs.classes == ["<blank>", "b", "a", "c", " "]
    assert cs.num_classes == 5
    assert cs.encode("ab c") == [2, 1, 4, 3]
    assert cs.decode([2, 0, 1]) == "ab"


def test_no_space_option(tmp_path):
    p = tmp_path / "dict.txt"
    p.write_text("a\n", encoding="utf-8")
    cs = Charset.from_file(p, use_space=False)
    assert cs.num_classes == 2
    with pytest.raises(UnknownCharacterError, match="' '"):
        cs.encode("a a")


@pytest.mark.parametrize(
    ("content", "message"),
    [("a\nb\na\n", r"dict.txt:3: duplicate character 'a' \(first on line 1\)"),
     ("a\nab\n", r"dict.txt:2: 'ab' has 2 characters"),
     ("", r"dict.txt: dict file is empty"),
     ("\n\n", r"dict.txt: dict file is empty")],
)
def test_bad_dicts_name_file_and_line(tmp_path, content, message):
    p = tmp_path / "dict.txt"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(CharsetError, match=message):
        Charset.from_file(p)


def test_bom_crlf_tolerated_and_non_utf8_rejected(tmp_path):
    p = tmp_path / "dict.txt"
    p.write_bytes("\ufeffx\r\ny\r\n".encode())
    assert Charset.from_file(p).chars == ("x", "y")
    p.write_bytes(b"x\n\xff\n")
    with pytest.raises(CharsetError, match=r"dict.txt:2: not valid UTF-8"):
        Charset.from_file(p)


def test_ppocr_default_dict():
    cs = Charset.ppocr_default()
    assert len(cs.chars) == 6623
    assert cs.num_classes == 6625
    assert cs.classes[-1] == " "


def test_serialisation_roundtrip_and_fingerprint():
    cs = Charset(("1", "2"))
    again = Charset.from_dict(cs.to_dict())
    assert again == cs and again.fingerprint == cs.fingerprint
    assert Charset(("2", "1")).fingerprint != cs.fingerprint
    with pytest.raises(CharsetError, match="fingerprint"):
        Charset.from_dict({**cs.to_dict(), "chars": "13"})
