#!/usr/bin/env python3
"""An independent implementation of Cloudflare's Custom CSR API, for the conformance harness.

It exists to prove that the harness raises no false alarms: it was written from the API facts
(Cloudflare's public API documentation and SDKs) without looking at the Rust emulator, in another
language, on another HTTP stack. It is deliberately one file with two dependencies: the Python
standard library and `cryptography` (key generation and PKCS#10 CSR building).

Usage:
    python3 independent_server.py --port 0 --token T [--email E --api-key K] [--preload N]

With --preload N, every account and zone holds N CSRs, made before the server started, from the
first authenticated request that names it.

It prints exactly one line to stdout, `listening on http://127.0.0.1:PORT/client/v4`, and serves
until killed. It never logs (nobody may be reading its pipes, and logs could carry secrets).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import re
import sys
import threading
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

# ISO 3166-1 alpha-2, officially assigned codes.
COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
    GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
    KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
    MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
    TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
    ZW
    """.split()
)

KEY_TYPES = ("rsa2048", "p256v1")
# Subjects of the CSRs --preload makes: ASCII, accents, CJK, and characters DN encoders mangle.
EXISTING_SUBJECTS = (
    {"country": "NL", "state": "Noord-Holland", "locality": "Amsterdam", "organization": "Bestaand BV"},
    {"country": "ES", "state": "Comunidad de Madrid", "locality": "Móstoles",
     "organization": "Compañía Existente, S.A.", "organizational_unit": "Operación \"Norte\""},
    {"country": "CN", "state": "上海市", "locality": "浦东新区", "organization": "现有公司"},
    {"country": "SE", "state": "Skåne", "locality": "Malmö", "organization": "Befintlig <AB> + Co",
     "organizational_unit": "IT; Säkerhet"},
)
RESERVED_TLDS = frozenset({"test", "example", "invalid", "localhost"})
EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")
MAX_SANS = 150
MAX_COMMON_NAME = 64
MAX_BODY = 1 << 20
MAX_DISCARD = 8 << 20

# Identifiers. The SDK test suites use the literal path id `account_id`, so scope ids are not
# required to be hex; what is longer than the spec's maxLength (32) or holds other characters
# does not route.
SCOPE_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
CSR_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
LABEL = re.compile(r"[a-z0-9-]{1,63}")
TOKEN = re.compile(r"[A-Za-z0-9_.~+/=-]+")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
API_KEY = re.compile(r"[A-Za-z0-9_-]+")


class ApiError(Exception):
    """One failure answer: HTTP status plus the envelope's errors."""

    def __init__(self, status: int, errors: list[dict], headers: tuple = ()):
        super().__init__(errors[0]["message"] if errors else "")
        self.status = status
        self.errors = errors
        self.headers = headers


def err(code: int, message: str, **extra) -> dict:
    return {"code": code, "message": message, **extra}


def fail(status: int, code: int, message: str, **extra) -> ApiError:
    return ApiError(status, [err(code, message, **extra)])


def envelope_ok(result, result_info=None) -> dict:
    body = {"success": True, "errors": [], "messages": [], "result": result}
    if result_info is not None:
        body["result_info"] = result_info
    return body


def envelope_fail(errors: list[dict]) -> dict:
    return {"success": False, "errors": errors, "messages": [], "result": None}


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_rfc3339() -> str:
    return rfc3339(datetime.now(timezone.utc))


# ---------------------------------------------------------------------------------------------
# Request-body validation: decode first (type errors are decode errors, 1400), then the first
# business rule that fails, in the documented code order.


def _no_surrogates(value) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, list):
        return all(_no_surrogates(v) for v in value)
    if isinstance(value, dict):
        return all(_no_surrogates(k) and _no_surrogates(v) for k, v in value.items())
    return True


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def decode_body(raw: bytes) -> dict:
    try:
        text = raw.decode("utf-8")
        body = json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise fail(400, 1400, "Unable to decode the JSON request body.")
    if not isinstance(body, dict) or not _no_surrogates(body):
        raise fail(400, 1400, "Unable to decode the JSON request body.")
    return body


def optional_string(body: dict, field: str):
    value = body.get(field)
    if value is None or isinstance(value, str):
        return value
    raise fail(400, 1400, f"Unable to decode the JSON request body: '{field}' must be a string.")


