"""The renderer: every shipped template, the sandbox, strict merge fields, variants, disclosures."""

from __future__ import annotations

import hashlib
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from pipelines.lib.campaigns import load_campaigns
from pipelines.lib.content_rules import ContentBlocked, ContentRules, check_content
from pipelines.lib.paths import ASSETS_DIR, TEMPLATES_DIR
from pipelines.lib.rendering import MessageContext, Renderer

COMPANY = yaml.safe_load((ASSETS_DIR / "company.yaml").read_text())
PARTNERS = yaml.safe_load((ASSETS_DIR / "partners.yaml").read_text())
CAMPAIGNS = load_campaigns()

BORROWER = {
    "first_name": "Maria",
    "last_name": "Lopez",
    "email": "maria.lopez@example.com",
    "phone": None,
}
OFFICER = {
    "name": "Dana Reyes",
    "nmls_id": "445566",
    "phone": "+13125550188",
    "email": "dana.reyes@harborline.example",
}
# A 30-year loan of $340,000 at 7.25 % with 27 payments made (RULES.md formulas, worked by hand):
# scheduled P&I 340000·r/(1-(1+r)^-360), r = 7.25/1200 -> $2,319.40; balance $332,246.87.
# Refinance at 6.125 % over 360 months -> $2,018.77; savings $300.63; closing costs 2 % = $6,644.94;
# breakeven ceil(6644.94 / 300.63) = 23 months. Value 476,000: equity 0.85·476000 - 332246.87.
LOAN = {
    "loan_id": "LN-2023-004417",
    "note_rate": Decimal("7.250"),
    "term_months": 360,
    "current_upb": Decimal("332246.87"),
    "scheduled_payment": Decimal("2319.40"),
    "market_rate": Decimal("6.125"),
    "market_apr": Decimal("6.298"),
    "new_term_months": 360,
    "new_payment": Decimal("2018.77"),
    "monthly_savings": Decimal("300.63"),
    "closing_costs": Decimal("6644.94"),
    "breakeven_months": 23,
    "est_value": Decimal("476000.00"),
    "available_equity": Decimal("72353.13"),
}
STEPS = [(cid, i) for cid, c in CAMPAIGNS.items() for i in range(len(c.steps))]


def context(
    campaign_id: str, step: int, *, officer: dict | None = OFFICER, **loan: object
) -> MessageContext:
    return MessageContext.for_step(
        CAMPAIGNS[campaign_id],
        step,
        borrower=BORROWER,
        loan_officer=officer,
        loan={**LOAN, **loan},
        message_id=f"msg-{campaign_id}-{step}-0001",
    )


def step_index(campaign_id: str, template: str) -> int:
    return next(i for i, s in enumerate(CAMPAIGNS[campaign_id].steps) if s.template == template)


def copy_templates(tmp_path: Path) -> Path:
    """A private copy of the shipped templates, to edit in a test."""
    target = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, target)
    return target


def write(root: Path, name: str, text: str) -> None:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(TEMPLATES_DIR, COMPANY, PARTNERS)


@pytest.fixture(scope="module")
def rules() -> ContentRules:
    return ContentRules.load()


# --- every shipped template


def test_every_step_has_its_template_file() -> None:
    for cid, i in STEPS:
        step = CAMPAIGNS[cid].steps[i]
        assert (TEMPLATES_DIR / cid / f"{step.template}.{step.channel}.j2").is_file(), (
            cid,
            step.template,
        )


@pytest.mark.parametrize("officer", [OFFICER, None], ids=["officer", "no_officer"])
@pytest.mark.parametrize(("campaign_id", "step"), STEPS)
def test_every_step_renders_cleanly_and_passes_the_content_rules(
    renderer: Renderer, rules: ContentRules, campaign_id: str, step: int, officer: dict | None
) -> None:
    ctx = context(campaign_id, step, officer=officer)
    message = renderer.render(ctx)
    assert check_content(message, ctx, COMPANY, rules) == []
    text = f"{message.subject or ''}\n{message.body_text}"
    assert "Maria" in text
    assert not re.search(r"\{\{|\{%|\}\}|\bNone\b|\bnan\b|\bUndefined\b", text)
    assert (message.subject is not None) == (ctx.channel == "email")
    assert (message.body_html is not None) == (ctx.channel == "email")
    assert message.variant == "standard"
    assert message.template_id == f"{campaign_id}/{ctx.template}.{ctx.channel}.j2"


