"""Content rules: check a rendered message's text against COMPLIANCE.md "Content rules"."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import yaml

from pipelines.lib.paths import ASSETS_DIR

if TYPE_CHECKING:
    from pipelines.lib.rendering import MessageContext, RenderedMessage

# Rule ids, as in assets/compliance/register.yaml.
CONTENT_STRICT = "content.strict"
CANSPAM_CONTENT = "canspam.content"
REGZ_APR = "regz.apr"
REGZ_APR_UNAVAILABLE = "regz.apr_unavailable"
REGZ_TRIGGER_TERMS = "regz.trigger_terms"
RESPA_AFBA = "respa.afba"
BANNED_PHRASES = "banned_phrases"
IDENTITY = "identity"


class ContentBlocked(Exception):
    """The message cannot be sent as rendered: `rule_id` decides a `block`."""

    def __init__(self, rule_id: str, detail: str = "") -> None:
        super().__init__(f"{rule_id}: {detail}" if detail else rule_id)
        self.rule_id = rule_id
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken content rule: the register's rule id and what was wrong, for the report."""

    rule_id: str
    detail: str


# --- Canonical forms: how regulated facts are printed, so that the checks below can find them.


def format_money(value: float | Decimal) -> str:
    """$1,822.83. Money features arrive rounded half-up to cents (RULES.md); this only prints."""
    return f"${value:,.2f}"


def format_dollars(value: float | Decimal) -> str:
    """$85,000: whole dollars rounded down, so an "up to" amount is never overstated."""
    return f"${int(value):,}"


def format_rate(value: float | Decimal) -> str:
    """6.125%: rates in percent with three decimals, as rate sheets print them."""
    return f"{value:.3f}%"


def format_share(value: float | Decimal) -> str:
    """49 or 49.5: an ownership share in percent, without trailing zeros."""
    return f"{value:g}" if not isinstance(value, Decimal) else f"{value.normalize():f}"


@lru_cache(maxsize=4096)
def format_phone(e164: str) -> str:
    """(800) 555-0100 for a US number in E.164; any other number stays in E.164."""
    if len(e164) == 12 and e164.startswith("+1") and e164[2:].isdigit():
        return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"
    if e164.startswith("+") and e164[1:].isdigit():
        return e164
    raise ContentBlocked(CONTENT_STRICT, f"phone {e164!r} is not E.164")


def nmls_tag(nmls_id: Any) -> str:
    return f"NMLS #{nmls_id}"


_URL_SAFE = re.compile(r"[A-Za-z0-9._~-]+")


def unsubscribe_url(base_url: str, message_id: str) -> str:
    """The link unique to one message (CAN-SPAM): the company's base URL plus the message id."""
    if not _URL_SAFE.fullmatch(message_id):
        raise ContentBlocked(CANSPAM_CONTENT, f"message id {message_id!r} is not URL-safe")
    return base_url + message_id


# --- Reg Z: stated rates and trigger terms. The renderer uses the same detectors to decide
# whether a consumer-credit message needs the APR and repayment-terms blocks.

_FIGURE = re.compile(r"\d(?:\.\d+)?\s?(?:%|percent\b)")
_APR_WORDS = ("apr", "annual percentage rate")
# Right after a rate's % sign: the rate is itself an APR, or its APR follows in parentheses.
_APR_AFTER = re.compile(r"\s?(?:apr\b|annual percentage rate\b|\(\s*\d+(?:\.\d+)?\s?%\s*apr\b)")


def _apr_before(low: str, pos: int) -> bool:
    """Whether the figure ending at `pos` is introduced as an APR: "APR is 18.000%", "APR: 6.3%",
    "annual percentage rate (APR) of 6.3%"."""
    j = pos
    while j > 0 and (low[j - 1].isdigit() or low[j - 1] in ". "):
        j -= 1
    lead = low[max(0, j - 40) : j].rstrip(" :")
    for connector in (" is", " of", " was", " at", " be", " to"):
        if lead.endswith(connector):
            lead = lead[: -len(connector)]
            break
    if lead.endswith("(apr)"):
        lead = lead[:-5].rstrip()
    if lead.endswith("annual percentage rate"):
        return True
    return lead.endswith("apr") and (len(lead) == 3 or not lead[-4].isalnum())


