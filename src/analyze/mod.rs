//! Derived facts computed from a snapshot before rules run: which subnets
//! are public, what is reachable from the internet, which VPC ranges
//! overlap. Analysis reads only the snapshot, never AWS, and rules see its
//! facts as fields of the resources they describe.

pub mod cidr;
pub mod exposure;
pub mod nacl;
pub mod network;
pub mod ports;

use std::collections::HashMap;

use rayon::prelude::*;

use crate::snapshot::Snapshot;
use crate::snapshot::ec2::{Ec2Region, SecurityGroup};
use exposure::{Endpoint, Exposure};
use nacl::AclFacts;
use network::RegionNetwork;

/// Every derived fact of a snapshot, per region and resource id.
#[derive(Debug, Default)]
pub struct Analysis {
    pub regions: HashMap<String, RegionAnalysis>,
}

#[derive(Debug, Default)]
pub struct RegionAnalysis {
    pub network: RegionNetwork,
    pub network_acls: HashMap<String, AclFacts>,
    pub network_interfaces: HashMap<String, Exposure>,
    pub instances: HashMap<String, Exposure>,
}

impl Analysis {
    pub fn of(snapshot: &Snapshot) -> Analysis {
        let mut regions: HashMap<String, RegionAnalysis> = snapshot
            .regions
            .par_iter()
            .map(|(name, region)| (name.clone(), analyze_region(&region.ec2)))
            .collect();
        let vpcs: Vec<_> = snapshot
            .regions
            .iter()
            .flat_map(|(name, region)| region.ec2.vpcs.iter().map(move |vpc| (name.as_str(), vpc)))
            .collect();
        for ((region, vpc_id), mut overlaps) in network::overlaps(&vpcs) {
            overlaps.sort();
            if let Some(facts) = regions
                .get_mut(region)
                .and_then(|r| r.network.vpcs.get_mut(vpc_id))
            {
                facts.overlapping_vpcs = overlaps;
            }
        }
        Analysis { regions }
    }

    pub fn region(&self, name: &str) -> Option<&RegionAnalysis> {
        self.regions.get(name)
    }
}

fn analyze_region(ec2: &Ec2Region) -> RegionAnalysis {
    let network = RegionNetwork::of(ec2);
    let groups: HashMap<&str, &SecurityGroup> = ec2
        .security_groups
        .iter()
        .map(|group| (group.meta.id.as_str(), group))
        .collect();
    let network_interfaces: HashMap<String, Exposure> = ec2
        .network_interfaces
        .iter()
        .map(|eni| {
            let endpoint = Endpoint {
                network_interface_id: &eni.meta.id,
                public_ip: eni.public_ip.as_deref(),
                subnet_id: eni.subnet_id.as_deref(),
                security_group_ids: &eni.security_group_ids,
            };
            let facts = exposure::exposure(ec2, &groups, &network.subnets, &endpoint);
            (eni.meta.id.clone(), facts)
        })
        .collect();
    let instances = ec2
        .instances
        .iter()
        .map(|instance| {
            let interfaces: Vec<Exposure> = instance
                .network_interface_ids
                .iter()
                .filter_map(|id| network_interfaces.get(id).cloned())
                .collect();
            // Without its interfaces in the snapshot, the instance's own
            // primary address, subnet and groups stand in for them.
            let facts = if interfaces.is_empty() {
                let endpoint = Endpoint {
                    network_interface_id: &instance.meta.id,
                    public_ip: instance.public_ip.as_deref(),
                    subnet_id: instance.subnet_id.as_deref(),
                    security_group_ids: &instance.security_group_ids,
                };
                exposure::exposure(ec2, &groups, &network.subnets, &endpoint)
            } else {
                Exposure::merge(interfaces)
            };
            (instance.meta.id.clone(), facts)
        })
        .collect();
    RegionAnalysis {
        network_acls: ec2
            .network_acls
            .iter()
            .map(|acl| (acl.meta.id.clone(), AclFacts::of(acl)))
            .collect(),
        network,
        network_interfaces,
        instances,
    }
}
