"""Self-test of independent_server.py: `python3 -m unittest` from this folder.

Starts the server as a subprocess on port 0, as the Rust driver does, and checks a handful of
behaviours end to end, including that the CSR it returns is a real, self-signed PKCS#10 request.
"""

import json
import os
import subprocess
import sys
import unittest
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "independent_server.py")
TOKEN = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY"
EMAIL = "user@example.com"
API_KEY = "144c9defac04969c7bfad8efaa8ea194"
ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353"

VALID = {
    "country": "US",
    "state": "Zürich",
    "locality": "Austin",
    "organization": "Acme, Inc.",
    "organizational_unit": "Platform",
    "common_name": "app.acme.dev",
    "sans": ["app.acme.dev", "*.acme.dev"],
}


class IndependentServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc = subprocess.Popen(
            [sys.executable, SERVER, "--port", "0", "--token", TOKEN, "--email", EMAIL, "--api-key", API_KEY],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = cls.proc.stdout.readline()
        if not line.startswith("listening on "):
            cls.proc.kill()
            raise RuntimeError(f"server did not start: {line!r} {cls.proc.stderr.read()}")
        cls.base = line.split("listening on ", 1)[1].strip()
        assert cls.base.endswith("/client/v4"), cls.base
        cls.root = cls.base[: -len("/client/v4")]

    @classmethod
    def tearDownClass(cls):
        cls.proc.kill()
        cls.proc.wait()
        cls.proc.stdout.close()
        cls.proc.stderr.close()

    def call(self, method, path, body=None, headers=None, raw=None, prefix=True):
        if headers is None:
            headers = {"Authorization": f"Bearer {TOKEN}"}
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request((self.base if prefix else self.root) + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                status, ctype, text = resp.status, resp.headers["Content-Type"], resp.read()
        except urllib.error.HTTPError as e:
            status, ctype, text = e.code, e.headers["Content-Type"], e.read()
        self.assertEqual(ctype, "application/json")
        return status, json.loads(text)

    def assert_error(self, response, status, *codes):
        got_status, body = response
        self.assertEqual(got_status, status, body)
        self.assertIs(body["success"], False)
        self.assertIsNone(body["result"])
        self.assertEqual([e["code"] for e in body["errors"]], list(codes))

    def test_create_returns_a_verifiable_csr_matching_the_request(self):
        for key_type in ("rsa2048", "p256v1"):
            with self.subTest(key_type=key_type):
                status, body = self.call("POST", f"/accounts/{ACCOUNT}/custom_csrs",
                                         {**VALID, "key_type": key_type, "name": "n"})
                self.assertEqual(status, 201)
                obj = body["result"]
                self.assertEqual(
                    set(obj),
                    set(VALID) | {"key_type", "name", "id", "created_at", "csr", "account_tag"},
                )
                self.assertEqual(obj["account_tag"], ACCOUNT)
                self.assertTrue(obj["created_at"].endswith("Z"))
                csr = x509.load_pem_x509_csr(obj["csr"].encode())
                self.assertTrue(csr.is_signature_valid)
                oids = [a.oid for a in csr.subject]
                self.assertEqual(oids, [NameOID.COUNTRY_NAME, NameOID.STATE_OR_PROVINCE_NAME,
                                        NameOID.LOCALITY_NAME, NameOID.ORGANIZATION_NAME,
                                        NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.COMMON_NAME])
                self.assertEqual([a.value for a in csr.subject],
                                 [VALID[k] for k in ("country", "state", "locality", "organization",
                                                     "organizational_unit", "common_name")])
                san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                self.assertEqual(san.get_values_for_type(x509.DNSName), VALID["sans"])
                key = csr.public_key()
                if key_type == "rsa2048":
                    self.assertIsInstance(key, rsa.RSAPublicKey)
                    self.assertEqual(key.key_size, 2048)
                else:
                    self.assertIsInstance(key, ec.EllipticCurvePublicKey)
                    self.assertIsInstance(key.curve, ec.SECP256R1)

    def test_zone_objects_carry_no_account_fields_and_get_delete_round_trip(self):
        zone = "0123456789abcdef0123456789abcdef"
        status, body = self.call("POST", f"/zones/{zone}/custom_csrs",
                                 {**VALID, "name": "ignored", "description": "ignored"})
        self.assertEqual(status, 201)
        obj = body["result"]
        self.assertFalse({"account_tag", "name", "description"} & set(obj))
        self.assertEqual(obj["key_type"], "rsa2048")
        self.assertEqual(self.call("GET", f"/zones/{zone}/custom_csrs/{obj['id']}"), (200, body))
        # Tenancy is per (kind, id): the same id under accounts is another tenant.
        self.assert_error(self.call("GET", f"/accounts/{zone}/custom_csrs/{obj['id']}"), 404, 1419)
        status, deleted = self.call("DELETE", f"/zones/{zone}/custom_csrs/{obj['id']}")
        self.assertEqual((status, deleted["result"]), (200, {"id": obj["id"]}))
        self.assert_error(self.call("GET", f"/zones/{zone}/custom_csrs/{obj['id']}"), 404, 1419)

    def test_list_paginates_clamps_and_ends_with_an_empty_page(self):
        account = "a" * 32
        for i in range(6):
            status, _ = self.call("POST", f"/accounts/{account}/custom_csrs",
                                  {**VALID, "key_type": "p256v1", "name": f"n{5 - i}"}, prefix=i % 2 == 0)
            self.assertEqual(status, 201)
        status, body = self.call("GET", f"/accounts/{account}/custom_csrs?per_page=1")
        self.assertEqual(status, 200)
        self.assertEqual(body["result_info"],
                         {"page": 1, "per_page": 5, "count": 5, "total_count": 6, "total_pages": 2})
        status, body = self.call("GET", f"/accounts/{account}/custom_csrs?page=3")
        self.assertEqual((status, body["result"], body["result_info"]["count"]), (200, [], 0))
        _, body = self.call("GET", f"/accounts/{account}/custom_csrs?order=name&direction=desc")
        names = [o["name"] for o in body["result"]]
        self.assertEqual(names, sorted(names, reverse=True))

    def test_authentication(self):
        path = f"/zones/{ACCOUNT}/custom_csrs"
        self.assert_error(self.call("GET", path, headers={}), 400, 9106)
        self.assert_error(self.call("GET", path, headers={"Authorization": "Basic x"}), 400, 6003)
        self.assert_error(self.call("GET", path, headers={"Authorization": "Bearer wrong"}), 403, 10000)
        status, _ = self.call("GET", path, headers={"X-Auth-Email": EMAIL, "X-Auth-Key": API_KEY})
        self.assertEqual(status, 200)
        status, body = self.call("GET", path, headers={"Authorization": f"Bearer {TOKEN}x"})
        self.assertNotIn(TOKEN, json.dumps(body))

    def test_validation_codes(self):
        path = f"/zones/{ACCOUNT}/custom_csrs"
        cases = [
            (None, b"{not json", 1400),
            ({**VALID, "country": None}, None, 1405),
            ({**VALID, "common_name": "x" * 65}, None, 1410),
            ({**VALID, "sans": []}, None, 1411),
            ({**VALID, "sans": ["10.0.0.1"]}, None, 1412),
            ({**VALID, "sans": ["bücher.de"]}, None, 1413),
            ({**VALID, "sans": ["a.localhost"]}, None, 1414),
            ({**VALID, "sans": ["www.example.org"]}, None, 1416),
            ({**VALID, "key_type": "rsa4096"}, None, 1417),
        ]
        for body, raw, code in cases:
            with self.subTest(code=code):
                self.assert_error(self.call("POST", path, body, raw=raw), 400, code)
        self.assert_error(self.call("GET", path + "/not-a-uuid"), 400, 1418)

    def test_routing(self):
        self.assert_error(self.call("GET", f"/users/{ACCOUNT}/custom_csrs"), 400, 7003, 7000)
        self.assert_error(self.call("GET", f"/zones/{'a' * 33}/custom_csrs"), 400, 7003, 7000)
        self.assert_error(self.call("PUT", f"/zones/{ACCOUNT}/custom_csrs", {}), 405, 7001)


if __name__ == "__main__":
    unittest.main()