@pytest.mark.parametrize(("campaign_id", "step"), STEPS)
def test_the_noterms_variant_also_passes_when_no_apr_is_known(
    renderer: Renderer, rules: ContentRules, campaign_id: str, step: int
) -> None:
    ctx = context(campaign_id, step, market_apr=None)
    assert check_content(renderer.render(ctx), ctx, COMPANY, rules) == []


# --- personalization and variants


def test_refinance_alert_states_savings_breakeven_rate_and_apr(renderer: Renderer) -> None:
    message = renderer.render(context("refinance", 0))
    body = message.body_text
    assert "- Current principal and interest payment: $2,319.40" in body
    assert (
        "- Estimated new payment: $2,018.77 on a 30-year fixed-rate loan at 6.125% (6.298% APR)"
        in body
    )
    assert "- Estimated monthly savings: $300.63" in body
    assert "$6,644.94, which your savings would cover in about 23 months" in body
    assert "loan ending in 4417" in body
    assert "is repaid in 360 monthly payments of $2,018.77" in body
    assert message.disclosures == ("regz_apr", "regz_terms", "identity", "canspam_footer")


def test_noterms_variant_is_chosen_when_market_apr_is_null(renderer: Renderer) -> None:
    for step, channel in ((0, "email"), (1, "sms")):
        message = renderer.render(context("refinance", step, market_apr=None))
        assert message.variant == "noterms"
        assert (
            message.template_id
            == f"refinance/refi_rate_{'alert' if step == 0 else 'sms'}.noterms.{channel}.j2"
        )
        assert "%" not in message.body_text
        assert "regz_apr" not in message.disclosures and "regz_terms" not in message.disclosures


def test_a_rate_template_without_a_noterms_variant_blocks_when_apr_is_null(tmp_path: Path) -> None:
    root = copy_templates(tmp_path)
    (root / "refinance" / "refi_rate_sms.noterms.sms.j2").unlink()
    renderer = Renderer(root, COMPANY, PARTNERS)
    with pytest.raises(ContentBlocked) as blocked:
        renderer.render(context("refinance", 1, market_apr=None))
    assert blocked.value.rule_id == "regz.apr_unavailable"


def test_a_rate_stated_from_other_values_still_blocks_without_an_apr(tmp_path: Path) -> None:
    root = copy_templates(tmp_path)
    (root / "refinance" / "refi_rate_sms.noterms.sms.j2").unlink()
    write(
        root,
        "refinance/refi_rate_sms.sms.j2",
        "{% block body_text %}Rates near {{ loan.market_rate|rate }}!{% endblock %}",
    )
    with pytest.raises(ContentBlocked) as blocked:
        Renderer(root, COMPANY, PARTNERS).render(context("refinance", 1, market_apr=None))
    assert blocked.value.rule_id == "regz.apr_unavailable"


def test_a_credit_step_that_states_no_terms_needs_no_apr(renderer: Renderer) -> None:
    message = renderer.render(context("heloc", 0, market_apr=None))
    assert message.variant == "standard"
    assert "regz_apr" not in message.disclosures


def test_heloc_pieces_carry_available_equity_fees_and_maximum_apr(renderer: Renderer) -> None:
    for step in range(len(CAMPAIGNS["heloc"].steps)):
        message = renderer.render(context("heloc", step))
        assert "up to $72,353 of" in message.body_text  # 72,353.13 rounded down: never overstated
        assert "heloc_terms" in message.disclosures
        assert "The maximum APR is 18.000%." in message.body_text
        assert "Fees: an annual fee of $75" in message.body_text
        assert "third-party closing costs estimated at $0 to $1,200" in message.body_text


def test_the_welcome_credit_step_gets_no_heloc_extras(renderer: Renderer) -> None:
    message = renderer.render(
        context("post_close_welcome", step_index("post_close_welcome", "home_equity_education"))
    )
    assert message.disclosures == ("identity", "canspam_footer")