_AMOUNT = re.compile(r"\$\s?\d[\d,]*(?:\.\d+)?")
# Right after an amount: it is a payment, a finance charge or a down payment.
_AFTER_AMOUNT = re.compile(
    r"\s*(?:/\s*mo\b|/\s*month|per month|a month|each month|every month|monthly"
    r"|(?:in|of)\s+(?:total\s+)?(?:interest|finance charges?)\b|down\b)"
)
_N_PAYMENTS = re.compile(
    r"\b\d[\d,]*\s+(?:monthly\s+|equal\s+|scheduled\s+)?(?:payments|installments)\b"
)
_TERM = re.compile(
    r"\b\d{1,3}[-\s](?:year|yr|month)s?[-\s](?:fixed|term|loan|mortgage|refi|refinance|arm\b|adjustable)"
    r"|\bterm of \d",
)
_ZERO_DOWN = re.compile(r"\b(?:no|zero)\s+down\b|\d\s?%\s+down\b")
# Anchor word, the pattern to try around it, what it is, and how far before the anchor it may start.
_WINDOWED = (
    ("payments", _N_PAYMENTS, "number of payments", 24),
    ("installments", _N_PAYMENTS, "number of payments", 24),
    ("year", _TERM, "term", 6),
    ("yr", _TERM, "term", 6),
    ("month", _TERM, "term", 6),
    ("term of", _TERM, "term", 6),
    ("down", _ZERO_DOWN, "down payment", 8),
)
_REPAYMENT_TERMS = re.compile(r"\b\d[\d,]*\s+(?:monthly\s+)?payments\s+of\s+\$\s?\d")
_MAX_APR = re.compile(
    r"maximum\s+(?:APR|annual percentage rate)\b[^%\n]{0,60}?\d(?:\.\d+)?\s?%", re.IGNORECASE
)
# Earlier in the amount's sentence: the same ("down payment" contains "payment").
_BEFORE_AMOUNT = ("payment", "monthly", "finance charge")


_SENTENCE_REACH = 400  # a longer "sentence" is cut here: the APR must be this close to its rate


def _sentence(text: str, pos: int) -> tuple[int, int]:
    """Bounds of the sentence around `pos`; a line break ends a sentence (subjects, list items).
    Bounded substring searches: a regex sentence splitter costs five times more."""
    floor = max(0, pos - _SENTENCE_REACH)
    start = (
        max(
            floor - 1,
            text.rfind(". ", floor, pos),
            text.rfind("\n", floor, pos),
            text.rfind("? ", floor, pos),
            text.rfind("! ", floor, pos),
        )
        + 1
    )
    end = min(len(text), pos + _SENTENCE_REACH)
    for mark in (". ", "\n", "? ", "! "):
        found = text.find(mark, pos, end)
        if found >= 0:
            end = found
    return start, end


def stated_rates(text: str, low: str) -> list[int]:
    """Positions of every percentage stated as a rate. An AfBA ownership share is not a rate,
    and a % inside a URL is an escape, not a figure."""
    found = []
    i = text.find("%")
    while i >= 0:
        j = i - 1 if i and text[i - 1] == " " else i
        if j > 0 and text[j - 1].isdigit() and not text.startswith(" ownership", i + 1):
            word_start = max(text.rfind(" ", 0, i), text.rfind("\n", 0, i)) + 1
            if not text.startswith("http", word_start):
                found.append(i)
        i = text.find("%", i + 1)
    i = low.find("percent")
    while i >= 0:
        worded_rate = i > 1 and low[i - 1] == " " and low[i - 2].isdigit()
        if worded_rate and not low.startswith(("percentage", "percent ownership"), i):
            found.append(i)
        i = low.find("percent", i + 7)
    return found


def find_trigger_term(text: str, low: str) -> str | None:
    """The first Reg Z trigger term in the text (1026.24(d)(1)): a payment amount, the number of
    payments, the term, a finance charge or a down payment. None when the text states none."""
    i = text.find("$")
    while i >= 0:
        amount = _AMOUNT.match(text, i)
        if amount:
            before = low[max(0, i - 48) : i]
            cut = max(before.rfind(". "), before.rfind("\n"))
            before = before[cut + 1 :]
            if any(word in before for word in _BEFORE_AMOUNT) or _AFTER_AMOUNT.match(
                low, amount.end()
            ):
                return (
                    f"amount {amount.group()!r} stated as a payment, finance charge or down payment"
                )
        i = text.find("$", i + 1)
    return _worded_trigger(low)


