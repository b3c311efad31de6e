"""The set-up check: every billing account, rate and tax rate that Xero would reject, what to do about
each, and where. Shown on the Set-up check page and printed by `manage.py xero_setup_check`.

Rates and tax rates are judged from the organisation's cached chart of accounts and tax rates (re-read
when stale, or on Recheck) with the rules the sync uses (mapping.py). Billing accounts are looked up in
Xero in bulk, in as few calls as Xero's limit on a request's length allows: their codes (Xero's `where`
ignores case; the code without its spaces too), their names (a name clash makes Xero refuse to create
the contact) and every Account Number holding a space — so that a code that matches only when case or
spaces are ignored is found without one call per row.
"""

from django.db.models import Count, Q
from django.urls import reverse

from billing.models import BillingAccount, Branch, Invoice, Rate, TaxRate
from billing.selectors import document_numbering
from integrations.xero import web_links
from integrations.xero.api import values
from integrations.xero.api.errors import XeroError
from integrations.xero.api.xero_api import xero_api_for
from integrations.xero.link import linking
from integrations.xero.models import XeroConnection
from integrations.xero.outbound import mapping, tracking
from integrations.xero.setup.report import BLOCKING, NOTE, OK, WARNING, Line, Report, Section, sorted_lines

ACCOUNT_NUMBER_MAX = 50  # Xero's limit on a contact's Account Number
IN_USE = [Invoice.Status.DRAFT, Invoice.Status.ISSUED]


def setup_check_run(*, connection: XeroConnection, refresh: bool = False) -> Report:
    """The whole check; `refresh` re-reads the chart of accounts and tax rates first (Recheck)."""
    reference_error = ""
    try:
        if refresh or linking.reference_data_stale(connection):
            linking.reference_data_refresh(connection=connection)
    except XeroError as error:
        reference_error = f"The chart of accounts and tax rates could not be read again from Xero: {error.message}"
    accounts = _billing_account_section(connection)
    rates = Section("rates", "Rates (revenue account codes)", sorted_lines(_rate_lines(connection)), reference_error)
    taxes = Section("tax_rates", "Tax rates (accounting codes)", sorted_lines(_tax_lines(connection)), reference_error)
    currencies = Section(
        "currencies", "Currencies (of billing accounts)", sorted_lines(_currency_lines(connection)), reference_error
    )
    numbers = _numbers_section(connection)
    tracked = Section("tracking", "Tracking (service lines and branches)", _tracking_lines(connection), reference_error)
    sections = [accounts, currencies, rates, taxes, tracked, numbers]
    return Report(connection.tenant_name, connection.reference_data_loaded_at, sections)


def report_text(report: Report) -> str:
    """The report as `xero_setup_check` prints it."""
    loaded = report.reference_data_loaded_at
    out = [
        f"Xero set-up check: {report.organisation}"
        + (f" (chart of accounts and tax rates read at {loaded:%Y-%m-%d %H:%M} UTC)" if loaded else ""),
        "  ".join(f"{symbol} {count} {label}" for symbol, label, count in report.summary),
        "",
    ]
    for section in report.sections:
        out.append(section.title + ("" if section.lines else ": none"))
        if section.error:
            out.append(f"  ! {section.error}")
        for line in section.lines:
            used = f" [on {line.used} draft or issued document{'s' if line.used != 1 else ''}]" if line.used else ""
            out.append(f"  {line.symbol} {line.subject} ({line.code}){used}: {line.says}")
            if line.todo:
                out.append(f"      → {line.todo} ({line.fix_url}{' or ' + line.xero_url if line.xero_url else ''})")
        out.append("")
    return "\n".join(out)


def _in_use(path: str, *, company_id: int | None = None) -> Count:
    """How many draft or issued documents (of one company, when given) are reached through `path`."""
    of_company = Q(**{f"{path}__company_id": company_id}) if company_id else Q()
    return Count(path, filter=Q(of_company, **{f"{path}__status__in": IN_USE}), distinct=True)


