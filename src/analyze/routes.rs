//! Longest-prefix routing over a route table, per address family: which
//! route decides where traffic to each destination address goes, and so
//! which addresses a reply can reach through an internet gateway.

use super::cidr::Network;
use super::sets::{Family, Intervals};
use crate::snapshot::ec2::{RouteDestination, RouteTable, RouteTargetKind};

/// One route and the destinations it decides: the addresses its prefix
/// holds that no longer prefix claims.
#[derive(Debug, Clone)]
pub struct RouteDecision {
    /// `0.0.0.0/0 → igw-0abc`, `10.0.0.0/16 → local`.
    pub label: String,
    pub target: RouteTargetKind,
    pub target_id: Option<String>,
    /// A route whose target is gone drops what it matches.
    pub blackhole: bool,
    pub decides: Intervals,
}

impl RouteDecision {
    /// Whether traffic it decides leaves through an internet gateway (an
    /// egress-only one admits nothing from the internet, so it does not
    /// count).
    pub fn to_internet_gateway(&self) -> bool {
        self.target == RouteTargetKind::InternetGateway && !self.blackhole
    }
}

/// A route table's routing of one family.
#[derive(Debug, Clone)]
pub struct Routing {
    pub table_id: String,
    pub family: Family,
    /// Routes that decide some destination, most specific first.
    pub decisions: Vec<RouteDecision>,
    /// Destinations routed to an internet gateway.
    pub to_internet: Intervals,
}

impl Routing {
    pub fn of(table: &RouteTable, family: Family) -> Routing {
        let mut routes: Vec<(Network, bool, &crate::snapshot::ec2::Route)> = table
            .routes
            .iter()
            .filter_map(|route| {
                // Prefix-list destinations are not resolved: their contents
                // are not collected (the README says so).
                let cidr = match (&route.destination, family) {
                    (RouteDestination::Ipv4(cidr), Family::Ipv4)
                    | (RouteDestination::Ipv6(cidr), Family::Ipv6) => cidr,
                    _ => return None,
                };
                let network = Network::parse(cidr)?;
                let propagated = route.origin.as_deref() == Some("EnableVgwRoutePropagation");
                Some((network, propagated, route))
            })
            .collect();
        // Longest prefix first; for equal prefixes a static route wins over
        // a propagated one.
        routes.sort_by_key(|(network, propagated, _)| {
            (std::cmp::Reverse(network.prefix_len()), *propagated)
        });
        let mut claimed = Intervals::empty();
        let mut decisions = Vec::new();
        for (network, _, route) in routes {
            let (first, last) = network.range();
            let prefix = Intervals::span(first, last);
            let decides = prefix.difference(&claimed);
            claimed = claimed.union(&prefix);
            if decides.is_empty() {
                continue;
            }
            let cidr = match &route.destination {
                RouteDestination::Ipv4(cidr) | RouteDestination::Ipv6(cidr) => cidr.as_str(),
                _ => "?",
            };
            decisions.push(RouteDecision {
                label: format!(
                    "{cidr} → {}",
                    route.target.id.as_deref().unwrap_or("an unknown target")
                ),
                target: route.target.kind,
                target_id: route.target.id.clone(),
                blackhole: route.state.as_deref() == Some("blackhole"),
                decides,
            });
        }
        let to_internet = decisions
            .iter()
            .filter(|d| d.to_internet_gateway())
            .fold(Intervals::empty(), |all, d| all.union(&d.decides));
        Routing {
            table_id: table.meta.id.clone(),
            family,
            decisions,
            to_internet,
        }
    }