def san_problem(san: str):
    """Returns (code, message) for an unacceptable SAN, None for an acceptable one."""
    if len(san) >= 256:
        return 1412, "Invalid SAN: a SAN must be shorter than 256 characters."
    if not san.isascii():
        return 1413, "Invalid SAN: SANs must be ASCII (use the punycode form)."
    name = san.lower()
    try:
        ipaddress.ip_address(name)
        return 1412, "Invalid SAN: IP addresses are not accepted."
    except ValueError:
        pass
    labels = name.split(".")
    for index, label in enumerate(labels):
        if index == 0 and label == "*" and len(labels) > 1:
            continue
        if not LABEL.fullmatch(label):
            return 1412, "Invalid SAN: it contains special characters or an empty or over-long label."
        if label.startswith("-") or label.endswith("-"):
            return 1412, "Invalid SAN: a label may not begin or end with '-'."
    if labels[-1] in RESERVED_TLDS:
        return 1414, "Invalid SAN: reserved top-level domains (test, example, invalid, localhost) are not accepted."
    if any(name == d or name.endswith("." + d) for d in EXAMPLE_DOMAINS):
        return 1416, "Invalid SAN: example.com, example.net and example.org are reserved."
    if len(labels) < 2 or labels[-1].isdigit():
        return 1412, "Invalid SAN: it is not a fully qualified domain name."
    return None


def validate_create(body: dict, kind: str) -> dict:
    """Returns the validated fields, exactly those the client sent (nulls count as not sent)."""
    fields = {}
    for name in ("country", "state", "locality", "organization", "common_name",
                 "organizational_unit", "key_type"):
        value = optional_string(body, name)
        if value is not None:
            fields[name] = value
    if kind == "accounts":
        for name in ("name", "description"):
            value = optional_string(body, name)
            if value is not None:
                fields[name] = value
    sans = body.get("sans")
    if sans is not None:
        if not isinstance(sans, list) or not all(isinstance(s, str) for s in sans):
            raise fail(400, 1400, "Unable to decode the JSON request body: 'sans' must be an array of strings.")
        fields["sans"] = list(sans)

    required = (
        ("country", 1405, "Country is required."),
        ("state", 1406, "State is required."),
        ("locality", 1407, "Locality is required."),
        ("organization", 1408, "Organization is required."),
        ("common_name", 1409, "Common name is required."),
    )
    for name, code, message in required:
        if not fields.get(name, "").strip():
            raise fail(400, code, message)
    if fields["country"] not in COUNTRIES:
        raise fail(400, 1405, "Country is required: an ISO 3166-1 alpha-2 code such as 'US'.")
    if len(fields["common_name"]) > MAX_COMMON_NAME:
        raise fail(400, 1410, f"Common name is too long (maximum {MAX_COMMON_NAME} characters).")
    if not fields.get("sans"):
        raise fail(400, 1411, "At least one SAN is required.")
    if len(fields["sans"]) > MAX_SANS:
        raise fail(400, 1412, f"Invalid SAN: at most {MAX_SANS} SANs are accepted.")
    for san in fields["sans"]:
        problem = san_problem(san)
        if problem:
            raise fail(400, *problem)
    key_type = fields.setdefault("key_type", "rsa2048")
    if key_type not in KEY_TYPES:
        raise fail(400, 1417, "Invalid key type: expected rsa2048 or p256v1.")
    return fields


def build_csr(fields: dict) -> str:
    if fields["key_type"] == "rsa2048":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    subject = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, fields["country"]),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, fields["state"]),
        x509.NameAttribute(NameOID.LOCALITY_NAME, fields["locality"]),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, fields["organization"]),
    ]
    if "organizational_unit" in fields:
        subject.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, fields["organizational_unit"]))
    subject.append(x509.NameAttribute(NameOID.COMMON_NAME, fields["common_name"]))
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name(subject))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in fields["sans"]]), critical=False)
        .sign(key, hashes.SHA256())
    )
    # The private key stays here and dies with this function, as the real service keeps it.
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


# ---------------------------------------------------------------------------------------------
# State: one store, one lock, tenancy by (kind, scope id).