# --- Currencies ------------------------------------------------------------------------------
def _currency_lines(connection: XeroConnection) -> list[Line]:
    """One line per currency the address book bills in: Xero refuses a document in a currency the
    organisation has not enabled, and the platform will not issue one."""
    used = (
        BillingAccount.objects.values("currency")
        .annotate(accounts=Count("pk"), documents=_in_use("invoices"))
        .order_by("currency")
    )
    return [_currency_line(connection, row["currency"], row["accounts"], row["documents"]) for row in used]


def _currency_line(connection: XeroConnection, currency: str, accounts: int, documents: int) -> Line:
    problem = mapping.currency_problem(currency, connection.currencies, organisation=connection.tenant_name)
    subject = f"{accounts} billing account{'s' if accounts != 1 else ''} in {currency}"
    if problem:
        says, _, todo = problem.partition(". ")
        return Line(
            BLOCKING,
            subject,
            currency,
            says[0].upper() + says[1:] + ".",
            todo,
            reverse("billing:account_list"),
            used=documents,
        )
    return Line(OK, subject, currency, f"{currency} is enabled in Xero.", used=documents)


# --- Tracking --------------------------------------------------------------------------------
def _tracking_lines(connection: XeroConnection) -> list[Line]:
    """One line per rate service line and per branch, when a tracking category was chosen for them: Xero
    refuses a line whose option it lacks or has archived, and the platform holds such a document back."""
    lines = []
    if connection.tracking_for_service:
        services = Rate.objects.exclude(service="").values("service")
        for row in services.annotate(documents=_in_use("invoice_lines__invoice")).order_by("service"):
            lines.append(
                _tracking_line(
                    connection,
                    connection.tracking_for_service,
                    f"Rates with service line {row['service']}",
                    row["service"],
                    reverse("billing:rate_list"),
                    row["documents"],
                )
            )
    if connection.tracking_for_branch:
        for branch in Branch.objects.annotate(documents=_in_use("invoices")).order_by("name"):
            lines.append(
                _tracking_line(
                    connection,
                    connection.tracking_for_branch,
                    f"Branch {branch.name}",
                    branch.name,
                    reverse("admin:billing_branch_changelist"),
                    branch.documents,
                )
            )
    return sorted_lines(lines)


def _tracking_line(connection, category: str, subject: str, option: str, fix_url: str, documents: int) -> Line:
    problem = tracking.option_problem(category, option, connection.tracking_categories)
    if not problem:
        return Line(OK, subject, option, f"An active option of Xero's tracking category “{category}”.", used=documents)
    todo = f"Add or restore it in Xero ({tracking.SETTINGS_PLACE}), or change it here."
    return Line(BLOCKING, subject, option, problem[0].upper() + problem[1:] + ".", todo, fix_url, used=documents)


# --- Document numbers ------------------------------------------------------------------------
def _numbers_section(connection: XeroConnection) -> Section:
    """Sales documents Xero already holds under numbers the platform will give: Xero would refuse the
    platform's document when its turn comes (a sync exception then), so say so before the first sync."""
    section = Section("numbers", "Document numbers (invoices and credit notes already in Xero)")
    api, lines = xero_api_for(connection), []
    try:
        for kind, noun in ((Invoice.Kind.INVOICE, "invoice"), (Invoice.Kind.CREDIT_NOTE, "credit note")):
            prefix, last = document_numbering(company=connection.company, kind=kind)
            found = api.find_sales_numbers_from(f"{prefix}-", credit_notes=kind == Invoice.Kind.CREDIT_NOTE)
            lines += _number_lines(noun, prefix, last, found)
    except XeroError as error:
        section.error = f"Xero's invoices and credit notes could not be read: {error.message}"
    section.lines = lines
    return section


def _number_lines(noun: str, prefix: str, last: int, found: list[values.DocumentFound]) -> list[Line]:
    ahead = [document for document in found if _counter(document.number, prefix) > last]
    if not ahead:
        return [
            Line(
                OK,
                f"Next {noun} numbers",
                f"{prefix}-…",
                f"Xero holds no sales {noun} numbered after "
                f"{prefix}-{last:06d}: the numbers the platform gives next are free.",
            )
        ]
    return [
        Line(
            WARNING,
            f"Sales {noun} {document.number} in Xero",
            document.number,
            f"Xero already holds a sales {noun} numbered {document.number} (to {document.contact_name or 'a contact'}, "
            f"{document.total or 0:,.2f}, {document.status}) that the platform did not send. The platform will give "
            f"that number to a {noun} of its own, and Xero will refuse it then.",
            todo=f"Give that {noun} another number in Xero, or change the platform's {noun} number prefix "
            f"({prefix}) before issuing that many",
            fix_url=reverse("xero:setup_check"),
            xero_url=web_links.sales_url(),
        )
        for document in ahead
    ]


