"""Link the platform to the sandbox's NZ organisation the way a person does, over HTTP:
sign in, press LINK TO MY ACCOUNT, allow access on the sandbox's consent page, follow the callback.

The platform's callback then exchanges the code at the sandbox's token endpoint, lists the
connections and reads the organisation and its reference data — all over HTTP, as with Xero.
"""

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

from .processes import BenchError


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the flow follows each redirect itself, to check where it points


class Browser:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects)

    def get(self, url: str) -> tuple[int, str, str]:
        return self._send(urllib.request.Request(self._absolute(url)))

    def post(self, url: str, form: dict) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(form, doseq=True).encode()
        request = urllib.request.Request(self._absolute(url), data=body, method="POST")
        request.add_header("X-CSRFToken", self.cookie("csrftoken"))
        return self._send(request)

    def cookie(self, name: str) -> str:
        return next((c.value for c in self.cookies if c.name == name), "")

    def _absolute(self, url: str) -> str:
        return urllib.parse.urljoin(self.base_url, url)

    def _send(self, request) -> tuple[int, str, str]:
        try:
            with self.opener.open(request, timeout=60) as answer:
                return answer.status, answer.headers.get("Location", ""), answer.read().decode(errors="replace")
        except urllib.error.HTTPError as answer:  # 3xx land here too, since redirects are not followed
            return answer.code, answer.headers.get("Location", ""), answer.read().decode(errors="replace")


def link_over_http(*, base_url: str, username: str, password: str, tenant_id: str) -> None:
    browser = signed_in(base_url, username, password)
    link_company(browser, tenant_id=tenant_id)


def signed_in(base_url: str, username: str, password: str) -> Browser:
    browser = Browser(base_url)
    _sign_in(browser, username, password)
    return browser


def link_company(browser: Browser, *, tenant_id: str, company: int | None = None) -> None:
    """LINK TO MY ACCOUNT on a company's card (the default company's when none is given), then the consent."""
    status, authorize_url, _ = browser.post("/integrations/xero/link/", {"company": company} if company else {})
    _expect(
        status == 302 and "/identity/connect/authorize" in authorize_url, "LINK TO MY ACCOUNT", status, authorize_url
    )
    status, _, page = browser.get(authorize_url)
    _expect(status == 200 and tenant_id in page, "the sandbox's consent page", status, page[:300])
    status, callback_url, page = browser.post(authorize_url, {"decision": "allow", "organisations": [tenant_id]})
    _expect(status == 302 and "code=" in callback_url, "allowing access", status, callback_url or page[:300])
    status, landing, page = browser.get(callback_url)
    _expect(status == 302, "the OAuth callback", status, landing or page[:300])


def link_companies(browser: Browser, books: dict[str, int]) -> None:
    """One consent granting several organisations (tenant id → the company it books), then the platform's
    choose page, where each organisation is given its company: as an administrator linking a group does."""
    status, authorize_url, _ = browser.post("/integrations/xero/link/", {"company": next(iter(books.values()))})
    _expect(status == 302, "LINK TO MY ACCOUNT", status, authorize_url)
    status, _, page = browser.get(authorize_url)
    _expect(status == 200 and all(tenant in page for tenant in books), "the sandbox's consent page", status, page[:300])
    status, callback_url, page = browser.post(authorize_url, {"decision": "allow", "organisations": list(books)})
    _expect(status == 302 and "code=" in callback_url, "allowing access", status, callback_url or page[:300])
    status, choose_url, page = browser.get(callback_url)
    _expect(status == 302 and "/choose/" in choose_url, "the OAuth callback", status, choose_url or page[:300])
    status, _, page = browser.get(choose_url)
    _expect(status == 200, "the choose page", status, page[:300])
    status, landing, page = browser.post(choose_url, {f"books-{tenant}": pk for tenant, pk in books.items()})
    _expect(status == 302 and "/choose/" not in landing, "choosing each organisation's company", status, page[:300])


def _sign_in(browser: Browser, username: str, password: str) -> None:
    status, _, page = browser.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    _expect(status == 200 and token, "the login page", status, page[:300])
    status, landing, page = browser.post(
        "/login/",
        {
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": token.group(1),
        },
    )
    _expect(status == 302, "signing in", status, page[:300])


def _expect(ok, step: str, status: int, detail: str) -> None:
    if not ok:
        raise BenchError(f"Linking over HTTP failed at {step}: HTTP {status} {detail}")
