"""Render campaign messages in a Jinja2 sandbox and add the disclosures compliance owns."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from jinja2 import (
    BaseLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    Undefined,
    meta,
    nodes,
    select_autoescape,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer
from markupsafe import escape

from pipelines.lib.content_rules import (
    CANSPAM_CONTENT,
    CONTENT_STRICT,
    IDENTITY,
    REGZ_APR,
    REGZ_APR_UNAVAILABLE,
    REGZ_TRIGGER_TERMS,
    RESPA_AFBA,
    ContentBlocked,
    credit_terms_in,
    format_dollars,
    format_money,
    format_phone,
    format_rate,
    format_share,
    referral_partner,
    shape,
    unsubscribe_url,
)

if TYPE_CHECKING:
    from pipelines.lib.campaigns import Campaign

SUBJECT_CHANNELS = frozenset({"email"})
STANDARD, NOTERMS = "standard", "noterms"

# Disclosures in the order they print, each with the rule that blocks a message lacking it.
DISCLOSURE_RULES = {
    "regz_apr": REGZ_APR,
    "regz_terms": REGZ_TRIGGER_TERMS,
    "heloc_terms": REGZ_TRIGGER_TERMS,
    "afba": RESPA_AFBA,
    "partner_referral": CONTENT_STRICT,
    "identity": IDENTITY,
    "canspam_footer": CANSPAM_CONTENT,
    "sms_optout": CONTENT_STRICT,
}


class MessageContext(NamedTuple):
    """Everything one message may print. Mappings hold merge values; a value that is None (or
    NaN) counts as missing, so a template that prints it is blocked (content.strict).

    borrower: first_name, last_name, ...
    loan_officer: name, nmls_id, email, phone (phone may be None); None when the loan has none.
    loan: loan_id, current_upb, est_value, available_equity, term_months, scheduled_payment and,
      for refinance, market_rate, market_apr (None when market_rates.apr is null), new_payment,
      new_term_months (360 for fixed_30, 180 for fixed_15), monthly_savings, closing_costs,
      breakeven_months.
    """

    campaign_id: str
    step: int  # index into the campaign's steps
    channel: str
    template: str
    borrower: Mapping[str, Any]
    loan_officer: Mapping[str, Any] | None
    loan: Mapping[str, Any]
    message_id: str
    consumer_credit: bool = False
    heloc: bool = False
    settlement_service_referral: bool = False
    partner_referral: bool = False
    product: str | None = None  # the step's product: picks the partner a referral names

    @classmethod
    def for_step(
        cls,
        campaign: Campaign,
        step: int,
        *,
        borrower: Mapping[str, Any],
        loan_officer: Mapping[str, Any] | None,
        loan: Mapping[str, Any],
        message_id: str,
    ) -> MessageContext:
        """The context for step `step` of `campaign`, with its flags resolved for that step."""
        s = campaign.steps[step]
        consumer_credit = campaign.step_flag(s, "consumer_credit")
        return cls(
            campaign_id=campaign.id,
            step=step,
            channel=s.channel,
            template=s.template,
            borrower=borrower,
            loan_officer=loan_officer,
            loan=loan,
            message_id=message_id,
            consumer_credit=consumer_credit,
            # Step has no heloc override: the HELOC rules follow the campaign's credit steps.
            heloc=campaign.heloc and consumer_credit,
            settlement_service_referral=campaign.step_flag(s, "settlement_service_referral"),
            partner_referral=campaign.step_flag(s, "partner_referral"),
            product=campaign.step_product(s),
        )


class RenderedMessage(NamedTuple):
    """One message as it will be sent, with what the audit record needs to prove it."""

    campaign_id: str
    step: int
    channel: str
    template_id: str  # the step template's path under templates/
    variant: str  # standard | noterms
    subject: str | None  # email only
    body_text: str  # the message with its disclosures; for phone the call script
    body_html: str | None  # email only, derived from body_text
    from_email: str | None
    reply_to: str | None
    unsubscribe_url: str | None
    list_unsubscribe: str | None
    disclosures: tuple[str, ...]
    template_files: Mapping[str, str]  # path under templates/ -> sha256
    template_sha256: str  # one hash over template_files, for the audit record
    content_sha256: str


class _TemplateFiles(BaseLoader):
    """Reads each template file once and remembers the SHA-256 of the bytes it read, so the
    hash recorded for approval is the hash of exactly what was rendered.

    Jinja is handed each file with its static includes written in place: an `{% include %}`
    builds a second context on every render, and partials are small and shared."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.sources: dict[str, str] = {}
        self.sha256: dict[str, str] = {}

    def exists(self, name: str) -> bool:
        return name in self.sources or self._path(name).is_file()

    def _path(self, name: str) -> Path:
        parts = name.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise TemplateNotFound(name)
        return self.root.joinpath(*parts)

    def read(self, name: str) -> str:
        if name not in self.sources:
            path = self._path(name)
            if not path.is_file():
                raise TemplateNotFound(name)
            data = path.read_bytes()
            self.sources[name] = data.decode("utf-8")
            self.sha256[name] = hashlib.sha256(data).hexdigest()
        return self.sources[name]

    def inlined(self, name: str, within: tuple[str, ...] = ()) -> str:
        if name in within:
            raise TemplateError(f"{' -> '.join((*within, name))}: includes itself")
        return _INCLUDE.sub(
            lambda m: self.inlined(m.group(1), (*within, name)).rstrip("\n"), self.read(name)
        )

    def get_source(self, environment: Any, name: str) -> tuple[str, str, Any]:
        return self.inlined(name), str(self._path(name)), lambda: True


