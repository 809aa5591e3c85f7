//! Rule parameters (`vars`): their values, and what a value must be to be
//! used. A parameter's type is its default's; its name says what it holds
//! (a port, a CIDR range, a transport, a percentage), so a value from a
//! configuration file is checked before any AWS call rather than turning
//! a failing check into an error, or every check into a pass.

use serde::{Deserialize, Serialize};

use crate::analyze::cidr::Network;

/// A rule parameter's value, overridable without editing the rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum VarValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    List(Vec<VarValue>),
}

/// What a scalar parameter (or each element of a list) holds, as its name
/// declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Domain {
    /// `port`, `*_port`, `ports`, `*_ports`: 0 to 65535.
    Port,
    /// `protocols`: `tcp` or `udp`, the transports the analysis models.
    Transport,
    /// `*_ranges`: CIDR blocks.
    Cidr,
    /// `*_percent`: 0 to 100.
    Percent,
    /// `*_prefix_length`: 0 to 128.
    PrefixLength,
    /// `bands`: GuardDuty severity bands, as its counts are keyed.
    Band,
    /// Any other number: a count, a length or a number of days, never
    /// negative.
    Count,
    /// Free text, or a flag.
    Any,
}

impl Domain {
    fn of(name: &str) -> Domain {
        let is = |suffix: &str| name == suffix || name.ends_with(&format!("_{suffix}"));
        // `max_ports`, `min_free_addresses`: a number of things, not one.
        if (name.starts_with("max_") && !is("percent") && !is("prefix_length"))
            || name.starts_with("min_")
        {
            Domain::Count
        } else if is("port") || is("ports") {
            Domain::Port
        } else if name == "protocols" {
            Domain::Transport
        } else if name == "bands" {
            Domain::Band
        } else if is("ranges") {
            Domain::Cidr
        } else if is("percent") {
            Domain::Percent
        } else if is("prefix_length") {
            Domain::PrefixLength
        } else {
            Domain::Count
        }
    }

    /// The kind of value this domain holds when the default says nothing
    /// (an empty list).
    fn kind(self) -> Option<Kind> {
        match self {
            Domain::Port | Domain::PrefixLength => Some(Kind::Int),
            Domain::Transport | Domain::Cidr | Domain::Band => Some(Kind::Text),
            Domain::Percent => Some(Kind::Float),
            Domain::Count | Domain::Any => None,
        }
    }

