//! The results of a Distributed Map as a task reads them. Each state machine's Map tolerates
//! failed children (`ToleratedFailurePercentage` 100), so one source's failure the child could
//! not catch (`States.Runtime`, `States.DataLimitExceeded`, a child stopped by hand) does not
//! stop the others. Such a child has no record of its own in the Map's output: its place holds
//! its execution record — `Status` `FAILED`, `Error`, `Cause` and its `Input` as a JSON string
//! (Step Functions Developer Guide, "ResultWriter (Map)": a failed child's result is returned
//! unchanged, as with Transformation NONE). This module reads both shapes, so `notify` and
//! `prune` count such a child as a failure of the source its input names.

use crate::policy::copy::CopyLanes;
use serde::de::{DeserializeOwned, Deserializer};
use serde::Deserialize;

/// A failed child execution's record, as a Distributed Map's output holds it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FailedChild {
    pub status: String,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
    /// The child's input, a JSON string (the Map's `ItemSelector` result).
    pub input: String,
    #[serde(default)]
    pub execution_arn: Option<String>,
}

impl FailedChild {
    /// The child's input, parsed.
    pub fn input_json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_str(&self.input)
            .map_err(|e| format!("a failed child's Input is not JSON ({e})"))
    }
    /// One field of the child's input (`source` of a Live item, `item` of a Failsafe one).
    pub fn input_field<T: DeserializeOwned>(&self, field: &str) -> Result<T, String> {
        let input = self.input_json()?;
        serde_json::from_value(input[field].clone())
            .map_err(|e| format!("a failed child's input names no {field} ({e})"))
    }
    /// The error name; `States.Runtime` when the record has none.
    pub fn error_name(&self) -> String {
        self.error
            .clone()
            .unwrap_or_else(|| "States.Runtime".into())
    }
    /// The error, with the child execution named so the operator can open it.
    pub fn cause_with_execution(&self) -> Option<String> {
        match (&self.cause, &self.execution_arn) {
            (Some(c), Some(arn)) => Some(format!("{c} (child execution {arn})")),
            (None, Some(arn)) => Some(format!("see child execution {arn}")),
            (c, None) => c.clone(),
        }
    }
}

/// A task's per-item result that can also be made from a failed child's record.
pub trait ChildResult: DeserializeOwned {
    /// The result of an item whose child execution failed: `failed`, naming what the input names.
    fn from_failed_child(child: &FailedChild) -> Result<Self, String>;
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Either<T> {
    Result(T),
    Failed(FailedChild),
}

/// `deserialize_with` for the results of the two copy lanes (`policy::copy::CopyLanes`: the
/// instance Map's and the cluster Map's), read as one list, instances first. Each entry is the
/// item's own result or a failed child's record; anything else is refused naming its position.
pub fn deserialize<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: ChildResult,
{
    let lanes = CopyLanes::<serde_json::Value>::deserialize(deserializer)?;
    let mut all =
        read_all(lanes.instances, "results.instances").map_err(serde::de::Error::custom)?;
    all.extend(read_all(lanes.clusters, "results.clusters").map_err(serde::de::Error::custom)?);
    Ok(all)
}

fn read_all<T: ChildResult>(raw: Vec<serde_json::Value>, field: &str) -> Result<Vec<T>, String> {
    raw.into_iter()
        .enumerate()
        .map(|(i, value)| {
            let either: Either<T> = serde_json::from_value(value).map_err(|e| {
                format!(
                    "{field}[{i}] is neither an item's result nor a failed child execution's record: {e}"
                )
            })?;
            match either {
                Either::Result(r) => Ok(r),
                Either::Failed(child) if child.status == "FAILED" || child.status == "TIMED_OUT" || child.status == "ABORTED" => {
                    T::from_failed_child(&child).map_err(|e| format!("{field}[{i}]: {e}"))
                }
                Either::Failed(child) => Err(format!(
                    "{field}[{i}] is a child execution record with Status {:?}, not a failure",
                    child.status
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Item {
        outcome: String,
        name: String,
    }

    impl ChildResult for Item {
        fn from_failed_child(child: &FailedChild) -> Result<Self, String> {
            let input = child.input_json()?;
            let name = input["name"].as_str().ok_or("the input names no item")?;
            Ok(Item {
                outcome: format!("failed: {}", child.error.clone().unwrap_or_default()),
                name: name.into(),
            })
        }
    }

    #[derive(Deserialize)]
    struct Results {
        #[serde(deserialize_with = "deserialize")]
        results: Vec<Item>,
    }

    #[test]
    fn reads_own_results_and_failed_children() {
        let json = r#"{"results": {"instances": [
            {"outcome": "copied", "name": "a"},
            {"ExecutionArn": "arn:x/CopyInstances:1", "Input": "{\"name\":\"b\"}", "InputDetails": {"Included": true},
             "Name": "1", "Status": "FAILED", "Error": "States.Runtime", "Cause": "bad path"}
        ], "clusters": []}}"#;
        let r: Results = serde_json::from_str(json).unwrap();
        assert_eq!(
            r.results[0],
            Item {
                outcome: "copied".into(),
                name: "a".into()
            }
        );
        assert_eq!(
            r.results[1],
            Item {
                outcome: "failed: States.Runtime".into(),
                name: "b".into()
            }
        );
    }

    #[test]
    fn refuses_what_is_neither_naming_the_position() {
        let err = serde_json::from_str::<Results>(
            r#"{"results": {"instances": [{"outcome": "copied", "name": "a"}, {"x": 1}], "clusters": []}}"#,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("results.instances[1] is neither"), "{err}");
        let err = serde_json::from_str::<Results>(
            r#"{"results": {"instances": [], "clusters": [{"Status": "SUCCEEDED", "Input": "{}"}]}}"#,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("Status \"SUCCEEDED\""), "{err}");
        let err = serde_json::from_str::<Results>(
            r#"{"results": {"instances": [{"Status": "FAILED", "Input": "{}"}], "clusters": []}}"#,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.contains("results.instances[0]: the input names no item"),
            "{err}"
        );
    }

    #[test]
    fn reads_both_lanes_instances_first_naming_the_lane_of_a_bad_entry() {
        let json = r#"{"results": {"instances": [{"outcome": "copied", "name": "i"}],
            "clusters": [{"Status": "FAILED", "Input": "{\"name\":\"c\"}", "Error": "States.Runtime"}]}}"#;
        let r: Results = serde_json::from_str(json).unwrap();
        let names: Vec<_> = r.results.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["i", "c"]);
        assert_eq!(r.results[1].outcome, "failed: States.Runtime");
        let err = serde_json::from_str::<Results>(
            r#"{"results": {"instances": [], "clusters": [{"x": 1}]}}"#,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("results.clusters[0] is neither"), "{err}");
        assert!(serde_json::from_str::<Results>(r#"{"results": []}"#).is_err());
    }

    #[test]
    fn a_cause_names_the_child_execution() {
        let child = FailedChild {
            status: "FAILED".into(),
            error: Some("States.Runtime".into()),
            cause: Some("x".into()),
            input: "{}".into(),
            execution_arn: Some("arn:e".into()),
        };
        assert_eq!(
            child.cause_with_execution().unwrap(),
            "x (child execution arn:e)"
        );
    }
}
