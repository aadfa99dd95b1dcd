//! Every task binary is a task of the contract (contract/contract.json) and the other way round;
//! run as Lambda would start it but without its configuration, each stops at cold start instead
//! of serving: a bad deployment fails loudly, before any event is taken. The binaries that take
//! configuration name the missing variable and the fix.

use rdsf_core::contract::TASKS;
use std::path::PathBuf;
use std::process::Command;

/// The tasks that read no configuration at cold start (they act on their event alone).
const UNCONFIGURED: [&str; 3] = ["check-drill", "end-drill", "wait-available"];

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