class Store:
    def __init__(self, preload: int = 0):
        self._lock = threading.Lock()
        self._by_scope: dict[tuple[str, str], dict[str, tuple[int, dict]]] = {}
        self._seq = 0
        self._preload = preload
        self._preloaded: set = set()
        self._started = datetime.now(timezone.utc)

    def preload(self, scope) -> None:
        """Fills a scope seen for the first time with CSRs older than the server."""
        if not self._preload:
            return
        with self._lock:
            if scope in self._preloaded:
                return
            self._preloaded.add(scope)
        kind, scope_id = scope
        for i in range(self._preload):
            subject = EXISTING_SUBJECTS[i % len(EXISTING_SUBJECTS)]
            host = f"existing{i}.independent-server.org"
            fields = {**subject, "common_name": host,
                      "sans": [host] + ([f"www.{host}"] if i % 3 == 0 else []),
                      "key_type": KEY_TYPES[(i + 1) % 2]}
            if kind == "accounts" and i % 2 == 0:
                fields["name"] = f"existing {i}"
                fields["description"] = "made before start-up"
            obj = {"id": str(uuid.uuid4()), **fields}
            obj["csr"] = build_csr(fields)
            obj["created_at"] = rfc3339(self._started - timedelta(minutes=10 * (self._preload - i)))
            if kind == "accounts":
                obj["account_tag"] = scope_id
            self.insert(scope, obj)

    def insert(self, scope, obj: dict) -> None:
        with self._lock:
            self._seq += 1
            self._by_scope.setdefault(scope, {})[obj["id"]] = (self._seq, obj)

    def get(self, scope, csr_id: str):
        with self._lock:
            entry = self._by_scope.get(scope, {}).get(csr_id)
            return dict(entry[1]) if entry else None

    def delete(self, scope, csr_id: str) -> bool:
        with self._lock:
            return self._by_scope.get(scope, {}).pop(csr_id, None) is not None

    def all(self, scope) -> list[tuple[int, dict]]:
        with self._lock:
            return [(seq, dict(obj)) for seq, obj in self._by_scope.get(scope, {}).values()]


# ---------------------------------------------------------------------------------------------
# HTTP


