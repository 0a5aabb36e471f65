//! `pem.block`: the armour reader's diagnostics, seen through the entry point.

use super::*;

use crate::checks::pem::armour::{BEGIN_LINE, END_LINE, LEGACY_LABEL};

#[test]
fn truncated_prism_example() {
    let case = Case::new(Key::Rsa, false);
    let findings = case.check_csr("-----BEGIN CERTIFICATE REQUEST-----\nMIICYzCCAUsCAQAwHj...");
    assert_eq!(rules(&findings), ["pem.block"]);
    let f = &findings[0];
    assert_eq!(f.pointer, "/result/csr");
    assert!(f.message.contains("truncated"), "{}", f.message);
    assert!(f.message.contains("END"), "{}", f.message);
    assert!(f.message.contains("..."), "{}", f.message);
    assert_eq!(f.expected, END_LINE);
}

#[test]
fn elided_body_with_end_line() {
    let case = Case::new(Key::Rsa, false);
    let findings = case.check_csr(
        "-----BEGIN CERTIFICATE REQUEST-----\nMIICYzCCAUsCAQAwHj...\n\
         -----END CERTIFICATE REQUEST-----\n",
    );
    assert_eq!(rules(&findings), ["pem.block"]);
    assert!(
        findings[0].message.contains("base64"),
        "{}",
        findings[0].message
    );
    assert!(
        findings[0].message.contains("elided"),
        "{}",
        findings[0].message
    );
}

#[test]
fn two_blocks() {
    let case = Case::new(Key::P256, false);
    let one = pem(&case.der());
    let findings = case.check_csr(&format!("{one}{one}"));
    assert_eq!(rules(&findings), ["pem.block"]);
    assert!(findings[0].message.contains("2 PEM blocks"));
}

#[test]
fn legacy_and_other_labels() {
    let case = Case::new(Key::P256, false);
    let der = case.der();
    let legacy = case.check_csr(&pem_with_label(LEGACY_LABEL, &der));
    assert_eq!(rules(&legacy), ["pem.block"]);
    assert!(
        legacy[0].message.contains("legacy"),
        "{}",
        legacy[0].message
    );
    assert_eq!(legacy[0].actual, LEGACY_LABEL);

    let other = case.check_csr(&pem_with_label("CERTIFICATE", &der));
    assert_eq!(rules(&other), ["pem.block"]);
    assert_eq!(other[0].actual, "CERTIFICATE");
}

#[test]
fn end_label_must_match() {
    let case = Case::new(Key::P256, false);
    let text = pem(&case.der()).replace("-----END CERTIFICATE REQUEST", "-----END CERTIFICATE");
    let findings = case.check_csr(&text);
    assert_eq!(rules(&findings), ["pem.block"]);
    assert!(findings[0].message.contains("does not match"));
}

#[test]
fn text_around_the_block() {
    let case = Case::new(Key::P256, false);
    let block = pem(&case.der());
    let after = case.check_csr(&format!("{block}garbage\n"));
    assert_eq!(rules(&after), ["pem.block"]);
    assert!(after[0].message.contains("after its END line"));
    assert_eq!(after[0].actual, "garbage");

    let before = case.check_csr(&format!("Subject: shop.widgets.dev\n{block}"));
    assert_eq!(rules(&before), ["pem.block"]);
    assert!(before[0].message.contains("before its BEGIN line"));

    // Whitespace around the block is fine.
    assert!(case.check_csr(&format!("\n  {block}\n\n")).is_empty());
}

#[test]
fn bad_base64() {
    let case = Case::new(Key::P256, false);
    let text = pem(&case.der());
    let body_start = BEGIN_LINE.len() + 1;
    let mut broken = text.clone();
    broken.replace_range(body_start + 10..body_start + 11, "*");
    let findings = case.check_csr(&broken);
    assert_eq!(rules(&findings), ["pem.block"]);
    assert!(
        findings[0].message.contains("'*'"),
        "{}",
        findings[0].message
    );

    // One character short: the last group is incomplete.
    let mut short = text.clone();
    short.remove(body_start);
    assert_eq!(rules(&case.check_csr(&short)), ["pem.block"]);
}

#[test]
fn one_line_and_escaped_pem() {
    let case = Case::new(Key::P256, false);
    let body = base64(&case.der());
    let one_line = format!("{BEGIN_LINE}{body}{END_LINE}");
    assert_eq!(rules(&case.check_csr(&one_line)), ["pem.block"]);
    let escaped = format!("{BEGIN_LINE}\\n{body}\\n{END_LINE}\\n");
    let findings = case.check_csr(&escaped);
    assert_eq!(rules(&findings), ["pem.block"]);
    assert!(findings[0].message.contains("escape"));
}

#[test]
fn bare_base64_is_not_pem() {
    let case = Case::new(Key::P256, false);
    let findings = case.check_csr(&base64(&case.der()));
    assert_eq!(rules(&findings), ["pem.block"]);
    assert!(findings[0].message.contains("bare base64"));
}
