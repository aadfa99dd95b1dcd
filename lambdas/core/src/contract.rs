//! The names that cross languages, generated from `contract/contract.json` by `build.rs`: the
//! CDK app, the policy proof and the local stack read the same file (docs/contracts.md).

/// A whole-number setting: its environment variable and range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub env: &'static str,
    /// `None`: the setting has no default (it applies only when it is set).
    pub default: Option<u32>,
    pub min: u32,
    pub max: u32,
}

include!(concat!(env!("OUT_DIR"), "/contract.rs"));

#[cfg(test)]
mod tests {
    use super::outcome;
    use crate::drill::DrillOutcome;
    use crate::failsafe::ItemOutcome;
    use crate::live::SourceOutcome;
    use serde::{de::DeserializeOwned, Serialize};

    /// Every name of `listed` reads as an outcome and every outcome of `all` is listed.
    fn same_names<T: Serialize + DeserializeOwned>(all: &[T], listed: &[&str]) {
        for name in listed {
            serde_json::from_value::<T>(serde_json::json!(name))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        for o in all {
            let name = serde_json::to_value(o).unwrap();
            assert!(listed.contains(&name.as_str().unwrap()), "{name}");
        }
    }

    #[test]
    fn the_map_results_read_the_outcomes_the_contract_lists() {
        use ItemOutcome as I;
        use SourceOutcome as S;
        same_names(
            &[S::Copied, S::Skipped, S::Planned, S::Failed],
            outcome::LIVE,
        );
        same_names(&[I::Saved, I::Planned, I::Failed], outcome::FAILSAFE);
        // end-drill is told passed or failed; the machine records cleanup-failed itself
        let told: Vec<&str> = outcome::DRILL
            .iter()
            .copied()
            .filter(|o| *o != "cleanup-failed")
            .collect();
        same_names(&[DrillOutcome::Passed, DrillOutcome::Failed], &told);
    }
}
