//! `pem.common-name`, `pem.subject`, `pem.sans` and `pem.key-type`, seen through the entry point.

use super::*;

#[test]
fn common_name_mismatch() {
    let mut case = Case::new(Key::Rsa, false);
    case.object["common_name"] = json!("Shop.widgets.dev");
    let findings = case.check();
    assert_eq!(rules(&findings), ["pem.common-name"]);
    assert_eq!(findings[0].pointer, "/result/common_name");
    assert_eq!(findings[0].expected, "CN=\"Shop.widgets.dev\"");
    assert_eq!(findings[0].actual, "CN=\"shop.widgets.dev\"");
}

#[test]
fn common_name_missing_or_doubled() {
    let mut case = Case::new(Key::P256, false);
    case.params.distinguished_name.remove(DnType::CommonName);
    assert_eq!(rules(&case.check()), ["pem.common-name"]);

    let mut case = Case::new(Key::P256, false);
    case.params
        .distinguished_name
        .push(DnType::CustomDnType(vec![2, 5, 4, 3]), "other.widgets.dev");
    let findings = case.check();
    assert_eq!(rules(&findings), ["pem.common-name"]);
    assert!(findings[0].message.contains("2 CN attributes"));

    // Without common_name in the object there is nothing to compare a single CN with.
    let mut case = Case::new(Key::P256, false);
    case.object.as_object_mut().unwrap().remove("common_name");
    assert!(case.check().is_empty());
}

#[test]
fn each_subject_field_mismatch() {
    for name in [
        "country",
        "state",
        "locality",
        "organization",
        "organizational_unit",
    ] {
        let mut case = Case::new(Key::P256, true);
        case.object[name] = json!("Elsewhere");
        let findings = case.check();
        assert_eq!(rules(&findings), ["pem.subject"], "{name}");
        assert_eq!(findings[0].pointer, format!("/result/{name}"));
        assert!(findings[0].expected.contains("\"Elsewhere\""), "{name}");
    }
}

#[test]
fn subject_attribute_without_json_field() {
    let mut case = Case::new(Key::P256, true);
    case.object
        .as_object_mut()
        .unwrap()
        .remove("organizational_unit");
    let findings = case.check();
    assert_eq!(rules(&findings), ["pem.subject"]);
    assert_eq!(findings[0].pointer, "/result/organizational_unit");
    assert_eq!(findings[0].actual, "OU=\"Platform\"");

    // An empty string is the same as absent.
    let mut case = Case::new(Key::P256, false);
    case.object["organizational_unit"] = json!("");
    assert!(case.check().is_empty());
}

#[test]
fn json_field_without_subject_attribute() {
    let mut case = Case::new(Key::P256, false);
    case.object["organizational_unit"] = json!("Platform");
    let findings = case.check();
    assert_eq!(rules(&findings), ["pem.subject"]);
    assert_eq!(findings[0].actual, "no OU attribute");
}

#[test]
fn extra_subject_attribute_type() {
    let mut case = Case::new(Key::P256, false);
    case.params.distinguished_name.push(
        DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]),
        DnValue::Ia5String("ops@widgets.dev".try_into().unwrap()),
    );
    let findings = case.check();
    assert_eq!(rules(&findings), ["pem.subject"]);
    assert_eq!(findings[0].pointer, "/result/csr");
    assert!(findings[0].actual.contains("ops@widgets.dev"));
}

#[test]
fn other_string_types() {
    let mut case = Case::new(Key::P256, true);
    case.params.distinguished_name.push(
        DnType::OrganizationalUnitName,
        DnValue::BmpString("Platform".try_into().unwrap()),
    );
    case.params.distinguished_name.push(
        DnType::LocalityName,
        DnValue::UniversalString("San Francisco".try_into().unwrap()),
    );
    assert!(case.check().is_empty());

    case.params.distinguished_name.push(
        DnType::OrganizationName,
        DnValue::TeletexString("Widgets, Inc.".try_into().unwrap()),
    );
    let findings = case.check();
    assert_eq!(rules(&findings), ["pem.subject"]);
    assert!(
        findings[0].message.contains("cannot be read"),
        "{findings:?}"
    );
}

#[test]
fn san_missing_and_extra() {
    let mut missing = Case::new(Key::P256, false);
    missing.object["sans"] = json!(["shop.widgets.dev", "www.widgets.dev", "api.widgets.dev"]);
    let findings = missing.check();
    assert_eq!(rules(&findings), ["pem.sans"]);
    assert_eq!(findings[0].pointer, "/result/sans");
    assert!(findings[0].message.contains("missing \"api.widgets.dev\""));

    let mut extra = Case::new(Key::P256, false);
    extra.params.subject_alt_names.push(dns("api.widgets.dev"));
    let findings = extra.check();
    assert_eq!(rules(&findings), ["pem.sans"]);
    assert!(
        findings[0]
            .message
            .contains("not in `sans`: \"api.widgets.dev\"")
    );

    // Multiplicity counts.
    let mut doubled = Case::new(Key::P256, false);
    doubled
        .params
        .subject_alt_names
        .push(dns("WWW.widgets.dev"));
    assert_eq!(rules(&doubled.check()), ["pem.sans"]);
}

#[test]
fn no_san_extension() {
    let mut case = Case::new(Key::Rsa, false);
    case.params.subject_alt_names.clear();
    let findings = case.check();
    assert_eq!(rules(&findings), ["pem.sans"]);
    assert_eq!(findings[0].actual, "no SAN extension");

    // Neither side has names: agreement.
    case.object["sans"] = json!([]);
    assert!(case.check().is_empty());
}

#[test]
fn non_dns_san() {
    let mut case = Case::new(Key::P256, false);
    case.params
        .subject_alt_names
        .push(SanType::IpAddress("192.0.2.1".parse().unwrap()));
    let findings = case.check();
    assert_eq!(rules(&findings), ["pem.sans"]);
    assert_eq!(findings[0].pointer, "/result/csr");
    assert_eq!(findings[0].actual, "IP:192.0.2.1");
}

#[test]
fn key_type_mismatch_both_ways() {
    let mut rsa = Case::new(Key::Rsa, false);
    rsa.object["key_type"] = json!("p256v1");
    let findings = rsa.check();
    assert_eq!(rules(&findings), ["pem.key-type"]);
    assert_eq!(findings[0].pointer, "/result/key_type");
    assert_eq!(findings[0].actual, "RSA 2048-bit");

    let mut ec = Case::new(Key::P256, false);
    ec.object["key_type"] = json!("rsa2048");
    let findings = ec.check();
    assert_eq!(rules(&findings), ["pem.key-type"]);
    assert_eq!(findings[0].actual, "EC on prime256v1 (1.2.840.10045.3.1.7)");

    // Unknown or missing key types belong to the schema check.
    ec.object["key_type"] = json!("ed25519");
    assert!(ec.check().is_empty());
    ec.object.as_object_mut().unwrap().remove("key_type");
    assert!(ec.check().is_empty());
}
