#!/usr/bin/env python3
"""Writes the HAR fixtures of harness/tests/recording.rs: captures of Custom CSR traffic as
Chrome devtools and mitmproxy export them. Run it again only to change them; the tests read
the files, not this script."""
import base64, gzip, json

TOKEN = "Xq7LmN2pR9sT4vW6yZ8bC1dF3gH5jK0aQwErTyUi"  # a made-up API token, 40 characters
KEY = "c0ffee0123456789abcdef0123456789abcde"          # a made-up global API key, 37 hex digits
EMAIL = "ops.lead@corp-mail.example"
ZONE = "0d1c2b3a495867768594a3b2c1d0e1f2"
ACCOUNT = "a0b1c2d3e4f5061728394a5b6c7d8e9f"
PEM = "-----BEGIN CERTIFICATE REQUEST-----\nMIIBNTCB3AIBADBIMQswCQYDVQQGEwJQVDEPMA0GA1UECAwGTGlzYm9hMQ8wDQYD\n-----END CERTIFICATE REQUEST-----\n"
CREATED = "6f2d0e1c-3b4a-4c5d-9e8f-0a1b2c3d4e5f"
OTHER = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
UNKNOWN = "99999999-8888-4777-8666-555555555555"

def ok(result, **extra):
    return dict(success=True, errors=[], messages=[], result=result, **extra)

def fail(code, message):
    return dict(success=False, errors=[dict(code=code, message=message)], messages=[], result=None)

def csr(id, body, created_at, account=None):
    o = dict(id=id, key_type=body.get("key_type", "rsa2048"), created_at=created_at)
    o.update({k: v for k, v in body.items() if k != "key_type"})
    o["csr"] = PEM
    if account:
        o["account_tag"] = account
    return o

def headers(pairs):
    return [dict(name=n, value=v) for n, v in pairs]

CHROME_REQ_HEADERS = [
    (":authority", "api.cloudflare.com"), (":method", "GET"), (":scheme", "https"),
    ("accept", "application/json"), ("accept-encoding", "gzip, deflate, br, zstd"),
    ("authorization", "Bearer " + TOKEN),
    ("cookie", "__cfruid=3f1e0c9b8a7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f-1732860000; cf_clearance=Zm9vYmFyYmF6cXV4"),
    ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36"),
]

def chrome_entry(method, url, status, answer=None, post=None, extra_headers=(), content_extra=None, req_headers=None):
    hs = [(n, method if n == ":method" else v) for n, v in (req_headers or CHROME_REQ_HEADERS)] + list(extra_headers)
    request = dict(method=method, url=url, httpVersion="http/2.0", headers=headers(hs),
                   queryString=[dict(name=k, value=v) for k, v in
                                [p.split("=", 1) for p in url.split("?", 1)[1].split("&")]] if "?" in url else [],
                   cookies=[dict(name="__cfruid", value="3f1e0c9b8a7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f-1732860000", path="/", domain=".cloudflare.com", httpOnly=True, secure=True)],
                   headersSize=-1, bodySize=0 if post is None else len(post))
    if post is not None:
        request["postData"] = dict(mimeType="application/json", text=post)
    content = dict(size=0, mimeType="application/json")
    if answer is not None:
        text = json.dumps(answer)
        content.update(size=len(text), text=text)
    if content_extra:
        content.update(content_extra)
    return {
        "_initiator": {"type": "script"}, "_priority": "High", "_resourceType": "fetch",
        "cache": {}, "connection": "443", "pageref": "page_1",
        "request": request,
        "response": dict(status=status, statusText="", httpVersion="http/2.0",
                         headers=headers([("content-type", "application/json"), ("content-encoding", "br"),
                                          ("cf-ray", "8e9f0a1b2c3d4e5f-LIS"),
                                          ("set-cookie", "__cflb=0H28vgHxwvgAQtjUGU4vq74ZFe3sNVUZ; path=/; HttpOnly")]),
                         cookies=[], content=content, redirectURL="", headersSize=-1, bodySize=-1,
                         _transferSize=512, _error=None),
        "serverIPAddress": "104.19.192.29", "startedDateTime": "2024-11-29T06:00:00.000Z", "time": 120.5,
        "timings": dict(blocked=1, dns=-1, ssl=-1, connect=-1, send=0.2, wait=110, receive=9.3, _blocked_queueing=0.5),
    }