def test_officer_named_with_nmls_and_company_contact_line_without_one(renderer: Renderer) -> None:
    with_officer = renderer.render(context("investment_property", 0)).body_text
    assert "call Dana Reyes at (312) 555-0188" in with_officer
    assert "Loan Officer | NMLS #445566" in with_officer
    assert "Your loan officer: Dana Reyes | NMLS #445566" in with_officer
    assert (
        "Harborline Home Lending, LLC | NMLS #1234567 | www.nmlsconsumeraccess.org" in with_officer
    )
    without = renderer.render(context("investment_property", 0, officer=None)).body_text
    assert "call Harborline Home Lending, LLC at (800) 555-0100" in without
    assert "Contact us: (800) 555-0100 | loans@harborline.example" in without
    assert "NMLS #445566" not in without and "Dana" not in without


def test_an_officer_without_a_phone_gives_the_company_line(renderer: Renderer) -> None:
    message = renderer.render(context("heloc", 0, officer={**OFFICER, "phone": None}))
    assert "call Dana Reyes at (800) 555-0100" in message.body_text


def test_sms_carries_brand_stop_line_and_compact_disclosures(renderer: Renderer) -> None:
    message = renderer.render(context("refinance", 1))
    assert message.body_text.startswith("Harborline Home Lending, LLC: Hi Maria,")
    assert message.body_text.endswith(
        "Harborline Home Lending, LLC: Msg & data rates may apply. Reply STOP to opt out."
    )
    assert (
        "Harborline Home Lending, LLC NMLS #1234567; Dana Reyes NMLS #445566. Equal Housing Lender."
        in message.body_text
    )
    assert "360 monthly payments of $2,018.77" in message.body_text
    assert message.unsubscribe_url is None and message.list_unsubscribe is None


def test_disclosures_follow_the_step_flags(renderer: Renderer) -> None:
    expected = {
        ("insurance", 0): ("afba", "identity", "canspam_footer"),
        ("post_close_welcome", 2): ("afba", "identity", "canspam_footer"),
        ("financial_planning", 0): ("partner_referral", "identity", "canspam_footer"),
        ("financial_planning", 1): ("partner_referral", "identity"),
        ("heloc", 2): ("heloc_terms", "identity"),
        ("investment_property", 1): ("identity", "canspam_footer"),
    }
    for (cid, step), names in expected.items():
        assert renderer.render(context(cid, step)).disclosures == names, cid


def test_call_script_says_who_is_calling_and_the_identity_lines(renderer: Renderer) -> None:
    script = renderer.render(context("financial_planning", 1)).body_text
    assert "This is Dana Reyes calling from Harborline Home Lending, LLC" in script
    assert (
        'say: "Harborline Home Lending, LLC, NMLS #1234567, is an Equal Housing Lender. I\'m Dana Reyes, NMLS #445566."'
        in script
    )
    assert "do-not-call list" in script


# --- email specifics


def test_unsubscribe_link_is_unique_to_the_message(renderer: Renderer) -> None:
    message = renderer.render(context("investment_property", 0))
    url = "https://harborline.example/u/msg-investment_property-0-0001"
    assert message.unsubscribe_url == url
    assert message.list_unsubscribe == f"<{url}>"
    assert message.body_text.endswith(f"unsubscribe at {url}")
    assert f'<a href="{url}">{url}</a>' in message.body_html
    assert message.from_email == COMPANY["from_email"] and message.reply_to == COMPANY["reply_to"]


def test_a_message_id_that_is_not_url_safe_blocks(renderer: Renderer) -> None:
    ctx = context("investment_property", 0)._replace(message_id="a b/../c")
    with pytest.raises(ContentBlocked) as blocked:
        renderer.render(ctx)
    assert blocked.value.rule_id == "canspam.content"


