//! The restore as AWS CLI commands an operator can read, check and run: words quoted for a POSIX
//! shell only where they need it.

use crate::model::{SnapshotKind, Tags};
use crate::port::{ClusterInstanceRequest, RestoreRequest};

/// A word for a POSIX shell: bare if it is plainly safe, else in single quotes.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/=,@+".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// One part of an AWS CLI command.
enum Arg<'a> {
    /// A word of its own: the operation, or a flag without a value.
    Word(&'a str),
    /// A flag and its value, left out when there is no value.
    Opt(&'a str, Option<&'a str>),
    /// A flag and its values, left out when there are none.
    List(&'a str, &'a [String]),
}

fn command(args: &[Arg]) -> String {
    let mut words = vec!["aws".to_string(), "rds".to_string()];
    for arg in args {
        match arg {
            Arg::Word(w) => words.push(w.to_string()),
            Arg::Opt(flag, Some(v)) => words.extend([flag.to_string(), shell_word(v)]),
            Arg::List(flag, vs) if !vs.is_empty() => {
                words.push(flag.to_string());
                words.extend(vs.iter().map(|v| shell_word(v)));
            }
            Arg::Opt(_, None) | Arg::List(..) => {}
        }
    }
    words.join(" ")
}

fn tag_words(tags: &Tags) -> Vec<String> {
    tags.iter()
        .map(|(k, v)| format!("Key={k},Value={v}"))
        .collect()
}

/// The AWS CLI command that makes the same call as `rdsf restore`.
pub fn restore_command(r: &RestoreRequest, region: &str) -> String {
    let tags = tag_words(&r.tags);
    match r.kind {
        SnapshotKind::Instance => command(&[
            Arg::Word("restore-db-instance-from-db-snapshot"),
            Arg::Opt("--region", Some(region)),
            Arg::Opt("--db-instance-identifier", Some(&r.target_id)),
            Arg::Opt("--db-snapshot-identifier", Some(&r.snapshot_id)),
            Arg::Opt("--db-instance-class", r.instance_class.as_deref()),
            Arg::Opt("--db-subnet-group-name", r.subnet_group.as_deref()),
            Arg::Word("--no-publicly-accessible"),
            Arg::List("--vpc-security-group-ids", &r.security_groups),
            Arg::List("--tags", &tags),
        ]),
        SnapshotKind::Cluster => command(&[
            Arg::Word("restore-db-cluster-from-snapshot"),
            Arg::Opt("--region", Some(region)),
            Arg::Opt("--db-cluster-identifier", Some(&r.target_id)),
            Arg::Opt("--snapshot-identifier", Some(&r.snapshot_id)),
            Arg::Opt("--engine", Some(&r.engine)),
            Arg::Opt("--engine-version", r.engine_version.as_deref()),
            Arg::Opt("--db-subnet-group-name", r.subnet_group.as_deref()),
            Arg::List("--vpc-security-group-ids", &r.security_groups),
            Arg::List("--tags", &tags),
        ]),
    }
}

/// The AWS CLI command that creates a restored cluster's first DB instance.
pub fn cluster_instance_command(c: &ClusterInstanceRequest, region: &str) -> String {
    command(&[
        Arg::Word("create-db-instance"),
        Arg::Opt("--region", Some(region)),
        Arg::Opt("--db-instance-identifier", Some(&c.instance_id)),
        Arg::Opt("--db-cluster-identifier", Some(&c.cluster_id)),
        Arg::Opt("--engine", Some(&c.engine)),
        Arg::Opt("--db-instance-class", Some(&c.instance_class)),
        Arg::Word("--no-publicly-accessible"),
        Arg::List("--tags", &tag_words(&c.tags)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("arn:aws:rds:x"), "arn:aws:rds:x");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
