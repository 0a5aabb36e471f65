//! What a recorded case says when the target has drifted from the recording: the pointer, the
//! recorded value and the value now.

use crate::cases::Case;
use crate::model::Finding;

/// Recorded suites are named `recorded…`, so `csr-conformance recorded` replays just them.
pub fn is_recorded(suite: &str) -> bool {
    suite.starts_with("recorded")
}

/// Rewords the findings of a recorded case as drift from the recording. A step label
/// (`step 2 (GET …): `) in front of the message is kept.
pub fn describe_drift(case: &Case, findings: &mut [Finding]) {
    if !is_recorded(&case.suite) {
        return;
    }
    for f in findings {
        let (marker, text) = match f.rule.as_str() {
            "expect.json" => (
                "the body does not hold",
                format!(
                    "{} differs from the recording: recorded {}, now {}",
                    f.pointer, f.expected, f.actual
                ),
            ),
            "expect.status" => (
                "expected status",
                format!(
                    "the status differs from the recording: recorded {}, now {}",
                    f.expected, f.actual
                ),
            ),
            "expect.format" => (
                "the value at",
                format!(
                    "{} is no longer {}: now {}",
                    f.pointer, f.expected, f.actual
                ),
            ),
            _ => continue,
        };
        if let Some(at) = f.message.find(marker) {
            f.message.replace_range(at.., &text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::{CaseBody, Origin};

    fn case(suite: &str) -> Case {
        Case {
            suite: suite.into(),
            name: "c".into(),
            doc: None,
            scopes: vec![],
            body: CaseBody::Steps(vec![]),
            fixture: false,
            origin: Origin {
                file: "x.toml".into(),
                line: 1,
            },
        }
    }

    #[test]
    fn recorded_findings_name_pointer_recorded_value_and_value_now() {
        let original = Finding::new(
            "expect.json",
            "/result/organization",
            "\"csr-conformance\"",
            "\"csr-conformance (changed)\"",
            "step 1 (GET /zones/z/custom_csrs/x): the body does not hold the expected value at \"/result/organization\"",
        );
        let mut fs = vec![original.clone()];
        describe_drift(&case("behaviour"), &mut fs);
        assert_eq!(fs[0], original, "hand-written cases keep their wording");
        describe_drift(&case("recorded-behaviour"), &mut fs);
        assert_eq!(
            fs[0].message,
            "step 1 (GET /zones/z/custom_csrs/x): /result/organization differs from the \
             recording: recorded \"csr-conformance\", now \"csr-conformance (changed)\""
        );
    }
}