    fn describe(self, kind: Kind) -> &'static str {
        match (self, kind) {
            (Domain::Port, _) => "a port number (0 to 65535)",
            (Domain::Transport, _) => "`tcp` or `udp`",
            (Domain::Cidr, _) => "a CIDR block such as 10.0.0.0/8",
            (Domain::Percent, _) => "a percentage (0 to 100)",
            (Domain::PrefixLength, _) => "a prefix length (0 to 128)",
            (Domain::Band, _) => "`low`, `medium`, `high` or `critical`",
            (_, Kind::Int) => "a whole number, not negative",
            (_, Kind::Float) => "a number, not negative",
            (_, Kind::Bool) => "true or false",
            (_, Kind::Text) => "a string",
            (_, Kind::List) => "a list",
        }
    }

    fn admits(self, value: &VarValue) -> bool {
        let number = match value {
            VarValue::Int(n) => Some(*n as f64),
            VarValue::Float(x) => Some(*x),
            _ => None,
        };
        match self {
            Domain::Port => matches!(value, VarValue::Int(0..=65535)),
            Domain::PrefixLength => matches!(value, VarValue::Int(0..=128)),
            Domain::Transport => matches!(value, VarValue::Text(t) if t == "tcp" || t == "udp"),
            Domain::Band => {
                matches!(value, VarValue::Text(t) if ["low", "medium", "high", "critical"].contains(&t.as_str()))
            }
            Domain::Cidr => matches!(value, VarValue::Text(t) if Network::parse(t).is_some()),
            Domain::Percent => number.is_some_and(|x| (0.0..=100.0).contains(&x)),
            Domain::Count => number.is_none_or(|x| x >= 0.0 && x.is_finite()),
            Domain::Any => true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Float,
    Text,
    List,
}

impl Kind {
    fn of(value: &VarValue) -> Kind {
        match value {
            VarValue::Bool(_) => Kind::Bool,
            VarValue::Int(_) => Kind::Int,
            VarValue::Float(_) => Kind::Float,
            VarValue::Text(_) => Kind::Text,
            VarValue::List(_) => Kind::List,
        }
    }

    /// Whether a value of kind `given` may stand where this kind is
    /// expected: a whole number is a number too.
    fn accepts(self, given: Kind) -> bool {
        self == given || (self == Kind::Float && given == Kind::Int)
    }
}

/// Lists that say what a rule checks: emptied, the rule could never fail.
const SELECTING: [&str; 5] = ["ports", "admin_ports", "protocols", "bands", "features"];

/// Why `value` cannot be the parameter `name` whose default is `default`,
/// or `None` when it can.
pub fn mismatch(name: &str, default: &VarValue, value: &VarValue) -> Option<String> {
    let domain = Domain::of(name);
    match (default, value) {
        (VarValue::List(_), VarValue::List(values))
            if values.is_empty() && SELECTING.contains(&name) =>
        {
            Some(format!(
                "`{name}` says what the rule checks: empty, the rule could never fail (leave the rule out with --exclude-rule instead)"
            ))
        }
        (VarValue::List(defaults), VarValue::List(values)) => {
            let element = defaults
                .first()
                .map(Kind::of)
                .or_else(|| domain.kind())
                .or_else(|| values.first().map(Kind::of))?;
            values.iter().enumerate().find_map(|(index, item)| {
                scalar_mismatch(domain, element, item)
                    .map(|problem| format!("item {} of `{name}` {problem}", index + 1))
            })
        }
        (VarValue::List(_), _) => Some(format!(
            "`{name}` takes a list of {}s, not {}",
            list_element(domain),
            describe_value(value)
        )),
        (_, _) => scalar_mismatch(domain, Kind::of(default), value)
            .map(|problem| format!("`{name}` {problem}")),
    }
}

fn scalar_mismatch(domain: Domain, expected: Kind, value: &VarValue) -> Option<String> {
    let domain = match expected {
        Kind::Bool | Kind::Text if domain == Domain::Count => Domain::Any,
        _ => domain,
    };
    if !expected.accepts(Kind::of(value)) || !domain.admits(value) {
        return Some(format!(
            "must be {}, not {}",
            domain.describe(expected),
            describe_value(value)
        ));
    }
    None
}

fn list_element(domain: Domain) -> &'static str {
    match domain {
        Domain::Port => "port number",
        Domain::Transport => "transport",
        Domain::Cidr => "CIDR block",
        Domain::Band => "severity band",
        _ => "value",
    }
}

