"""The bundled sample stays usable: valid, declaring its night, approving today's templates."""

import csv
import hashlib

from pipelines.lib.paths import PROJECT_ROOT, SAMPLE_DIR, TEMPLATES_DIR


def test_the_sample_declares_its_night():
    assert (SAMPLE_DIR / "_as_of").read_text().strip() == "2026-11-27"


def test_the_sample_approves_every_template_as_it_is_now():
    """Regenerate with `xsell sample --loans 2000 --seed 7 --as-of 2026-11-27 --out data/sample`
    after editing a template, or the bundled night holds those messages (content.approved)."""
    with (SAMPLE_DIR / "template_approvals.csv").open(newline="") as handle:
        approved = {(r["template_id"], r["template_sha256"]) for r in csv.DictReader(handle)
                    if r["status"] == "approved"}
    current = {(p.relative_to(TEMPLATES_DIR).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest())
               for p in TEMPLATES_DIR.rglob("*.j2")}
    assert current - approved == set()
    assert PROJECT_ROOT.joinpath("data", "sample", "loans.csv").stat().st_size > 100_000