def test_html_body_escapes_merge_values(renderer: Renderer) -> None:
    ctx = context("investment_property", 0)._replace(
        borrower={**BORROWER, "first_name": "<b>Al</b> & Co"}
    )
    message = renderer.render(ctx)
    assert "<b>Al</b> & Co" in message.body_text  # text is text
    assert (
        "&lt;b&gt;Al&lt;/b&gt; &amp; Co" in message.body_html and "<b>Al" not in message.body_html
    )
    assert (
        "<title>&lt;b&gt;Al&lt;/b&gt; &amp; Co, thinking about a rental property?</title>"
        in message.body_html
    )


# --- strictness and the sandbox


@pytest.mark.parametrize(
    "expression",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ loan.__class__ }}",
        "{{ company.name.__class__.__mro__ }}",
        "{{ loan['__class__'] }}",
        "{{ borrower.items.__self__ }}",
        "{{ company.update({'name': 'Evil Corp'}) }}",
        "{{ range(10) }}",
        "{% import 'os' as os %}",
        "{{ loan.current_upb | default('?') }}",
    ],
)
def test_templates_cannot_reach_python_internals(tmp_path: Path, expression: str) -> None:
    root = copy_templates(tmp_path)
    write(
        root,
        "investment_property/investment_education_1.email.j2",
        "{% block subject %}Hi{% endblock %}{% block body_text %}" + expression + "{% endblock %}",
    )
    renderer = Renderer(root, COMPANY, PARTNERS)
    with pytest.raises(ContentBlocked) as blocked:
        renderer.render(context("investment_property", 0))
    assert blocked.value.rule_id == "content.strict"
    assert renderer.company["name"] == COMPANY["name"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("est_value", None),
        ("est_value", float("nan")),
        ("est_value", Decimal("NaN")),
        ("est_value", "476000"),
    ],
)
def test_a_missing_or_empty_merge_value_blocks(
    renderer: Renderer, field: str, value: object
) -> None:
    with pytest.raises(ContentBlocked) as blocked:
        renderer.render(context("investment_property", 0, **{field: value}))
    assert blocked.value.rule_id == "content.strict"


def test_a_merge_field_the_message_lacks_blocks_and_names_it(tmp_path: Path) -> None:
    root = copy_templates(tmp_path)
    write(
        root,
        "heloc/heloc_education_2.email.j2",
        "{% block subject %}Hi {{ borrower.nickname }}{% endblock %}{% block body_text %}x{% endblock %}",
    )
    with pytest.raises(ContentBlocked) as blocked:
        Renderer(root, COMPANY, PARTNERS).render(context("heloc", 1))
    assert blocked.value.rule_id == "content.strict"
    assert "nickname" in blocked.value.detail


def test_a_missing_template_or_block_blocks(tmp_path: Path) -> None:
    root = copy_templates(tmp_path)
    (root / "heloc" / "heloc_mailer.mail.j2").unlink()
    write(root, "heloc/heloc_education_1.email.j2", "{% block body_text %}no subject{% endblock %}")
    renderer = Renderer(root, COMPANY, PARTNERS)
    for step, words in ((2, "template file missing"), (0, "defines no subject block")):
        with pytest.raises(ContentBlocked) as blocked:
            renderer.render(context("heloc", step))
        assert blocked.value.rule_id == "content.strict" and words in blocked.value.detail


def test_a_missing_disclosure_blocks_with_its_rule(tmp_path: Path) -> None:
    root = copy_templates(tmp_path)
    (root / "_disclosures" / "afba.j2").unlink()
    with pytest.raises(ContentBlocked) as blocked:
        Renderer(root, COMPANY, PARTNERS).render(context("insurance", 0))
    assert blocked.value.rule_id == "respa.afba"


def test_includes_must_name_a_fixed_file(tmp_path: Path) -> None:
    root = copy_templates(tmp_path)
    write(
        root,
        "heloc/heloc_education_2.email.j2",
        "{% block subject %}x{% endblock %}{% block body_text %}{% include borrower.first_name %}{% endblock %}",
    )
    with pytest.raises(ContentBlocked) as blocked:
        Renderer(root, COMPANY, PARTNERS).render(context("heloc", 1))
    assert blocked.value.rule_id == "content.strict"


