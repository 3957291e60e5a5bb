"""The content rules of COMPLIANCE.md, each checked on a rendered message."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from pipelines.lib.content_rules import (
    ContentBlocked,
    ContentRules,
    check_content,
    checked_text,
    find_trigger_term,
    shape,
    states_credit_terms,
)
from pipelines.lib.paths import ASSETS_DIR, TEMPLATES_DIR
from pipelines.lib.register import load_register
from pipelines.lib.rendering import Renderer
from tests.test_rendering import (
    COMPANY,
    PARTNERS,
    STEPS,
    context,
    copy_templates,
    step_index,
    write,
)

EMAIL = (
    "{{% block subject %}}{subject}{{% endblock %}}{{% block body_text %}}{body}{{% endblock %}}"
)


@pytest.fixture(scope="module")
def rules() -> ContentRules:
    return ContentRules.load()


def render_with(tmp_path: Path, name: str, text: str, ctx, partners=PARTNERS):
    """Render `ctx` with one template file replaced."""
    root = copy_templates(tmp_path)
    write(root, name, text)
    return Renderer(root, COMPANY, partners).render(ctx)


def ids(violations) -> list[str]:
    return [v.rule_id for v in violations]


# --- the register


def test_every_content_rule_id_is_a_block_in_the_register() -> None:
    register = load_register()
    for rule_id in (
        "content.strict",
        "canspam.content",
        "regz.apr",
        "regz.apr_unavailable",
        "regz.trigger_terms",
        "respa.afba",
        "banned_phrases",
        "identity",
    ):
        assert register.decision(rule_id) == "block", rule_id


def test_the_banned_list_holds_the_phrases_compliance_names(rules: ContentRules) -> None:
    for phrase in ("government-backed", "free money", "debt free", "counselor"):
        assert phrase in rules.banned.phrases
    assert "fixed" not in rules.banned.phrases


# --- canspam.content


def test_canspam_footer_elements_are_required(tmp_path: Path, rules: ContentRules) -> None:
    ctx = context("investment_property", 0)
    message = render_with(
        tmp_path, "_disclosures/canspam_footer.email.j2", "Thanks for reading.", ctx
    )
    found = check_content(message, ctx, COMPANY, rules)
    assert set(ids(found)) == {"canspam.content"}
    assert [v.detail for v in found] == [
        "no advertisement notice",
        "no postal address",
        "unsubscribe link missing from the body",
    ]


def test_canspam_subject_link_and_from_line(rules: ContentRules) -> None:
    ctx = context("investment_property", 0)
    message = Renderer(TEMPLATES_DIR, COMPANY, PARTNERS).render(ctx)
    assert check_content(message, ctx, COMPANY, rules) == []
    cases = {
        "subject poses as a reply or forward: 'RE: your loan'": message._replace(
            subject="RE: your loan"
        ),
        "empty subject": message._replace(subject="  "),
        "from line 'Deals <deals@example.com>' does not name the company": message._replace(
            from_email="Deals <deals@example.com>"
        ),
        "List-Unsubscribe does not carry this message's link": message._replace(
            list_unsubscribe="<https://harborline.example/u/someone-else>"
        ),
    }
    for detail, bad in cases.items():
        assert [(v.rule_id, v.detail) for v in check_content(bad, ctx, COMPANY, rules)] == [
            ("canspam.content", detail)
        ]
    # A link for another message, even if printed, is not this message's link.
    other = ctx._replace(message_id="msg-someone-else")
    assert "canspam.content" in ids(check_content(message, other, COMPANY, rules))


# --- regz.apr


def test_a_refinance_email_showing_a_rate_without_an_apr_is_blocked(
    tmp_path: Path, rules: ContentRules
) -> None:
    ctx = context("refinance", 0)
    body = "Hi {{ borrower.first_name }}, rates are as low as {{ loan.market_rate|rate }} today. Call us."
    message = render_with(
        tmp_path,
        "refinance/refi_rate_alert.email.j2",
        EMAIL.format(subject="Rates are down", body=body),
        ctx,
    )
    found = check_content(message, ctx, COMPANY, rules)
    assert [(v.rule_id, v.detail) for v in found] == [
        (
            "regz.apr",
            "rate stated without an APR in the same sentence: 'Hi Maria, rates are as low as 6.125% today'",
        )
    ]
    # The renderer still added the APR block: the rule is about the sentence the rate is in.
    assert message.disclosures[:2] == ("regz_apr", "regz_terms")


def test_a_rate_in_the_subject_needs_its_apr_in_the_subject(
    tmp_path: Path, rules: ContentRules
) -> None:
    ctx = context("refinance", 0)
    subject = "Rates from {{ loan.market_rate|rate }}"
    body = "Today: {{ loan.market_rate|rate }} ({{ loan.market_apr|rate }} APR)."
    message = render_with(
        tmp_path,
        "refinance/refi_rate_alert.email.j2",
        EMAIL.format(subject=subject, body=body),
        ctx,
    )
    assert [(v.rule_id, v.detail) for v in check_content(message, ctx, COMPANY, rules)] == [
        ("regz.apr", "rate stated without an APR in the same sentence: 'Rates from 6.125%'")
    ]


def test_an_afba_ownership_share_is_not_a_rate(rules: ContentRules) -> None:
    # The welcome sequence's insurance step, as if it were also a credit step: 49% stays exempt.
    ctx = context("post_close_welcome", 2)._replace(consumer_credit=True)
    message = Renderer(TEMPLATES_DIR, COMPANY, PARTNERS).render(ctx)
    assert "has a 49% ownership interest in Harborline Insurance Agency, LLC" in message.body_text
    assert check_content(message, ctx, COMPANY, rules) == []


def test_regz_rules_do_not_apply_to_business_purpose_credit(
    tmp_path: Path, rules: ContentRules
) -> None:
    ctx = context("investment_property", 0)
    body = "Investment loans usually need 15% down, with payments of about $2,500 a month."
    message = render_with(
        tmp_path,
        "investment_property/investment_education_1.email.j2",
        EMAIL.format(subject="Rentals", body=body),
        ctx,
    )
    assert check_content(message, ctx, COMPANY, rules) == []


# --- regz.trigger_terms


def test_a_payment_without_the_repayment_terms_is_blocked(
    tmp_path: Path, rules: ContentRules
) -> None:
    # Someone trims the compliance-owned terms block: the alert still states a payment.
    ctx = context("refinance", 0)
    message = render_with(
        tmp_path, "_disclosures/regz_terms.j2", "Ask us about repayment terms.", ctx
    )
    assert [(v.rule_id, v.detail) for v in check_content(message, ctx, COMPANY, rules)] == [
        (
            "regz.trigger_terms",
            (
                "amount '$2,319.40' stated as a payment, finance charge or down payment "
                "without the repayment terms"
            ),
        )
    ]


def test_a_heloc_payment_needs_the_fee_and_maximum_apr(tmp_path: Path, rules: ContentRules) -> None:
    ctx = context("heloc", 1)
    root = copy_templates(tmp_path)
    body = "Draw $50,000 and pay about $420.00 a month."
    write(root, "heloc/heloc_education_2.email.j2", EMAIL.format(subject="Your line", body=body))
    message = Renderer(root, COMPANY, PARTNERS).render(ctx)
    assert (
        check_content(message, ctx, COMPANY, rules) == []
    )  # APR, terms, fees and maximum APR all added
    write(root, "_disclosures/heloc_terms.j2", "HOME EQUITY LINE OF CREDIT TERMS: ask us.")
    message = Renderer(root, COMPANY, PARTNERS).render(ctx)
    assert [(v.rule_id, v.detail) for v in check_content(message, ctx, COMPANY, rules)] == [
        (
            "regz.trigger_terms",
            (
                "amount '$420.00' stated as a payment, finance charge or down payment "
                "without the fee statement, the maximum APR"
            ),
        )
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Pay just $1,822.83 per month.",
            "amount '$1,822.83' stated as a payment, finance charge or down payment",
        ),
        (
            "Save $212.40/mo.",
            "amount '$212.40' stated as a payment, finance charge or down payment",
        ),
        (
            "Your new monthly payment: $1,900.",
            "amount '$1,900' stated as a payment, finance charge or down payment",
        ),
        ("Repay in 360 monthly payments.", "number of payments '360 monthly payments'"),
        ("A 30-year fixed loan.", "term '30-year fixed'"),
        ("Choose a 15 yr refi.", "term '15 yr refi'"),
        ("A term of 20 years.", "term 'term of 2'"),
        ("Buy with 3% down.", "down payment '3% down'"),
        ("No down payment needed.", "down payment 'no down'"),
        (
            "Only $9,000 in interest.",
            "amount '$9,000' stated as a payment, finance charge or down payment",
        ),
        ("Borrow up to $85,000 of your equity.", None),
        ("An annual fee of $75 applies.", None),
        ("Rates came down this year.", None),
        ("Estimated closing costs of $6,644.94, covered in about 23 months.", None),
    ],
)
def test_trigger_terms(text: str, expected: str | None) -> None:
    assert find_trigger_term(text, text.lower()) == expected
    assert states_credit_terms(text) == (expected is not None)


def test_a_percentage_alone_states_credit_terms() -> None:
    assert states_credit_terms("Rates near 6.125% (6.298% APR).")
    assert not states_credit_terms("See https://example.com/a%20b for more.")


# --- respa.afba


def test_the_insurance_email_carries_every_afba_element(rules: ContentRules) -> None:
    ctx = context("insurance", 0)
    body = Renderer(TEMPLATES_DIR, COMPANY, PARTNERS).render(ctx).body_text
    for element in (
        "AFFILIATED BUSINESS ARRANGEMENT DISCLOSURE STATEMENT",
        "To: Maria Lopez",
        "From: Harborline Home Lending, LLC",
        "Harborline Home Lending, LLC has a business relationship with Harborline Insurance Agency, LLC",
        "Harborline Home Lending, LLC has a 49% ownership interest in Harborline Insurance Agency, LLC",
        "this referral may provide Harborline Home Lending, LLC a financial or other benefit",
        "estimated charge or range of charges",
        "Harborline Insurance Agency, LLC, homeowners insurance premium, per year: $1,100 to $3,600",
        "You are NOT required to use Harborline Insurance Agency, LLC as a condition for the settlement of your loan",
        (
            "THERE ARE FREQUENTLY OTHER SETTLEMENT SERVICE PROVIDERS AVAILABLE WITH SIMILAR SERVICES. "
            "YOU ARE FREE TO SHOP AROUND TO DETERMINE THAT YOU ARE RECEIVING THE BEST SERVICES AND "
            "THE BEST RATE FOR THESE SERVICES."
        ),
    ):
        assert element in body, element
    assert (
        check_content(Renderer(TEMPLATES_DIR, COMPANY, PARTNERS).render(ctx), ctx, COMPANY, rules)
        == []
    )


def test_wording_that_requires_the_affiliate_is_blocked(
    tmp_path: Path, rules: ContentRules
) -> None:
    ctx = context("insurance", 1)
    body = "Hi {{ borrower.first_name }}, you must use {{ partner.name }} for your policy."
    message = render_with(
        tmp_path,
        "insurance/insurance_reminder.email.j2",
        EMAIL.format(subject="Insurance", body=body),
        ctx,
    )
    assert [(v.rule_id, v.detail) for v in check_content(message, ctx, COMPANY, rules)] == [
        ("respa.afba", "wording requires use of the affiliate: 'must use'")
    ]


def test_the_afba_must_state_the_facts_on_file(tmp_path: Path, rules: ContentRules) -> None:
    # The disclosure printed from stale facts (a 40% share, other charges) does not match the file.
    stale = {
        **PARTNERS,
        "insurance": {
            **PARTNERS["insurance"],
            "ownership_share_pct": 40,
            "charges": [{"service": "premium", "low": 900, "high": 3000}],
        },
    }
    ctx = context("insurance", 0)
    message = Renderer(TEMPLATES_DIR, COMPANY, stale).render(ctx)
    assert [(v.rule_id, v.detail) for v in check_content(message, ctx, COMPANY, rules)] == [
        ("respa.afba", "AfBA disclosure lacks the relationship and ownership share"),
        (
            "respa.afba",
            "AfBA disclosure lacks the estimated charge for homeowners insurance premium, per year",
        ),
    ]


def test_an_afba_without_shop_around_is_blocked(tmp_path: Path, rules: ContentRules) -> None:
    ctx = context("post_close_welcome", 2)
    root = copy_templates(tmp_path)
    afba = (root / "_disclosures" / "afba.j2").read_text()
    write(
        root,
        "_disclosures/afba.j2",
        afba.replace("YOU ARE FREE TO SHOP AROUND", "YOU MAY SHOP AROUND"),
    )
    message = Renderer(root, COMPANY, PARTNERS).render(ctx)
    assert [(v.rule_id, v.detail) for v in check_content(message, ctx, COMPANY, rules)] == [
        ("respa.afba", "AfBA disclosure lacks the FREE TO SHOP AROUND sentence")
    ]


# --- banned_phrases


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("Become Debt-Free this year", "debt free"),
        ("a Government backed program", "government-backed"),
        ("Talk to a counselor", "counselor"),
        ("Congratulations, you’re pre-approved", "you're pre-approved"),
        ("Lowest rate guaranteed", "lowest rate guaranteed"),
        ("No credit check", "no credit check"),
        ("It is free money", "free money"),
    ],
)
def test_a_message_with_a_banned_phrase_is_blocked(
    tmp_path: Path, rules: ContentRules, phrase: str, expected: str
) -> None:
    ctx = context("investment_property", 1)
    message = render_with(
        tmp_path,
        "investment_property/investment_education_2.email.j2",
        EMAIL.format(subject="News", body=f"Hi {{{{ borrower.first_name }}}}. {phrase}."),
        ctx,
    )
    assert [(v.rule_id, v.detail) for v in check_content(message, ctx, COMPANY, rules)] == [
        ("banned_phrases", f"banned phrase {expected!r}")
    ]


def test_plurals_are_banned_but_fixed_and_run_together_words_are_not(
    tmp_path: Path, rules: ContentRules
) -> None:
    ctx = context("investment_property", 1)
    body = "A fixed-rate loan; our counselors help. Not banned: debtfree, freemoney, counselorship."
    message = render_with(
        tmp_path,
        "investment_property/investment_education_2.email.j2",
        EMAIL.format(subject="News", body=body),
        ctx,
    )
    assert [v.detail for v in check_content(message, ctx, COMPANY, rules)] == [
        "banned phrase 'counselor'"
    ]


def test_a_banned_phrase_in_merge_data_is_blocked_too(rules: ContentRules) -> None:
    ctx = context("heloc", 0)._replace(
        loan_officer={
            "name": "Free Money Fran",
            "nmls_id": "9",
            "phone": None,
            "email": "f@harborline.example",
        }
    )
    message = Renderer(TEMPLATES_DIR, COMPANY, PARTNERS).render(ctx)
    assert ids(check_content(message, ctx, COMPANY, rules)) == ["banned_phrases"]


# --- identity


def test_identity_names_company_officer_and_equal_housing(rules: ContentRules) -> None:
    renderer = Renderer(TEMPLATES_DIR, COMPANY, PARTNERS)
    ctx = context("heloc", 2)
    message = renderer.render(ctx)
    assert check_content(message, ctx, COMPANY, rules) == []
    # The same message checked against another officer: their name and NMLS ID are missing.
    other = ctx._replace(
        loan_officer={"name": "Sam Ortiz", "nmls_id": "778899", "email": "s@x.example"}
    )
    assert [(v.rule_id, v.detail) for v in check_content(message, other, COMPANY, rules)] == [
        ("identity", "missing loan officer name 'Sam Ortiz'"),
        ("identity", "missing loan officer NMLS #778899"),
    ]


def test_identity_lines_edited_away_are_blocked(tmp_path: Path, rules: ContentRules) -> None:
    ctx = context("refinance", 1, officer=None)
    message = render_with(tmp_path, "_disclosures/identity.sms.j2", "{{ company.name }}.", ctx)
    # The text itself still says "Call Harborline Home Lending, LLC at (800) 555-0100".
    assert [(v.rule_id, v.detail) for v in check_content(message, ctx, COMPANY, rules)] == [
        ("identity", "missing company NMLS #1234567"),
        ("identity", "missing 'Equal Housing Lender'"),
    ]
    without_line = message._replace(body_text=message.body_text.replace("(800) 555-0100", "us"))
    assert ("identity", "missing the company's contact line (the loan has no loan officer)") in [
        (v.rule_id, v.detail) for v in check_content(without_line, ctx, COMPANY, rules)
    ]


def test_equal_housing_and_advertisement_count_in_any_case(rules: ContentRules) -> None:
    ctx = context("investment_property", 0)
    message = Renderer(TEMPLATES_DIR, COMPANY, PARTNERS).render(ctx)
    shouted = message._replace(body_text=message.body_text.replace(
        "Equal Housing Lender", "EQUAL HOUSING LENDER").replace("advertisement", "ADVERTISEMENT"))
    assert "Equal Housing Lender" not in shouted.body_text
    assert check_content(shouted, ctx, COMPANY, rules) == []
    gone = message._replace(body_text=message.body_text.replace(
        "Equal Housing Lender", "Lender").replace("advertisement", "message"))
    assert [(v.rule_id, v.detail) for v in check_content(gone, ctx, COMPANY, rules)] == [
        ("identity", "missing 'Equal Housing Lender'"),
        ("canspam.content", "no advertisement notice"),
    ]


def test_no_officer_means_the_company_contact_line(rules: ContentRules) -> None:
    ctx = context(
        "post_close_welcome", step_index("post_close_welcome", "welcome_congrats"), officer=None
    )
    message = Renderer(TEMPLATES_DIR, COMPANY, PARTNERS).render(ctx)
    assert "(800) 555-0100" in message.body_text
    assert check_content(message, ctx, COMPANY, rules) == []


def test_rules_load_from_the_shipped_files() -> None:
    content = yaml.safe_load((ASSETS_DIR / "compliance" / "content.yaml").read_text())
    rules = ContentRules.load()
    assert len(rules.banned.phrases) == len(content["banned_phrases"])
    assert rules.partners["insurance"]["ownership_share_pct"] == 49


# --- the memos behind the speed never change a result


def test_a_repeated_bad_message_is_blocked_every_time(tmp_path: Path) -> None:
    rules = ContentRules.load()
    ctx = context("investment_property", 1)
    body = "Hi {{ borrower.first_name }}.\n\nBecome debt free."
    root = copy_templates(tmp_path)
    write(
        root,
        "investment_property/investment_education_2.email.j2",
        EMAIL.format(subject="News", body=body),
    )
    message = Renderer(root, COMPANY, PARTNERS).render(ctx)
    for _ in range(3):
        assert ids(check_content(message, ctx, COMPANY, rules)) == ["banned_phrases"]
    # Its clean paragraphs were not remembered as clean either way; a clean message passes.
    clean = Renderer(TEMPLATES_DIR, COMPANY, PARTNERS).render(ctx)
    assert check_content(clean, ctx, COMPANY, rules) == []


def test_reg_z_facts_do_not_depend_on_the_digits_but_quotes_do(
    tmp_path: Path, rules: ContentRules
) -> None:
    ctx = context("refinance", 0)
    body = "Rates as low as {{ loan.market_rate|rate }} today."
    root = copy_templates(tmp_path)
    write(root, "refinance/refi_rate_alert.email.j2", EMAIL.format(subject="Rates", body=body))
    renderer = Renderer(root, COMPANY, PARTNERS)
    details = []
    for rate in ("6.125", "5.875"):
        c = ctx._replace(loan={**ctx.loan, "market_rate": Decimal(rate)})
        details += [v.detail for v in check_content(renderer.render(c), c, COMPANY, rules)]
    assert details == [
        "rate stated without an APR in the same sentence: 'Rates as low as 6.125% today.'",
        "rate stated without an APR in the same sentence: 'Rates as low as 5.875% today.'",
    ]


# --- what the night reads: the renderer's paragraph shapes handed to the checks, and the
# per-shape caches (Reg Z facts, clean paragraphs) shared by every message of a night


def night_verdict(renderer: Renderer, rules: ContentRules, ctx) -> str | None:
    """The content rule that blocks `ctx`, the way NightPlanner._render decides it."""
    try:
        message, shapes = renderer.render_with_shapes(ctx)
    except ContentBlocked as blocked:
        return blocked.rule_id
    found = check_content(message, ctx, COMPANY, rules, shapes)
    return found[0].rule_id if found else None


def test_the_renderers_shapes_are_those_of_the_text_the_checks_read() -> None:
    renderer = Renderer(TEMPLATES_DIR, COMPANY, PARTNERS)
    handed = 0
    for cid, i in STEPS:
        ctx = context(cid, i)
        message, shapes = renderer.render_with_shapes(ctx)
        if shapes is None:
            assert not ctx.consumer_credit, (cid, i)
            continue
        handed += 1
        assert shapes == shape(checked_text(message)).split("\n\n"), (cid, i)
        assert "0000000" in "".join(shapes)  # the NMLS ids, every digit a 0
    assert handed >= 6  # the refinance email and text, the HELOC steps, the ARM review


def test_an_empty_subject_hands_no_shapes_and_still_blocks(tmp_path: Path, rules) -> None:
    # "\n" + body would end the subject's paragraph where the checks' text has none.
    root = copy_templates(tmp_path)
    write(root, "refinance/refi_rate_alert.email.j2", EMAIL.format(
        subject="", body="Rates near {{ loan.market_rate|rate }} ({{ loan.market_apr|rate }} APR)."))
    renderer = Renderer(root, COMPANY, PARTNERS)
    message, shapes = renderer.render_with_shapes(context("refinance", 0))
    assert shapes is None
    assert night_verdict(renderer, rules, context("refinance", 0)) == "canspam.content"


def test_a_banned_phrase_arriving_in_a_merge_value_blocks_between_clean_messages(
    rules: ContentRules,
) -> None:
    renderer = Renderer(TEMPLATES_DIR, COMPANY, PARTNERS)
    clean = context("refinance", 0)
    # The same template and values but the first name: the greeting paragraph's shape differs.
    banned = clean._replace(borrower={**clean.borrower, "first_name": "Free Money"})
    digits = clean._replace(borrower={**clean.borrower, "first_name": "Debt-Free 2"})
    assert night_verdict(renderer, rules, clean) is None
    assert night_verdict(renderer, rules, banned) == "banned_phrases"
    assert night_verdict(renderer, rules, digits) == "banned_phrases"
    assert night_verdict(renderer, rules, clean) is None


def test_a_rate_printed_in_one_message_and_not_another(tmp_path: Path, rules) -> None:
    root = copy_templates(tmp_path)
    write(root, "refinance/refi_rate_alert.email.j2", EMAIL.format(
        subject="Hi {{ borrower.first_name }}",
        body="{% if loan.market_rate > 5 %}Rates near {{ loan.market_rate|rate }}.{% endif %}"
             "\nCall {{ contact.name }}."))
    renderer = Renderer(root, COMPANY, PARTNERS)
    high = context("refinance", 0, market_rate=Decimal("6.125"))
    low = context("refinance", 0, market_rate=Decimal("4.125"))
    # A rate without its APR in the sentence blocks; without the rate the text states no terms.
    assert night_verdict(renderer, rules, low) is None
    assert night_verdict(renderer, rules, high) == "regz.apr"
    assert night_verdict(renderer, rules, low) is None
    # Only the message that states a rate gets the Reg Z blocks.
    assert "regz_apr" in renderer.render(high).disclosures
    assert "regz_apr" not in renderer.render(low).disclosures


def test_a_missing_value_blocks_between_messages_that_have_it(rules: ContentRules) -> None:
    renderer = Renderer(TEMPLATES_DIR, COMPANY, PARTNERS)
    assert night_verdict(renderer, rules, context("refinance", 0)) is None
    assert night_verdict(renderer, rules, context("refinance", 0, closing_costs=None)) \
        == "content.strict"
    # the Reg Z blocks read the APR: missing, the standard variant cannot be sent
    assert night_verdict(renderer, rules, context("refinance", 1, market_apr=None)) is None
    assert night_verdict(renderer, rules, context("refinance", 0)) is None
