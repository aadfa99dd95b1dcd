//! Every task binary is a task of the contract (contract/contract.json) and the other way round;
//! run as Lambda would start it but without its configuration, each stops at cold start instead
//! of serving: a bad deployment fails loudly, before any event is taken. The binaries that take
//! configuration name the missing variable and the fix.

use rdsf_core::contract::TASKS;
use std::path::PathBuf;
use std::process::Command;

/// The tasks that read no required configuration at cold start (they act on their event alone;
/// validate-drill without `DRILL_CHECKS` drills restore-only, and a bad `DRILL_CHECKS` stops it,
/// `policy::checks` tests that).
const UNCONFIGURED: [&str; 4] = [
    "check-drill",
    "end-drill",
    "validate-drill",
    "wait-available",
];

/// Where cargo put a task binary: beside any other of the package's binaries.
fn binary(task: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_wait-available")).with_file_name(task)
}

#[test]
fn every_task_binary_is_a_task_of_the_contract_and_every_task_a_binary() {
    let mut on_disk: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/bin"))
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_string()
            })
            .collect();
    on_disk.sort();
    let mut listed: Vec<&str> = TASKS.to_vec();
    listed.sort();
    assert_eq!(on_disk, listed);
    for task in UNCONFIGURED {
        assert!(listed.contains(&task), "{task} is not a task");
    }
}

#[test]
fn without_configuration_every_binary_stops_at_cold_start() {
    for name in TASKS {
        let out = Command::new(binary(name)).env_clear().output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{name} started without configuration"
        );
        if !UNCONFIGURED.contains(&name) {
            assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
            assert!(
                stderr.starts_with("InvalidConfig: ") && stderr.contains(" is not set: set it to "),
                "{name}: {stderr}"
            );
        }
    }
}

#[test]
fn validate_drill_stops_at_cold_start_on_bad_checks_naming_the_setting() {
    let out = Command::new(binary("validate-drill"))
        .env_clear()
        .env("DRILL_CHECKS", r#"[{"source": "orders", "database": "app", "checks": [{"sql": "delete from orders", "min": 1}]}]"#)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("InvalidConfig: DRILL_CHECKS [0].checks[0].sql must be one read query")
            && stderr.contains("(restoreDrill.checks)"),
        "{stderr}"
    );
}