    /// The routes deciding some of `addresses`.
    pub fn deciding<'a>(
        &'a self,
        addresses: &'a Intervals,
    ) -> impl Iterator<Item = &'a RouteDecision> + 'a {
        self.decisions
            .iter()
            .filter(move |d| d.decides.intersects(addresses))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::ec2::{Route, RouteTarget};

    fn route(cidr: &str, kind: RouteTargetKind, id: &str) -> Route {
        Route {
            destination: if cidr.contains(':') {
                RouteDestination::Ipv6(cidr.to_owned())
            } else {
                RouteDestination::Ipv4(cidr.to_owned())
            },
            target: RouteTarget {
                kind,
                id: Some(id.to_owned()),
            },
            state: Some("active".to_owned()),
            origin: Some("CreateRoute".to_owned()),
        }
    }

    fn table(routes: Vec<Route>) -> RouteTable {
        serde_json::from_value(serde_json::json!({
            "id": "rtb-1", "arn": "arn:aws:ec2:us-east-1:123456789012:route-table/rtb-1",
            "region": "us-east-1", "vpc_id": "vpc-1", "is_main": true, "routes": [],
            "associations": [], "propagating_vgw_ids": [],
        }))
        .map(|mut table: RouteTable| {
            table.routes = routes;
            table
        })
        .expect("table parses")
    }

    fn address(text: &str) -> u128 {
        Network::parse(text).map(|n| n.range().0).expect("address")
    }

    #[test]
    fn the_longest_prefix_decides_and_split_defaults_are_public() {
        let routing = Routing::of(
            &table(vec![
                route("10.0.0.0/16", RouteTargetKind::Local, "local"),
                route("0.0.0.0/1", RouteTargetKind::InternetGateway, "igw-1"),
                route("128.0.0.0/1", RouteTargetKind::InternetGateway, "igw-1"),
                route("203.0.113.0/24", RouteTargetKind::NatGateway, "nat-1"),
            ]),
            Family::Ipv4,
        );
        let target = |text: &str| {
            let one = Intervals::span(address(text), address(text));
            routing.deciding(&one).next().map(|d| d.label.clone())
        };
        assert_eq!(target("8.8.8.8").as_deref(), Some("0.0.0.0/1 → igw-1"));
        assert_eq!(target("200.1.1.1").as_deref(), Some("128.0.0.0/1 → igw-1"));
        assert_eq!(
            target("203.0.113.9").as_deref(),
            Some("203.0.113.0/24 → nat-1")
        );
        assert_eq!(target("10.0.3.3").as_deref(), Some("10.0.0.0/16 → local"));
        assert!(routing.to_internet.contains(address("8.8.8.8")));
        assert!(!routing.to_internet.contains(address("203.0.113.9")));
    }

    #[test]
    fn an_ipv6_default_route_does_not_make_ipv4_public_and_egress_only_admits_nothing() {
        let dual = table(vec![
            route("::/0", RouteTargetKind::InternetGateway, "igw-1"),
            route("0.0.0.0/0", RouteTargetKind::NatGateway, "nat-1"),
        ]);
        assert!(Routing::of(&dual, Family::Ipv4).to_internet.is_empty());
        assert_eq!(
            Routing::of(&dual, Family::Ipv6).to_internet,
            Family::Ipv6.everything()
        );
        let egress_only = table(vec![route(
            "::/0",
            RouteTargetKind::EgressOnlyInternetGateway,
            "eigw-1",
        )]);
        assert!(
            Routing::of(&egress_only, Family::Ipv6)
                .to_internet
                .is_empty()
        );
    }

    #[test]
    fn a_more_specific_blackhole_drops_what_it_matches() {
        let mut blackhole = route(
            "198.51.100.0/24",
            RouteTargetKind::InternetGateway,
            "igw-old",
        );
        blackhole.state = Some("blackhole".to_owned());
        let routing = Routing::of(
            &table(vec![
                route("0.0.0.0/0", RouteTargetKind::InternetGateway, "igw-1"),
                blackhole,
            ]),
            Family::Ipv4,
        );
        assert!(!routing.to_internet.contains(address("198.51.100.1")));
        assert!(routing.to_internet.contains(address("198.51.101.1")));
    }
}
