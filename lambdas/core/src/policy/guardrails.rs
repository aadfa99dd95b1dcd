//! `rdsf preflight --guardrails`: are the Organizations guardrails on the Failsafe account attached,
//! and are they what CDK wrote? Run from the management account (a member account cannot read its
//! own SCPs). What CDK wrote is the synthesized `rds-failsafe-guardrails` template; what is attached
//! is what Organizations returns for each target. Pure: the I/O is the CLI's.

use crate::policy::preflight::{Finding, Level};
use serde_json::Value;

/// One Organizations policy of the guardrails template.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedPolicy {
    pub name: String,
    /// `SERVICE_CONTROL_POLICY` or `RESOURCE_CONTROL_POLICY`.
    pub kind: String,
    pub content: Value,
    pub targets: Vec<String>,
}

/// One policy attached to a target, as Organizations has it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachedPolicy {
    pub id: String,
    pub name: String,
    /// The policy document; a document that is not JSON stays a string (and differs).
    pub content: Value,
}

/// The `AWS::Organizations::Policy` resources of a synthesized guardrails template (`cdk synth
/// rds-failsafe-guardrails`). A template without one is not the guardrails stack's.
pub fn expected_policies(template: &Value) -> Result<Vec<ExpectedPolicy>, String> {
    let resources = template
        .get("Resources")
        .and_then(Value::as_object)
        .ok_or("the file is not a CloudFormation template (no Resources)")?;
    let mut out = Vec::new();
    for (logical, r) in resources {
        if r.get("Type").and_then(Value::as_str) != Some("AWS::Organizations::Policy") {
            continue;
        }
        let p = r.get("Properties").cloned().unwrap_or(Value::Null);
        let text = |field: &str| -> Result<String, String> {
            p.get(field)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("{logical}: no {field}"))
        };
        let targets = p
            .get("TargetIds")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        out.push(ExpectedPolicy {
            name: text("Name")?,
            kind: text("Type")?,
            content: p
                .get("Content")
                .cloned()
                .ok_or_else(|| format!("{logical}: no Content"))?,
            targets,
        });
    }
    if out.is_empty() {
        return Err("the template has no AWS::Organizations::Policy: give the rds-failsafe-guardrails stack's template (cdk synth writes cdk.out/rds-failsafe-guardrails.template.json)".into());
    }
    Ok(out)
}