/// A value as the user wrote it, short enough for one sentence.
fn describe_value(value: &VarValue) -> String {
    match value {
        VarValue::Bool(b) => b.to_string(),
        VarValue::Int(n) => n.to_string(),
        VarValue::Float(x) => x.to_string(),
        VarValue::Text(t) => {
            let shown: String = t.chars().take(40).collect();
            let cut = if shown.len() < t.len() { "…" } else { "" };
            format!("the string \"{shown}{cut}\"")
        }
        VarValue::List(_) => "a list".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(values: &[i64]) -> VarValue {
        VarValue::List(values.iter().copied().map(VarValue::Int).collect())
    }

    fn texts(values: &[&str]) -> VarValue {
        VarValue::List(
            values
                .iter()
                .map(|text| VarValue::Text((*text).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn ports_are_whole_numbers_in_range() {
        assert_eq!(
            mismatch("port", &VarValue::Int(22), &VarValue::Int(2222)),
            None
        );
        assert_eq!(
            mismatch("port", &VarValue::Int(22), &VarValue::Int(-1)),
            Some("`port` must be a port number (0 to 65535), not -1".to_owned())
        );
        assert_eq!(
            mismatch("ports", &ints(&[22]), &texts(&["80"])),
            Some(
                "item 1 of `ports` must be a port number (0 to 65535), not the string \"80\""
                    .to_owned()
            )
        );
        // An empty default still says what its items are.
        assert_eq!(
            mismatch("authorized_udp_ports", &ints(&[]), &ints(&[53, 70000])),
            Some(
                "item 2 of `authorized_udp_ports` must be a port number (0 to 65535), not 70000"
                    .to_owned()
            )
        );
        assert_eq!(
            mismatch("admin_ports", &ints(&[22]), &VarValue::Int(22)),
            Some("`admin_ports` takes a list of port numbers, not 22".to_owned())
        );
    }

    #[test]
    fn a_list_that_selects_what_is_checked_cannot_be_emptied() {
        assert_eq!(
            mismatch("ports", &ints(&[3306]), &ints(&[])),
            Some(
                "`ports` says what the rule checks: empty, the rule could never fail (leave the rule out with --exclude-rule instead)"
                    .to_owned()
            )
        );
        // Authorising no port at all is stricter, not weaker.
        assert_eq!(
            mismatch("authorized_tcp_ports", &ints(&[80, 443]), &ints(&[])),
            None
        );
        assert_eq!(
            mismatch("bands", &texts(&["high", "critical"]), &texts(&["High"])),
            Some(
                "item 1 of `bands` must be `low`, `medium`, `high` or `critical`, not the string \"High\""
                    .to_owned()
            )
        );
        // A count of ports is a count, not a port.
        assert_eq!(
            mismatch("max_ports", &VarValue::Int(1000), &VarValue::Int(65536)),
            None
        );
        assert_eq!(
            mismatch("max_ports", &VarValue::Int(1000), &VarValue::Int(-1)),
            Some("`max_ports` must be a whole number, not negative, not -1".to_owned())
        );
    }

    #[test]
    fn names_declare_transports_ranges_percentages_and_counts() {
        assert_eq!(
            mismatch("protocols", &texts(&["tcp"]), &texts(&["tcp", "udp"])),
            None
        );
        assert_eq!(
            mismatch("protocols", &texts(&["tcp"]), &texts(&["icmp"])),
            Some(
                "item 1 of `protocols` must be `tcp` or `udp`, not the string \"icmp\"".to_owned()
            )
        );
        assert_eq!(
            mismatch("allowed_ranges", &texts(&["10.0.0.0/8"]), &texts(&["10.0.0/8"])),
            Some(
                "item 1 of `allowed_ranges` must be a CIDR block such as 10.0.0.0/8, not the string \"10.0.0/8\""
                    .to_owned()
            )
        );
        assert_eq!(
            mismatch(
                "max_used_percent",
                &VarValue::Float(90.0),
                &VarValue::Int(80)
            ),
            None
        );
        assert_eq!(
            mismatch(
                "max_used_percent",
                &VarValue::Float(90.0),
                &VarValue::Int(180)
            ),
            Some("`max_used_percent` must be a percentage (0 to 100), not 180".to_owned())
        );
        assert_eq!(
            mismatch("days", &VarValue::Int(90), &VarValue::Float(1.5)),
            Some("`days` must be a whole number, not negative, not 1.5".to_owned())
        );
        assert_eq!(
            mismatch("days", &VarValue::Int(90), &VarValue::Int(-3)),
            Some("`days` must be a whole number, not negative, not -3".to_owned())
        );
        assert_eq!(
            mismatch("features", &texts(&["a"]), &texts(&["b", "c"])),
            None
        );
        assert_eq!(
            mismatch("features", &texts(&["a"]), &ints(&[1])),
            Some("item 1 of `features` must be a string, not 1".to_owned())
        );
    }
}