def _worded_trigger(low: str) -> str | None:
    """A trigger term without an amount: the number of payments, the term, "no down payment".
    A full-text regex scan costs ten times a substring scan, so regexes run only in a small
    window around each occurrence of an anchor word."""
    for anchor, pattern, what, back in _WINDOWED:
        i = low.find(anchor)
        while i >= 0:
            hit = pattern.search(low, max(0, i - back), i + len(anchor) + 20)
            if hit:
                return f"{what} {hit.group()!r}"
            i = low.find(anchor, i + 1)
    return None


class RegzFacts(NamedTuple):
    """What one paragraph says that Reg Z cares about. Sentences never cross paragraphs, so a
    message's facts are its paragraphs' facts together."""

    rate_without_apr: bool
    states_rate: bool
    trigger: bool
    apr_figure: bool
    repayment_terms: bool
    fee_statement: bool
    maximum_apr: bool


_NO_FACTS = RegzFacts(False, False, False, False, False, False, False)
_ZEROS = bytes.maketrans(b"123456789", b"000000000")


def shape(text: str) -> str:
    """The text with every digit a 0. Only ASCII digits change (UTF-8 puts no other character
    in those bytes) and line breaks stay, so the shape of a whole message splits into the
    shapes of its paragraphs: one translation a message instead of one a paragraph."""
    return text.encode().translate(_ZEROS).decode()


@lru_cache(maxsize=16_384)
def _facts_of_shape(paragraph: str) -> RegzFacts:
    """The facts of a paragraph, from its shape (every digit a 0): no check depends on which
    digits a figure has, and the blocks that quote a loan's numbers keep one shape."""
    low = paragraph.lower()
    if "%" not in paragraph and "$" not in paragraph and "percent" not in low:
        # Rates, APRs, amounts and fees all need one of these: only a worded trigger term is left.
        return _NO_FACTS._replace(trigger=_worded_trigger(low) is not None)
    rates = stated_rates(paragraph, low)
    return RegzFacts(
        rate_without_apr=bool(rates) and bool(rates_without_apr(paragraph, low, rates)),
        states_rate=bool(rates),
        trigger=find_trigger_term(paragraph, low) is not None,
        apr_figure=_apr_figure(paragraph, low, 0, len(paragraph)),
        repayment_terms=_near(paragraph, low, ("payments of",), _REPAYMENT_TERMS, before=24),
        fee_statement=_fee_statement(paragraph, low),
        maximum_apr=_near(paragraph, low, ("maximum",), _MAX_APR),
    )


def rates_without_apr(paragraph: str, low: str, rates: list[int]) -> list[str]:
    """The sentences that state one of `rates` with no APR figure in them."""
    quotes: dict[int, str] = {}
    for pos in rates:
        # The usual forms settle it at a glance: "6.301% APR", "6.125% (6.301% APR)",
        # "APR is 18.000%".
        if _APR_AFTER.match(low, pos + 1) or _apr_before(low, pos):
            continue
        start, end = _sentence(paragraph, pos)
        if start not in quotes and not _apr_figure(paragraph, low, start, end):
            quotes[start] = paragraph[start:end].strip()[:120]
    return list(quotes.values())


def states_credit_terms(text: str) -> bool:
    """Whether a consumer-credit text states a rate or a trigger term, and so needs Reg Z blocks."""
    return credit_terms_in(shape(text).split("\n\n"))


def credit_terms_in(shapes: list[str]) -> bool:
    """states_credit_terms, from the shapes of the text's paragraphs."""
    return any(f.states_rate or f.trigger for f in map(_facts_of_shape, shapes))


# --- The rules' configuration: phrase lists and partner facts, compiled once.


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    """A phrase as whole words (a plural too), in any case, with a hyphen or any whitespace
    between words."""
    words = phrase.lower().replace("-", " ").replace("\u2019", "'").split()
    body = r"[\s-]+".join(re.escape(w).replace("'", "['\u2019]") for w in words)
    return re.compile(rf"(?<![a-z0-9]){body}(?:e?s)?(?![a-z0-9])")


_CLEAN_LIMIT = 50_000  # clean paragraphs remembered; one-off ones (links, amounts) fill it