def chrome():
    base = "https://api.cloudflare.com/client/v4"
    body = dict(country="PT", state="Lisboa", locality="Porto", organization="Capture Ltd",
                organizational_unit="Web for " + EMAIL, common_name="capture.csr-conformance.net",
                sans=["capture.csr-conformance.net", "www.capture.csr-conformance.net"], key_type="p256v1")
    created = csr(CREATED, body, "2024-11-29T06:00:01.123456Z")
    other_body = dict(country="DE", state="Berlin", locality="Berlin", organization="Existing GmbH",
                      common_name="existing.csr-conformance.net", sans=["existing.csr-conformance.net"])
    other = csr(OTHER, dict(other_body, key_type="rsa2048"), "2024-10-01T12:00:00Z")
    entries = [
        # Unrelated traffic: the dashboard page, a script, another API, a beacon.
        dict(chrome_entry("GET", "https://dash.cloudflare.com/" + ACCOUNT + "/ssl-tls", 200),
             _resourceType="document"),
        chrome_entry("GET", "https://dash.cloudflare.com/static/js/main.4f3e2d1c.js", 200,
                     content_extra=dict(mimeType="application/javascript", text="console.log(1)")),
        chrome_entry("GET", f"{base}/zones/{ZONE}/dns_records?per_page=100", 200, ok([])),
        chrome_entry("POST", "https://dash.cloudflare.com/cdn-cgi/rum?v=2", 204, post='{"memory":{}}'),
        # A preflight for the create, and the create itself.
        chrome_entry("OPTIONS", f"{base}/zones/{ZONE}/custom_csrs", 204),
        chrome_entry("POST", f"{base}/zones/{ZONE}/custom_csrs", 201, ok(created), post=json.dumps(body),
                     extra_headers=[("content-type", "application/json")]),
        # The answer Chrome stored as base64.
        chrome_entry("GET", f"{base}/zones/{ZONE}/custom_csrs/{CREATED}", 200,
                     content_extra=dict(text=base64.b64encode(json.dumps(ok(created)).encode()).decode(),
                                        encoding="base64", size=900)),
        chrome_entry("GET", f"{base}/zones/{ZONE}/custom_csrs?page=1&per_page=20", 200,
                     ok([created, other], result_info=dict(page=1, per_page=20, count=2, total_count=2, total_pages=1))),
        # An object the capture did not create, and one that does not exist.
        chrome_entry("GET", f"{base}/zones/{ZONE}/custom_csrs/{OTHER}", 200, ok(other)),
        chrome_entry("GET", f"{base}/zones/{ZONE}/custom_csrs/{UNKNOWN}", 404,
                     fail(1419, "The custom CSR was not found.")),
        # A request with a token that is not valid (the message repeats it).
        chrome_entry("GET", f"{base}/zones/{ZONE}/custom_csrs", 403,
                     fail(10000, "Authentication error for token " + TOKEN),
                     req_headers=[(n, "Bearer " + TOKEN[::-1] if n == "authorization" else v) for n, v in CHROME_REQ_HEADERS]),
        chrome_entry("DELETE", f"{base}/zones/{ZONE}/custom_csrs/{CREATED}", 200, ok(dict(id=CREATED))),
        chrome_entry("GET", f"{base}/zones/{ZONE}/custom_csrs/{CREATED}", 404,
                     fail(1419, "The custom CSR was not found.")),
        # A request that never got an answer.
        chrome_entry("GET", f"{base}/zones/{ZONE}/custom_csrs?page=2", 0),
    ]
    return dict(log=dict(version="1.2", creator=dict(name="WebInspector", version="537.36"),
                         pages=[dict(startedDateTime="2024-11-29T06:00:00.000Z", id="page_1", title="SSL/TLS", pageTimings={})],
                         entries=entries))