def parse_int(value, default: int) -> int:
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        return default
    if not math.isfinite(number):
        return default
    return int(number)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "independent-custom-csrs"
    timeout = 30
    # Headers and body go out in separate writes; on a kept-alive connection Nagle's algorithm
    # would hold the body back for the client's delayed ACK (40 ms a request).
    disable_nagle_algorithm = True

    # Set on the class by main().
    token: str = ""
    email: str | None = None
    api_key: str | None = None
    store: Store = Store()

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass

    def version_string(self):
        return self.server_version

    # Every method name goes through dispatch, so no method ever meets the stdlib's HTML 501.
    def handle_one_request(self):
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.requestline = ""
                self.request_version = ""
                self.command = ""
                self.send_error(414)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            self.dispatch()
            self.wfile.flush()
        except TimeoutError:
            self.close_connection = True

    def send_error(self, code, message=None, explain=None):
        """The stdlib calls this for unparseable requests; answer with the envelope, never a 5xx."""
        status = code if 400 <= code < 500 else 400
        self.close_connection = True
        # Garbage request lines leave the stdlib thinking it speaks HTTP/0.9 (no status line).
        self.request_version = "HTTP/1.1"
        self.respond(status, envelope_fail([err(1400, "Malformed HTTP request.")]))

    def respond(self, status: int, payload: dict, headers=()) -> None:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def dispatch(self):
        try:
            body = self.read_body()
            status, payload = self.route(body)
            self.respond(status, payload)
        except ApiError as e:
            self.respond(e.status, envelope_fail(e.errors), e.headers)
        except Exception:  # the catch-all: whatever happened, a 400 envelope, never a 5xx
            self.close_connection = True
            self.respond(400, envelope_fail([err(1400, "The request could not be processed.")]))

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self.read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.strip().isdigit():
            self.close_connection = True
            raise fail(400, 1400, "Invalid Content-Length.")
        length = int(length)
        if length > MAX_BODY:
            if length <= MAX_DISCARD:
                self.rfile.read(length)
            else:
                self.close_connection = True
            raise fail(400, 1400, "Request body too large.")
        return self.rfile.read(length)

    def read_chunked(self) -> bytes:
        data = bytearray()
        while True:
            line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                self.close_connection = True
                raise fail(400, 1400, "Invalid chunked body.")
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(data)
            if len(data) + size > MAX_BODY:
                self.close_connection = True
                raise fail(400, 1400, "Request body too large.")
            data += self.rfile.read(size)
            self.rfile.readline(1024)

    # -- routing: route, then method, then credentials, then the operation -----------------

    def route(self, raw_body: bytes):
        split = urlsplit(self.path)
        path = split.path
        if path.startswith("/client/v4/"):
            path = path[len("/client/v4"):]
        parts = path.split("/")
        # ['', kind, scope_id, 'custom_csrs'] or [... , csr_id]
        routed = (
            len(parts) in (4, 5)
            and parts[0] == ""
            and parts[1] in ("accounts", "zones")
            and SCOPE_ID.fullmatch(parts[2]) is not None
            and parts[3] == "custom_csrs"
            and (len(parts) == 4 or parts[4] != "")
        )
        if not routed:
            raise ApiError(400, [
                err(7003, f"Could not route to {path}, perhaps your object identifier is invalid?"),
                err(7000, "No route for that URI"),
            ])
        kind, scope_id = parts[1], parts[2]
        csr_id = parts[4] if len(parts) == 5 else None
        allowed = ("GET", "DELETE") if csr_id else ("GET", "POST")
        if self.command not in allowed:
            raise ApiError(
                405,
                [err(7001, f"Method {self.command} not available for that URI.")],
                (("Allow", ", ".join(allowed)),),
            )
        self.authenticate()
        scope = (kind, scope_id)
        self.store.preload(scope)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        if csr_id is None and self.command == "GET":
            return 200, self.list(scope, query)
        if csr_id is None:
            return 201, self.create(scope, raw_body)
        if not CSR_ID.fullmatch(csr_id):
            raise fail(400, 1418, "Invalid custom CSR id.")
        if self.command == "GET":
            obj = self.store.get(scope, csr_id)
            if obj is None:
                raise fail(404, 1419, "The custom CSR was not found.")
            return 200, envelope_ok(obj)
        if not self.store.delete(scope, csr_id):
            raise fail(404, 1419, "The custom CSR was not found.")
        return 200, envelope_ok({"id": csr_id})

    def authenticate(self) -> None:
        authorization = self.headers.get("Authorization")
        email = self.headers.get("X-Auth-Email")
        key = self.headers.get("X-Auth-Key")
        if authorization is not None:
            scheme, _, token = authorization.strip().partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not TOKEN.fullmatch(token):
                raise fail(400, 6003, "Invalid request headers",
                           error_chain=[err(6111, "Invalid format for Authorization header")])
            if token != self.token:
                raise fail(403, 10000, "Authentication error")
            return
        if email is None or key is None:
            raise fail(400, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
        chain = []
        if not EMAIL.fullmatch(email.strip()):
            chain.append(err(6102, "Invalid format for X-Auth-Email header"))
        if not API_KEY.fullmatch(key.strip()):
            chain.append(err(6103, "Invalid format for X-Auth-Key header"))
        if chain:
            raise fail(400, 6003, "Invalid request headers", error_chain=chain)
        if self.email is None or self.api_key is None or (email.strip(), key.strip()) != (self.email, self.api_key):
            raise fail(403, 10000, "Authentication error")

    # -- operations ---------------------------------------------------------------------------

    def list(self, scope, query: dict) -> dict:
        kind = scope[0]
        page = max(1, parse_int(query.get("page"), 1))
        per_page = min(50, max(5, parse_int(query.get("per_page"), 50 if kind == "accounts" else 20)))
        entries = self.store.all(scope)
        order = "created_at"
        descending = False
        if kind == "accounts":
            if query.get("order") in ("name", "account_tag", "created_at"):
                order = query["order"]
            descending = query.get("direction") == "desc"
        entries.sort(key=lambda e: (e[1].get(order) or "", e[1]["created_at"], e[0]), reverse=descending)
        total = len(entries)
        start = (page - 1) * per_page
        items = [obj for _, obj in entries[start:start + per_page]]
        info = {
            "page": page,
            "per_page": per_page,
            "count": len(items),
            "total_count": total,
            "total_pages": math.ceil(total / per_page),
        }
        return envelope_ok(items, info)

    def create(self, scope, raw_body: bytes) -> dict:
        fields = validate_create(decode_body(raw_body), scope[0])
        obj = {"id": str(uuid.uuid4()), **fields}
        obj["csr"] = build_csr(fields)
        obj["created_at"] = now_rfc3339()
        if scope[0] == "accounts":
            obj["account_tag"] = scope[1]
        self.store.insert(scope, obj)
        return envelope_ok(dict(obj))


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that hung up mid-answer is not news; the stdlib would print a traceback to a
        # stderr nobody may be draining.
        pass


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", required=True)
    parser.add_argument("--email")
    parser.add_argument("--api-key")
    parser.add_argument("--preload", type=int, default=0,
                        help="CSRs every account and zone already holds (default 0)")
    args = parser.parse_args(argv)

    Handler.token = args.token
    Handler.email = args.email
    Handler.api_key = args.api_key
    Handler.store = Store(args.preload)

    server = QuietServer(("127.0.0.1", args.port), Handler)
    port = server.server_address[1]
    sys.stdout.write(f"listening on http://127.0.0.1:{port}/client/v4\n")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
