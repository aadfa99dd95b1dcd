//! `rdsf` as an operator meets it first: its help names every command, and a usage error exits 2
//! without touching AWS.

use std::process::Command;

const RDSF: &str = env!("CARGO_BIN_EXE_rdsf");

#[test]
fn help_names_every_command() {
    let out = Command::new(RDSF).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for command in ["status", "restore", "preflight"] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
}

#[test]
fn a_usage_error_exits_2_naming_it() {
    let out = Command::new(RDSF)
        .args(["restore", "--at", "not-a-time"])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--at"));
}