class _PhraseList:
    """Phrases grouped under a few anchor words. A clean message costs one substring scan per
    anchor; the phrase regexes run only in a small window around an anchor that occurs. A
    phrase is read within a paragraph, and clean paragraphs are remembered: the disclosures and
    most copy repeat in every message."""

    def __init__(self, phrases: Iterable[str], negations: tuple[str, ...] = ()) -> None:
        self.phrases = tuple(dict.fromkeys(" ".join(p.lower().split()) for p in phrases))
        self.negations = negations  # a hit right after one of these does not count
        # Clean paragraphs are remembered by shape (every digit a 0) when no phrase or negation
        # has a digit: a digit then only ever counts as "not a letter", whichever it is, so a
        # paragraph and its shape hold the same phrases, and the paragraphs that quote a loan's
        # numbers repeat.
        self._by_shape = not any(ch.isdigit() for p in (*self.phrases, *negations) for ch in p)
        self._clean: set[str] = set()
        words = {
            p: [
                w
                for w in re.split(r"[\s-]+", p)
                if len(w) > 2 and "'" not in w and "\u2019" not in w
            ]
            or [p]
            for p in self.phrases
        }
        self._groups: list[tuple[str, list[tuple[str, re.Pattern[str], int]]]] = []
        todo = set(self.phrases)
        while todo:  # greedy cover: the word shared by the most phrases first
            counts: dict[str, int] = {}
            for p in todo:
                for w in set(words[p]):
                    counts[w] = counts.get(w, 0) + 1
            anchor = max(counts, key=lambda w: (counts[w], len(w), w))
            group = sorted(p for p in todo if anchor in words[p])
            self._groups.append((anchor, [(p, _phrase_pattern(p), len(p) + 16) for p in group]))
            todo -= set(group)

    def found_in(self, paragraphs: list[str], shapes: list[str] | None = None) -> list[str]:
        """The phrases that occur in these paragraphs, each once. `shapes`: the paragraphs'
        shapes, when the caller has them already."""
        if not self._by_shape:
            keys = paragraphs
        else:
            keys = shapes if shapes is not None else [shape(p) for p in paragraphs]
        fresh_keys = [k for k in keys if k not in self._clean]
        if not fresh_keys:
            return []
        fresh = [p for p, k in zip(paragraphs, keys, strict=True) if k not in self._clean]
        # A separator no phrase can span keeps the paragraphs apart in one scan.
        low = "\0".join(fresh).lower()
        found = []
        for anchor, group in self._groups:
            i = low.find(anchor)
            while i >= 0:
                for phrase, pattern, reach in group:
                    if phrase not in found:
                        for hit in pattern.finditer(low, max(0, i - reach), i + reach):
                            if not low[max(0, hit.start() - 7) : hit.start()].endswith(
                                self.negations
                            ):
                                found.append(phrase)
                                break
                i = low.find(anchor, i + 1)
        if not found:
            if len(self._clean) > _CLEAN_LIMIT:
                self._clean.clear()
            self._clean.update(fresh_keys)
        return found


class ContentRules:
    """Banned phrases, coercive AfBA wording and the partner facts the AfBA must state."""

    def __init__(
        self,
        banned_phrases: Iterable[str],
        afba_coercive_phrases: Iterable[str],
        partners: Mapping[str, Mapping[str, Any]],
    ) -> None:
        self.banned = _PhraseList(banned_phrases)
        # "You are NOT required to use" is the disclosure itself, not a requirement.
        self.coercive = _PhraseList(afba_coercive_phrases, negations=("not ", "n't ", "never "))
        self.partners = partners

    @classmethod
    def load(cls, assets_dir: Path = ASSETS_DIR) -> ContentRules:
        content = yaml.safe_load((assets_dir / "compliance" / "content.yaml").read_text())
        partners = yaml.safe_load((assets_dir / "partners.yaml").read_text())
        return cls(content["banned_phrases"], content["afba_coercive_phrases"], partners)


def referral_partner(
    partners: Mapping[str, Mapping[str, Any]],
    product: str | None,
    campaign_id: str,
    affiliated: bool,
) -> Mapping[str, Any] | None:
    """The partner a step refers the borrower to: the step's product, else the campaign's id,
    else (for an AfBA) the affiliated settlement-service provider: the insurance partner."""
    for key in (product, campaign_id):
        if key and key in partners:
            return partners[key]
    if affiliated:
        return next((p for p in partners.values() if p.get("affiliated")), None)
    return None


# --- The checks.