def _counter(number: str, prefix: str) -> int:
    """The running number after `prefix-` (0 when the rest is not a number)."""
    rest = number[len(prefix) + 1 :]
    return int(rest) if rest.isdigit() else 0


# --- Billing accounts ------------------------------------------------------------------------
def _billing_account_section(connection: XeroConnection) -> Section:
    section = Section("billing_accounts", "Billing accounts (Xero contacts' Account Numbers)")
    accounts = list(BillingAccount.objects.annotate(used=_in_use("invoices")).order_by("code"))
    try:
        contacts, refused = _contacts_like(connection, accounts)
    except XeroError as error:
        section.error = f"Xero's contacts could not be read: {error.message}"
        return section
    if refused:
        section.error = (
            "Xero could not read the look-up of " + "; ".join(sorted(refused)) + f": “{next(iter(refused.values()))}” "
            "The lines below may miss a contact that has one of these."
        )
    section.lines = sorted_lines([_billing_account_line(account, contacts) for account in accounts])
    return section


def _contacts_like(connection: XeroConnection, accounts: list[BillingAccount]) -> tuple[list[values.XeroContact], dict]:
    """Every Xero contact that may match one of these accounts, in as few calls as Xero's length limit allows."""
    if not accounts:
        return [], {}
    numbers = [
        code for a in accounts if len(a.code) <= ACCOUNT_NUMBER_MAX for code in {a.code, "".join(a.code.split())}
    ]
    found = xero_api_for(connection).find_contacts_like(
        account_numbers=sorted(set(numbers)),
        names=sorted({a.name for a in accounts if a.name}),
        spaced_numbers=True,
    )
    return list({contact.contact_id: contact for contact in found.items}.values()), found.refused


def _squeezed(text: str) -> str:
    return "".join(text.split()).casefold()


def _billing_account_line(account: BillingAccount, contacts: list[values.XeroContact]) -> Line:
    code = account.code
    line = {"subject": account.name, "code": code, "fix_url": account.get_absolute_url(), "used": account.used}
    if len(code) > ACCOUNT_NUMBER_MAX:
        return Line(
            BLOCKING,
            says=f"The code is {len(code)} characters long; Xero's Account Number holds at most {ACCOUNT_NUMBER_MAX}.",
            todo="Shorten the billing account code in the Address book.",
            **line,
        )
    exact = sorted((c for c in contacts if c.account_number == code), key=lambda c: c.status != "ACTIVE")
    if exact:
        return _exact_match_line(exact[0], line)
    near = [c for c in contacts if c.account_number and _squeezed(c.account_number) == _squeezed(code)]
    if near:
        return _near_match_line(near[0], line)
    clash = [
        c for c in contacts if c.status == "ACTIVE" and c.name.strip().casefold() == account.name.strip().casefold()
    ]
    if clash:
        return _name_clash_line(clash[0], line)
    return Line(
        NOTE,
        says="No Xero contact has this Account Number: Xero's contact is created with the first "
        "document issued to this billing account.",
        **line,
    )


def _exact_match_line(contact: values.XeroContact, line: dict) -> Line:
    if contact.status == "ACTIVE":
        return Line(OK, says=f"Matches the Xero contact “{contact.name}”.", **line)
    return Line(
        BLOCKING,
        says=f"Matches the Xero contact “{contact.name}”, which is archived: Xero refuses documents for it, "
        "and will not give its Account Number to a new contact.",
        todo=f"Un-archive “{contact.name}” in Xero (Contacts › Archived), or give this billing account the Account "
        "Number of an active contact.",
        xero_url=web_links.contact_url(contact.contact_id),
        **line,
    )


