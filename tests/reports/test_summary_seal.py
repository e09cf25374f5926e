"""The summary report (评议工作总结) of a sealed campaign closes with the seal: the day it was sealed
and its digest, in the Word file and the PDF alike, whatever the admin rewrote of the closing
paragraph; a campaign not yet sealed says nothing of a seal (issue 20)."""

from __future__ import annotations

import io
import re

import docx as docxlib
import pypdfium2
import pytest

from pingyi.campaigns.lifecycle import local
from pingyi.extensions import db
from pingyi.models import Campaign
from pingyi.reports import summary
from pingyi.tenancy import tenant_context
from pingyi.verification.seal import seal_campaign
from tests.ballot_world import build, close_and_count, vote

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

EDITED = "本单位将认真梳理群众意见，逐项整改到位。"


def _docx_text(data: bytes) -> list[str]:
    return [p.text for p in docxlib.Document(io.BytesIO(data)).paragraphs]


def _pdf_text(data: bytes) -> str:
    pdf = pypdfium2.PdfDocument(data)
    return re.sub(r"\s+", "", "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf))))


def _sentence(c: Campaign) -> str:
    """Written here from the campaign's seal, independently of the summary module."""
    d = local(c.sealed_at, c.timezone)
    return f"本次评议的全部评议票已于{d.year}年{d.month}月{d.day}日封存，数字指纹（SHA-256）为{c.seal_digest}，可在公示页核对。"


def test_a_sealed_campaigns_summary_closes_with_its_digest(app, world):
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:5], (0, 1, 0, 3, 0))  # k ballots: mixed and counted while open
        vote(world, bw, bw.other_branch[:1], (3,))
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, bw.campaign_id)
            assert c.seal_digest is None
            open_text = "\n".join(_docx_text(summary.docx(c))) + _pdf_text(summary.pdf(c))
            assert "封存" not in open_text and "数字指纹" not in open_text
        close_and_count(world, bw)
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, bw.campaign_id)
            seal_campaign(c)  # kept as it is when the closing sealed it
            db.session.commit()
            assert re.fullmatch(r"[0-9a-f]{64}", c.seal_digest) and c.sealed_at is not None
            sentence = _sentence(c)

            paras = _docx_text(summary.docx(c))
            assert paras.count(sentence) == 1
            at = paras.index(sentence)
            # under the closing heading, after its paragraph, before the signature
            assert paras.index("四、通报情况，落实责任") < at - 1 and paras[-1] == "甲公司" and at < len(paras) - 1
            assert sentence in _pdf_text(summary.pdf(c))

            # the admin's rewrite of the closing paragraph replaces its text, never the seal
            summary.save_narrative(c, {"closing": EDITED})
            db.session.commit()
            paras = _docx_text(summary.docx(c))
            assert paras.index(EDITED) + 1 == paras.index(sentence)
            pdf = _pdf_text(summary.pdf(c))
            assert pdf.index(EDITED) < pdf.index(sentence)
            # the rewritable paragraph itself never carries the digest (no rewrite can alter it)
            assert all(c.seal_digest not in p.generated for p in summary.paragraphs(c))
