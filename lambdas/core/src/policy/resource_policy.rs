//! Reads a resource policy (a KMS key policy, an SNS topic policy) for one account doing one
//! action: what the preflight needs to tell drift in the tool's own key and topic policies.

use crate::policy::glob::glob_match;
use serde_json::Value;

/// What a resource policy says about one account doing one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    Allowed,
    /// An unconditional `Deny` statement (its `Sid`) matches.
    Denied(String),
    /// No `Allow` statement names the account (or `*`) with the action.
    Missing,
}

/// Reads a resource policy (a KMS key policy, an SNS topic policy) for `account` doing `action`.
///
/// It reads `Effect`, `Principal` (`*`, the account id, or any ARN of the account: its root or
/// one of its roles) and `Action`/`NotAction` with `*` and `?` wildcards. Conditions are taken as
/// met on an `Allow` and as not met on a `Deny`: the tool's own statements are all conditional
/// (`kms:ViaService`, `aws:SecureTransport`), and the tool's calls meet them. Not read:
/// `Resource`/`NotResource`, `NotPrincipal` (such a statement is skipped), grants outside the
/// policy, and which of an account's principals is named. This is drift detection for the tool's
/// own key and topic, whose statements CDK writes with `arn:aws:iam::<account>:root` principals,
/// not IAM: the policy proof (tests/policy) evaluates them with the real rules.
pub fn resource_policy_grants(policy: &Value, account: &str, action: &str) -> Grant {
    let statements = match policy.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect::<Vec<_>>(),
        Some(single @ Value::Object(_)) => vec![single],
        _ => Vec::new(),
    };
    let mut allowed = false;
    for st in statements {
        let names_account = principal_names(st.get("Principal"), account);
        let covers = match (st.get("Action"), st.get("NotAction")) {
            (Some(a), _) => strings(a).iter().any(|p| action_matches(p, action)),
            (None, Some(n)) => !strings(n).iter().any(|p| action_matches(p, action)),
            (None, None) => false,
        };
        if !(names_account && covers) {
            continue;
        }
        match st.get("Effect").and_then(Value::as_str) {
            Some("Deny") if st.get("Condition").is_none() => {
                let sid = st.get("Sid").and_then(Value::as_str).unwrap_or("(no Sid)");
                return Grant::Denied(sid.to_string());
            }
            Some("Allow") => allowed = true,
            _ => {}
        }
    }
    if allowed {
        Grant::Allowed
    } else {
        Grant::Missing
    }
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn principal_names(principal: Option<&Value>, account: &str) -> bool {
    let one = |p: &str| p == "*" || p == account || p.split(':').nth(4) == Some(account);
    match principal {
        Some(Value::String(s)) => s == "*",
        Some(Value::Object(m)) => m
            .get("AWS")
            .is_some_and(|v| strings(v).into_iter().any(one)),
        _ => false,
    }
}

/// IAM's action matching: the one glob (`*` any run of characters, `?` one character),
/// case-insensitively.
fn action_matches(pattern: &str, action: &str) -> bool {
    glob_match(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LIVE: &str = "111111111111";
    const FS: &str = "222222222222";
    const FS2: &str = "333333333333";

    #[test]
    fn actions_match_with_iam_wildcards_case_insensitively() {
        assert!(action_matches("kms:*", "kms:CreateGrant"));
        assert!(action_matches("KMS:createGRANT", "kms:CreateGrant"));
        assert!(action_matches("kms:De?rypt", "kms:Decrypt"));
        assert!(action_matches("kms:*Key*", "kms:DescribeKey"));
        assert!(!action_matches("kms:Describe*", "kms:Decrypt"));
        assert!(!action_matches("kms:Decrypt", "kms:DecryptX"));
        assert!(action_matches("*", "sns:Publish"));
    }

    #[test]
    fn a_policy_grants_by_account_root_role_id_or_star_and_not_action() {
        let p = |principal: Value, action: Value| json!({"Statement": {"Effect": "Allow", "Principal": principal, "Action": action}});
        let root = json!({"AWS": format!("arn:aws:iam::{FS}:root")});
        assert_eq!(
            resource_policy_grants(&p(root.clone(), json!("kms:*")), FS, "kms:Decrypt"),
            Grant::Allowed
        );
        assert_eq!(
            resource_policy_grants(&p(root, json!("kms:*")), FS2, "kms:Decrypt"),
            Grant::Missing
        );
        let role = json!({"AWS": [format!("arn:aws:iam::{FS}:role/save")]});
        assert_eq!(
            resource_policy_grants(&p(role, json!(["kms:Decrypt"])), FS, "kms:Decrypt"),
            Grant::Allowed
        );
        assert_eq!(
            resource_policy_grants(
                &p(json!({"AWS": FS}), json!("kms:Decrypt")),
                FS,
                "kms:Decrypt"
            ),
            Grant::Allowed
        );
        assert_eq!(
            resource_policy_grants(&p(json!("*"), json!("sns:Publish")), FS, "sns:Publish"),
            Grant::Allowed
        );
        let not_action = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": FS}, "NotAction": "kms:ScheduleKeyDeletion"}]});
        assert_eq!(
            resource_policy_grants(&not_action, FS, "kms:Decrypt"),
            Grant::Allowed
        );
        assert_eq!(
            resource_policy_grants(&not_action, FS, "kms:ScheduleKeyDeletion"),
            Grant::Missing
        );
    }

    #[test]
    fn an_unconditional_deny_wins_and_a_conditional_one_is_taken_as_not_met() {
        let allow = json!({"Effect": "Allow", "Principal": {"AWS": LIVE}, "Action": "sns:Publish"});
        let tls_only = json!({"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
                              "Condition": {"Bool": {"aws:SecureTransport": "false"}}});
        let p = json!({"Statement": [allow.clone(), tls_only]});
        assert_eq!(
            resource_policy_grants(&p, LIVE, "sns:Publish"),
            Grant::Allowed
        );
        let deny = json!({"Sid": "Nobody", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sns:*"});
        let p = json!({"Statement": [allow, deny]});
        assert_eq!(
            resource_policy_grants(&p, LIVE, "sns:Publish"),
            Grant::Denied("Nobody".into())
        );
    }
}