def _near_match_line(contact: values.XeroContact, line: dict) -> Line:
    archived = "" if contact.status == "ACTIVE" else " (and that contact is archived)"
    return Line(
        BLOCKING,
        says=f"The Xero contact “{contact.name}” has the Account Number “{contact.account_number}”, which "
        f"matches only if case or spaces are ignored{archived}; Xero needs them to be exactly equal.",
        todo=f"Change the billing account code to “{contact.account_number}” in the Address book, or that contact's "
        f"Account Number to “{line['code']}” in Xero.",
        xero_url=web_links.contact_url(contact.contact_id),
        **line,
    )


def _name_clash_line(contact: values.XeroContact, line: dict) -> Line:
    number = f" (Account Number “{contact.account_number}”)" if contact.account_number else " (no Account Number)"
    return Line(
        BLOCKING,
        says=f"No Xero contact has this Account Number, and Xero will refuse to create one: the active "
        f"contact “{contact.name}”{number} already has this name.",
        todo=f"Set that contact's Account Number to “{line['code']}” in Xero, or rename the billing account in the "
        "Address book.",
        xero_url=web_links.contact_url(contact.contact_id),
        **line,
    )


# --- Rates and tax rates ---------------------------------------------------------------------
def _rate_lines(connection: XeroConnection) -> list[Line]:
    """Every rate, by the revenue account it posts to in the connection's company's chart (its own code there)."""
    by_code = mapping.accounts_by_code(connection.chart_of_accounts)
    used = _in_use("invoice_lines__invoice", company_id=connection.company_id)  # its documents go to this organisation
    rates = Rate.objects.annotate(used=used).prefetch_related("company_codes")
    return [_rate_line(rate, by_code, company_id=connection.company_id) for rate in rates]


def _rate_line(rate: Rate, by_code: dict, *, company_id: int) -> Line:
    code = rate.revenue_accounting_code_for(company_id)
    own = next((one.revenue_account_code for one in rate.company_codes.all() if one.company_id == company_id), "")
    line = {
        "subject": rate.label,
        "code": own or rate.revenue_account_code or "no revenue code",
        "used": rate.used,
        "fix_url": reverse("billing:rate_edit", args=[rate.pk]),
    }
    if not code:
        return Line(
            BLOCKING if rate.used else NOTE,
            says="No revenue account code: a cost-only rate cannot go on an invoice.",
            todo="Add the Code of an active revenue account in Xero." if rate.used else "",
            **line,
        )
    problem = mapping.revenue_account_problem(code, by_code)
    if problem is None:
        return Line(OK, says=f"Xero's account {code} ({by_code[code]['name']}) is an active revenue account.", **line)
    return _problem_line(problem, f"Revenue account code {code}", line)


def _tax_lines(connection: XeroConnection) -> list[Line]:
    """The tax rates of the connection's company (the others' are their own organisations' to judge)."""
    by_type = mapping.tax_rates_by_type(connection.tax_rates)
    taxes = TaxRate.objects.filter(company_id=connection.company_id).annotate(used=_in_use("invoice_lines__invoice"))
    return [_tax_line(tax, by_type) for tax in taxes]


def _tax_line(tax: TaxRate, by_type: dict) -> Line:
    code = tax.accounting_code
    line = {
        "subject": tax.name,
        "code": code,
        "used": tax.used,
        "fix_url": reverse("billing:taxrate_edit", args=[tax.pk]),
    }
    problem = mapping.tax_type_problem(code, by_type, percentage=tax.rate)
    if problem is None:
        return Line(OK, says=f"Xero's “{by_type[code]['name']}” applies to sales, at the same percentage.", **line)
    return _problem_line(problem, f"Accounting code {code}", line)


def _problem_line(problem: mapping.CodeProblem, what: str, line: dict) -> Line:
    """A code Xero lacks may be created there later: a warning, until a draft or issued document needs it."""
    if problem.kind == mapping.PERCENT_DIFFERS or (problem.kind == mapping.NOT_IN_XERO and not line["used"]):
        status = WARNING
    else:
        status = BLOCKING
    blocked = " Documents using it will not sync." if status == BLOCKING and line["used"] else ""
    return Line(status, says=f"{what}, {problem.says}.{blocked}", todo=problem.todo, **line)