_SHOP_AROUND = (
    "THERE ARE FREQUENTLY OTHER SETTLEMENT SERVICE PROVIDERS AVAILABLE WITH SIMILAR SERVICES. "
    "YOU ARE FREE TO SHOP AROUND TO DETERMINE THAT YOU ARE RECEIVING THE BEST SERVICES AND THE "
    "BEST RATE FOR THESE SERVICES."
)


def checked_text(rendered: RenderedMessage) -> str:
    """The text the content rules read: the subject, if any, on the line before the body."""
    return f"{rendered.subject}\n{rendered.body_text}" if rendered.subject else rendered.body_text


def check_content(
    rendered: RenderedMessage,
    ctx: MessageContext,
    company: Mapping[str, Any],
    rules: ContentRules,
    shapes: list[str] | None = None,
) -> list[Violation]:
    """Every content-rule violation in the rendered message (subject and body); empty when clean.
    `shapes`: the shapes of checked_text's paragraphs, when the renderer worked them out."""
    text = checked_text(rendered)
    paragraphs = text.split("\n\n")
    if shapes is None:
        shapes = shape(text).split("\n\n")
    found = [
        Violation(BANNED_PHRASES, f"banned phrase {p!r}")
        for p in rules.banned.found_in(paragraphs, shapes)
    ]
    found += _identity(text, ctx, company)
    if ctx.channel == "email":
        found += _canspam(rendered, text, ctx, company)
    if ctx.consumer_credit:
        found += _regz(paragraphs, shapes, ctx.heloc)
    if ctx.settlement_service_referral:
        found += _afba(text, text.lower(), paragraphs, ctx, company, rules)
    return found


def _has(text: str, printed: str) -> bool:
    """Whether `printed` occurs in the text in any case. As the disclosures print it first:
    found so, the lowered text has it too, and lowering the whole text costs more."""
    return text.rfind(printed) >= 0 or text.lower().rfind(printed.lower()) >= 0


def _identity(text: str, ctx: MessageContext, company: Mapping[str, Any]) -> list[Violation]:
    # Identity lines sit at the end of a message, so searching from the end is quick.
    missing = []
    if text.rfind(company["name"]) < 0:
        missing.append(f"company name {company['name']!r}")
    if text.rfind(nmls_tag(company["nmls_id"])) < 0:
        missing.append(f"company {nmls_tag(company['nmls_id'])}")
    officer = ctx.loan_officer
    if officer:
        if text.rfind(officer["name"]) < 0:
            missing.append(f"loan officer name {officer['name']!r}")
        if text.rfind(nmls_tag(officer["nmls_id"])) < 0:
            missing.append(f"loan officer {nmls_tag(officer['nmls_id'])}")
    elif text.rfind(format_phone(company["contact_phone"])) < 0:
        missing.append("the company's contact line (the loan has no loan officer)")
    if not _has(text, "Equal Housing Lender"):
        missing.append("'Equal Housing Lender'")
    return [Violation(IDENTITY, f"missing {m}") for m in missing]


def _canspam(
    rendered: RenderedMessage, text: str, ctx: MessageContext, company: Mapping[str, Any]
) -> list[Violation]:
    problems = []
    subject = (rendered.subject or "").strip()
    if not subject:
        problems.append("empty subject")
    elif "\n" in subject or "\r" in subject:
        problems.append("subject spans lines")
    elif subject.lower().startswith(("re:", "fw:", "fwd:")):
        problems.append(f"subject poses as a reply or forward: {subject!r}")
    sender = rendered.from_email or ""
    display, _, address = sender.partition("<")
    if (
        "@" not in address
        or not display.strip()
        or display.strip().lower() not in company["name"].lower()
    ):
        problems.append(f"from line {sender!r} does not name the company")
    if not _has(text, "advertisement"):
        problems.append("no advertisement notice")
    if text.rfind(company["postal_address"]) < 0:
        problems.append("no postal address")
    expected = unsubscribe_url(company["unsubscribe_base_url"], ctx.message_id)
    if rendered.unsubscribe_url != expected:
        problems.append(f"unsubscribe link {rendered.unsubscribe_url!r} is not this message's")
    elif text.rfind(expected) < 0 or (rendered.body_html or "").rfind(f'href="{expected}"') < 0:
        problems.append("unsubscribe link missing from the body")
    if rendered.list_unsubscribe != f"<{expected}>":
        problems.append("List-Unsubscribe does not carry this message's link")
    return [Violation(CANSPAM_CONTENT, p) for p in problems]