def mitm_entry(method, url, status, answer=None, post=None, raw_gzip=False, keep_body=True):
    request = dict(method=method, url=url, httpVersion="HTTP/1.1", cookies=[],
                   headers=headers([("Host", "api.cloudflare.com"), ("X-Auth-Email", EMAIL), ("X-Auth-Key", KEY),
                                    ("Accept", "*/*"), ("Accept-Encoding", "gzip"), ("User-Agent", "curl/8.5.0")]
                                   + ([("Content-Type", "application/json")] if post else [])),
                   queryString=[], headersSize=200, bodySize=len(post or ""))
    if post:
        request["postData"] = dict(mimeType="application/json", text=post, params=[])
    content = dict(size=0, compression=0, mimeType="application/json")
    resp_headers = [("Content-Type", "application/json"), ("Server", "cloudflare")]
    if answer is not None and keep_body:
        data = json.dumps(answer).encode()
        if raw_gzip:
            content.update(text=base64.b64encode(gzip.compress(data)).decode(), encoding="base64", size=len(data))
            resp_headers.append(("Content-Encoding", "gzip"))
        else:
            content.update(text=data.decode(), size=len(data))
    return dict(startedDateTime="2024-11-29T07:00:00.000000+00:00", time=80.0, request=request,
                response=dict(status=status, statusText="OK", httpVersion="HTTP/1.1", cookies=[],
                              headers=headers(resp_headers), content=content, redirectURL="",
                              headersSize=150, bodySize=len(json.dumps(answer or ""))),
                cache={}, timings=dict(connect=10.0, ssl=20.0, send=1.0, receive=2.0, wait=47.0),
                serverIPAddress="104.16.132.229")

def mitmproxy():
    base = "https://api.cloudflare.com/client/v4"
    body = dict(country="JP", state="Tokyo", locality="Chiyoda", organization="Mitm KK",
                common_name="mitm.csr-conformance.net", sans=["mitm.csr-conformance.net"],
                name="capture " + EMAIL, description="made through mitmproxy")
    created = csr(CREATED, dict(body, key_type="rsa2048"), "2024-11-29T07:00:01Z", account=ACCOUNT)
    entries = [
        mitm_entry("GET", "http://connectivity-check.ubuntu.com/", 204),
        mitm_entry("POST", f"{base}/accounts/{ACCOUNT}/custom_csrs", 201, ok(created), post=json.dumps(body), raw_gzip=True),
        mitm_entry("GET", f"{base}/accounts/{ACCOUNT}/custom_csrs/{CREATED}", 200, ok(created)),
        # Saved without its body: judged by its status.
        mitm_entry("GET", f"{base}/accounts/{ACCOUNT}/custom_csrs?per_page=5", 200, ok([]), keep_body=False),
        mitm_entry("DELETE", f"{base}/accounts/{ACCOUNT}/custom_csrs/{CREATED}", 200, ok(dict(id=CREATED)), raw_gzip=True),
        mitm_entry("GET", f"{base}/accounts/{ACCOUNT}/custom_csrs/{CREATED}", 404, fail(1419, "The custom CSR was not found.")),
    ]
    return dict(log=dict(version="1.2", creator=dict(name="mitmproxy", version="11.0.2", comment=""), pages=[], entries=entries))

if __name__ == "__main__":
    with open("chrome.har", "w") as f:
        json.dump(chrome(), f, indent=2)
    with open("mitmproxy.har", "w") as f:
        json.dump(mitmproxy(), f, indent=2)
    text = json.dumps(chrome(), indent=2)
    with open("truncated.har", "w") as f:
        f.write(text[: len(text) * 2 // 3])
