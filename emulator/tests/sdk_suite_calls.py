"""The calls Cloudflare's generated Python SDK tests make for Custom CSRs, made here through the
official SDK (5.x) the same way, against csr-emulator.

Usage: python3 sdk_suite_calls.py BASE_URL [--faithful]

The generated tests run against a stateless mock: they create with the spec's example body
(SANs under example.com), list, and delete then get the spec's example id, which they never
created; each with a loose and a strict client (`_strict_response_validation`), through the plain
method, `with_raw_response` and `with_streaming_response`, sync and async. With `--sdk-suite` the
emulator must answer all of them. With --faithful (an emulator without the profile) each must get
the real API's error instead: 1416 for the example SANs, 404 for the unknown id.
"""

import asyncio
import sys

import cloudflare
from cloudflare import AsyncCloudflare, Cloudflare

EMAIL = "user@example.com"
API_KEY = "144c9defac04969c7bfad8efaa8ea194"
ACCOUNT = {"account_id": "account_id"}
EXAMPLE_ID = "7b163417-1d2b-4c84-a38a-2fb7a0cd7752"
REQUIRED = dict(
    common_name="example.com", country="US", locality="San Francisco",
    organization="Cloudflare, Inc.", sans=["example.com", "www.example.com"], state="California",
)
OPTIONAL = dict(
    description="CSR for example.com wildcard", key_type="rsa2048", name="My Custom CSR",
    organizational_unit="Engineering",
)
LIST_ALL = dict(direction="asc", order="name", page=1, per_page=5)


def calls(client):
    """(name, thunk) for every call pattern; each thunk returns the parsed result."""
    csrs = client.custom_csrs

    def raw(method, *args, **kwargs):
        response = getattr(csrs.with_raw_response, method)(*args, **kwargs)
        assert response.is_closed
        return response.parse()

    def streamed(method, *args, **kwargs):
        with getattr(csrs.with_streaming_response, method)(*args, **kwargs) as response:
            assert not response.is_closed
            return response.parse()

    return [
        ("create", lambda: csrs.create(**REQUIRED, **ACCOUNT)),
        ("create with all params", lambda: csrs.create(**REQUIRED, **ACCOUNT, **OPTIONAL)),
        ("raw create", lambda: raw("create", **REQUIRED, **ACCOUNT)),
        ("streamed create", lambda: streamed("create", **REQUIRED, **ACCOUNT)),
        ("list", lambda: csrs.list(**ACCOUNT)),
        ("list with all params", lambda: csrs.list(**ACCOUNT, **LIST_ALL)),
        ("raw list", lambda: raw("list", **ACCOUNT)),
        ("streamed list", lambda: streamed("list", **ACCOUNT)),
        ("delete", lambda: csrs.delete(custom_csr_id=EXAMPLE_ID, **ACCOUNT)),
        ("raw delete", lambda: raw("delete", custom_csr_id=EXAMPLE_ID, **ACCOUNT)),
        ("streamed delete", lambda: streamed("delete", custom_csr_id=EXAMPLE_ID, **ACCOUNT)),
        ("get", lambda: csrs.get(custom_csr_id=EXAMPLE_ID, **ACCOUNT)),
        ("raw get", lambda: raw("get", custom_csr_id=EXAMPLE_ID, **ACCOUNT)),
        ("streamed get", lambda: streamed("get", custom_csr_id=EXAMPLE_ID, **ACCOUNT)),
    ]


async def async_calls(client):
    csrs = client.custom_csrs
    return [
        ("async create", await csrs.create(**REQUIRED, **ACCOUNT, **OPTIONAL)),
        ("async list", [o async for o in csrs.list(**ACCOUNT, **LIST_ALL)]),
        ("async delete", await csrs.delete(custom_csr_id=EXAMPLE_ID, **ACCOUNT)),
        ("async get", await csrs.get(custom_csr_id=EXAMPLE_ID, **ACCOUNT)),
    ]


def check_answer(name, result):
    if name == "list with all params":
        # One page of five by name: which five depends on what the run created before.
        assert 0 < len(result.result) <= 5, f"{name}: {len(result.result)} items"
    elif name == "async list":
        # Auto-paginated item by item over every page.
        assert any(o.id == EXAMPLE_ID for o in result), f"{name}: the example is not listed"
    elif "list" in name:
        assert any(o.id == EXAMPLE_ID for o in result.result), f"{name}: the example is not listed"
    elif "delete" in name:
        assert result is not None and result.id == EXAMPLE_ID, f"{name}: {result!r}"
    elif "get" in name:
        assert result is not None and result.id == EXAMPLE_ID, f"{name}: {result!r}"
        assert result.csr.startswith("-----BEGIN CERTIFICATE REQUEST-----"), name
    else:
        assert result is not None and result.common_name == "example.com", f"{name}: {result!r}"
        assert result.sans == ["example.com", "www.example.com"], name


def expect_faithful_error(name, thunk):
    try:
        thunk()
    except cloudflare.NotFoundError as e:
        assert "delete" in name or "get" in name, f"{name}: unexpected 404"
        assert e.status_code == 404
    except cloudflare.BadRequestError as e:
        assert "create" in name, f"{name}: unexpected 400 {e}"
        codes = [err["code"] for err in e.body["errors"]] if isinstance(e.body, dict) else []
        assert 1416 in codes, f"{name}: codes {codes}"
    else:
        if "list" in name:
            return
        raise AssertionError(f"{name}: accepted, but the real API refuses it")


def main():
    base = sys.argv[1]
    faithful = "--faithful" in sys.argv[2:]
    root = base[: -len("/client/v4")] if base.endswith("/client/v4") else base
    for strict in (False, True):
        label = "strict" if strict else "loose"
        client = Cloudflare(base_url=root, api_email=EMAIL, api_key=API_KEY,
                            _strict_response_validation=strict, max_retries=0)
        for name, thunk in calls(client):
            if faithful:
                expect_faithful_error(name, thunk)
            else:
                check_answer(name, thunk())
        if not faithful:
            async_client = AsyncCloudflare(base_url=root, api_email=EMAIL, api_key=API_KEY,
                                           _strict_response_validation=strict, max_retries=0)
            for name, result in asyncio.run(async_calls(async_client)):
                check_answer(name, result)
        print(f"ok: {label}")
    print(f"sdk suite calls passed (cloudflare {cloudflare.__version__}, "
          f"{'faithful errors' if faithful else 'sdk-suite profile'})")


if __name__ == "__main__":
    main()