_INCLUDE = re.compile(r"""{%-?\s*include\s+["']([^"']+)["']\s*-?%}""")


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with merge values read as mapping items first: they are data, never Python
    attributes, and skipping the attribute probe keeps rendering fast."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            value = obj.get(attribute, _MISSING)
            if value is not _MISSING:
                return value
        return super().getattr(obj, attribute)


_MISSING = object()


def _number(value: Any) -> int | float | Decimal:
    kind = type(value)  # bool is not a number here, and neither is text that looks like one
    if (
        kind is int
        or (kind is float and math.isfinite(value))
        or (kind is Decimal and value.is_finite())
    ):
        return value
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    raise ContentBlocked(CONTENT_STRICT, f"expected a number, got {value!r}")


def _years(months: Any) -> str:
    months = _number(months)
    if months % 12:
        raise ContentBlocked(CONTENT_STRICT, f"term of {months} months is not whole years")
    return str(int(months) // 12)


def _whole(value: Any) -> str:
    value = _number(value)
    return f"{int(value):,}" if value == int(value) else f"{value:,}"


def _text(value: Any) -> str:
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if not isinstance(value, str) or not value:
        raise ContentBlocked(CONTENT_STRICT, f"expected text, got {value!r}")
    return value


FILTERS = {
    "money": lambda v: format_money(_number(v)),
    "dollars": lambda v: format_dollars(_number(v)),
    "rate": lambda v: format_rate(_number(v)),
    "share": lambda v: format_share(_number(v)),
    "phone": lambda v: format_phone(_text(v)),
    "years": _years,
    "number": _whole,
    "last4": lambda v: _text(str(v) if type(v) is int else v)[-4:],
}


class _FoldFacts(NodeTransformer):
    """Writes the company's and partners' facts into a template as constants. They are fixed
    for a Renderer's life, and Jinja prints constants as literal text: no lookup per message.
    A fact that is missing is left alone, to fail at render time like any missing value."""

    def __init__(self, facts: Mapping[str, Any]) -> None:
        self.facts = facts

    def _value(self, node: nodes.Node) -> Any:
        if isinstance(node, nodes.Name):
            return self.facts.get(node.name, _MISSING) if node.ctx == "load" else _MISSING
        if isinstance(node, nodes.Getattr):
            key = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            key = node.arg.value
        else:
            return _MISSING
        base = self._value(node.node)
        return base.get(key, _MISSING) if type(base) is dict else _MISSING

    def visit_Getattr(self, node: nodes.Node) -> nodes.Node:
        value = self._value(node)
        if type(value) in (str, int, float, bool):
            return nodes.Const(value, lineno=node.lineno)
        return self.generic_visit(node)

    visit_Getitem = visit_Getattr


def _present(values: Mapping[str, Any]) -> dict[str, Any]:
    # None and NaN (the one value unequal to itself) are missing: printing them would be an
    # empty merge field.
    return {k: v for k, v in values.items() if v is not None and v == v}  # noqa: PLR0124


def _present_keys(values: Mapping[str, Any], keys: frozenset[str]) -> dict[str, Any]:
    """_present(values), cut to `keys`."""
    out = {}
    for k in keys:
        v = values.get(k)
        if v is not None and v == v:  # noqa: PLR0124
            out[k] = v
    return out


def _fixed_keys(tree: nodes.Template, name: str) -> frozenset[str] | None:
    """The keys a template reads from the mapping `name`, when it reads it only as `name.key`
    or `name["key"]`: it can then see no other key, so the mapping it is given may be cut to
    these. None when it could read any: it passes the mapping on, loops over it, assigns the
    name, calls a dict method, or pulls in a template that was not inlined."""
    if any(True for _ in tree.find_all((nodes.Extends, nodes.Include, nodes.Import,
                                        nodes.FromImport))):
        return None
    uses = [n for n in tree.find_all(nodes.Name) if n.name == name]
    if any(n.ctx != "load" for n in uses):
        return None
    keys, reads = set(), 0
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if not (isinstance(node.node, nodes.Name) and node.node.name == name):
            continue
        if isinstance(node, nodes.Getattr):
            keys.add(node.attr)
        elif isinstance(node.arg, nodes.Const) and type(node.arg.value) is str:
            keys.add(node.arg.value)
        else:
            return None
        reads += 1
    if reads != len(uses) or any(hasattr(dict, k) for k in keys):
        return None
    return frozenset(keys)


@dataclass(frozen=True, slots=True)
class _Compiled:
    template: Template
    template_id: str
    variant: str
    files: Mapping[str, str]
    loan_keys: frozenset[str] | None  # what it reads of `loan` (_fixed_keys)


_NO_PARTNER = ""


class Renderer:
    """Compiles each template once and renders messages from MessageContexts."""

    def __init__(
        self,
        templates_dir: Path,
        company: Mapping[str, Any],
        partners: Mapping[str, Mapping[str, Any]],
    ) -> None:
        self.templates_dir = Path(templates_dir)
        self.company = dict(company)
        self.partners = {k: dict(v) for k, v in partners.items()}
        self._files = _TemplateFiles(self.templates_dir)
        self.env = _Sandbox(
            loader=self._files,
            undefined=StrictUndefined,
            autoescape=select_autoescape(
                ("html.j2", "htm.j2"), default_for_string=False, default=False
            ),
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
            cache_size=-1,
        )
        # No globals (range, cycler, lipsum...) and no `default` filter: a template prints the
        # message's own values or fails.
        self.env.globals.clear()
        for name in ("default", "d"):
            self.env.filters.pop(name, None)
        self.env.filters.update(FILTERS)
        self._steps: dict[tuple[str, str, str, str], tuple[_Compiled, _Compiled | None]] = {}
        self._disclosures: dict[tuple[str, tuple[str, ...], str], _Compiled] = {}
        self._manifests: dict[tuple[int, int], tuple[Mapping[str, str], str]] = {}
        self._bases: dict[str, dict[str, Any]] = {}

    # --- compiling, once per template (and partner)

    def _closure(self, name: str, seen: dict[str, str]) -> None:
        """The file and every partial it includes, with their hashes."""
        if name in seen:
            return
        source = self._files.read(name)
        seen[name] = self._files.sha256[name]
        for ref in meta.find_referenced_templates(self.env.parse(source)):
            if ref is None:
                raise ContentBlocked(CONTENT_STRICT, f"{name}: includes must name a fixed file")
            self._closure(ref, seen)

    def _facts(self, partner_key: str) -> dict[str, Any]:
        facts: dict[str, Any] = {"company": self.company, "partners": self.partners}
        if partner_key:
            facts["partner"] = self.partners[partner_key]
        return facts

    def _compile(
        self, names: tuple[str, ...], partner_key: str, variant: str = STANDARD
    ) -> _Compiled:
        """One template from one or more files (a message's disclosures compile together, so
        they cost one render), with the company's and partner's facts folded in."""
        files: dict[str, str] = {}
        try:
            for name in names:
                self._closure(name, files)
            source = "\n\n".join(self._files.inlined(name).strip() for name in names)
            tree = self.env.parse(source, names[0])
            facts = self._facts(partner_key)
            if not any(n.name in facts for n in tree.find_all(nodes.Name) if n.ctx != "load"):
                tree = _FoldFacts(facts).visit(tree)
                tree.set_environment(self.env)
            loan_keys = _fixed_keys(tree, "loan")
            code = self.env.compile(tree, names[0], str(self._files.root / names[0]))
            template = self.env.template_class.from_code(
                self.env, code, self.env.make_globals(None)
            )
        except TemplateNotFound as exc:
            raise ContentBlocked(CONTENT_STRICT, f"template file missing: {exc.name}") from None
        except TemplateError as exc:
            raise ContentBlocked(CONTENT_STRICT, f"{names[0]}: {exc}") from None
        return _Compiled(template, names[0], variant, MappingProxyType(files), loan_keys)

    def step_templates(
        self, campaign_id: str, template: str, channel: str, partner_key: str = _NO_PARTNER
    ) -> tuple[_Compiled, _Compiled | None]:
        """The step's template and its no-terms variant, if it has one."""
        key = (campaign_id, template, channel, partner_key)
        if key not in self._steps:
            pair = []
            for variant, name in (
                (STANDARD, f"{campaign_id}/{template}.{channel}.j2"),
                (NOTERMS, f"{campaign_id}/{template}.noterms.{channel}.j2"),
            ):
                if variant == NOTERMS and not self._files.exists(name):
                    pair.append(None)
                    continue
                compiled = self._compile((name,), partner_key, variant)
                needed = ("subject", "body_text") if channel in SUBJECT_CHANNELS else ("body_text",)
                for block in needed:
                    if block not in compiled.template.blocks:
                        raise ContentBlocked(CONTENT_STRICT, f"{name} defines no {block} block")
                pair.append(compiled)
            self._steps[key] = (pair[0], pair[1])
        return self._steps[key]

    def _disclosure_template(
        self, channel: str, names: tuple[str, ...], partner_key: str
    ) -> _Compiled:
        key = (channel, names, partner_key)
        if key not in self._disclosures:
            paths = []
            for name in names:
                candidates = (f"_disclosures/{name}.{channel}.j2", f"_disclosures/{name}.j2")
                path = next((p for p in candidates if self._files.exists(p)), None)
                if path is None:
                    raise ContentBlocked(
                        DISCLOSURE_RULES[name], f"no disclosure text for {name} on {channel}"
                    )
                paths.append(path)
            self._disclosures[key] = self._compile(tuple(paths), partner_key)
        return self._disclosures[key]

    def _manifest(self, step: _Compiled, notices: _Compiled) -> tuple[Mapping[str, str], str]:
        key = (id(step), id(notices))  # compiled templates live as long as the Renderer
        if key not in self._manifests:
            files = dict(sorted({**step.files, **notices.files}.items()))
            combined = hashlib.sha256(
                "".join(f"{p}\0{h}\n" for p, h in files.items()).encode()
            ).hexdigest()
            self._manifests[key] = (MappingProxyType(files), combined)
        return self._manifests[key]

    # --- rendering, once per message

    def render(self, ctx: MessageContext) -> RenderedMessage:
        """Render one message, or raise ContentBlocked with the rule that stops it."""
        return self.render_with_shapes(ctx)[0]

    def render_with_shapes(self, ctx: MessageContext) -> tuple[RenderedMessage, list[str] | None]:
        """render(), and the shapes of the paragraphs the content rules read (content_rules.
        checked_text, shape) when a consumer-credit message's Reg Z test worked out those of
        its body already: check_content then shapes only the disclosures."""
        partner_key = self._partner_key(ctx)
        standard, noterms = self.step_templates(
            ctx.campaign_id, ctx.template, ctx.channel, partner_key
        )
        apr_known = ctx.loan.get("market_apr") is not None
        step = noterms if ctx.consumer_credit and not apr_known and noterms else standard
        values = self._values(ctx, partner_key, step.loan_keys)
        email = ctx.channel in SUBJECT_CHANNELS
        try:
            context = step.template.new_context(values, shared=True)
            blocks = step.template.blocks
            subject = "".join(blocks["subject"](context)).strip() if email else None
            body = "".join(blocks["body_text"](context)).strip()
        except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
            if ctx.consumer_credit and not apr_known and "market_apr" in str(exc):
                raise ContentBlocked(
                    REGZ_APR_UNAVAILABLE, f"{step.template_id} needs the APR"
                ) from None
            raise ContentBlocked(CONTENT_STRICT, f"{step.template_id}: {exc}") from None

        shapes = None
        states_terms = False
        if ctx.consumer_credit:
            shapes = shape(f"{subject}\n{body}" if email else body).split("\n\n")
            states_terms = credit_terms_in(shapes)
        if states_terms and not apr_known:
            raise ContentBlocked(
                REGZ_APR_UNAVAILABLE,
                f"{step.template_id} states a rate or payment and no APR is known",
            )
        names = self._disclosure_names(ctx, states_terms)
        notices = self._disclosure_template(ctx.channel, names, partner_key)
        if step.loan_keys is not None and not (
                notices.loan_keys is not None and notices.loan_keys <= step.loan_keys):
            # The context reads `values` as it is when a template starts (shared=True).
            values["loan"] = (_present(ctx.loan) if notices.loan_keys is None else
                              _present_keys(ctx.loan, step.loan_keys | notices.loan_keys))
        try:
            # The disclosures read the same values, so they share the step template's context.
            notice_text = "".join(notices.template.root_render_func(context)).strip()
        except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
            raise ContentBlocked(CONTENT_STRICT, f"disclosures {', '.join(names)}: {exc}") from None
        body_text = f"{body}\n\n{notice_text}"
        # checked_text is the body's text, a blank line, then the disclosures': its paragraphs
        # are theirs together, unless an empty body or subject moves the blank line.
        if shapes is not None and body and notice_text and (subject or not email):
            shapes += shape(notice_text).split("\n\n")
        else:
            shapes = None
        files, template_sha256 = self._manifest(step, notices)

        if email:
            url = values["unsubscribe_url"]
            body_html = _html(subject, body_text)
            content = f"{subject}\x1f{body_text}\x1f{body_html}"
        else:
            url = body_html = None
            content = body_text
        return RenderedMessage(
            ctx.campaign_id,
            ctx.step,
            ctx.channel,
            step.template_id,
            step.variant,
            subject,
            body_text,
            body_html,
            self.company["from_email"] if email else None,
            self.company.get("reply_to") if email else None,
            url,
            f"<{url}>" if email else None,
            names,
            files,
            template_sha256,
            hashlib.sha256(content.encode()).hexdigest(),
        ), shapes

    def _partner_key(self, ctx: MessageContext) -> str:
        if not (ctx.settlement_service_referral or ctx.partner_referral):
            return _NO_PARTNER
        partner = referral_partner(
            self.partners, ctx.product, ctx.campaign_id, ctx.settlement_service_referral
        )
        return next((k for k, v in self.partners.items() if v is partner), _NO_PARTNER)

    def _values(self, ctx: MessageContext, partner_key: str,
                loan_keys: frozenset[str] | None = None) -> dict[str, Any]:
        company = self.company
        officer = _present(ctx.loan_officer) if ctx.loan_officer else None
        if officer:
            contact = {
                "name": officer["name"],
                "phone": officer.get("phone") or company["contact_phone"],
                "email": officer.get("email") or company["contact_email"],
            }
        else:
            # RULES.md: where a loan has no loan officer, messages name the company's contact line.
            contact = {
                "name": company["name"],
                "phone": company["contact_phone"],
                "email": company["contact_email"],
            }
        if partner_key not in self._bases:
            # Folded into the templates as constants; here too, for what is not a constant.
            self._bases[partner_key] = self._facts(partner_key)
        values = self._bases[partner_key].copy()
        values["borrower"] = _present(ctx.borrower)
        values["loan"] = _present(ctx.loan) if loan_keys is None else _present_keys(
            ctx.loan, loan_keys)
        values["loan_officer"] = officer
        values["contact"] = contact
        values["message_id"] = ctx.message_id
        values["channel"] = ctx.channel
        if ctx.channel in SUBJECT_CHANNELS:
            values["unsubscribe_url"] = unsubscribe_url(
                company["unsubscribe_base_url"], ctx.message_id
            )
        return values

    @staticmethod
    def _disclosure_names(ctx: MessageContext, states_terms: bool) -> tuple[str, ...]:
        names = []
        if states_terms:
            names += ["regz_apr", "regz_terms"]
        if ctx.heloc:
            names.append("heloc_terms")
        if ctx.settlement_service_referral:
            names.append("afba")
        elif ctx.partner_referral:
            names.append("partner_referral")
        names.append("identity")
        if ctx.channel == "email":
            names.append("canspam_footer")
        elif ctx.channel == "sms":
            names.append("sms_optout")
        return tuple(names)


def _html(subject: str, body_text: str) -> str:
    """The HTML body: the text escaped, paragraphs and line breaks kept, links made clickable."""
    text = str(escape(body_text)).replace("\n", "<br>\n").replace("<br>\n<br>\n", "</p>\n<p>")
    parts = []
    done = 0
    i = text.find("https://")
    while i >= 0:
        link = _URL.match(text, i)
        if link:
            url = link.group()
            parts += [text[done:i], f'<a href="{url}">{url}</a>']
            done = link.end()
        i = text.find("https://", i + 8)
    parts.append(text[done:])
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(subject)}</title></head>\n"
        f'<body style="{_BODY_STYLE}">\n'
        f"<p>{''.join(parts)}</p>\n</body></html>\n"
    )


_BODY_STYLE = "font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#222"
# A link runs to the next space or markup; punctuation after it is not part of it.
_URL = re.compile(r"https://[^\s<>\"']*[^\s<>\"'.,;:)]")