def _regz(paragraphs: list[str], shapes: list[str], heloc: bool) -> list[Violation]:
    facts = [_facts_of_shape(s) for s in shapes]
    found = []
    for paragraph, f in zip(paragraphs, facts):
        if f.rate_without_apr:  # the quotes come from the real text, not the shape
            low = paragraph.lower()
            found += [
                Violation(REGZ_APR, f"rate stated without an APR in the same sentence: {quote!r}")
                for quote in rates_without_apr(paragraph, low, stated_rates(paragraph, low))
            ]
    if any(f.trigger for f in facts):
        missing = []
        if not any(f.apr_figure for f in facts):
            missing.append("the APR")
        if not any(f.repayment_terms for f in facts):
            missing.append("the repayment terms")
        if heloc:
            if not any(f.fee_statement for f in facts):
                missing.append("the fee statement")
            if not any(f.maximum_apr for f in facts):
                missing.append("the maximum APR")
        if missing:
            trigger = next(
                t
                for p, f in zip(paragraphs, facts)
                if f.trigger and (t := find_trigger_term(p, p.lower()))
            )
            found.append(Violation(REGZ_TRIGGER_TERMS, f"{trigger} without {', '.join(missing)}"))
    return found


def _near(
    text: str, low: str, anchors: tuple[str, ...], pattern: re.Pattern[str], before: int = 8
) -> bool:
    """Whether `pattern` matches around an occurrence of one of the anchor words. Statements
    sit near the end of a message, so the scan runs from the end."""
    for anchor in anchors:
        i = low.rfind(anchor)
        while i >= 0:
            if pattern.search(text, max(0, i - before), i + 96):
                return True
            i = low.rfind(anchor, 0, i)
    return False


def _apr_figure(text: str, low: str, start: int, end: int) -> bool:
    """Whether text[start:end] states an APR figure: "6.301% APR", "APR of 6.301%" or
    "6.301% annual percentage rate". Anchored on the words, as a regex over a whole sentence
    costs ten times more."""
    for words in _APR_WORDS:
        i = low.find(words, start, end)
        while i >= 0:
            after = i + len(words)
            if (i == 0 or not low[i - 1].isalnum()) and (
                after >= len(low) or not low[after].isalnum()
            ):
                lead = text[max(start, i - 12) : i]
                if (
                    "%" in lead
                    or "percent" in lead
                    or _FIGURE.search(text, after, min(end, after + 64))
                ):
                    return True
            i = low.find(words, after, end)
    return False


def _fee_statement(text: str, low: str) -> bool:
    """A sentence that names a fee and states a dollar amount."""
    i = low.find("fee")
    while i >= 0:
        start, end = _sentence(text, i)
        if "$" in text[start:end]:
            return True
        i = low.find("fee", i + 3)
    return False


def _afba(
    text: str,
    low: str,
    paragraphs: list[str],
    ctx: MessageContext,
    company: Mapping[str, Any],
    rules: ContentRules,
) -> list[Violation]:
    affiliate = referral_partner(rules.partners, ctx.product, ctx.campaign_id, affiliated=True)
    if affiliate is None:
        return [Violation(RESPA_AFBA, "no affiliate facts to disclose (assets/partners.yaml)")]
    missing = []
    if text.find(affiliate["name"]) < 0 or low.find("business relationship with") < 0:
        missing.append(f"the parties ({company['name']} and {affiliate['name']})")
    if text.find(f"{format_share(affiliate['ownership_share_pct'])}% ownership") < 0:
        missing.append("the relationship and ownership share")
    if low.find("financial or other benefit") < 0:
        missing.append("that the referral may benefit the lender")
    for charge in affiliate["charges"]:
        if text.find(f"{format_dollars(charge['low'])} to {format_dollars(charge['high'])}") < 0:
            missing.append(f"the estimated charge for {charge['service']}")
    if text.find("You are NOT required to use") < 0:
        missing.append("'You are NOT required to use'")
    if text.find(_SHOP_AROUND) < 0:
        missing.append("the FREE TO SHOP AROUND sentence")
    found = [Violation(RESPA_AFBA, f"AfBA disclosure lacks {m}") for m in missing]
    found += [
        Violation(RESPA_AFBA, f"wording requires use of the affiliate: {p!r}")
        for p in rules.coercive.found_in(paragraphs)
    ]
    return found
