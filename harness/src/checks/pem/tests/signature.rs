//! `pem.signature`: tampering is caught, and a kept verdict is only ever that of the same DER.

use super::*;

#[test]
fn tampered_signature() {
    for kind in [Key::Rsa, Key::P256] {
        let case = Case::new(kind, true);
        let mut der = case.der();
        // The signature BIT STRING ends the DER, so the last byte is signature content.
        *der.last_mut().unwrap() ^= 0x01;
        let findings = case.check_csr(&pem(&der));
        assert_eq!(rules(&findings), ["pem.signature"]);
        assert!(findings[0].message.contains("does not verify"));
    }
}

#[test]
fn a_kept_verdict_is_only_ever_the_verdict_of_the_same_der() {
    // The good CSR is verified and kept first; its tampered twin, and the good one again,
    // must each still get their own verdict.
    for kind in [Key::Rsa, Key::P256] {
        let case = Case::new(kind, true);
        let good = case.der();
        let mut bad = good.clone();
        *bad.last_mut().unwrap() ^= 0x01;
        for _ in 0..2 {
            assert!(case.check_csr(&pem(&good)).is_empty());
            assert_eq!(rules(&case.check_csr(&pem(&bad))), ["pem.signature"]);
        }
    }
}
