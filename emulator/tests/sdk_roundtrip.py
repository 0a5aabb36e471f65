"""Round trip of the official Cloudflare Python SDK (5.x) against csr-emulator.

Usage: python3 sdk_roundtrip.py BASE_URL   (e.g. http://127.0.0.1:8787/client/v4)

Runs create / get / list (auto-paginating) / delete in account and zone scope with strict
response validation, twice: with an API token against BASE_URL, and with email + API key
against the root URL the way the SDK's own tests use TEST_API_BASE_URL. Exits non-zero with
a message on the first mismatch.
"""

import sys

import cloudflare
from cloudflare import Cloudflare

TOKEN = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY"
EMAIL = "user@example.com"
API_KEY = "144c9defac04969c7bfad8efaa8ea194"
ACCOUNT_ID = "account_id"  # the literal id the SDK test suites use
ZONE_ID = "023e105f4ecef8ad9ca31a8372d0c353"
CREATES = 7  # with per_page=5: a full page, a partial one, then the empty one that ends it


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def verify_pem(obj, key_type):
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        from cryptography.x509.oid import NameOID
    except ImportError:  # the round trip itself does not need it
        return
    csr = x509.load_pem_x509_csr(obj.csr.encode())
    check(csr.is_signature_valid, "CSR signature does not verify")
    cn = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    check(cn == obj.common_name, f"CN {cn!r} != {obj.common_name!r}")
    sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    check(sans.get_values_for_type(x509.DNSName) == obj.sans, "SAN mismatch")
    key = csr.public_key()
    if key_type == "rsa2048":
        check(isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048, "not RSA-2048")
    else:
        check(isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1", "not P-256")


def round_trip(client, scope):
    kw = {"account_id": ACCOUNT_ID} if scope == "account" else {"zone_id": ZONE_ID}
    created = []
    for i in range(CREATES):
        key_type = "rsa2048" if i == 0 else "p256v1"
        extra = {"name": f"csr {i}", "description": "sdk round trip"} if scope == "account" else {}
        obj = client.custom_csrs.create(
            common_name=f"sdk{i}.cloudflare-demo.com",
            country="US",
            state="California",
            locality="San Francisco",
            organization="Cloudflare-Demo",
            organizational_unit="QA",
            sans=[f"sdk{i}.cloudflare-demo.com", f"www.sdk{i}.cloudflare-demo.com"],
            key_type=key_type,
            **extra,
            **kw,
        )
        check(obj is not None and obj.id, f"{scope}: create returned no object")
        check(obj.key_type == key_type, f"{scope}: key_type {obj.key_type}")
        if scope == "account":
            check(obj.account_tag == ACCOUNT_ID, f"account_tag {obj.account_tag!r}")
            check(obj.name == f"csr {i}", f"name {obj.name!r}")
        else:
            check(obj.account_tag is None and obj.name is None, "zone object has account fields")
        verify_pem(obj, key_type)
        created.append(obj)

    for obj in created:
        got = client.custom_csrs.get(obj.id, **kw)
        check(got.model_dump() == obj.model_dump(), f"{scope}: get {obj.id} differs from create")

    page = client.custom_csrs.list(per_page=5, **kw)
    pages = list(page.iter_pages())
    listed = [o.id for p in pages for o in p.result]
    check(len(pages) >= 2, f"{scope}: auto-pagination walked {len(pages)} page(s)")
    check(
        sorted(listed) == sorted(o.id for o in created),
        f"{scope}: listed {len(listed)} ids, created {len(created)}",
    )
    check(len(listed) == len(set(listed)), f"{scope}: a CSR was listed twice")
    check([o.id for o in client.custom_csrs.list(per_page=5, **kw)] == listed, "auto-iteration differs")

    for obj in created:
        deleted = client.custom_csrs.delete(obj.id, **kw)
        check(deleted is not None and deleted.id == obj.id, f"{scope}: delete {obj.id}")
        try:
            client.custom_csrs.get(obj.id, **kw)
        except cloudflare.NotFoundError as e:
            check(e.status_code == 404, f"status {e.status_code}")
        else:
            raise AssertionError(f"{scope}: deleted CSR {obj.id} still found")
    check(list(client.custom_csrs.list(**kw)) == [], f"{scope}: list not empty after deletes")
    print(f"ok: {scope} scope, {len(created)} CSRs, {len(pages)} pages")


def main():
    base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8787/client/v4"
    root = base[: -len("/client/v4")] if base.endswith("/client/v4") else base
    clients = [
        Cloudflare(base_url=base, api_token=TOKEN, _strict_response_validation=True, max_retries=0),
        Cloudflare(
            base_url=root, api_email=EMAIL, api_key=API_KEY,
            _strict_response_validation=True, max_retries=0,
        ),
    ]
    for client in clients:
        for scope in ("account", "zone"):
            round_trip(client, scope)
    try:
        Cloudflare(base_url=base, api_token="wrong", max_retries=0).custom_csrs.list(zone_id=ZONE_ID)
    except cloudflare.PermissionDeniedError:
        pass
    else:
        raise AssertionError("a wrong token was accepted")
    print(f"sdk round trip passed (cloudflare {cloudflare.__version__})")


if __name__ == "__main__":
    main()
