"""Every UI string (a Chinese msgid) has an English translation; `make messages` updates the
catalog after strings change."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).parent.parent


def test_english_catalog_covers_every_msgid():
    method_map = [("pingyi/**.py", "python"), ("pingyi/web/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "lazy_gettext": None, "_l": None}
    ids = {msg for _f, _l, msg, _c, _x in extract_from_dir(str(ROOT), method_map, keywords=keywords)
           if isinstance(msg, str) and msg}
    with (ROOT / "pingyi/translations/en/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(ids - translated)
    assert not missing, "untranslated (run `make messages`, then translate): " + " | ".join(missing[:20])
    # a fuzzy guess is not a translation (gettext ignores it) and its placeholders may not even
    # match: `pybabel compile` then fails, and with it `make install`
    assert not [m.id for m in catalog if m.id and m.fuzzy]
    problems = [(m.id, e) for m, errors in catalog.check() for e in errors]
    assert not problems, problems[:5]