# --- hashes and caching


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_template_files_lists_every_file_used_with_its_hash(renderer: Renderer) -> None:
    message = renderer.render(context("insurance", 0))
    assert sorted(message.template_files) == [
        "_disclosures/afba.j2",
        "_disclosures/canspam_footer.email.j2",
        "_disclosures/identity.j2",
        "_partials/signature.j2",
        "insurance/insurance_intro.email.j2",
    ]
    for relpath, digest in message.template_files.items():
        assert digest == sha256(TEMPLATES_DIR / relpath)
    sms = renderer.render(context("refinance", 1))
    assert "_disclosures/regz_terms.sms.j2" in sms.template_files
    assert "_disclosures/sms_optout.sms.j2" in sms.template_files


def test_hashes_are_deterministic_and_content_hash_is_per_message(renderer: Renderer) -> None:
    a = renderer.render(context("heloc", 0))
    b = Renderer(TEMPLATES_DIR, COMPANY, PARTNERS).render(context("heloc", 0))
    assert (a.content_sha256, a.template_sha256) == (b.content_sha256, b.template_sha256)
    other = renderer.render(context("heloc", 0)._replace(message_id="msg-heloc-0-0002"))
    assert other.content_sha256 != a.content_sha256
    assert other.template_sha256 == a.template_sha256


def test_template_files_are_read_once(tmp_path: Path) -> None:
    root = copy_templates(tmp_path)
    renderer = Renderer(root, COMPANY, PARTNERS)
    first = renderer.render(context("heloc", 0))
    write(
        root,
        "heloc/heloc_education_1.email.j2",
        "{% block subject %}changed{% endblock %}{% block body_text %}changed{% endblock %}",
    )
    write(root, "_partials/signature.j2", "changed")
    again = renderer.render(context("heloc", 0))
    assert again.body_text == first.body_text and again.template_files == first.template_files


def test_for_step_resolves_flags_per_step() -> None:
    welcome = [context("post_close_welcome", i) for i in range(4)]
    assert [c.settlement_service_referral for c in welcome] == [False, False, True, False]
    assert [c.consumer_credit for c in welcome] == [False, False, False, True]
    assert welcome[2].product == "insurance" and welcome[2].partner_referral
    assert all(context("heloc", i).heloc and context("heloc", i).consumer_credit for i in range(3))
    assert not context("investment_property", 0).consumer_credit


# --- the loan values a template is handed


@pytest.mark.parametrize(
    ("expression", "printed"),
    [
        # Fixed reads: the template is handed only these keys.
        ("{{ loan.est_value|money }} {{ loan['loan_id']|last4 }}", "$476,000.00 4417"),
        # Reads that could reach any key: the template is handed every present value.
        ("{{ loan.get('available_equity')|money }}", "$72,353.13"),
        ("{{ loan|length }}", "14"),
        ("{% for k in loan|sort %}{{ k }} {% endfor %}", " ".join(sorted(LOAN))),
        ("{% set facts = loan %}{{ facts.closing_costs|money }}", "$6,644.94"),
    ],
)
def test_a_template_sees_every_loan_value_it_can_reach(
    tmp_path: Path, expression: str, printed: str
) -> None:
    root = copy_templates(tmp_path)
    write(
        root,
        "investment_property/investment_education_1.email.j2",
        "{% block subject %}Hi{% endblock %}{% block body_text %}" + expression + "{% endblock %}",
    )
    message = Renderer(root, COMPANY, PARTNERS).render(context("investment_property", 0))
    assert message.body_text.split("\n\n")[0] == printed


def test_a_loan_value_read_only_by_a_disclosure_reaches_it(tmp_path: Path) -> None:
    root = copy_templates(tmp_path)
    write(
        root,
        "investment_property/investment_education_1.email.j2",
        "{% block subject %}Hi{% endblock %}{% block body_text %}Hello{% endblock %}",
    )
    write(root, "_disclosures/identity.j2",
          (root / "_disclosures/identity.j2").read_text() + "\nValue {{ loan.est_value|money }}")
    message = Renderer(root, COMPANY, PARTNERS).render(context("investment_property", 0))
    assert "Value $476,000.00" in message.body_text
