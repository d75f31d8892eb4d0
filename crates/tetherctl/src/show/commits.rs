//! `tetherctl commits`: the commit log as a table, like IOS-XR `show configuration commit
//! list`, optionally with each changed leaf.

use tether_proto::admin::Commit;

use crate::timefmt::rfc3339;

/// The table, newest first as the daemon returns it.
pub fn render(commits: &[Commit], with_changes: bool) -> String {
    if commits.is_empty() {
        return "No commits.\n".into();
    }
    let dash = |s: &str| {
        if s.is_empty() {
            "-".to_string()
        } else {
            s.to_string()
        }
    };
    let mut out = format!(
        "{:<7} {:<20} {:<12} {:<22} {:>6}  COMMENT\n",
        "ID", "TIME (UTC)", "USER", "CLIENT", "LEAVES"
    );
    for c in commits {
        let time = rfc3339(c.time_ns);
        let seconds = time.get(..19).unwrap_or(&time);
        out.push_str(
            format!(
                "{:<7} {:<20} {:<12} {:<22} {:>6}  {}",
                c.id,
                format!("{seconds}Z"),
                dash(&c.user),
                dash(&c.client),
                c.changes.len(),
                c.comment
            )
            .trim_end(),
        );
        out.push('\n');
        if with_changes {
            for ch in &c.changes {
                out.push_str(&format!(
                    "        {}: {} -> {}\n",
                    ch.path,
                    ch.old.as_deref().unwrap_or("(absent)"),
                    ch.new.as_deref().unwrap_or("(absent)")
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use tether_proto::admin::LeafChange;

    use super::*;

    #[test]
    fn lists_commits_with_their_changes() {
        let commits = vec![
            Commit {
                id: 12,
                time_ns: 1_795_597_800_123_000_000,
                user: "admin".into(),
                client: "127.0.0.1:51234".into(),
                comment: "rollback to 10".into(),
                changes: vec![LeafChange {
                    path: "/tether-link-state:link-state/groups/group[id='1']/config/description"
                        .into(),
                    old: Some("core".into()),
                    new: None,
                }],
            },
            Commit {
                id: 11,
                time_ns: 1_795_597_700_000_000_000,
                ..Default::default()
            },
        ];
        assert_eq!(
            render(&commits, true),
            "ID      TIME (UTC)           USER         CLIENT                 LEAVES  COMMENT\n\
             12      2026-11-25T09:10:00Z admin        127.0.0.1:51234             1  rollback to 10\n\
             \x20       /tether-link-state:link-state/groups/group[id='1']/config/description: core -> (absent)\n\
             11      2026-11-25T09:08:20Z -            -                           0\n"
        );
        assert_eq!(render(&[], false), "No commits.\n");
    }
}