/// How `attached` differs from `expected`, statement by statement (by `Sid`), or None.
fn difference(expected: &Value, attached: &Value) -> Option<String> {
    if expected == attached {
        return None;
    }
    let statements = |doc: &Value| -> Vec<(String, Value)> {
        doc.get("Statement")
            .and_then(Value::as_array)
            .map(|s| {
                s.iter()
                    .enumerate()
                    .map(|(i, st)| {
                        let sid = st
                            .get("Sid")
                            .and_then(Value::as_str)
                            .map_or_else(|| format!("#{}", i + 1), str::to_string);
                        (sid, st.clone())
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (want, have) = (statements(expected), statements(attached));
    let mut parts = Vec::new();
    for (sid, st) in &want {
        match have.iter().find(|(s, _)| s == sid) {
            None => parts.push(format!("statement {sid} is missing")),
            Some((_, h)) if h != st => parts.push(format!("statement {sid} differs")),
            Some(_) => {}
        }
    }
    for (sid, _) in have
        .iter()
        .filter(|(s, _)| !want.iter().any(|(w, _)| w == s))
    {
        parts.push(format!("statement {sid} is not CDK's"));
    }
    Some(if parts.is_empty() {
        "the document differs".into()
    } else {
        parts.join(", ")
    })
}

/// One finding per guardrail and target: attached as CDK wrote it (ok), attached but changed
/// (a problem naming the statements), or not attached (a problem). `attached(target, kind)`: the
/// policies of that type attached to the target.
pub fn guardrail_findings(
    expected: &[ExpectedPolicy],
    attached: impl Fn(&str, &str) -> Vec<AttachedPolicy>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in expected {
        for target in &p.targets {
            let here = attached(target, &p.kind);
            let subject = format!("{} on {target}", p.name);
            let (level, message) = match here.iter().find(|a| a.name == p.name) {
                None => (
                    Level::Problem,
                    format!(
                        "{} is not attached to {target}: the Failsafe account's administrators are not held by it; deploy rds-failsafe-guardrails from the management account (docs/security.md, \"Break-glass runbook\")",
                        p.name
                    ),
                ),
                Some(a) => match difference(&p.content, &a.content) {
                    None => (Level::Ok, format!("attached ({}), as CDK wrote it", a.id)),
                    Some(d) => (
                        Level::Problem,
                        format!(
                            "attached ({}), but not as CDK wrote it: {d}; someone changed it outside the stack: redeploy rds-failsafe-guardrails, and read the organization's CloudTrail for who",
                            a.id
                        ),
                    ),
                },
            };
            out.push(Finding {
                check: "guardrails",
                subject,
                level,
                message,
                blocks: false,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template() -> Value {
        json!({"Resources": {
            "Scp": {"Type": "AWS::Organizations::Policy", "Properties": {
                "Name": "rds-failsafe-guardrails-222222222222", "Type": "SERVICE_CONTROL_POLICY",
                "TargetIds": ["222222222222"],
                "Content": {"Version": "2012-10-17", "Statement": [
                    {"Sid": "CopiesStay", "Effect": "Deny", "Action": "rds:DeleteDBSnapshot", "Resource": "*"},
                    {"Sid": "ToolStays", "Effect": "Deny", "Action": "lambda:Delete*", "Resource": "*"}]}}},
            "Other": {"Type": "AWS::CloudFormation::WaitConditionHandle"}
        }})
    }

    #[test]
    fn reads_the_policies_of_the_guardrails_template_and_refuses_another() {
        let e = expected_policies(&template()).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].kind.as_str(), e[0].targets.clone()),
            ("SERVICE_CONTROL_POLICY", vec!["222222222222".to_string()])
        );
        let err = expected_policies(&json!({"Resources": {}})).unwrap_err();
        assert!(
            err.contains("cdk.out/rds-failsafe-guardrails.template.json"),
            "{err}"
        );
        assert!(expected_policies(&json!([]))
            .unwrap_err()
            .contains("not a CloudFormation template"));
    }

    #[test]
    fn attached_as_written_is_ok_changed_or_missing_is_a_problem_naming_what() {
        let expected = expected_policies(&template()).unwrap();
        let as_written = expected[0].content.clone();
        let ok = guardrail_findings(&expected, |_, _| {
            vec![AttachedPolicy {
                id: "p-1".into(),
                name: expected[0].name.clone(),
                content: as_written.clone(),
            }]
        });
        assert_eq!(ok[0].level, Level::Ok, "{}", ok[0].message);
        let mut loosened = as_written.clone();
        loosened["Statement"].as_array_mut().unwrap().remove(0);
        loosened["Statement"][0]["Action"] = json!("lambda:DeleteFunction");
        loosened["Statement"]
            .as_array_mut()
            .unwrap()
            .push(json!({"Sid": "Mine", "Effect": "Allow", "Action": "*", "Resource": "*"}));
        let changed = guardrail_findings(&expected, |_, _| {
            vec![AttachedPolicy {
                id: "p-1".into(),
                name: expected[0].name.clone(),
                content: loosened.clone(),
            }]
        });
        assert_eq!(changed[0].level, Level::Problem);
        assert!(
            changed[0].message.contains("statement CopiesStay is missing, statement ToolStays differs, statement Mine is not CDK's"),
            "{}",
            changed[0].message
        );
        let missing = guardrail_findings(&expected, |_, _| vec![]);
        assert_eq!(missing[0].level, Level::Problem);
        assert!(
            missing[0]
                .message
                .contains("is not attached to 222222222222"),
            "{}",
            missing[0].message
        );
    }
}
